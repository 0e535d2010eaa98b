/* dbus-records-conns.c: the connection state and exposed service records
 * of the D-Bus API (GetConnections, GetServices, ServiceAppeared). */
#include "config.h"

#include <string.h>

#include "conn-states.h"
#include "dbus-records.h"
#include "flow-aggregate.h"
#include "flow-monitor.h"
#include "service-table.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

static const gchar *const initiators[3] = { "unknown", "vm", "remote" };  /* VNM_OPENER_* */

/* Monotonic ns from the kernel -> wall-clock seconds since the epoch. */
static gdouble
wall_seconds (guint64 mono_ns)
{
  gint64 now_mono = g_get_monotonic_time (), now_real = g_get_real_time ();
  return mono_ns ? (now_real - (now_mono - (gint64) (mono_ns / 1000))) / 1e6 : 0;
}

void
vnm_record_domain_probe_totals (VnmEngine *engine, const gchar *uuid,
                                struct vnm_iface_totals *sum, guint64 *evicted)
{
  VnmLinkTable *links = vnm_engine_get_link_table (engine);

  memset (sum, 0, sizeof *sum);
  *evicted = 0;
  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      VnmLinkOwner owner;
      VnmProbeTotals t;

      vnm_link_table_owner (links, link, &owner);
      if (!owner.domain || !g_str_equal (owner.vm_uuid, uuid) ||
          !vnm_flow_monitor_totals (vnm_engine_get_flow_monitor (engine), link->ifindex, &t) ||
          !t.attached)
        continue;
      for (guint d = 0; d < 2; d++)
        {
          sum->handshake_refused[d] += t.totals.handshake_refused[d];
          sum->handshake_timeouts[d] += t.totals.handshake_timeouts[d];
        }
      sum->conns_opened += t.totals.conns_opened;
      sum->flows_created += t.totals.flows_created;
      *evicted += t.evicted;
    }
}

static gboolean
flows_available (VnmEngine *engine, GError **error)
{
  VnmFlowMonitor *m = vnm_engine_get_flow_monitor (engine);

  if (vnm_flow_monitor_available (m))
    return TRUE;
  g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED, _("Flows are not collected: %s"),
               vnm_flow_monitor_unavailable_reason (m));
  return FALSE;
}

