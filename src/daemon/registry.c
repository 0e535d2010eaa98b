/* registry.c: domains <-> host netdevs. */
#include "config.h"

#include <string.h>

#include "registry.h"
#include "vnm-names.h"

struct _VnmRegistry {
  GHashTable *by_uuid;    /* uuid -> VnmDomain* (owned) */
  GHashTable *by_ifname;  /* ifname -> VnmDomain* (borrowed) */
  VnmRegistryFunc func;
  gpointer user_data;
};

static void
domain_free (VnmDomain *d)
{
  if (!d)
    return;
  g_free (d->uuid);
  g_free (d->name);
  g_free (d->state);
  g_ptr_array_unref (d->interfaces);
  g_free (d->object_path);
  g_free (d->settings_error);
  vnm_domain_labels_free (d->labels);
  g_free (d);
}

gchar *
vnm_domain_object_path (const gchar *uuid)
{
  g_autofree gchar *part = g_strdup (uuid);

  for (gchar *p = part; *p; p++)
    if (!g_ascii_isalnum (*p))
      *p = '_';
  return g_strdup_printf ("%s/%s", VNM_DBUS_DOMAIN_PREFIX, part);
}

gchar *
vnm_uuid_for_name (const gchar *name)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sum, (const guchar *) "virtnetmon:", -1);
  g_checksum_update (sum, (const guchar *) name, -1);
  g_checksum_get_digest (sum, digest, &len);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          digest[0], digest[1], digest[2], digest[3], digest[4], digest[5],
                          digest[6], digest[7], digest[8], digest[9], digest[10], digest[11],
                          digest[12], digest[13], digest[14], digest[15]);
}

void
vnm_domain_effective_settings (const VnmDomain *domain, const VnmDomainSettings *defaults,
                               VnmDomainSettings *out)
{
  const VnmDomainSettings *s = &domain->settings;

  out->monitoring = s->monitoring >= 0 ? s->monitoring : defaults->monitoring;
  out->latency = s->latency >= 0 ? s->latency : defaults->latency;
  out->latency_threshold_us = s->latency_threshold_us >= 0 ? s->latency_threshold_us
                                                           : defaults->latency_threshold_us;
  out->flow_table_size = s->flow_table_size >= 0 ? s->flow_table_size
                                                 : defaults->flow_table_size;
  out->usage_quota_bytes = s->usage_quota_bytes >= 0 ? s->usage_quota_bytes
                                                     : defaults->usage_quota_bytes;
}

VnmRegistry *
vnm_registry_new (void)
{
  VnmRegistry *reg = g_new0 (VnmRegistry, 1);

  reg->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) domain_free);
  reg->by_ifname = g_hash_table_new (g_str_hash, g_str_equal);
  return reg;
}

void
vnm_registry_free (VnmRegistry *reg)
{
  if (!reg)
    return;
  g_hash_table_unref (reg->by_ifname);
  g_hash_table_unref (reg->by_uuid);
  g_free (reg);
}

void
vnm_registry_set_observer (VnmRegistry *reg, VnmRegistryFunc func, gpointer user_data)
{
  reg->func = func;
  reg->user_data = user_data;
}

static gint
source_rank (const gchar *mapped_by)
{
  return g_str_equal (mapped_by, VNM_MAPPED_BY_LIBVIRT) ? 2 : 1;
}

/* Rebuilds the ifname index; libvirt's mapping wins over a command line's. */
static void
reindex (VnmRegistry *reg)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_remove_all (reg->by_ifname);
  g_hash_table_iter_init (&iter, reg->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      VnmDomain *d = value;
      for (guint i = 0; i < d->interfaces->len; i++)
        {
          VnmDomainInterface *iface = g_ptr_array_index (d->interfaces, i);
          VnmDomain *other;

          if (!*iface->target_dev)
            continue;
          other = g_hash_table_lookup (reg->by_ifname, iface->target_dev);
          if (other && source_rank (other->mapped_by) >= source_rank (d->mapped_by))
            continue;
          g_hash_table_insert (reg->by_ifname, iface->target_dev, d);
        }
    }
}

