/* dbus-records-flows.c: the flow, topology and probe records of the D-Bus API. */
#include "config.h"

#include "flow-monitor.h"
#include "dbus-records.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

/* @prefix "rtt_" (remote leg; its jitter is plain "jitter_us", the key
 * the reference product's users know) or "vm_rtt_". */
static void
add_rtt (GVariantBuilder *b, const gchar *prefix, const VnmRttAgg *r)
{
  g_autofree gchar *avg = g_strconcat (prefix, "avg_us", NULL);
  g_autofree gchar *min = g_strconcat (prefix, "min_us", NULL);
  g_autofree gchar *max = g_strconcat (prefix, "max_us", NULL);
  g_autofree gchar *samples = g_strconcat (prefix, "samples", NULL);
  g_autofree gchar *jitter = g_str_equal (prefix, "rtt_") ? g_strdup ("jitter_us")
                                                          : g_strconcat (prefix, "jitter_us", NULL);

  ADD (b, avg, g_variant_new_double (r->count ? (gdouble) r->sum_us / r->count : 0));
  ADD (b, min, g_variant_new_uint32 (r->count ? r->min_us : 0));
  ADD (b, max, g_variant_new_uint32 (r->max_us));
  ADD (b, jitter, g_variant_new_double (r->jitter_count
                                        ? (gdouble) r->jitter_sum_us / r->jitter_count : 0));
  ADD (b, samples, g_variant_new_uint64 (r->count));
}

/* Monotonic ns from the kernel -> wall-clock seconds since the epoch. */
static gdouble
wall_seconds (guint64 mono_ns)
{
  gint64 now_mono = g_get_monotonic_time (), now_real = g_get_real_time ();
  return mono_ns ? (now_real - (now_mono - (gint64) (mono_ns / 1000))) / 1e6 : 0;
}

/* remote_kind, remote_name, remote_vm_uuid of a row: what its remote is
 * (a flow whose local side is multicast, broadcast or unspecified is of
 * that kind), "" when the group mixes remotes. */
static void
add_peer (GVariantBuilder *row, VnmPeerNames *peers, const gchar *vm_uuid, const gchar *local_ip,
          const gchar *remote_ip)
{
  VnmPeer peer = { VNM_PEER_REMOTE, "", "", "" };
  const gchar *kind = "";
  guint8 family, addr[16];

  if (*local_ip && vnm_addr_parse (local_ip, &family, addr))
    {
      vnm_peer_names_classify (peers, family, addr, &peer);
      if (peer.kind >= VNM_PEER_MULTICAST)
        kind = vnm_peer_kind_name (peer.kind);
      peer = (VnmPeer) { VNM_PEER_REMOTE, "", "", "" };
    }
  if (!*kind && *remote_ip && vnm_addr_parse (remote_ip, &family, addr))
    {
      vnm_peer_names_classify_for (peers, vm_uuid, family, addr, &peer);
      kind = vnm_peer_kind_name (peer.kind);
    }
  ADD (row, "remote_kind", g_variant_new_string (kind));
  ADD (row, "remote_name", g_variant_new_string (peer.name));
  ADD (row, "remote_name_source", g_variant_new_string (peer.name_source));
  ADD (row, "remote_vm_uuid", g_variant_new_string (peer.vm_uuid));
}

