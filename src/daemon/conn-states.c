/* conn-states.c: TCP connection states and handshake failures from flow
 * records. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "conn-states.h"
#include "flow-aggregate.h"

static const gchar *const state_names[VNM_CONN_STATES] = {
  "syn_sent", "syn_received", "established", "closing", "closed", "reset",
};

const gchar *
vnm_conn_state_name (VnmConnState s)
{
  return s < VNM_CONN_STATES ? state_names[s] : "";
}

gint
vnm_conn_state_parse (const gchar *name)
{
  for (guint i = 0; name && i < VNM_CONN_STATES; i++)
    if (g_str_equal (name, state_names[i]))
      return (gint) i;
  return -1;
}

gint
vnm_conn_state_of (const VnmFlowRecord *rec)
{
  const struct vnm_flow *f = &rec->flow;
  guint32 s = f->tcp_state;

  if (rec->key.proto != IPPROTO_TCP)
    return -1;
  if (s & VNM_TCP_RESET)
    return VNM_CONN_RESET;
  if (s & VNM_TCP_CLOSED)
    return VNM_CONN_CLOSED;
  if (s & (VNM_TCP_FIN_OUT | VNM_TCP_FIN_IN))
    return VNM_CONN_CLOSING;
  /* The probe keeps the SYN-ACK's time until an ACK follows it. */
  if (s & VNM_TCP_ESTAB)
    return f->synack_ns ? VNM_CONN_SYN_RECEIVED : VNM_CONN_ESTABLISHED;
  if (s & (VNM_TCP_SYN_OUT | VNM_TCP_SYN_IN))
    return VNM_CONN_SYN_SENT;
  if (f->packets[0] + f->packets[1])
    return VNM_CONN_ESTABLISHED;
  return -1;
}

void
vnm_conn_states_add (VnmConnStates *s, const VnmFlowRecord *rec)
{
  gint st;

  if (rec->ended || (st = vnm_conn_state_of (rec)) < 0)
    return;
  s->count[rec->flow.opener <= VNM_OPENER_REMOTE ? rec->flow.opener : 0][st]++;
}

static gint
by_failures (gconstpointer a, gconstpointer b)
{
  const VnmHandshakeFailure *x = a, *y = b;
  guint64 nx = x->refused + x->timed_out, ny = y->refused + y->timed_out;

  if (nx != ny)
    return nx > ny ? -1 : 1;
  if (x->last_ns != y->last_ns)
    return x->last_ns > y->last_ns ? -1 : 1;
  return strcmp (x->remote_ip, y->remote_ip);
}

GArray *
vnm_handshake_failures (GPtrArray *records)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (VnmHandshakeFailure));
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      guint32 s = rec->flow.tcp_state;
      VnmHandshakeFailure row = { 0 }, *r;
      g_autofree gchar *id = NULL;
      gpointer at;

      if (rec->key.proto != IPPROTO_TCP || !(s & (VNM_TCP_REFUSED | VNM_TCP_SYN_TIMEOUT)) ||
          (rec->flow.opener != VNM_OPENER_VM && rec->flow.opener != VNM_OPENER_REMOTE))
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, row.remote_ip,
                               sizeof row.remote_ip);
      row.opener = rec->flow.opener;
      row.local_port = row.opener == VNM_OPENER_REMOTE ? rec->key.local_port : -1;
      row.remote_port = row.opener == VNM_OPENER_VM ? rec->key.remote_port : -1;
      id = g_strdup_printf ("%s %d %d %d", row.remote_ip, row.opener, row.local_port,
                            row.remote_port);
      if (g_hash_table_lookup_extended (index, id, NULL, &at))
        r = &g_array_index (out, VnmHandshakeFailure, GPOINTER_TO_UINT (at));
      else
        {
          g_hash_table_insert (index, g_steal_pointer (&id), GUINT_TO_POINTER (out->len));
          g_array_append_val (out, row);
          r = &g_array_index (out, VnmHandshakeFailure, out->len - 1);
        }
      if (s & VNM_TCP_REFUSED)
        r->refused++;
      if (s & VNM_TCP_SYN_TIMEOUT)
        r->timed_out++;
      r->last_ns = MAX (r->last_ns, rec->flow.last_ns);
    }
  g_array_sort (out, by_failures);
  return out;
}