const VnmDomain *
vnm_registry_update (VnmRegistry *reg, VnmDomainDef *def, const gchar *state,
                     const gchar *mapped_by)
{
  g_autoptr(VnmDomainDef) owned = def;
  VnmDomain *d = g_hash_table_lookup (reg->by_uuid, def->uuid);
  gboolean added = d == NULL;

  if (added)
    {
      d = g_new0 (VnmDomain, 1);
      d->uuid = g_strdup (def->uuid);
      d->object_path = vnm_domain_object_path (def->uuid);
      g_hash_table_insert (reg->by_uuid, d->uuid, d);
    }
  else
    {
      g_free (d->name);
      g_free (d->state);
      g_ptr_array_unref (d->interfaces);
    }
  d->name = g_strdup (def->name);
  d->id = def->id;
  d->state = g_strdup (state);
  d->mapped_by = mapped_by;
  d->interfaces = g_ptr_array_ref (def->interfaces);
  d->settings = def->settings;
  vnm_domain_labels_free (d->labels);
  d->labels = def->labels ? g_steal_pointer (&def->labels) : vnm_domain_labels_new ();
  g_free (d->settings_error);
  d->settings_error = g_strdup (def->settings_error);
  reindex (reg);
  if (reg->func)
    reg->func (added ? VNM_REGISTRY_ADDED : VNM_REGISTRY_CHANGED, d, reg->user_data);
  return d;
}

gboolean
vnm_registry_remove (VnmRegistry *reg, const gchar *uuid)
{
  VnmDomain *d = g_hash_table_lookup (reg->by_uuid, uuid);

  if (!d)
    return FALSE;
  if (reg->func)
    reg->func (VNM_REGISTRY_REMOVED, d, reg->user_data);
  g_hash_table_remove (reg->by_uuid, uuid);
  reindex (reg);
  return TRUE;
}

void
vnm_registry_retain (VnmRegistry *reg, const gchar *mapped_by, GHashTable *keep)
{
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, reg->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      VnmDomain *d = value;
      if (g_str_equal (d->mapped_by, mapped_by) && !g_hash_table_contains (keep, d->uuid))
        g_ptr_array_add (doomed, g_strdup (d->uuid));
    }
  for (guint i = 0; i < doomed->len; i++)
    vnm_registry_remove (reg, g_ptr_array_index (doomed, i));
}

const VnmDomain *
vnm_registry_lookup_uuid (VnmRegistry *reg, const gchar *uuid)
{
  return g_hash_table_lookup (reg->by_uuid, uuid);
}

const VnmDomain *
vnm_registry_lookup (VnmRegistry *reg, const gchar *text)
{
  g_autofree gchar *lower = NULL;
  GHashTableIter iter;
  gpointer value;
  gint64 id = -1;
  VnmDomain *by_id = NULL;

  if (!text || !*text)
    return NULL;
  lower = g_ascii_strdown (text, -1);
  if (g_hash_table_lookup (reg->by_uuid, lower))
    return g_hash_table_lookup (reg->by_uuid, lower);
  g_ascii_string_to_signed (text, 10, 0, G_MAXINT32, &id, NULL);

  g_hash_table_iter_init (&iter, reg->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      VnmDomain *d = value;
      if (g_str_equal (d->name, text))
        return d;
      if (id >= 0 && d->id == id)
        by_id = d;
    }
  return by_id;
}

const VnmDomain *
vnm_registry_lookup_ifname (VnmRegistry *reg, const gchar *ifname,
                            const VnmDomainInterface **iface_out)
{
  VnmDomain *d = g_hash_table_lookup (reg->by_ifname, ifname);

  if (iface_out)
    *iface_out = NULL;
  if (!d)
    return NULL;
  if (iface_out)
    for (guint i = 0; i < d->interfaces->len; i++)
      {
        VnmDomainInterface *iface = g_ptr_array_index (d->interfaces, i);
        if (g_str_equal (iface->target_dev, ifname))
          *iface_out = iface;
      }
  return d;
}

static gint
compare_domains (gconstpointer a, gconstpointer b)
{
  const VnmDomain *da = *(VnmDomain **) a;
  const VnmDomain *db = *(VnmDomain **) b;

  /* Domains with an id first, in id order, then by name. */
  if ((da->id < 0) != (db->id < 0))
    return da->id < 0 ? 1 : -1;
  if (da->id != db->id)
    return da->id < db->id ? -1 : 1;
  return g_strcmp0 (da->name, db->name);
}

GPtrArray *
vnm_registry_list (VnmRegistry *reg)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, reg->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (out, value);
  g_ptr_array_sort (out, compare_domains);
  return out;
}
