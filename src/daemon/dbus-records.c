/* dbus-records.c: D-Bus records of domains and their interfaces, read from the
 * engine (the host's links: dbus-records-links.c). */
#include "config.h"

#include "dbus-records.h"
#include "qemu-scan.h"
#include "vnm-error.h"
#include "vnm-format.h"
#include "vnm-i18n.h"
#include "vnm-names.h"


gboolean
vnm_is_hidden_interface (const gchar *ifname)
{
  return g_str_equal (ifname, "lo") || g_str_has_prefix (ifname, "fw");
}

GVariant *
vnm_record_domain_record (VnmEngine *engine, const VnmDomain *d)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "vm_id", g_variant_new_int32 (d->id));
  g_variant_builder_add (&b, "{sv}", "vm_name", g_variant_new_string (d->name));
  g_variant_builder_add (&b, "{sv}", "vm_uuid", g_variant_new_string (d->uuid));
  g_variant_builder_add (&b, "{sv}", "state", g_variant_new_string (d->state));
  g_variant_builder_add (&b, "{sv}", "mapped_by", g_variant_new_string (d->mapped_by));
  g_variant_builder_add (&b, "{sv}", "n_interfaces", g_variant_new_uint32 (d->interfaces->len));
  g_variant_builder_add (&b, "{sv}", "object_path", g_variant_new_object_path (d->object_path));
  g_variant_builder_add (&b, "{sv}", "settings", vnm_record_domain_settings (engine, d));
  vnm_record_add_domain_labels (&b, d->labels);
  return g_variant_builder_end (&b);
}

void
vnm_record_add_domain_labels (GVariantBuilder *b, const VnmDomainLabels *l)
{
  g_variant_builder_add (b, "{sv}", "vm_title", g_variant_new_string (l->title));
  g_variant_builder_add (b, "{sv}", "vm_description", g_variant_new_string (l->description));
  g_variant_builder_add (b, "{sv}", "nova_instance_name", g_variant_new_string (l->nova_instance_name));
  g_variant_builder_add (b, "{sv}", "nova_project_name", g_variant_new_string (l->nova_project_name));
  g_variant_builder_add (b, "{sv}", "nova_project_uuid", g_variant_new_string (l->nova_project_uuid));
  g_variant_builder_add (b, "{sv}", "nova_user_name", g_variant_new_string (l->nova_user_name));
  g_variant_builder_add (b, "{sv}", "nova_user_uuid", g_variant_new_string (l->nova_user_uuid));
  g_variant_builder_add (b, "{sv}", "nova_flavor", g_variant_new_string (l->nova_flavor));
}

GVariant *
vnm_record_domains (VnmEngine *engine)
{
  g_autoptr(GPtrArray) list = vnm_registry_list (vnm_engine_get_registry (engine));
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->len; i++)
    g_variant_builder_add_value (&b, vnm_record_domain_record (engine, g_ptr_array_index (list, i)));
  return g_variant_builder_end (&b);
}

static void
add_str (GVariantBuilder *b, const gchar *key, const gchar *value)
{
  g_variant_builder_add (b, "{sv}", key, g_variant_new_string (value ? value : ""));
}

static GVariant *
interface_record (VnmEngine *engine, const VnmDomain *d, const VnmDomainInterface *iface)
{
  const VnmLink *link = vnm_link_table_lookup_iface (vnm_engine_get_link_table (engine), iface);
  GVariantBuilder b;
  const gchar *reason = iface->no_stats_reason;
  g_autofree gchar *missing = NULL;

  if (!*reason && !link)
    reason = missing = g_strdup_printf (_("The host device '%s' does not exist (yet)."),
                                        iface->target_dev);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_str (&b, "iface", iface->target_dev);
  add_str (&b, "type", iface->type);
  add_str (&b, "source", vnm_domain_interface_source (iface));
  add_str (&b, "model", iface->model);
  add_str (&b, "mac", iface->mac);
  add_str (&b, "alias", iface->alias);
  add_str (&b, "source_network", iface->source_network);
  add_str (&b, "source_bridge", iface->source_bridge);
  add_str (&b, "source_dev", iface->source_dev);
  add_str (&b, "source_mode", iface->source_mode);
  add_str (&b, "virtualport_type", iface->virtualport_type);
  g_variant_builder_add (&b, "{sv}", "ifindex", g_variant_new_int32 (link ? link->ifindex : 0));
  add_str (&b, "mapped_by", d->mapped_by);
  g_variant_builder_add (&b, "{sv}", "has_stats", g_variant_new_boolean (!*reason));
  add_str (&b, "no_stats_reason", reason);
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_interfaces (VnmEngine *engine, const VnmDomain *d)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < d->interfaces->len; i++)
    g_variant_builder_add_value (&b, interface_record (engine, d, g_ptr_array_index (d->interfaces, i)));
  return g_variant_builder_end (&b);
}

