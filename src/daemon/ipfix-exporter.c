/* ipfix-exporter.c: flows -> IPFIX messages -> a non-blocking socket. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "flow-monitor.h"
#include "ipfix-encoder.h"
#include "ipfix-exporter.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"

/* Messages over UDP fit an Ethernet MTU with IPv6 and UDP headers. */
#define UDP_MESSAGE_MAX 1400
#define TCP_MESSAGE_MAX 8192
/* Bytes a TCP session may have waiting for the socket; beyond, messages
 * are dropped. */
#define TCP_PENDING_MAX (1024 * 1024)
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 60

/* What was exported of one flow (a key and its start: the same 5-tuple
 * later is another flow). */
typedef struct {
  struct vnm_flow_key key;
  guint64 first_ns;
} FlowId;

typedef struct {
  FlowId id;
  guint64 bytes[2], packets[2];   /* exported so far, [VNM_DIR_*] */
  gint64 last_export_us;          /* monotonic */
  gboolean final;                 /* its end was exported */
  gboolean stopped;               /* ended (forced) because the exporter stops */
  guint generation;               /* the last walk that saw it */
  gchar *ifname;
  gboolean vm_sends_out;          /* a macvtap: the VM's packets leave through it */
} FlowState;

typedef struct {
  gsize length;
  guint records;
} Pending;

/* What was exported of a flow that went on when the exporter stopped, kept
 * in the state directory for the next run (which adopts the pinned table
 * and so the flow with its counts). */
typedef struct {
  FlowId id;
  guint64 bytes[2], packets[2];
} Baseline;

#define BASELINES_FILE "ipfix-baselines"
#define BASELINES_MAGIC "VNMIPFB1"


struct _VnmIpfixExporter {
  VnmEngine *engine;
  gulong interval_handler;
  gchar *collector, *host;
  guint16 port;
  gboolean tcp;
  gint64 active_timeout_us, idle_timeout_ns;
  guint32 domain;
  gint64 started_us;
  gchar *baselines_path;
  GHashTable *baselines;          /* FlowId* -> Baseline*: the earlier run's */

  VnmIpfixEncoder *encoder;
  GHashTable *flows;              /* FlowId* -> FlowState* */
  guint generation;

  GSocketClient *client;
  GCancellable *cancellable;      /* of the connection attempt */
  GSocketConnection *connection;
  GSocket *socket;                /* NULL: not connected */
  GSource *out_source, *in_source;
  guint reconnect_source;
  guint backoff_s;
  GByteArray *pending;            /* TCP: bytes not written yet */
  GQueue pending_messages;        /* of Pending, oldest first */
  gboolean need_templates;
  gint64 templates_sent_us;
  guint messages_since_templates;

  gboolean connected;
  guint64 messages_sent, records_sent, bytes_sent, messages_dropped, records_dropped;
  guint64 template_sends, connections;
  gchar *last_error;
};

static void try_connect (VnmIpfixExporter *x);

static guint
flow_id_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 2166136261u;

  for (gsize i = 0; i < sizeof (FlowId); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
flow_id_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (FlowId)) == 0;
}

static void
flow_state_free (FlowState *s)
{
  g_free (s->ifname);
  g_free (s);
}

static void
set_error (VnmIpfixExporter *x, const gchar *message)
{
  if (g_strcmp0 (x->last_error, message) != 0)
    {
      g_message (_("IPFIX collector %s: %s"), x->collector, message);
      g_free (x->last_error);
      x->last_error = g_strdup (message);
    }
}

/* --- the connection ------------------------------------------------------- */

static void
drop_pending (VnmIpfixExporter *x)
{
  Pending *p;

  while ((p = g_queue_pop_head (&x->pending_messages)))
    {
      x->messages_dropped++;
      x->records_dropped += p->records;
      g_free (p);
    }
  g_byte_array_set_size (x->pending, 0);
}

