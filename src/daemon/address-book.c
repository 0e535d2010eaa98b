/* address-book.c: each VM interface's addresses, by source, with age. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "address-book.h"

struct _VnmAddressBook {
  guint max_entries, max_per_iface;
  gint64 max_age_us;
  GHashTable *entries;     /* "uuid mac source family addr" -> VnmAddress* */
  GHashTable *per_iface;   /* "uuid mac source" -> count */
  GHashTable *by_addr;     /* "family addr" -> VnmAddress* seen last; rebuilt when stale */
  gboolean by_addr_stale;
  guint64 overflow;
};

static const gchar *const source_names[VNM_ADDR_SOURCES] = { "learned", "lease", "arp", "agent" };

const gchar *
vnm_addr_source_name (VnmAddrSource source)
{
  return source < VNM_ADDR_SOURCES ? source_names[source] : "unknown";
}

gboolean
vnm_addr_source_parse (const gchar *name, VnmAddrSource *out)
{
  for (guint i = 0; i < VNM_ADDR_SOURCES; i++)
    if (g_strcmp0 (name, source_names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

VnmAddrKind
vnm_addr_kind (guint8 family, const guint8 a[16])
{
  static const guint8 zero[16];

  if (family == 4)
    {
      const guint8 *v4 = a + 12;
      if (v4[0] == 0 && v4[1] == 0 && v4[2] == 0 && v4[3] == 0)
        return VNM_ADDR_UNSPECIFIED;
      if (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255)
        return VNM_ADDR_BROADCAST;
      if ((v4[0] & 0xf0) == 0xe0)
        return VNM_ADDR_MULTICAST;
      if (v4[0] == 127)
        return VNM_ADDR_LOOPBACK;
      return VNM_ADDR_UNICAST;
    }
  if (memcmp (a, zero, 16) == 0)
    return VNM_ADDR_UNSPECIFIED;
  if (a[0] == 0xff)
    return VNM_ADDR_MULTICAST;
  if (memcmp (a, zero, 15) == 0 && a[15] == 1)
    return VNM_ADDR_LOOPBACK;
  return VNM_ADDR_UNICAST;
}

void
vnm_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len)
{
  if (family == 4)
    inet_ntop (AF_INET, addr + 12, buf, len);
  else
    inet_ntop (AF_INET6, addr, buf, len);
}

GBytes *
vnm_addr_key (guint8 family, const guint8 addr[16])
{
  guint8 k[17];

  k[0] = family;
  memcpy (k + 1, addr, 16);
  return g_bytes_new (k, sizeof k);
}

gboolean
vnm_addr_parse (const gchar *text, guint8 *family, guint8 addr[16])
{
  memset (addr, 0, 16);
  if (text && inet_pton (AF_INET, text, addr + 12) == 1)
    {
      addr[10] = addr[11] = 0xff;
      *family = 4;
      return TRUE;
    }
  if (text && inet_pton (AF_INET6, text, addr) == 1)
    {
      *family = 6;
      return TRUE;
    }
  return FALSE;
}

gboolean
vnm_addr_link_local_of_mac (const gchar *mac, guint8 addr[16])
{
  guint m[6];

  if (!mac || sscanf (mac, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return FALSE;
  memset (addr, 0, 16);
  addr[0] = 0xfe;
  addr[1] = 0x80;
  addr[8] = m[0] ^ 0x02;
  addr[9] = m[1];
  addr[10] = m[2];
  addr[11] = 0xff;
  addr[12] = 0xfe;
  addr[13] = m[3];
  addr[14] = m[4];
  addr[15] = m[5];
  return TRUE;
}

static void
address_free (VnmAddress *a)
{
  g_free (a->vm_uuid);
  g_free (a->iface);
  g_free (a->mac);
  g_free (a->via);
  g_free (a);
}

VnmAddressBook *
vnm_address_book_new (guint max_entries, guint max_per_iface, gint64 max_age_us)
{
  VnmAddressBook *b = g_new0 (VnmAddressBook, 1);

  b->max_entries = max_entries;
  b->max_per_iface = max_per_iface;
  b->max_age_us = max_age_us;
  b->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) address_free);
  b->per_iface = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  b->by_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return b;
}

void
vnm_address_book_free (VnmAddressBook *b)
{
  if (!b)
    return;
  g_hash_table_unref (b->by_addr);
  g_hash_table_unref (b->per_iface);
  g_hash_table_unref (b->entries);
  g_free (b);
}

static gchar *
iface_key (const VnmAddress *a)
{
  return g_strdup_printf ("%s %s %u", a->vm_uuid, a->mac, a->source);
}

static gchar *
addr_key (guint8 family, const guint8 addr[16])
{
  gchar text[INET6_ADDRSTRLEN];

  vnm_addr_to_string (family, addr, text, sizeof text);
  return g_strdup_printf ("%u %s", family, text);
}

static void
count_iface (VnmAddressBook *b, const VnmAddress *a, gint delta)
{
  gchar *key = iface_key (a);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (b->per_iface, key)) + delta;

  if (n)
    g_hash_table_insert (b->per_iface, key, GUINT_TO_POINTER (n));
  else
    {
      g_hash_table_remove (b->per_iface, key);
      g_free (key);
    }
}

gboolean
vnm_address_book_note (VnmAddressBook *b, const gchar *vm_uuid, const gchar *iface,
                       const gchar *mac, guint8 family, const guint8 addr[16], gint prefix,
                       VnmAddrSource source, const gchar *via, gint64 seen_us)
{
  g_autofree gchar *akey = NULL, *key = NULL;
  VnmAddress *a;

  if ((family != 4 && family != 6) || source >= VNM_ADDR_SOURCES ||
      vnm_addr_kind (family, addr) != VNM_ADDR_UNICAST)
    return FALSE;
  akey = addr_key (family, addr);
  key = g_strdup_printf ("%s %s %u %s", vm_uuid, mac ? mac : "", source, akey);
  a = g_hash_table_lookup (b->entries, key);
  if (!a)
    {
      VnmAddress probe = { .vm_uuid = (gchar *) vm_uuid, .mac = (gchar *) (mac ? mac : ""),
                           .source = source };
      g_autofree gchar *ikey = iface_key (&probe);
      if (g_hash_table_size (b->entries) >= b->max_entries ||
          GPOINTER_TO_UINT (g_hash_table_lookup (b->per_iface, ikey)) >= b->max_per_iface)
        {
          b->overflow++;
          return FALSE;
        }
      a = g_new0 (VnmAddress, 1);
      a->vm_uuid = g_strdup (vm_uuid);
      a->mac = g_strdup (mac ? mac : "");
      a->iface = g_strdup (iface ? iface : "");
      a->family = family;
      memcpy (a->addr, addr, 16);
      a->prefix = prefix;
      a->source = source;
      a->via = g_strdup (via ? via : "");
      a->first_seen_us = a->last_seen_us = seen_us;
      g_hash_table_insert (b->entries, g_steal_pointer (&key), a);
      count_iface (b, a, +1);
    }
  else
    {
      if (seen_us > a->last_seen_us)
        a->last_seen_us = seen_us;
      if (seen_us < a->first_seen_us)
        a->first_seen_us = seen_us;
      if (prefix >= 0)
        a->prefix = prefix;
      if (iface && *iface && g_strcmp0 (a->iface, iface) != 0)
        {
          g_free (a->iface);
          a->iface = g_strdup (iface);
        }
      if (via && *via && source == VNM_ADDR_SOURCE_LEARNED)
        {
          /* Every way the address was learned: "traffic,arp". */
          g_auto(GStrv) words = g_strsplit (a->via, ",", -1);
          if (!g_strv_contains ((const gchar *const *) words, via))
            {
              gchar *joined = *a->via ? g_strconcat (a->via, ",", via, NULL) : g_strdup (via);
              g_free (a->via);
              a->via = joined;
            }
        }
      else if (via && *via && g_strcmp0 (a->via, via) != 0)
        {
          g_free (a->via);
          a->via = g_strdup (via);
        }
    }
  if (!b->by_addr_stale)
    {
      const VnmAddress *best = g_hash_table_lookup (b->by_addr, akey);
      if (!best || best->last_seen_us <= a->last_seen_us)
        g_hash_table_insert (b->by_addr, g_steal_pointer (&akey), a);
    }
  return TRUE;
}

static void
remove_where (VnmAddressBook *b, gboolean (*pred) (const VnmAddress *a, gconstpointer data),
              gconstpointer data, guint *removed)
{
  GHashTableIter it;
  VnmAddress *a;

  g_hash_table_iter_init (&it, b->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &a))
    if (pred (a, data))
      {
        count_iface (b, a, -1);
        g_hash_table_iter_remove (&it);
        b->by_addr_stale = TRUE;
        (*removed)++;
      }
  if (b->by_addr_stale)
    g_hash_table_remove_all (b->by_addr);
}