GVariant *
vnm_record_connections (VnmEngine *engine, const VnmDomain *d, GVariant *options, GError **error)
{
  VnmLinkTable *links = vnm_engine_get_link_table (engine);
  GVariantBuilder summary, states, conns, failures;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GArray) failed = NULL;
  VnmConnStates counts = { 0 };
  struct vnm_iface_totals totals;
  guint64 evicted;
  gint want = -1;
  guint listed = 0;
  GVariantIter it;
  const gchar *key;
  GVariant *value;

  g_variant_iter_init (&it, options);
  while (g_variant_iter_loop (&it, "{&sv}", &key, &value))
    {
      if (g_str_equal (key, "state") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          const gchar *s = g_variant_get_string (value, NULL);
          if (*s && (want = vnm_conn_state_parse (s)) < 0)
            {
              g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                           _("Unknown connection state '%.32s': use syn_sent, syn_received, "
                             "established, closing, closed or reset."), s);
              g_variant_unref (value);
              return NULL;
            }
        }
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown option '%.32s' of type '%s': use state (s)."), key,
                       g_variant_get_type_string (value));
          g_variant_unref (value);
          return NULL;
        }
    }
  if (!flows_available (engine, error))
    return NULL;

  records = vnm_flow_monitor_records (vnm_engine_get_flow_monitor (engine), d->uuid);
  g_variant_builder_init (&conns, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      const VnmLink *link;
      gchar local[48], remote[48];
      GVariantBuilder row;
      gint st;

      if (rec->ended || (st = vnm_conn_state_of (rec)) < 0)
        continue;
      vnm_conn_states_add (&counts, rec);
      if (want >= 0 && st != want)
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.local_addr, local, sizeof local);
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, remote, sizeof remote);
      link = vnm_link_table_lookup_ifindex (links, (gint) rec->key.ifindex);
      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "iface", g_variant_new_string (link ? link->name : ""));
      ADD (&row, "local_ip", g_variant_new_string (local));
      ADD (&row, "local_port", g_variant_new_int32 (rec->key.local_port));
      ADD (&row, "remote_ip", g_variant_new_string (remote));
      ADD (&row, "remote_port", g_variant_new_int32 (rec->key.remote_port));
      ADD (&row, "initiator", g_variant_new_string (initiators[rec->flow.opener <= 2 ? rec->flow.opener : 0]));
      ADD (&row, "state", g_variant_new_string (vnm_conn_state_name (st)));
      ADD (&row, "tx_bytes", g_variant_new_uint64 (rec->flow.bytes[VNM_DIR_OUT]));
      ADD (&row, "rx_bytes", g_variant_new_uint64 (rec->flow.bytes[VNM_DIR_IN]));
      ADD (&row, "first_seen", g_variant_new_double (wall_seconds (rec->flow.first_ns)));
      ADD (&row, "last_seen", g_variant_new_double (wall_seconds (rec->flow.last_ns)));
      g_variant_builder_add_value (&conns, g_variant_builder_end (&row));
      listed++;
    }

  vnm_record_domain_probe_totals (engine, d->uuid, &totals, &evicted);
  g_variant_builder_init (&states, G_VARIANT_TYPE ("aa{sv}"));
  for (guint o = VNM_OPENER_VM; o <= VNM_OPENER_REMOTE + 1; o++)
    {
      guint opener = o == VNM_OPENER_REMOTE + 1 ? VNM_OPENER_UNKNOWN : o;
      gint dir = opener == VNM_OPENER_VM ? VNM_DIR_OUT : VNM_DIR_IN;
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "initiator", g_variant_new_string (initiators[opener]));
      for (guint s = 0; s < VNM_CONN_STATES; s++)
        ADD (&row, vnm_conn_state_name (s), g_variant_new_uint64 (counts.count[opener][s]));
      ADD (&row, "handshake_refused",
           g_variant_new_uint64 (opener == VNM_OPENER_UNKNOWN ? 0 : totals.handshake_refused[dir]));
      ADD (&row, "handshake_timed_out",
           g_variant_new_uint64 (opener == VNM_OPENER_UNKNOWN ? 0 : totals.handshake_timeouts[dir]));
      g_variant_builder_add_value (&states, g_variant_builder_end (&row));
    }

  failed = vnm_handshake_failures (records);
  g_variant_builder_init (&failures, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < failed->len; i++)
    {
      const VnmHandshakeFailure *f = &g_array_index (failed, VnmHandshakeFailure, i);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "remote_ip", g_variant_new_string (f->remote_ip));
      ADD (&row, "local_port", g_variant_new_int32 (f->local_port));
      ADD (&row, "remote_port", g_variant_new_int32 (f->remote_port));
      ADD (&row, "initiator", g_variant_new_string (initiators[f->opener]));
      ADD (&row, "refused", g_variant_new_uint64 (f->refused));
      ADD (&row, "timed_out", g_variant_new_uint64 (f->timed_out));
      ADD (&row, "last_seen", g_variant_new_double (wall_seconds (f->last_ns)));
      g_variant_builder_add_value (&failures, g_variant_builder_end (&row));
    }

  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  ADD (&summary, "vm_name", g_variant_new_string (d->name));
  ADD (&summary, "vm_uuid", g_variant_new_string (d->uuid));
  ADD (&summary, "connections_listed", g_variant_new_uint32 (listed));
  ADD (&summary, "flows_evicted", g_variant_new_uint64 (evicted));
  return g_variant_new ("(@a{sv}@aa{sv}@aa{sv}@aa{sv})", g_variant_builder_end (&summary),
                        g_variant_builder_end (&states), g_variant_builder_end (&conns),
                        g_variant_builder_end (&failures));
}

GVariant *
vnm_record_service (const VnmService *s)
{
  GVariantBuilder row;

  g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
  ADD (&row, "proto", g_variant_new_string (vnm_service_proto_name (s)));
  ADD (&row, "port", g_variant_new_int32 (s->port));
  ADD (&row, "first_seen", g_variant_new_double (wall_seconds (s->first_ns)));
  ADD (&row, "last_seen", g_variant_new_double (wall_seconds (s->last_ns)));
  ADD (&row, "clients", g_variant_new_uint32 (s->clients));
  ADD (&row, "clients_untracked", g_variant_new_uint64 (s->clients_untracked));
  ADD (&row, "connections", g_variant_new_uint64 (s->connections));
  ADD (&row, "rx_bytes", g_variant_new_uint64 (s->rx_bytes));
  ADD (&row, "tx_bytes", g_variant_new_uint64 (s->tx_bytes));
  return g_variant_builder_end (&row);
}

GVariant *
vnm_record_services (VnmEngine *engine, const VnmDomain *d, GError **error)
{
  VnmServiceTable *table = vnm_engine_get_services (engine);
  g_autoptr(GPtrArray) list = NULL;
  GVariantBuilder summary, services;

  if (!flows_available (engine, error))
    return NULL;
  list = vnm_service_table_list (table, d->uuid);
  g_variant_builder_init (&services, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->len; i++)
    g_variant_builder_add_value (&services, vnm_record_service (g_ptr_array_index (list, i)));
  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  ADD (&summary, "vm_name", g_variant_new_string (d->name));
  ADD (&summary, "vm_uuid", g_variant_new_string (d->uuid));
  ADD (&summary, "services_max", g_variant_new_uint32 (vnm_service_table_max_services (table)));
  ADD (&summary, "clients_max", g_variant_new_uint32 (vnm_service_table_max_clients (table)));
  ADD (&summary, "flows_untracked", g_variant_new_uint64 (vnm_service_table_untracked (table, d->uuid)));
  return g_variant_new ("(@a{sv}@aa{sv})", g_variant_builder_end (&summary),
                        g_variant_builder_end (&services));
}