static gboolean
reconnect_due (gpointer user_data)
{
  VnmIpfixExporter *x = user_data;

  x->reconnect_source = 0;
  try_connect (x);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (VnmIpfixExporter *x)
{
  if (x->reconnect_source)
    return;
  x->reconnect_source = g_timeout_add_seconds (x->backoff_s, reconnect_due, x);
  x->backoff_s = MIN (x->backoff_s * 2, RECONNECT_MAX_S);
}

static void
disconnect (VnmIpfixExporter *x)
{
  if (x->out_source)
    {
      g_source_destroy (x->out_source);
      g_clear_pointer (&x->out_source, g_source_unref);
    }
  if (x->in_source)
    {
      g_source_destroy (x->in_source);
      g_clear_pointer (&x->in_source, g_source_unref);
    }
  if (x->connection)
    g_io_stream_close (G_IO_STREAM (x->connection), NULL, NULL);
  g_clear_object (&x->connection);
  x->socket = NULL;
  x->connected = FALSE;
  drop_pending (x);
}

/* A TCP session broke: what waits is lost; connect again later. */
static void
session_lost (VnmIpfixExporter *x, const gchar *why)
{
  set_error (x, why);
  disconnect (x);
  schedule_reconnect (x);
}

static gboolean flush_tcp (VnmIpfixExporter *x);

static gboolean
on_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  VnmIpfixExporter *x = user_data;

  g_clear_pointer (&x->out_source, g_source_unref);
  flush_tcp (x);
  return G_SOURCE_REMOVE;
}

/* @written bytes of what waits went to the socket: the messages written
 * whole count as sent; one written in part keeps only its rest waiting. */
static void
account_written (VnmIpfixExporter *x, gsize written)
{
  g_byte_array_remove_range (x->pending, 0, written);
  x->bytes_sent += written;
  while (written)
    {
      Pending *p = g_queue_peek_head (&x->pending_messages);
      if (!p)
        break;
      if (p->length > written)
        {
          p->length -= written;
          break;
        }
      written -= p->length;
      x->messages_sent++;
      x->records_sent += p->records;
      g_free (g_queue_pop_head (&x->pending_messages));
    }
}

/* Writes what waits as far as the socket takes it. FALSE when the session
 * broke. */
static gboolean
flush_tcp (VnmIpfixExporter *x)
{
  gsize written = 0;

  while (written < x->pending->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (x->socket, (const gchar *) x->pending->data + written,
                                x->pending->len - written, NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          /* What went out before counts as sent, the rest as dropped. */
          account_written (x, written);
          session_lost (x, error->message);
          return FALSE;
        }
      written += n;
    }
  account_written (x, written);
  if (x->pending->len && !x->out_source)
    {
      x->out_source = g_socket_create_source (x->socket, G_IO_OUT, NULL);
      g_source_set_callback (x->out_source, (GSourceFunc) (GCallback) on_writable, x, NULL);
      g_source_attach (x->out_source, NULL);
    }
  return TRUE;
}

/* The collector says nothing over IPFIX; readable means it closed. */
static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  VnmIpfixExporter *x = user_data;
  gchar buf[512];
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, &error);

  if (n > 0 || (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&x->in_source, g_source_unref);
  session_lost (x, n == 0 ? _("The collector closed the connection.") : error->message);
  return G_SOURCE_REMOVE;
}

static void
connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VnmIpfixExporter *x = user_data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  if (!conn)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_object (&x->cancellable);
      set_error (x, error->message);
      schedule_reconnect (x);
      return;
    }
  g_clear_object (&x->cancellable);
  x->connection = conn;
  x->socket = g_socket_connection_get_socket (conn);
  g_socket_set_blocking (x->socket, FALSE);
  /* The client's timeout is for connecting; on the socket it would end a
   * session whose collector says nothing (as collectors do) every 10 s. */
  g_socket_set_timeout (x->socket, 0);
  x->connected = TRUE;
  x->connections++;
  x->backoff_s = RECONNECT_MIN_S;
  /* A new session: its own sequence numbers and templates (RFC 7011 §8). */
  x->need_templates = TRUE;
  if (x->tcp)
    {
      vnm_ipfix_encoder_reset_sequence (x->encoder);
      x->in_source = g_socket_create_source (x->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      g_source_set_callback (x->in_source, (GSourceFunc) (GCallback) on_readable, x, NULL);
      g_source_attach (x->in_source, NULL);
      g_message (_("Connected to the IPFIX collector %s over TCP."), x->collector);
    }
}

static void
try_connect (VnmIpfixExporter *x)
{
  g_autoptr(GSocketConnectable) address = g_network_address_new (x->host, x->port);

  x->cancellable = g_cancellable_new ();
  g_socket_client_connect_async (x->client, address, x->cancellable, connected, x);
}

/* --- sending -------------------------------------------------------------- */

/* TRUE when the message went out (UDP) or waits for the socket (TCP);
 * FALSE when it was dropped. */
