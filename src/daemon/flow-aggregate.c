/* flow-aggregate.c: rows of flows, grouped, filtered and sorted. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "flow-aggregate.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

gboolean
vnm_flow_query_parse (VnmFlowQuery *q, const gchar *by, const gchar *direction,
                      const gchar *proto, const gchar *sort, GError **error)
{
  static const gchar *bys[] = { "flow", "remote", "remote-port", "local-port" };
  static const gchar *sorts[] = { "bytes", "rtt", "retrans", "conns" };
  gboolean found = FALSE;

  q->by = VNM_FLOW_BY_REMOTE_PORT;
  q->sort = VNM_FLOW_SORT_BYTES;
  q->direction = -1;
  q->proto = -1;
  q->top = 0;
  if (by && *by)
    {
      for (guint i = 0; i < G_N_ELEMENTS (bys); i++)
        if (g_str_equal (by, bys[i]))
          q->by = i, found = TRUE;
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown grouping '%.32s': use flow, remote, remote-port or local-port."), by);
          return FALSE;
        }
    }
  if (sort && *sort)
    {
      found = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (sorts); i++)
        if (g_str_equal (sort, sorts[i]))
          q->sort = i, found = TRUE;
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown sort key '%.32s': use bytes, rtt, retrans or conns."), sort);
          return FALSE;
        }
    }
  if (direction && *direction)
    {
      if (g_str_equal (direction, "vm"))
        q->direction = VNM_OPENER_VM;
      else if (g_str_equal (direction, "remote"))
        q->direction = VNM_OPENER_REMOTE;
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown initiator '%.32s': use vm or remote."), direction);
          return FALSE;
        }
    }
  if (proto && *proto)
    {
      if (g_str_equal (proto, "tcp"))
        q->proto = IPPROTO_TCP;
      else if (g_str_equal (proto, "udp"))
        q->proto = IPPROTO_UDP;
      else if (g_str_equal (proto, "icmp"))
        q->proto = IPPROTO_ICMP;
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown protocol '%.32s': use tcp, udp or icmp."), proto);
          return FALSE;
        }
    }
  return TRUE;
}

const gchar *
vnm_flow_proto_name (gint proto)
{
  switch (proto)
    {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case -1: return "any";
    default: return "other";
    }
}

const gchar *
vnm_flow_initiator_name (gint opener)
{
  switch (opener)
    {
    case VNM_OPENER_VM: return "vm";
    case VNM_OPENER_REMOTE: return "remote";
    case -1: return "mixed";
    default: return "unknown";
    }
}

void
vnm_flow_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len)
{
  if (family == 4)
    inet_ntop (AF_INET, addr + 12, buf, len);
  else
    inet_ntop (AF_INET6, addr, buf, len);
}

void
vnm_rtt_agg_merge (VnmRttAgg *agg, const struct vnm_rtt *r)
{
  if (!r->count)
    return;
  if (!agg->count || r->min_us < agg->min_us)
    agg->min_us = r->min_us;
  agg->max_us = MAX (agg->max_us, r->max_us);
  agg->sum_us += r->sum_us;
  agg->count += r->count;
  agg->jitter_sum_us += r->jitter_sum_us;
  agg->jitter_count += r->count - 1;
}

gboolean
vnm_flow_record_is_active (const VnmFlowRecord *rec)
{
  /* A TCP connection that closed or was reset is over, though its entry
   * waits in the table for the idle timeout (or the next SYN). */
  if (rec->key.proto == IPPROTO_TCP && (rec->flow.tcp_state & (VNM_TCP_CLOSED | VNM_TCP_RESET)))
    return FALSE;
  return !rec->ended;
}

static gboolean
record_matches (const VnmFlowRecord *rec, const VnmFlowQuery *q)
{
  if (q->direction >= 0 && rec->flow.opener != q->direction)
    return FALSE;
  if (q->proto == IPPROTO_ICMP)
    return rec->key.proto == IPPROTO_ICMP || rec->key.proto == IPPROTO_ICMPV6;
  return q->proto < 0 || rec->key.proto == q->proto;
}

static gchar *
group_key (const VnmFlowRecord *rec, VnmFlowBy by, const gchar *local, const gchar *remote)
{
  switch (by)
    {
    case VNM_FLOW_BY_FLOW:
      return g_strdup_printf ("%u %s %u %s %u", rec->key.proto, local, rec->key.local_port,
                              remote, rec->key.remote_port);
    case VNM_FLOW_BY_REMOTE:
      return g_strdup (remote);
    case VNM_FLOW_BY_REMOTE_PORT:
      return g_strdup_printf ("%u %s %u", rec->key.proto, remote, rec->key.remote_port);
    case VNM_FLOW_BY_LOCAL_PORT:
    default:
      return g_strdup_printf ("%u %u", rec->key.proto, rec->key.local_port);
    }
}

