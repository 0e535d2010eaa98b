/* dns-names.c: the names VMs looked up, by address. */
#include "config.h"

#include <string.h>

#include "address-book.h"
#include "dns-names.h"

typedef struct {
  gchar *name;
  gint64 until_us;  /* alive until */
} Entry;

struct _VnmDnsNames {
  guint per_vm;
  GHashTable *vms;   /* uuid -> GHashTable (17 bytes family+addr as GBytes -> Entry*) */
  guint64 overflow;
};

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_free (e);
}

VnmDnsNames *
vnm_dns_names_new (guint per_vm)
{
  VnmDnsNames *n = g_new0 (VnmDnsNames, 1);

  n->per_vm = per_vm ? per_vm : VNM_DNS_NAMES_PER_VM;
  n->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) g_hash_table_unref);
  return n;
}

void
vnm_dns_names_free (VnmDnsNames *n)
{
  if (!n)
    return;
  g_hash_table_unref (n->vms);
  g_free (n);
}

static guint
expire_table (GHashTable *t, gint64 now_us)
{
  GHashTableIter it;
  gpointer value;
  guint gone = 0;

  g_hash_table_iter_init (&it, t);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Entry *) value)->until_us <= now_us)
      {
        g_hash_table_iter_remove (&it);
        gone++;
      }
  return gone;
}

void
vnm_dns_names_add (VnmDnsNames *n, const gchar *vm_uuid, guint8 family, const guint8 addr[16],
                   const gchar *name, guint32 ttl, gint64 now_us)
{
  GHashTable *t = g_hash_table_lookup (n->vms, vm_uuid);
  g_autoptr(GBytes) key = vnm_addr_key (family, addr);
  gint64 until = now_us + (gint64) MAX (ttl, VNM_DNS_NAMES_MIN_S) * G_USEC_PER_SEC;
  Entry *e;

  if (!t)
    {
      t = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                 (GDestroyNotify) entry_free);
      g_hash_table_insert (n->vms, g_strdup (vm_uuid), t);
    }
  e = g_hash_table_lookup (t, key);
  if (e)
    {
      /* The latest answer names the address. */
      if (!g_str_equal (e->name, name))
        {
          g_free (e->name);
          e->name = g_strdup (name);
        }
      e->until_us = MAX (e->until_us, until);
      return;
    }
  if (g_hash_table_size (t) >= n->per_vm && expire_table (t, now_us) == 0)
    {
      n->overflow++;
      return;
    }
  e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  e->until_us = until;
  g_hash_table_insert (t, g_steal_pointer (&key), e);
}

static Entry *
find (VnmDnsNames *n, const gchar *vm_uuid, guint8 family, const guint8 addr[16], gint64 now_us)
{
  GHashTable *t = vm_uuid ? g_hash_table_lookup (n->vms, vm_uuid) : NULL;
  g_autoptr(GBytes) key = NULL;
  Entry *e;

  if (!t)
    return NULL;
  key = vnm_addr_key (family, addr);
  e = g_hash_table_lookup (t, key);
  return e && e->until_us > now_us ? e : NULL;
}

void
vnm_dns_names_touch (VnmDnsNames *n, const gchar *vm_uuid, guint8 family, const guint8 addr[16],
                     gint64 now_us)
{
  Entry *e = find (n, vm_uuid, family, addr, now_us);

  if (e)
    e->until_us = MAX (e->until_us, now_us + (gint64) VNM_DNS_NAMES_MIN_S * G_USEC_PER_SEC);
}

const gchar *
vnm_dns_names_lookup (VnmDnsNames *n, const gchar *vm_uuid, guint8 family, const guint8 addr[16],
                      gint64 now_us)
{
  Entry *e = find (n, vm_uuid, family, addr, now_us);

  return e ? e->name : NULL;
}

void
vnm_dns_names_expire (VnmDnsNames *n, gint64 now_us)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, n->vms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      expire_table (value, now_us);
      if (g_hash_table_size (value) == 0)
        g_hash_table_iter_remove (&it);
    }
}

void
vnm_dns_names_forget_vm (VnmDnsNames *n, const gchar *vm_uuid)
{
  g_hash_table_remove (n->vms, vm_uuid);
}

guint
vnm_dns_names_count (VnmDnsNames *n)
{
  GHashTableIter it;
  gpointer value;
  guint count = 0;

  g_hash_table_iter_init (&it, n->vms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    count += g_hash_table_size (value);
  return count;
}

guint64
vnm_dns_names_overflow (VnmDnsNames *n)
{
  return n->overflow;
}