static void
add_counters_and_rates (GVariantBuilder *b, const VnmLinkView *s)
{
#define U64(k, v) g_variant_builder_add (b, "{sv}", k, g_variant_new_uint64 (v))
#define DBL(k, v) g_variant_builder_add (b, "{sv}", k, g_variant_new_double (v))
  U64 ("rx_bytes", s->counters.rx_bytes);
  U64 ("rx_packets", s->counters.rx_packets);
  U64 ("rx_errors", s->counters.rx_errors);
  U64 ("rx_drops", s->counters.rx_dropped);
  U64 ("tx_bytes", s->counters.tx_bytes);
  U64 ("tx_packets", s->counters.tx_packets);
  U64 ("tx_errors", s->counters.tx_errors);
  U64 ("tx_drops", s->counters.tx_dropped);
  DBL ("rx_mbps", vnm_bytes_ps_to_mbps (s->rates.rx_bytes_ps));
  DBL ("tx_mbps", vnm_bytes_ps_to_mbps (s->rates.tx_bytes_ps));
  DBL ("rx_pps", s->rates.rx_pps);
  DBL ("tx_pps", s->rates.tx_pps);
  DBL ("rx_errors_ps", s->rates.rx_errors_ps);
  DBL ("tx_errors_ps", s->rates.tx_errors_ps);
  DBL ("rx_drops_ps", s->rates.rx_drops_ps);
  DBL ("tx_drops_ps", s->rates.tx_drops_ps);
#undef U64
#undef DBL
}

static void
add_link_view (const VnmDomain *d, const VnmDomainInterface *iface, const VnmLink *link,
               gpointer user_data)
{
  gpointer *ctx = user_data;
  VnmLinkView v;

  vnm_link_table_view (ctx[0], link, TRUE, &v);
  vnm_link_view_add (ctx[1], &v);
}

GVariant *
vnm_record_domain_rates (VnmEngine *engine, const VnmDomain *d)
{
  VnmLinkView sum = { 0 };
  gpointer ctx[] = { vnm_engine_get_link_table (engine), &sum };
  GVariantBuilder b;

  vnm_link_table_foreach_domain_link (ctx[0], d, NULL, add_link_view, ctx);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_counters_and_rates (&b, &sum);
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_interface_stats (VnmEngine *engine, const VnmDomain *d, const gchar *wanted,
                           GError **error)
{
  VnmLinkTable *links = vnm_engine_get_link_table (engine);
  GVariantBuilder b;
  gboolean matched = FALSE;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < d->interfaces->len; i++)
    {
      const VnmDomainInterface *iface = g_ptr_array_index (d->interfaces, i);
      const VnmLink *link;
      GVariantBuilder row;
      VnmLinkView s;

      if (*wanted && !g_str_equal (wanted, iface->target_dev) &&
          g_ascii_strcasecmp (wanted, iface->mac) != 0 && !g_str_equal (wanted, iface->alias))
        continue;
      matched = TRUE;
      link = vnm_link_table_lookup_iface (links, iface);
      if (!link)
        {
          if (!*wanted)
            continue;
          g_set_error (error, VNM_ERROR, VNM_ERROR_UNKNOWN_INTERFACE,
                       _("Interface '%s' of domain '%s' has no host-side statistics: %s"),
                       wanted, d->name,
                       *iface->no_stats_reason ? iface->no_stats_reason
                                               : _("its host device does not exist."));
          return NULL;
        }
      vnm_link_table_view (links, link, TRUE, &s);
      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      add_str (&row, "iface", link->name);
      g_variant_builder_add (&row, "{sv}", "ifindex", g_variant_new_int32 (link->ifindex));
      add_str (&row, "mac", iface->mac);
      add_str (&row, "state", link->state);
      add_counters_and_rates (&row, &s);
      vnm_record_add_probe_totals (engine, &row, link->ifindex);
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  if (*wanted && !matched)
    {
      g_variant_builder_clear (&b);
      g_set_error (error, VNM_ERROR, VNM_ERROR_UNKNOWN_INTERFACE,
                   _("Domain '%s' has no interface '%.64s' (give a target device name, MAC address or alias)."),
                   d->name, wanted);
      return NULL;
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_kernel_caps (const VnmKernelCaps *caps)
{
  GVariantBuilder b;
  GVariantBuilder notes;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_init (&notes, G_VARIANT_TYPE_STRING_ARRAY);
  if (caps)
    {
#define CAP(k) g_variant_builder_add (&b, "{sv}", #k, g_variant_new_boolean (caps->k))
      CAP (btf);
      CAP (bpf_tc);
      CAP (bpf_xdp);
      CAP (tracepoint);
      CAP (raw_tp);
      CAP (tp_btf);
      CAP (fentry);
      CAP (kprobe);
      CAP (ringbuf);
#undef CAP
      for (guint i = 0; i < caps->notes->len; i++)
        g_variant_builder_add (&notes, "s", (const gchar *) g_ptr_array_index (caps->notes, i));
    }
  else
    g_variant_builder_add (&notes, "s", _("eBPF probing is disabled (--no-bpf)."));
  g_variant_builder_add (&b, "{sv}", "notes", g_variant_builder_end (&notes));
  return g_variant_builder_end (&b);
}

gboolean
vnm_record_number (GVariant *v, guint64 max, guint64 *out)
{
  gint64 s;

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT16))
    *out = g_variant_get_uint16 (v);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    *out = g_variant_get_uint32 (v);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    *out = g_variant_get_uint64 (v);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32) && (s = g_variant_get_int32 (v)) >= 0)
    *out = (guint64) s;
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64) && (s = g_variant_get_int64 (v)) >= 0)
    *out = (guint64) s;
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE) && g_variant_get_double (v) >= 0 &&
           g_variant_get_double (v) <= (gdouble) max)
    *out = (guint64) g_variant_get_double (v);
  else
    return FALSE;
  return *out <= max;
}