static gboolean
seen_before (const VnmAddress *a, gconstpointer data)
{
  return a->last_seen_us < *(const gint64 *) data;
}

static gboolean
of_vm (const VnmAddress *a, gconstpointer data)
{
  return g_str_equal (a->vm_uuid, data);
}

guint
vnm_address_book_expire (VnmAddressBook *b, gint64 now_us)
{
  gint64 limit = now_us - b->max_age_us;
  guint removed = 0;

  remove_where (b, seen_before, &limit, &removed);
  return removed;
}

void
vnm_address_book_forget_vm (VnmAddressBook *b, const gchar *vm_uuid)
{
  guint removed = 0;

  remove_where (b, of_vm, vm_uuid, &removed);
}

static gint
compare_addresses (gconstpointer pa, gconstpointer pb)
{
  const VnmAddress *a = *(VnmAddress *const *) pa, *b = *(VnmAddress *const *) pb;
  gint c;

  if ((c = g_strcmp0 (a->vm_uuid, b->vm_uuid)) || (c = g_strcmp0 (a->iface, b->iface)) ||
      (c = g_strcmp0 (a->mac, b->mac)))
    return c;
  if (a->source != b->source)
    return (gint) a->source - (gint) b->source;
  if (a->family != b->family)
    return (gint) a->family - (gint) b->family;
  return memcmp (a->addr, b->addr, 16);
}