static gboolean
send_message (VnmIpfixExporter *x, GBytes *message, guint records)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (!x->socket)
    {
      x->messages_dropped++;
      x->records_dropped += records;
      return FALSE;
    }
  if (x->tcp)
    {
      Pending *p;

      if (x->pending->len + len > TCP_PENDING_MAX)
        {
          x->messages_dropped++;
          x->records_dropped += records;
          set_error (x, _("The collector does not take the messages as fast as they come; "
                          "messages are dropped."));
          return FALSE;
        }
      p = g_new (Pending, 1);
      p->length = len;
      p->records = records;
      g_queue_push_tail (&x->pending_messages, p);
      g_byte_array_append (x->pending, data, len);
      /* A session that breaks now drops it with what waits. */
      return x->out_source ? TRUE : flush_tcp (x);
    }
  {
    g_autoptr(GError) error = NULL;
    gssize n = g_socket_send (x->socket, (const gchar *) data, len, NULL, &error);

    if (n == (gssize) len)
      {
        x->connected = TRUE;
        x->messages_sent++;
        x->records_sent += records;
        x->bytes_sent += len;
        return TRUE;
      }
    x->messages_dropped++;
    x->records_dropped += records;
    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      set_error (x, _("The socket's send buffer is full; messages are dropped."));
    else
      {
        /* ICMP port unreachable comes back as "connection refused". */
        x->connected = FALSE;
        /* A collector that comes back may have lost them. */
        x->need_templates = TRUE;
        set_error (x, error ? error->message : _("A message was sent in part."));
      }
    return FALSE;
  }
}

/* --- flows ---------------------------------------------------------------- */

typedef struct {
  VnmIpfixExporter *x;
  gint64 now_us, real_offset_us;
  GArray *out;             /* of VnmIpfixFlow */
  gboolean closing;        /* the exporter stops: every active flow ends (forced) */
} Walk;

static guint8
flags_of (const struct vnm_flow *f, guint dir)
{
  guint8 flags = 0;

  if (f->tcp_state & (dir == VNM_DIR_OUT ? VNM_TCP_SYN_OUT : VNM_TCP_SYN_IN))
    flags |= VNM_TCP_FLAG_SYN;
  if (f->tcp_state & (dir == VNM_DIR_OUT ? VNM_TCP_FIN_OUT : VNM_TCP_FIN_IN))
    flags |= VNM_TCP_FLAG_FIN;
  if (f->tcp_state & VNM_TCP_ESTAB)
    flags |= VNM_TCP_FLAG_ACK;
  /* The probe does not say which side reset: both may have. */
  if (f->tcp_state & VNM_TCP_RESET)
    flags |= VNM_TCP_FLAG_RST;
  return flags;
}

static guint8
end_reason (VnmIpfixExporter *x, const VnmFlowRecord *rec)
{
  if (rec->key.proto == IPPROTO_TCP && (rec->flow.tcp_state & (VNM_TCP_CLOSED | VNM_TCP_RESET)))
    return VNM_IPFIX_END_OF_FLOW;
  /* The kernel table or the VM's share of it was full. */
  if (rec->evicted)
    return VNM_IPFIX_END_LACK_OF_RESOURCES;
  if (rec->flow.last_ns && rec->ended_us * 1000 - (gint64) rec->flow.last_ns >= x->idle_timeout_ns)
    return VNM_IPFIX_END_IDLE;
  /* Its VM stopped or its device went. */
  return VNM_IPFIX_END_FORCED;
}

static guint64
delta (guint64 now, guint64 before)
{
  /* Counts that went back (a probe attached anew) start over. */
  return now >= before ? now - before : now;
}

