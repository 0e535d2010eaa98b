/* latency-sampler.c: full, sampled or no attachment of the latency path
 * programs, and the time they were attached. */
#include "config.h"

#include "latency-sampler.h"
#include "vnm-i18n.h"

struct _VnmLatencySampler {
  guint window_ms, period_ms;
  VnmLatencySwitchFunc func;
  gpointer user_data;
  GMainContext *context;
  VnmLatencyMode mode;
  gboolean attached;
  gint64 attached_since_us;    /* monotonic, while attached */
  gint64 attached_total_us;    /* earlier attachments */
  GSource *timer;              /* sampled mode: the window's end or the next start */
  gint64 window_start_us;      /* monotonic: when the current or last window opened */
  guint64 windows, failed_windows;
  gboolean failure_logged;
};

const gchar *
vnm_latency_mode_name (VnmLatencyMode mode)
{
  switch (mode)
    {
    case VNM_LATENCY_MODE_SAMPLED:
      return "sampled";
    case VNM_LATENCY_MODE_FULL:
      return "full";
    case VNM_LATENCY_MODE_OFF:
    default:
      return "off";
    }
}

static gboolean
attach (VnmLatencySampler *s, gboolean on, GError **error)
{
  gint64 now = g_get_monotonic_time ();

  if (on == s->attached)
    return TRUE;
  if (!on)
    {
      s->func (FALSE, s->user_data, NULL);
      s->attached_total_us += now - s->attached_since_us;
      s->attached = FALSE;
      return TRUE;
    }
  if (!s->func (TRUE, s->user_data, error))
    return FALSE;
  s->attached = TRUE;
  s->attached_since_us = now;
  return TRUE;
}

static void
stop_timer (VnmLatencySampler *s)
{
  if (s->timer)
    {
      g_source_destroy (s->timer);
      g_clear_pointer (&s->timer, g_source_unref);
    }
}

static gboolean on_timer (gpointer user_data);

/* Fires at @deadline_us (monotonic): windows and periods are timed from
 * when each window was due, so a busy main loop neither lengthens the next
 * window nor makes the period drift. */
static void
start_timer (VnmLatencySampler *s, gint64 deadline_us)
{
  gint64 delay = deadline_us - g_get_monotonic_time ();

  stop_timer (s);
  s->timer = g_timeout_source_new (delay > 0 ? (guint) ((delay + 999) / 1000) : 0);
  g_source_set_callback (s->timer, on_timer, s, NULL);
  g_source_set_name (s->timer, "virtnetmond latency sampling");
  g_source_attach (s->timer, s->context);
}

/* Sampled mode: a window starts (attach) and its end is timed. */
static void
open_window (VnmLatencySampler *s)
{
  g_autoptr(GError) error = NULL;

  s->windows++;
  if (attach (s, TRUE, &error))
    {
      s->failure_logged = FALSE;
      start_timer (s, s->window_start_us + s->window_ms * 1000);
      return;
    }
  s->failed_windows++;
  if (!s->failure_logged)
    g_warning (_("Sampled latency tracing could not attach its programs: %s; trying again every %u s."),
               error->message, s->period_ms / 1000);
  s->failure_logged = TRUE;
  s->window_start_us += s->period_ms * 1000;
  start_timer (s, s->window_start_us);
}

static gboolean
on_timer (gpointer user_data)
{
  VnmLatencySampler *s = user_data;

  g_clear_pointer (&s->timer, g_source_unref);
  if (s->mode != VNM_LATENCY_MODE_SAMPLED)
    return G_SOURCE_REMOVE;
  if (s->attached)
    {
      attach (s, FALSE, NULL);
      s->window_start_us += s->period_ms * 1000;
      /* Far behind (the main loop was blocked): start again from now. */
      if (s->window_start_us < g_get_monotonic_time ())
        s->window_start_us = g_get_monotonic_time ();
      start_timer (s, s->window_start_us);
    }
  else
    open_window (s);
  return G_SOURCE_REMOVE;
}

VnmLatencySampler *
vnm_latency_sampler_new (guint window_ms, guint period_ms, VnmLatencySwitchFunc func,
                         gpointer user_data)
{
  VnmLatencySampler *s;

  g_return_val_if_fail (window_ms > 0 && window_ms < period_ms, NULL);
  s = g_new0 (VnmLatencySampler, 1);
  s->window_ms = window_ms;
  s->period_ms = period_ms;
  s->func = func;
  s->user_data = user_data;
  s->context = g_main_context_ref_thread_default ();
  return s;
}

void
vnm_latency_sampler_free (VnmLatencySampler *s)
{
  if (!s)
    return;
  stop_timer (s);
  attach (s, FALSE, NULL);
  g_main_context_unref (s->context);
  g_free (s);
}

gboolean
vnm_latency_sampler_set_mode (VnmLatencySampler *s, VnmLatencyMode mode, GError **error)
{
  VnmLatencyMode old = s->mode;

  s->mode = mode;
  switch (mode)
    {
    case VNM_LATENCY_MODE_FULL:
      stop_timer (s);
      return attach (s, TRUE, error);
    case VNM_LATENCY_MODE_SAMPLED:
      if (old == VNM_LATENCY_MODE_SAMPLED)
        return TRUE;
      stop_timer (s);
      s->window_start_us = g_get_monotonic_time ();
      /* Coming from full: the window that is open now ends in time. */
      if (s->attached)
        start_timer (s, s->window_start_us + s->window_ms * 1000);
      else
        open_window (s);
      return TRUE;
    case VNM_LATENCY_MODE_OFF:
    default:
      stop_timer (s);
      return attach (s, FALSE, error);
    }
}

VnmLatencyMode
vnm_latency_sampler_mode (VnmLatencySampler *s)
{
  return s->mode;
}

gboolean
vnm_latency_sampler_attached (VnmLatencySampler *s)
{
  return s->attached;
}

guint
vnm_latency_sampler_window_ms (VnmLatencySampler *s)
{
  return s->window_ms;
}

guint
vnm_latency_sampler_period_ms (VnmLatencySampler *s)
{
  return s->period_ms;
}

gint64
vnm_latency_sampler_attached_us (VnmLatencySampler *s)
{
  return s->attached_total_us + (s->attached ? g_get_monotonic_time () - s->attached_since_us : 0);
}

guint64
vnm_latency_sampler_windows (VnmLatencySampler *s)
{
  return s->windows;
}

guint64
vnm_latency_sampler_failed_windows (VnmLatencySampler *s)
{
  return s->failed_windows;
}