GPtrArray *
vnm_address_book_list (VnmAddressBook *b, const gchar *vm_uuid)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter it;
  VnmAddress *a;

  g_hash_table_iter_init (&it, b->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &a))
    if (!vm_uuid || g_str_equal (a->vm_uuid, vm_uuid))
      g_ptr_array_add (out, a);
  g_ptr_array_sort (out, compare_addresses);
  return out;
}

const VnmAddress *
vnm_address_book_owner (VnmAddressBook *b, guint8 family, const guint8 addr[16])
{
  g_autofree gchar *akey = addr_key (family, addr);

  if (b->by_addr_stale)
    {
      GHashTableIter it;
      VnmAddress *a;

      g_hash_table_remove_all (b->by_addr);
      g_hash_table_iter_init (&it, b->entries);
      while (g_hash_table_iter_next (&it, NULL, (gpointer *) &a))
        {
          gchar *k = addr_key (a->family, a->addr);
          const VnmAddress *best = g_hash_table_lookup (b->by_addr, k);
          if (!best || best->last_seen_us <= a->last_seen_us)
            g_hash_table_insert (b->by_addr, k, a);
          else
            g_free (k);
        }
      b->by_addr_stale = FALSE;
    }
  return g_hash_table_lookup (b->by_addr, akey);
}

guint
vnm_address_book_size (VnmAddressBook *b)
{
  return g_hash_table_size (b->entries);
}

guint
vnm_address_book_capacity (VnmAddressBook *b)
{
  return b->max_entries;
}

guint
vnm_address_book_per_iface (VnmAddressBook *b)
{
  return b->max_per_iface;
}

gint64
vnm_address_book_max_age_us (VnmAddressBook *b)
{
  return b->max_age_us;
}

guint64
vnm_address_book_overflow (VnmAddressBook *b)
{
  return b->overflow;
}
