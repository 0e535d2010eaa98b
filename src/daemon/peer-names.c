/* peer-names.c: the other end of a flow, named. */
#include "config.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "peer-names.h"

typedef struct {
  VnmPeerKind kind;
  gchar *vm_uuid, *name;
} Entry;

struct _VnmPeerNames {
  GHashTable *entries;   /* 17 bytes (family, addr) as a GBytes -> Entry* */
  GHashTable *broadcast4;  /* the IPv4 broadcast entries, as guint32 (network order) */
  VnmDnsNames *dns;      /* borrowed; NULL: none */
  gint64 dns_now_us;
};

static const gchar *const kind_names[] = {
  [VNM_PEER_REMOTE] = "remote", [VNM_PEER_VM] = "vm", [VNM_PEER_HOST] = "host",
  [VNM_PEER_MULTICAST] = "multicast", [VNM_PEER_BROADCAST] = "broadcast",
  [VNM_PEER_UNSPECIFIED] = "unspecified",
};

const gchar *
vnm_peer_kind_name (VnmPeerKind kind)
{
  return kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "remote";
}

static void
entry_free (Entry *e)
{
  g_free (e->vm_uuid);
  g_free (e->name);
  g_free (e);
}

VnmPeerNames *
vnm_peer_names_new (void)
{
  VnmPeerNames *n = g_new0 (VnmPeerNames, 1);

  n->entries = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                      (GDestroyNotify) entry_free);
  n->broadcast4 = g_hash_table_new (NULL, NULL);
  return n;
}

void
vnm_peer_names_free (VnmPeerNames *n)
{
  if (!n)
    return;
  g_hash_table_unref (n->entries);
  g_hash_table_unref (n->broadcast4);
  g_free (n);
}

/* A broadcast address outranks a VM's or the host's (a VM that sends from
 * its subnet's broadcast address is not one), the host's a VM's. */
static gint
rank (VnmPeerKind kind)
{
  return kind == VNM_PEER_BROADCAST ? 3 : kind == VNM_PEER_HOST ? 2 : 1;
}

static void
add (VnmPeerNames *n, VnmPeerKind kind, guint8 family, const guint8 addr[16], const gchar *uuid,
     const gchar *name)
{
  GBytes *key = vnm_addr_key (family, addr);
  Entry *old = g_hash_table_lookup (n->entries, key), *e;

  if (old && rank (old->kind) >= rank (kind))
    {
      g_bytes_unref (key);
      return;
    }
  if (kind == VNM_PEER_BROADCAST && family == 4)
    {
      guint32 v4;

      memcpy (&v4, addr + 12, sizeof v4);
      g_hash_table_add (n->broadcast4, GUINT_TO_POINTER (v4));
    }
  e = g_new0 (Entry, 1);
  e->kind = kind;
  e->vm_uuid = g_strdup (uuid ? uuid : "");
  e->name = g_strdup (name ? name : "");
  g_hash_table_insert (n->entries, key, e);
}

void
vnm_peer_names_add_vm (VnmPeerNames *n, guint8 family, const guint8 addr[16], const gchar *uuid,
                       const gchar *name)
{
  add (n, VNM_PEER_VM, family, addr, uuid, name);
}

void
vnm_peer_names_add_host (VnmPeerNames *n, guint8 family, const guint8 addr[16], const gchar *ifname)
{
  add (n, VNM_PEER_HOST, family, addr, "", ifname);
}

void
vnm_peer_names_add_broadcast (VnmPeerNames *n, guint8 family, const guint8 addr[16])
{
  add (n, VNM_PEER_BROADCAST, family, addr, "", "");
}

void
vnm_peer_names_add_book (VnmPeerNames *n, VnmAddressBook *book, GHashTable *vm_names)
{
  g_autoptr(GPtrArray) all = vnm_address_book_list (book, NULL);

  for (guint i = 0; i < all->len; i++)
    {
      const VnmAddress *a = g_ptr_array_index (all, i);
      const gchar *name = vm_names ? g_hash_table_lookup (vm_names, a->vm_uuid) : NULL;

      vnm_peer_names_add_vm (n, a->family, a->addr, a->vm_uuid, name ? name : "");
      /* The subnet's broadcast address, when the prefix is known (not for
       * /31 and /32, which have none). */
      if (a->family == 4 && a->prefix > 0 && a->prefix < 31)
        {
          guint8 b[16];
          guint32 v4, mask = 0xffffffffu << (32 - a->prefix);
          memcpy (b, a->addr, 16);
          memcpy (&v4, b + 12, 4);
          v4 = htonl (ntohl (v4) | ~mask);
          memcpy (b + 12, &v4, 4);
          vnm_peer_names_add_broadcast (n, 4, b);
        }
    }
}