GVariant *
vnm_record_flows (VnmEngine *engine, const VnmDomain *d, GVariant *options, GError **error)
{
  const gchar *by = "", *direction = "", *proto = "", *sort = "";
  guint32 top = 0;
  gboolean non_unicast = FALSE;
  VnmFlowQuery q;
  GVariantIter it;
  const gchar *key;
  GVariant *value;
  GVariantBuilder b;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GArray) rows = NULL;
  g_autoptr(VnmPeerNames) peers = NULL;

  g_variant_iter_init (&it, options);
  while (g_variant_iter_loop (&it, "{&sv}", &key, &value))
    {
      const gchar **target = g_str_equal (key, "by") ? &by
                             : g_str_equal (key, "initiator") ? &direction
                             : g_str_equal (key, "proto") ? &proto
                             : g_str_equal (key, "sort") ? &sort : NULL;
      if (target && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        *target = g_variant_get_string (value, NULL);
      else if (g_str_equal (key, "top") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
        top = g_variant_get_uint32 (value);
      else if (g_str_equal (key, "non_unicast") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        non_unicast = g_variant_get_boolean (value);
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown option '%.32s' of type '%s': use by (s), initiator (s), "
                         "proto (s), sort (s), top (u) or non_unicast (b)."), key,
                       g_variant_get_type_string (value));
          g_variant_unref (value);
          return NULL;
        }
    }
  if (!vnm_flow_query_parse (&q, by, direction, proto, sort, error))
    return NULL;
  q.top = top;
  if (!vnm_flow_monitor_available (vnm_engine_get_flow_monitor (engine)))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("Flows are not collected: %s"),
                   vnm_flow_monitor_unavailable_reason (vnm_engine_get_flow_monitor (engine)));
      return NULL;
    }

  peers = vnm_engine_peer_names (engine);
  records = vnm_flow_monitor_records (vnm_engine_get_flow_monitor (engine), d->uuid);
  /* Multicast, broadcast and the unspecified address are no peers: their
   * flows only when asked for. */
  if (!non_unicast)
    for (guint i = records->len; i-- > 0;)
      if (!vnm_peer_names_is_unicast_flow (peers, &((VnmFlowRecord *) records->pdata[i])->key))
        g_ptr_array_remove_index (records, i);
  rows = vnm_flow_aggregate (records, &q);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < rows->len; i++)
    {
      const VnmFlowRow *r = &g_array_index (rows, VnmFlowRow, i);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "local_ip", g_variant_new_string (r->local_ip));
      ADD (&row, "local_port", g_variant_new_int32 (r->local_port));
      ADD (&row, "remote_ip", g_variant_new_string (r->remote_ip));
      ADD (&row, "remote_port", g_variant_new_int32 (r->remote_port));
      add_peer (&row, peers, d->uuid, r->local_ip, r->remote_ip);
      ADD (&row, "proto", g_variant_new_string (vnm_flow_proto_name (r->proto)));
      ADD (&row, "initiator", g_variant_new_string (vnm_flow_initiator_name (r->direction)));
      ADD (&row, "tx_bytes", g_variant_new_uint64 (r->tx_bytes));
      ADD (&row, "rx_bytes", g_variant_new_uint64 (r->rx_bytes));
      ADD (&row, "tx_packets", g_variant_new_uint64 (r->tx_packets));
      ADD (&row, "rx_packets", g_variant_new_uint64 (r->rx_packets));
      ADD (&row, "tcp_conns_opened", g_variant_new_uint64 (r->conns_opened));
      ADD (&row, "tcp_conns_closed", g_variant_new_uint64 (r->conns_closed));
      ADD (&row, "tcp_resets", g_variant_new_uint64 (r->resets));
      ADD (&row, "tcp_retrans", g_variant_new_uint64 (r->retrans_tx + r->retrans_rx));
      ADD (&row, "tcp_retrans_tx", g_variant_new_uint64 (r->retrans_tx));
      ADD (&row, "tcp_retrans_rx", g_variant_new_uint64 (r->retrans_rx));
      add_rtt (&row, "rtt_", &r->rtt);
      add_rtt (&row, "vm_rtt_", &r->vm_rtt);
      ADD (&row, "first_seen", g_variant_new_double (wall_seconds (r->first_ns)));
      ADD (&row, "last_seen", g_variant_new_double (wall_seconds (r->last_ns)));
      ADD (&row, "flows", g_variant_new_uint32 (r->flows));
      ADD (&row, "active", g_variant_new_uint32 (r->active));
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_topology (VnmEngine *engine)
{
  g_autoptr(VnmPeerNames) peers = vnm_engine_peer_names (engine);
  g_autoptr(VnmTopology) topo = vnm_flow_monitor_topology (vnm_engine_get_flow_monitor (engine), peers);
  GVariantBuilder nodes, edges;

  g_variant_builder_init (&nodes, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < topo->nodes->len; i++)
    {
      const VnmTopoNode *n = g_ptr_array_index (topo->nodes, i);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "id", g_variant_new_string (n->id));
      ADD (&row, "label", g_variant_new_string (n->label));
      ADD (&row, "label_source", g_variant_new_string (n->label_source));
      ADD (&row, "kind", g_variant_new_string (vnm_peer_kind_name (n->kind)));
      ADD (&row, "rx_bytes", g_variant_new_uint64 (n->rx_bytes));
      ADD (&row, "tx_bytes", g_variant_new_uint64 (n->tx_bytes));
      if (n->kind == VNM_PEER_VM)
        {
          ADD (&row, "nonunicast_tx_bytes", g_variant_new_uint64 (n->nonunicast_tx_bytes));
          ADD (&row, "nonunicast_rx_bytes", g_variant_new_uint64 (n->nonunicast_rx_bytes));
          ADD (&row, "nonunicast_flows", g_variant_new_uint32 (n->nonunicast_flows));
        }
      g_variant_builder_add_value (&nodes, g_variant_builder_end (&row));
    }
  g_variant_builder_init (&edges, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < topo->edges->len; i++)
    {
      const VnmTopoEdge *e = g_ptr_array_index (topo->edges, i);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "source", g_variant_new_string (e->source));
      ADD (&row, "target", g_variant_new_string (e->target));
      ADD (&row, "bytes_to_target", g_variant_new_uint64 (e->bytes_to_target));
      ADD (&row, "bytes_to_source", g_variant_new_uint64 (e->bytes_to_source));
      ADD (&row, "tcp_conns_opened", g_variant_new_uint64 (e->conns));
      ADD (&row, "tcp_retrans", g_variant_new_uint64 (e->retrans));
      add_rtt (&row, "rtt_", &e->rtt);
      g_variant_builder_add_value (&edges, g_variant_builder_end (&row));
    }
  return g_variant_new ("(@aa{sv}@aa{sv})", g_variant_builder_end (&nodes),
                        g_variant_builder_end (&edges));
}