static void
add_flow (Walk *w, const VnmFlowRecord *rec, FlowState *s, guint8 reason, const gchar *uuid,
          const gchar *name)
{
  const struct vnm_flow_key *k = &rec->key;
  const struct vnm_flow *f = &rec->flow;
  gboolean remote_first = f->opener == VNM_OPENER_REMOTE;
  guint fwd = remote_first ? VNM_DIR_IN : VNM_DIR_OUT, rev = remote_first ? VNM_DIR_OUT : VNM_DIR_IN;
  gsize off = k->family == 6 ? 0 : 12, alen = k->family == 6 ? 16 : 4;
  gboolean ports = k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP;
  VnmIpfixFlow out = { 0 };

  out.family = k->family == 6 ? 6 : 4;
  memcpy (out.src_addr, (remote_first ? k->remote_addr : k->local_addr) + off, alen);
  memcpy (out.dst_addr, (remote_first ? k->local_addr : k->remote_addr) + off, alen);
  out.src_port = ports ? (remote_first ? k->remote_port : k->local_port) : 0;
  out.dst_port = ports ? (remote_first ? k->local_port : k->remote_port) : 0;
  out.protocol = k->proto;
  if (k->proto == IPPROTO_TCP)
    {
      out.tcp_flags = flags_of (f, fwd);
      out.reverse_tcp_flags = flags_of (f, rev);
    }
  out.octets = delta (f->bytes[fwd], s->bytes[fwd]);
  out.packets = delta (f->packets[fwd], s->packets[fwd]);
  out.reverse_octets = delta (f->bytes[rev], s->bytes[rev]);
  out.reverse_packets = delta (f->packets[rev], s->packets[rev]);
  out.start_ms = (guint64) MAX (((gint64) f->first_ns / 1000 + w->real_offset_us) / 1000, 0);
  out.end_ms = (guint64) MAX (((gint64) f->last_ns / 1000 + w->real_offset_us) / 1000, 0);
  out.end_reason = reason;
  out.biflow_direction = f->opener == VNM_OPENER_UNKNOWN ? VNM_IPFIX_BIFLOW_ARBITRARY
                                                         : VNM_IPFIX_BIFLOW_INITIATOR;
  /* Sent by the VM: into the host at a tap, out of the host through a
   * macvtap; to the VM the other way. */
  if (remote_first != s->vm_sends_out)
    out.egress_interface = k->ifindex;
  else
    out.ingress_interface = k->ifindex;
  vnm_ipfix_parse_uuid (uuid, out.vm_uuid);
  out.vm_name = name;            /* the monitor's, valid for this walk */
  out.vm_iface = s->ifname;
  g_array_append_val (w->out, out);

  s->bytes[0] = f->bytes[0];
  s->bytes[1] = f->bytes[1];
  s->packets[0] = f->packets[0];
  s->packets[1] = f->packets[1];
  s->last_export_us = w->now_us;
}

static void
visit (const VnmFlowRecord *rec, const gchar *uuid, const gchar *name, gpointer user_data)
{
  Walk *w = user_data;
  VnmIpfixExporter *x = w->x;
  FlowId id;
  FlowState *s;

  memset (&id, 0, sizeof id);
  id.key = rec->key;
  id.first_ns = rec->flow.first_ns;
  if (!(s = g_hash_table_lookup (x->flows, &id)))
    {
      const VnmLink *link = vnm_link_table_lookup_ifindex (vnm_engine_get_link_table (x->engine),
                                                           (gint) rec->key.ifindex);
      s = g_new0 (FlowState, 1);
      s->id = id;
      s->last_export_us = rec->flow.first_ns ? (gint64) rec->flow.first_ns / 1000 : w->now_us;
      s->ifname = g_strdup (link ? link->name : "");
      s->vm_sends_out = link && vnm_link_kind_counts_as_guest (link->kind);
      /* Summaries from before the exporter started were not its to send. */
      s->final = rec->ended && rec->ended_us < x->started_us;
      /* A flow older than the exporter is one of an adopted (pinned) table
       * (the exporter is made before the engine attaches its probes): it
       * counts on from what the earlier run exported, which that run kept.
       * Without (it was killed), from what the flow has now: what it
       * counted after that run's last export is not exported. */
      if (rec->flow.first_ns && (gint64) rec->flow.first_ns / 1000 < x->started_us)
        {
          const Baseline *b = g_hash_table_lookup (x->baselines, &id);

          memcpy (s->bytes, b ? (const void *) b->bytes : (const void *) rec->flow.bytes, sizeof s->bytes);
          memcpy (s->packets, b ? (const void *) b->packets : (const void *) rec->flow.packets,
                  sizeof s->packets);
          if (b)
            g_hash_table_remove (x->baselines, &id);
        }
      g_hash_table_insert (x->flows, &s->id, s);
    }
  s->generation = x->generation;
  if (s->final)
    return;
  if (rec->ended)
    {
      add_flow (w, rec, s, end_reason (x, rec), uuid, name);
      s->final = TRUE;
    }
  else if (w->closing)
    {
      /* For this exporter the flow ends; a next run that adopts the table
       * counts it on from here. */
      add_flow (w, rec, s, VNM_IPFIX_END_FORCED, uuid, name);
      s->final = TRUE;
      s->stopped = TRUE;
    }
  else if (w->now_us - s->last_export_us >= x->active_timeout_us &&
           (rec->flow.packets[0] != s->packets[0] || rec->flow.packets[1] != s->packets[1]))
    add_flow (w, rec, s, VNM_IPFIX_END_ACTIVE, uuid, name);
}