static void
row_add (VnmFlowRow *row, const VnmFlowRecord *rec, gboolean first, const gchar *local,
         const gchar *remote)
{
  const struct vnm_flow *f = &rec->flow;

  if (first)
    {
      g_strlcpy (row->local_ip, local, sizeof row->local_ip);
      g_strlcpy (row->remote_ip, remote, sizeof row->remote_ip);
      row->local_port = rec->key.local_port;
      row->remote_port = rec->key.remote_port;
      row->proto = rec->key.proto;
      row->direction = f->opener;
      row->first_ns = f->first_ns;
    }
  else
    {
      /* Fields that differ inside a group are aggregated away. */
      if (!g_str_equal (row->local_ip, local))
        row->local_ip[0] = '\0';
      if (!g_str_equal (row->remote_ip, remote))
        row->remote_ip[0] = '\0';
      if (row->local_port != rec->key.local_port)
        row->local_port = -1;
      if (row->remote_port != rec->key.remote_port)
        row->remote_port = -1;
      if (row->proto != rec->key.proto)
        row->proto = -1;
      if (row->direction != f->opener)
        row->direction = -1;
      row->first_ns = MIN (row->first_ns, f->first_ns);
    }
  row->last_ns = MAX (row->last_ns, f->last_ns);
  row->tx_bytes += f->bytes[VNM_DIR_OUT];
  row->rx_bytes += f->bytes[VNM_DIR_IN];
  row->tx_packets += f->packets[VNM_DIR_OUT];
  row->rx_packets += f->packets[VNM_DIR_IN];
  row->conns_opened += f->conns_opened;
  row->conns_closed += f->conns_closed;
  row->resets += f->resets;
  row->retrans_tx += f->retrans[VNM_DIR_OUT];
  row->retrans_rx += f->retrans[VNM_DIR_IN];
  vnm_rtt_agg_merge (&row->rtt, &f->rtt_remote);
  vnm_rtt_agg_merge (&row->vm_rtt, &f->rtt_vm);
  row->flows++;
  if (vnm_flow_record_is_active (rec))
    row->active++;
}

static gdouble
rtt_avg (const VnmRttAgg *r)
{
  return r->count ? (gdouble) r->sum_us / r->count : 0;
}

static gint
compare_rows (gconstpointer pa, gconstpointer pb, gpointer data)
{
  const VnmFlowRow *a = pa, *b = pb;
  VnmFlowSort sort = GPOINTER_TO_INT (data);
  gdouble ka = 0, kb = 0;

  switch (sort)
    {
    case VNM_FLOW_SORT_RTT: ka = rtt_avg (&a->rtt); kb = rtt_avg (&b->rtt); break;
    case VNM_FLOW_SORT_RETRANS: ka = a->retrans_tx + a->retrans_rx; kb = b->retrans_tx + b->retrans_rx; break;
    case VNM_FLOW_SORT_CONNS: ka = a->conns_opened; kb = b->conns_opened; break;
    case VNM_FLOW_SORT_BYTES: break;
    }
  if (ka != kb)
    return ka < kb ? 1 : -1;
  ka = (gdouble) a->tx_bytes + a->rx_bytes;
  kb = (gdouble) b->tx_bytes + b->rx_bytes;
  if (ka != kb)
    return ka < kb ? 1 : -1;
  if (a->remote_port != b->remote_port)
    return a->remote_port - b->remote_port;
  return g_strcmp0 (a->remote_ip, b->remote_ip);
}

GArray *
vnm_flow_aggregate (GPtrArray *records, const VnmFlowQuery *q)
{
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (VnmFlowRow));

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      gchar local[48], remote[48];
      gchar *key;
      gpointer pos;

      if (!record_matches (rec, q))
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.local_addr, local, sizeof local);
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, remote, sizeof remote);
      key = group_key (rec, q->by, local, remote);
      if (g_hash_table_lookup_extended (index, key, NULL, &pos))
        {
          row_add (&g_array_index (rows, VnmFlowRow, GPOINTER_TO_UINT (pos)), rec, FALSE,
                   local, remote);
          g_free (key);
        }
      else
        {
          VnmFlowRow row = { 0 };
          row_add (&row, rec, TRUE, local, remote);
          g_hash_table_insert (index, key, GUINT_TO_POINTER (rows->len));
          g_array_append_val (rows, row);
        }
    }
  g_array_sort_with_data (rows, compare_rows, GINT_TO_POINTER (q->sort));
  if (q->top && rows->len > q->top)
    g_array_set_size (rows, q->top);
  return rows;
}