void
vnm_peer_names_add_host_interfaces (VnmPeerNames *n)
{
  struct ifaddrs *ifa, *list = NULL;

  if (getifaddrs (&list) < 0)
    return;
  for (ifa = list; ifa; ifa = ifa->ifa_next)
    {
      guint8 addr[16] = { 0 };

      if (!ifa->ifa_addr)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        {
          guint32 v4, mask;
          addr[10] = addr[11] = 0xff;
          memcpy (addr + 12, &((struct sockaddr_in *) ifa->ifa_addr)->sin_addr, 4);
          vnm_peer_names_add_host (n, 4, addr, ifa->ifa_name);
          /* The subnet's broadcast address, from the netmask: the
           * broadcast address the interface was given (ifa_broadaddr) is
           * its own address when none was (`ip addr add A/24`). */
          if (ifa->ifa_netmask && ifa->ifa_netmask->sa_family == AF_INET)
            {
              memcpy (&v4, addr + 12, 4);
              mask = ((struct sockaddr_in *) ifa->ifa_netmask)->sin_addr.s_addr;
              if (ntohl (mask) != 0 && (ntohl (~mask) > 1))
                {
                  v4 |= ~mask;
                  memcpy (addr + 12, &v4, 4);
                  vnm_peer_names_add_broadcast (n, 4, addr);
                }
            }
        }
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        {
          memcpy (addr, &((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr, 16);
          vnm_peer_names_add_host (n, 6, addr, ifa->ifa_name);
        }
    }
  freeifaddrs (list);
}

void
vnm_peer_names_classify (VnmPeerNames *n, guint8 family, const guint8 addr[16], VnmPeer *out)
{
  g_autoptr(GBytes) key = NULL;
  const Entry *e;

  out->vm_uuid = out->name = out->name_source = "";
  switch (vnm_addr_kind (family, addr))
    {
    case VNM_ADDR_MULTICAST: out->kind = VNM_PEER_MULTICAST; return;
    case VNM_ADDR_BROADCAST: out->kind = VNM_PEER_BROADCAST; return;
    case VNM_ADDR_UNSPECIFIED: out->kind = VNM_PEER_UNSPECIFIED; return;
    default: break;
    }
  key = vnm_addr_key (family, addr);
  e = g_hash_table_lookup (n->entries, key);
  if (!e)
    {
      out->kind = VNM_PEER_REMOTE;
      return;
    }
  out->kind = e->kind;
  out->vm_uuid = e->vm_uuid;
  out->name = e->name;
  if (*e->name)
    out->name_source = e->kind == VNM_PEER_VM ? "vm" : e->kind == VNM_PEER_HOST ? "host" : "";
}

void
vnm_peer_names_set_dns (VnmPeerNames *n, VnmDnsNames *dns, gint64 now_us)
{
  n->dns = dns;
  n->dns_now_us = now_us;
}

void
vnm_peer_names_classify_for (VnmPeerNames *n, const gchar *vm_uuid, guint8 family,
                             const guint8 addr[16], VnmPeer *out)
{
  const gchar *name;

  vnm_peer_names_classify (n, family, addr, out);
  if (out->kind == VNM_PEER_REMOTE && n->dns && vm_uuid &&
      (name = vnm_dns_names_lookup (n->dns, vm_uuid, family, addr, n->dns_now_us)))
    {
      out->name = name;
      out->name_source = "dns";
    }
}

/* What classify would say is a peer, without its lookup of names: a
 * scrape asks this of every flow of the table. */
static gboolean
is_unicast (VnmPeerNames *n, guint8 family, const guint8 addr[16])
{
  guint32 v4;

  switch (vnm_addr_kind (family, addr))
    {
    case VNM_ADDR_MULTICAST:
    case VNM_ADDR_BROADCAST:
    case VNM_ADDR_UNSPECIFIED:
      return FALSE;
    default:
      break;
    }
  if (family != 4)
    return TRUE;
  memcpy (&v4, addr + 12, sizeof v4);
  return !g_hash_table_contains (n->broadcast4, GUINT_TO_POINTER (v4));
}

gboolean
vnm_peer_names_is_unicast_flow (VnmPeerNames *n, const struct vnm_flow_key *key)
{
  return is_unicast (n, key->family, key->local_addr) && is_unicast (n, key->family, key->remote_addr);
}