static void
export (VnmIpfixExporter *x, gboolean closing)
{
  VnmFlowMonitor *monitor = vnm_engine_get_flow_monitor (x->engine);
  g_autoptr(GArray) flows = g_array_new (FALSE, FALSE, sizeof (VnmIpfixFlow));
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GArray) counts = NULL;
  Walk w = { x, g_get_monotonic_time (), g_get_real_time () - g_get_monotonic_time (), flows, closing };
  GHashTableIter it;
  FlowState *s;
  gboolean templates;

  x->generation++;
  vnm_flow_monitor_foreach_record (monitor, visit, &w);
  g_hash_table_iter_init (&it, x->flows);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    if (s->generation != x->generation)
      g_hash_table_iter_remove (&it);

  /* UDP: again every refresh period or so many messages; TCP: once a session. */
  templates = x->need_templates ||
              (!x->tcp && (w.now_us - x->templates_sent_us >= VNM_IPFIX_TEMPLATE_REFRESH_S * G_USEC_PER_SEC ||
                           x->messages_since_templates >= VNM_IPFIX_TEMPLATE_REFRESH_MESSAGES));
  templates = templates && x->socket;
  if (!flows->len && !templates)
    return;
  messages = vnm_ipfix_encode_flows (x->encoder, (const VnmIpfixFlow *) flows->data, flows->len,
                                     templates, (guint32) (g_get_real_time () / G_USEC_PER_SEC), &counts);
  for (guint i = 0; i < messages->len; i++)
    {
      gboolean sent = send_message (x, messages->pdata[i], g_array_index (counts, guint, i));

      /* The first message carries the templates; dropped, they go with the
       * next export. (A later message that fails may ask for them again.) */
      if (i == 0 && templates && sent)
        {
          x->template_sends++;
          x->need_templates = FALSE;
          x->templates_sent_us = w.now_us;
          x->messages_since_templates = 0;
        }
      x->messages_since_templates++;
    }
}

static void
on_interval (VnmEngine *engine, gpointer user_data)
{
  export (user_data, FALSE);
}

/* --- baselines across a restart -------------------------------------------- */

static void
load_baselines (VnmIpfixExporter *x)
{
  g_autofree gchar *data = NULL;
  gsize len = 0;
  const gsize magic = sizeof BASELINES_MAGIC - 1;

  if (!g_file_get_contents (x->baselines_path, &data, &len, NULL))
    return;
  /* Once: a later run must not take them for its own. */
  g_unlink (x->baselines_path);
  if (len < magic || memcmp (data, BASELINES_MAGIC, magic) != 0 || (len - magic) % sizeof (Baseline))
    return;
  for (gsize off = magic; off < len; off += sizeof (Baseline))
    {
      Baseline *b = g_memdup2 (data + off, sizeof (Baseline));
      g_hash_table_replace (x->baselines, &b->id, b);
    }
}

/* The flows that go on (for the next run to continue), with what was
 * exported of them. */
static void
save_baselines (VnmIpfixExporter *x)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  FlowState *s;

  g_byte_array_append (out, (const guint8 *) BASELINES_MAGIC, sizeof BASELINES_MAGIC - 1);
  g_hash_table_iter_init (&it, x->flows);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    if (!s->final || s->stopped)
      {
        Baseline b;

        memset (&b, 0, sizeof b);
        b.id = s->id;
        memcpy (b.bytes, s->bytes, sizeof b.bytes);
        memcpy (b.packets, s->packets, sizeof b.packets);
        g_byte_array_append (out, (const guint8 *) &b, sizeof b);
      }
  if (out->len == sizeof BASELINES_MAGIC - 1)
    return;
  if (!g_file_set_contents (x->baselines_path, (const gchar *) out->data, out->len, &error))
    g_warning (_("Cannot save what was exported over IPFIX of the flows going on in %s: %s"),
               x->baselines_path, error->message);
}

/* --- life ----------------------------------------------------------------- */