GVariant *
vnm_record_probes (VnmEngine *engine)
{
  g_autoptr(GPtrArray) status = vnm_flow_monitor_status (vnm_engine_get_flow_monitor (engine));
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < status->len; i++)
    {
      const VnmProbeStatus *s = g_ptr_array_index (status, i);
      VnmProbeTotals t;
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "iface", g_variant_new_string (s->iface));
      ADD (&row, "ifindex", g_variant_new_int32 (s->ifindex));
      ADD (&row, "vm_uuid", g_variant_new_string (s->domain_uuid));
      ADD (&row, "vm_name", g_variant_new_string (s->domain_name));
      ADD (&row, "probe", g_variant_new_string ("flows"));
      ADD (&row, "program", g_variant_new_string (s->program));
      ADD (&row, "hooks", g_variant_new_string (s->hooks));
      ADD (&row, "attached", g_variant_new_boolean (s->attached));
      ADD (&row, "reason", g_variant_new_string (s->reason));
      if (s->attached && vnm_flow_monitor_totals (vnm_engine_get_flow_monitor (engine), s->ifindex, &t))
        {
          ADD (&row, "flows_active", g_variant_new_uint32 (t.active));
          ADD (&row, "flows_evicted", g_variant_new_uint64 (t.evicted));
        }
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_flow_table (VnmEngine *engine)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "available", g_variant_new_boolean (vnm_flow_monitor_available (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "reason", g_variant_new_string (vnm_flow_monitor_unavailable_reason (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "size", g_variant_new_uint32 (vnm_flow_monitor_table_size (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "cache_slots", g_variant_new_uint32 (vnm_flow_monitor_cache_slots (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "program", g_variant_new_string (vnm_flow_monitor_program (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "pinned", g_variant_new_string (vnm_flow_monitor_pinned (vnm_engine_get_flow_monitor (engine))));
  ADD (&b, "pin_status", g_variant_new_string (vnm_flow_monitor_pin_status (vnm_engine_get_flow_monitor (engine))));
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_ipfix (VnmIpfixExporter *ipfix)
{
  GVariantBuilder b;
  VnmIpfixStats s;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "enabled", g_variant_new_boolean (ipfix != NULL));
  if (!ipfix)
    return g_variant_builder_end (&b);
  vnm_ipfix_exporter_stats (ipfix, &s);
  ADD (&b, "collector", g_variant_new_string (s.collector));
  ADD (&b, "transport", g_variant_new_string (s.transport));
  ADD (&b, "connected", g_variant_new_boolean (s.connected));
  ADD (&b, "observation_domain", g_variant_new_uint32 (s.observation_domain));
  ADD (&b, "active_timeout_seconds", g_variant_new_uint32 (s.active_timeout_s));
  ADD (&b, "idle_timeout_seconds", g_variant_new_uint32 (s.idle_timeout_s));
  ADD (&b, "messages_sent", g_variant_new_uint64 (s.messages_sent));
  ADD (&b, "records_sent", g_variant_new_uint64 (s.records_sent));
  ADD (&b, "bytes_sent", g_variant_new_uint64 (s.bytes_sent));
  ADD (&b, "messages_dropped", g_variant_new_uint64 (s.messages_dropped));
  ADD (&b, "records_dropped", g_variant_new_uint64 (s.records_dropped));
  ADD (&b, "template_sends", g_variant_new_uint64 (s.template_sends));
  ADD (&b, "connections", g_variant_new_uint64 (s.connections));
  ADD (&b, "flows_tracked", g_variant_new_uint32 (s.flows_tracked));
  ADD (&b, "last_error", g_variant_new_string (s.last_error));
  return g_variant_builder_end (&b);
}

void
vnm_record_add_probe_totals (VnmEngine *engine, GVariantBuilder *row, gint ifindex)
{
  VnmProbeTotals t;

  ADD (row, "probe_attached",
       g_variant_new_boolean (vnm_flow_monitor_totals (vnm_engine_get_flow_monitor (engine), ifindex, &t)));
  if (!t.attached)
    return;
  /* Guest's view, like the counters: tx = from the VM. */
  ADD (row, "probe_tx_packets", g_variant_new_uint64 (t.totals.packets[VNM_DIR_OUT]));
  ADD (row, "probe_rx_packets", g_variant_new_uint64 (t.totals.packets[VNM_DIR_IN]));
  ADD (row, "probe_tx_bytes", g_variant_new_uint64 (t.totals.bytes[VNM_DIR_OUT]));
  ADD (row, "probe_rx_bytes", g_variant_new_uint64 (t.totals.bytes[VNM_DIR_IN]));
  ADD (row, "flow_tx_bytes", g_variant_new_uint64 (t.totals.payload_bytes[VNM_DIR_OUT]));
  ADD (row, "flow_rx_bytes", g_variant_new_uint64 (t.totals.payload_bytes[VNM_DIR_IN]));
  ADD (row, "flows_created", g_variant_new_uint64 (t.totals.flows_created));
  ADD (row, "flows_active", g_variant_new_uint32 (t.active));
  ADD (row, "flows_evicted", g_variant_new_uint64 (t.evicted));
  ADD (row, "tcp_conns_opened", g_variant_new_uint64 (t.totals.conns_opened));
  ADD (row, "tcp_conns_closed", g_variant_new_uint64 (t.totals.conns_closed));
  ADD (row, "tcp_resets", g_variant_new_uint64 (t.totals.resets));
  ADD (row, "tcp_conns_open",
       g_variant_new_int64 (MAX ((gint64) t.totals.conns_opened - (gint64) t.totals.conns_closed -
                                 (gint64) t.totals.resets, 0)));
  ADD (row, "tcp_retrans_tx", g_variant_new_uint64 (t.totals.retrans[VNM_DIR_OUT]));
  ADD (row, "tcp_retrans_rx", g_variant_new_uint64 (t.totals.retrans[VNM_DIR_IN]));
  ADD (row, "untracked_packets", g_variant_new_uint64 (t.totals.untracked));
}
