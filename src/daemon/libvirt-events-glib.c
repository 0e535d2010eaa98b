/* libvirt-events-glib.c: libvirt event callbacks as GSources. */
#include "config.h"

#include <glib-unix.h>
#include <libvirt/libvirt.h>

#include "libvirt-events-glib.h"

typedef struct {
  int watch;
  int fd;
  int events;
  virEventHandleCallback cb;
  void *opaque;
  virFreeCallback ff;
  guint source;
} Handle;

typedef struct {
  int timer;
  int frequency;
  virEventTimeoutCallback cb;
  void *opaque;
  virFreeCallback ff;
  guint source;
} Timeout;

static GHashTable *handles;   /* watch -> Handle* */
static GHashTable *timeouts;  /* timer -> Timeout* */
static int next_watch = 1;
static int next_timer = 1;

static GIOCondition
to_condition (int events)
{
  GIOCondition cond = 0;

  if (events & VIR_EVENT_HANDLE_READABLE)
    cond |= G_IO_IN;
  if (events & VIR_EVENT_HANDLE_WRITABLE)
    cond |= G_IO_OUT;
  /* Errors and hang-ups are always reported by poll(). */
  return cond | G_IO_ERR | G_IO_HUP;
}

static int
to_events (GIOCondition cond)
{
  int events = 0;

  if (cond & G_IO_IN)
    events |= VIR_EVENT_HANDLE_READABLE;
  if (cond & G_IO_OUT)
    events |= VIR_EVENT_HANDLE_WRITABLE;
  if (cond & G_IO_ERR)
    events |= VIR_EVENT_HANDLE_ERROR;
  if (cond & G_IO_HUP)
    events |= VIR_EVENT_HANDLE_HANGUP;
  return events;
}

static gboolean
handle_dispatch (gint fd, GIOCondition cond, gpointer user_data)
{
  Handle *h = user_data;

  h->cb (h->watch, fd, to_events (cond), h->opaque);
  return G_SOURCE_CONTINUE;
}

static void
handle_arm (Handle *h)
{
  if (h->source)
    {
      g_source_remove (h->source);
      h->source = 0;
    }
  if (h->events)
    h->source = g_unix_fd_add (h->fd, to_condition (h->events), handle_dispatch, h);
}

static int
add_handle (int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff)
{
  Handle *h = g_new0 (Handle, 1);

  h->watch = next_watch++;
  h->fd = fd;
  h->events = events;
  h->cb = cb;
  h->opaque = opaque;
  h->ff = ff;
  handle_arm (h);
  g_hash_table_insert (handles, GINT_TO_POINTER (h->watch), h);
  return h->watch;
}

static void
update_handle (int watch, int events)
{
  Handle *h = g_hash_table_lookup (handles, GINT_TO_POINTER (watch));

  if (!h || h->events == events)
    return;
  h->events = events;
  handle_arm (h);
}

/* libvirt may free the opaque data only after the callback can no longer
 * run, and never from inside the remove call: do it from an idle. */
static gboolean
free_later (gpointer data)
{
  gpointer *pair = data;
  virFreeCallback ff = (virFreeCallback) pair[0];

  ff (pair[1]);
  g_free (pair);
  return G_SOURCE_REMOVE;
}

static void
schedule_free (virFreeCallback ff, void *opaque)
{
  gpointer *pair;

  if (!ff)
    return;
  pair = g_new (gpointer, 2);
  pair[0] = (gpointer) ff;
  pair[1] = opaque;
  g_idle_add (free_later, pair);
}

static int
remove_handle (int watch)
{
  Handle *h = g_hash_table_lookup (handles, GINT_TO_POINTER (watch));

  if (!h)
    return -1;
  if (h->source)
    g_source_remove (h->source);
  schedule_free (h->ff, h->opaque);
  g_hash_table_remove (handles, GINT_TO_POINTER (watch));
  return 0;
}

static gboolean
timeout_dispatch (gpointer user_data)
{
  Timeout *t = user_data;

  t->cb (t->timer, t->opaque);
  return G_SOURCE_CONTINUE;
}

static void
timeout_arm (Timeout *t)
{
  if (t->source)
    {
      g_source_remove (t->source);
      t->source = 0;
    }
  if (t->frequency == 0)
    t->source = g_idle_add (timeout_dispatch, t);
  else if (t->frequency > 0)
    t->source = g_timeout_add (t->frequency, timeout_dispatch, t);
}

static int
add_timeout (int frequency, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
  Timeout *t = g_new0 (Timeout, 1);

  t->timer = next_timer++;
  t->frequency = frequency;
  t->cb = cb;
  t->opaque = opaque;
  t->ff = ff;
  timeout_arm (t);
  g_hash_table_insert (timeouts, GINT_TO_POINTER (t->timer), t);
  return t->timer;
}

static void
update_timeout (int timer, int frequency)
{
  Timeout *t = g_hash_table_lookup (timeouts, GINT_TO_POINTER (timer));

  if (!t || t->frequency == frequency)
    return;
  t->frequency = frequency;
  timeout_arm (t);
}

static int
remove_timeout (int timer)
{
  Timeout *t = g_hash_table_lookup (timeouts, GINT_TO_POINTER (timer));

  if (!t)
    return -1;
  if (t->source)
    g_source_remove (t->source);
  schedule_free (t->ff, t->opaque);
  g_hash_table_remove (timeouts, GINT_TO_POINTER (timer));
  return 0;
}

void
vnm_libvirt_events_register_glib (void)
{
  if (handles)
    return;
  handles = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  timeouts = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  virEventRegisterImpl (add_handle, update_handle, remove_handle,
                        add_timeout, update_timeout, remove_timeout);
}