VnmIpfixExporter *
vnm_ipfix_exporter_new (VnmEngine *engine, const VnmOptions *options)
{
  VnmIpfixExporter *x = g_new0 (VnmIpfixExporter, 1);
  gboolean parsed;

  x->engine = g_object_ref (engine);
  x->collector = g_strdup (options->ipfix_collector);
  parsed = vnm_ipfix_parse_collector (options->ipfix_collector, &x->host, &x->port, &x->tcp, NULL);
  g_assert (parsed);
  x->active_timeout_us = (gint64) options->ipfix_active_timeout_s * G_USEC_PER_SEC;
  x->idle_timeout_ns = (gint64) options->flow_idle_timeout_s * G_USEC_PER_SEC * 1000;
  x->domain = options->ipfix_observation_domain;
  x->started_us = g_get_monotonic_time ();
  x->encoder = vnm_ipfix_encoder_new (x->domain, x->tcp ? TCP_MESSAGE_MAX : UDP_MESSAGE_MAX);
  x->flows = g_hash_table_new_full (flow_id_hash, flow_id_equal, NULL, (GDestroyNotify) flow_state_free);
  x->baselines = g_hash_table_new_full (flow_id_hash, flow_id_equal, NULL, g_free);
  x->baselines_path = g_build_filename (options->state_dir, BASELINES_FILE, NULL);
  load_baselines (x);
  x->pending = g_byte_array_new ();
  g_queue_init (&x->pending_messages);
  x->backoff_s = RECONNECT_MIN_S;
  x->client = g_socket_client_new ();
  /* A collector is reached directly, never through a proxy of the environment. */
  g_socket_client_set_enable_proxy (x->client, FALSE);
  if (!x->tcp)
    {
      g_socket_client_set_socket_type (x->client, G_SOCKET_TYPE_DATAGRAM);
      g_socket_client_set_protocol (x->client, G_SOCKET_PROTOCOL_UDP);
    }
  /* Connecting only: the connected socket gets no timeout (connected ()). */
  g_socket_client_set_timeout (x->client, 10);
  x->interval_handler = g_signal_connect (engine, "interval", G_CALLBACK (on_interval), x);
  g_message (_("Exporting flows over IPFIX to %s (%s, active timeout %d s, idle timeout %d s)."),
             x->collector, x->tcp ? "TCP" : "UDP", options->ipfix_active_timeout_s,
             options->flow_idle_timeout_s);
  try_connect (x);
  return x;
}

void
vnm_ipfix_exporter_free (VnmIpfixExporter *x)
{
  if (!x)
    return;
  g_signal_handler_disconnect (x->engine, x->interval_handler);
  /* The flows going on end here for the collector (flowEndReason forced
   * end), with their counts since the last export: best effort, without
   * waiting. The engine polled the table a last time when it stopped. */
  if (x->socket && x->generation)
    {
      export (x, TRUE);
      if (x->socket && x->tcp && x->pending->len)
        flush_tcp (x);
    }
  if (x->generation)
    save_baselines (x);
  if (x->cancellable)
    g_cancellable_cancel (x->cancellable);
  g_clear_object (&x->cancellable);
  g_clear_handle_id (&x->reconnect_source, g_source_remove);
  disconnect (x);
  g_clear_object (&x->client);
  g_object_unref (x->engine);
  vnm_ipfix_encoder_free (x->encoder);
  g_hash_table_unref (x->flows);
  g_hash_table_unref (x->baselines);
  g_free (x->baselines_path);
  g_byte_array_unref (x->pending);
  g_free (x->collector);
  g_free (x->host);
  g_free (x->last_error);
  g_free (x);
}

void
vnm_ipfix_exporter_stats (VnmIpfixExporter *x, VnmIpfixStats *out)
{
  memset (out, 0, sizeof *out);
  out->collector = x->collector;
  out->transport = x->tcp ? "tcp" : "udp";
  out->connected = x->connected;
  out->messages_sent = x->messages_sent;
  out->records_sent = x->records_sent;
  out->bytes_sent = x->bytes_sent;
  out->messages_dropped = x->messages_dropped;
  out->records_dropped = x->records_dropped;
  out->template_sends = x->template_sends;
  out->connections = x->connections;
  out->flows_tracked = g_hash_table_size (x->flows);
  out->active_timeout_s = (guint) (x->active_timeout_us / G_USEC_PER_SEC);
  out->idle_timeout_s = (guint) (x->idle_timeout_ns / 1000 / G_USEC_PER_SEC);
  out->observation_domain = x->domain;
  out->last_error = x->last_error ? x->last_error : "";
}
