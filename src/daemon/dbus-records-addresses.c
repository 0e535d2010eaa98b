/* dbus-records-addresses.c: the VMs' addresses (GetAddresses, AddressBook). */
#include "config.h"

#include <string.h>

#include "dbus-records.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

GVariant *
vnm_record_addresses (VnmEngine *engine, const VnmDomain *d, GVariant *options, GError **error)
{
  const gchar *iface = NULL, *source_name = NULL;
  VnmAddrSource source = VNM_ADDR_SOURCES;
  GVariantIter it;
  const gchar *key;
  GVariant *value;
  GVariantBuilder addrs, sources;
  g_autoptr(GPtrArray) list = NULL;

  g_variant_iter_init (&it, options);
  while (g_variant_iter_loop (&it, "{&sv}", &key, &value))
    {
      if (g_str_equal (key, "interface") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        iface = g_variant_get_string (value, NULL);
      else if (g_str_equal (key, "source") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        source_name = g_variant_get_string (value, NULL);
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown option '%.32s' of type '%s': use interface (s) or source (s)."),
                       key, g_variant_get_type_string (value));
          g_variant_unref (value);
          return NULL;
        }
    }
  if (source_name && *source_name && !vnm_addr_source_parse (source_name, &source))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("Unknown address source '%.32s': use learned, lease, arp or agent."), source_name);
      return NULL;
    }
  if (iface && *iface)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < d->interfaces->len && !found; i++)
        {
          const VnmDomainInterface *di = g_ptr_array_index (d->interfaces, i);
          found = g_str_equal (di->target_dev, iface) || g_ascii_strcasecmp (di->mac, iface) == 0;
        }
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Domain '%s' has no interface '%.64s' (give its host netdev or MAC)."),
                       d->name, iface);
          return NULL;
        }
    }

  list = vnm_address_book_list (vnm_engine_get_address_book (engine), d->uuid);
  g_variant_builder_init (&addrs, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->len; i++)
    {
      const VnmAddress *a = g_ptr_array_index (list, i);
      gchar text[48];
      GVariantBuilder row;

      if (source < VNM_ADDR_SOURCES && a->source != source)
        continue;
      if (iface && *iface && !g_str_equal (a->iface, iface) && g_ascii_strcasecmp (a->mac, iface) != 0)
        continue;
      vnm_addr_to_string (a->family, a->addr, text, sizeof text);
      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "vm_name", g_variant_new_string (d->name));
      ADD (&row, "vm_uuid", g_variant_new_string (d->uuid));
      ADD (&row, "iface", g_variant_new_string (a->iface));
      ADD (&row, "mac", g_variant_new_string (a->mac));
      ADD (&row, "family", g_variant_new_string (a->family == 4 ? "ipv4" : "ipv6"));
      ADD (&row, "address", g_variant_new_string (text));
      ADD (&row, "prefix", g_variant_new_int32 (a->prefix));
      ADD (&row, "source", g_variant_new_string (vnm_addr_source_name (a->source)));
      ADD (&row, "via", g_variant_new_string (a->via));
      ADD (&row, "first_seen", g_variant_new_double (a->first_seen_us / 1e6));
      ADD (&row, "last_seen", g_variant_new_double (a->last_seen_us / 1e6));
      g_variant_builder_add_value (&addrs, g_variant_builder_end (&row));
    }

  g_variant_builder_init (&sources, G_VARIANT_TYPE ("aa{sv}"));
  for (guint s = 0; s < VNM_ADDR_SOURCES; s++)
    {
      GVariantBuilder row;
      const gchar *reason;
      VnmFlowMonitor *flows = vnm_engine_get_flow_monitor (engine);

      if (source < VNM_ADDR_SOURCES && s != source)
        continue;
      if (s == VNM_ADDR_SOURCE_LEARNED)
        reason = vnm_flow_monitor_available (flows) ? "" : vnm_flow_monitor_unavailable_reason (flows);
      else if (!g_str_equal (d->mapped_by, VNM_MAPPED_BY_LIBVIRT))
        reason = _("The domain is not run by libvirt.");
      else if (!vnm_engine_get_libvirt_connected (engine))
        reason = _("Not connected to libvirt.");
      else
        reason = vnm_engine_address_error (engine, d->uuid, s);
      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "source", g_variant_new_string (vnm_addr_source_name (s)));
      ADD (&row, "available", g_variant_new_boolean (!reason || !*reason));
      ADD (&row, "reason", g_variant_new_string (reason ? reason : ""));
      g_variant_builder_add_value (&sources, g_variant_builder_end (&row));
    }
  return g_variant_new ("(@aa{sv}@aa{sv})", g_variant_builder_end (&addrs),
                        g_variant_builder_end (&sources));
}

GVariant *
vnm_record_address_book (VnmEngine *engine)
{
  VnmAddressBook *book = vnm_engine_get_address_book (engine);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "count", g_variant_new_uint32 (vnm_address_book_size (book)));
  ADD (&b, "capacity", g_variant_new_uint32 (vnm_address_book_capacity (book)));
  ADD (&b, "per_iface", g_variant_new_uint32 (vnm_address_book_per_iface (book)));
  ADD (&b, "max_age_seconds", g_variant_new_uint32 (vnm_address_book_max_age_us (book) / G_USEC_PER_SEC));
  ADD (&b, "overflow", g_variant_new_uint64 (vnm_address_book_overflow (book)));
  {
    VnmDnsNames *dns = vnm_engine_dns_names (engine);
    guint64 answers, refused, unasked, lost;

    vnm_engine_dns_counts (engine, &answers, &refused, &unasked, &lost);
    ADD (&b, "dns_names", g_variant_new_uint32 (vnm_dns_names_count (dns)));
    ADD (&b, "dns_names_per_vm", g_variant_new_uint32 (VNM_DNS_NAMES_PER_VM));
    ADD (&b, "dns_names_min_seconds", g_variant_new_uint32 (VNM_DNS_NAMES_MIN_S));
    ADD (&b, "dns_names_overflow", g_variant_new_uint64 (vnm_dns_names_overflow (dns)));
    ADD (&b, "dns_answers", g_variant_new_uint64 (answers));
    ADD (&b, "dns_refused", g_variant_new_uint64 (refused));
    ADD (&b, "dns_unasked", g_variant_new_uint64 (unasked));
    ADD (&b, "dns_lost", g_variant_new_uint64 (lost));
  }
  return g_variant_builder_end (&b);
}
