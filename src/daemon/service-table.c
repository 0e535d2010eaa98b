/* service-table.c: exposed services per domain, from flow records. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "service-table.h"

typedef struct {
  VnmService pub;
  GHashTable *clients;        /* remote address (16 bytes, owned) set */
} Service;

typedef struct {
  GHashTable *services;       /* proto << 16 | port -> Service* */
  guint64 untracked;
} Domain;

/* A flow seen in an earlier round: what of it was added already. */
typedef struct {
  struct vnm_flow_key key;
  guint64 first_ns;
} FlowId;

typedef struct {
  guint64 bytes[2];
  guint64 conns;
  guint round;
} FlowSeen;

struct _VnmServiceTable {
  guint max_services, max_clients;
  GHashTable *domains;        /* uuid -> Domain* */
  GHashTable *flows;          /* FlowId* -> FlowSeen* */
  guint round;
};

static void
service_free (Service *s)
{
  g_hash_table_unref (s->clients);
  g_free (s);
}

static void
domain_free (Domain *d)
{
  g_hash_table_unref (d->services);
  g_free (d);
}

static guint
addr_hash (gconstpointer p)
{
  const guint8 *a = p;
  guint h = 5381;

  for (guint i = 0; i < 16; i++)
    h = h * 33 + a[i];
  return h;
}

static gboolean
addr_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, 16) == 0;
}

static guint
flow_id_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 5381;

  for (gsize i = 0; i < sizeof (FlowId); i++)
    h = h * 33 + b[i];
  return h;
}

static gboolean
flow_id_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (FlowId)) == 0;
}

VnmServiceTable *
vnm_service_table_new (guint max_services, guint max_clients)
{
  VnmServiceTable *t = g_new0 (VnmServiceTable, 1);

  t->max_services = max_services;
  t->max_clients = max_clients;
  t->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) domain_free);
  t->flows = g_hash_table_new_full (flow_id_hash, flow_id_equal, g_free, g_free);
  return t;
}

void
vnm_service_table_free (VnmServiceTable *t)
{
  if (!t)
    return;
  g_hash_table_unref (t->domains);
  g_hash_table_unref (t->flows);
  g_free (t);
}

void
vnm_service_table_begin (VnmServiceTable *t)
{
  t->round++;
}

static Domain *
domain_of (VnmServiceTable *t, const gchar *uuid)
{
  Domain *d = g_hash_table_lookup (t->domains, uuid);

  if (!d)
    {
      d = g_new0 (Domain, 1);
      d->services = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) service_free);
      g_hash_table_insert (t->domains, g_strdup (uuid), d);
    }
  return d;
}

/* Whether @rec is a flow to a service of the VM: a remote opened it and
 * the VM answered. */
static gboolean
is_service_flow (const VnmFlowRecord *rec)
{
  if (rec->flow.opener != VNM_OPENER_REMOTE)
    return FALSE;
  if (rec->key.proto == IPPROTO_TCP)
    return (rec->flow.tcp_state & VNM_TCP_ESTAB) != 0 || rec->flow.conns_opened > 0;
  if (rec->key.proto == IPPROTO_UDP)
    return rec->flow.packets[VNM_DIR_OUT] > 0;
  return FALSE;
}

const VnmService *
vnm_service_table_add (VnmServiceTable *t, const gchar *uuid, const VnmFlowRecord *rec)
{
  FlowId id;
  FlowSeen *seen;
  Domain *d;
  Service *s;
  gpointer skey;
  gboolean first, appeared = FALSE;
  guint64 conns;

  if (!uuid || !*uuid || !is_service_flow (rec))
    return NULL;
  memset (&id, 0, sizeof id);
  id.key = rec->key;
  id.first_ns = rec->flow.first_ns;
  seen = g_hash_table_lookup (t->flows, &id);
  first = seen == NULL;
  if (first)
    {
      seen = g_new0 (FlowSeen, 1);
      g_hash_table_insert (t->flows, g_memdup2 (&id, sizeof id), seen);
    }
  seen->round = t->round;

  d = domain_of (t, uuid);
  skey = GUINT_TO_POINTER ((guint) rec->key.proto << 16 | rec->key.local_port);
  s = g_hash_table_lookup (d->services, skey);
  if (!s)
    {
      if (g_hash_table_size (d->services) >= t->max_services)
        {
          if (first)
            d->untracked++;
          return NULL;
        }
      s = g_new0 (Service, 1);
      s->clients = g_hash_table_new_full (addr_hash, addr_equal, g_free, NULL);
      s->pub.proto = rec->key.proto;
      s->pub.port = rec->key.local_port;
      s->pub.first_ns = rec->flow.first_ns;
      g_hash_table_insert (d->services, skey, s);
      appeared = TRUE;
    }

  if (first)
    {
      if (!g_hash_table_contains (s->clients, rec->key.remote_addr))
        {
          if (g_hash_table_size (s->clients) < t->max_clients)
            g_hash_table_add (s->clients, g_memdup2 (rec->key.remote_addr, 16));
          else
            s->pub.clients_untracked++;
        }
      s->pub.clients = g_hash_table_size (s->clients);
    }
  /* A UDP flow is one exchange; TCP counts each accepted connection of
   * the 5-tuple. */
  conns = rec->key.proto == IPPROTO_TCP ? MAX (rec->flow.conns_opened, 1) : 1;
  if (conns > seen->conns)
    s->pub.connections += conns - seen->conns;
  seen->conns = MAX (seen->conns, conns);
  for (guint dir = 0; dir < 2; dir++)
    {
      guint64 b = rec->flow.bytes[dir];
      if (b > seen->bytes[dir])
        {
          if (dir == VNM_DIR_IN)
            s->pub.rx_bytes += b - seen->bytes[dir];
          else
            s->pub.tx_bytes += b - seen->bytes[dir];
          seen->bytes[dir] = b;
        }
    }
  if (rec->flow.first_ns && rec->flow.first_ns < s->pub.first_ns)
    s->pub.first_ns = rec->flow.first_ns;
  s->pub.last_ns = MAX (s->pub.last_ns, rec->flow.last_ns);
  return appeared ? &s->pub : NULL;
}

void
vnm_service_table_end (VnmServiceTable *t)
{
  GHashTableIter it;
  FlowSeen *seen;

  /* Flows no longer kept anywhere are done: their counts are in. */
  g_hash_table_iter_init (&it, t->flows);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &seen))
    if (seen->round != t->round)
      g_hash_table_iter_remove (&it);
}

void
vnm_service_table_forget (VnmServiceTable *t, const gchar *uuid)
{
  g_hash_table_remove (t->domains, uuid);
}

static gint
by_proto_port (gconstpointer a, gconstpointer b)
{
  const VnmService *x = *(VnmService *const *) a, *y = *(VnmService *const *) b;

  if (x->proto != y->proto)
    return x->proto < y->proto ? -1 : 1;
  return (gint) x->port - (gint) y->port;
}

GPtrArray *
vnm_service_table_list (VnmServiceTable *t, const gchar *uuid)
{
  GPtrArray *out = g_ptr_array_new ();
  Domain *d = g_hash_table_lookup (t->domains, uuid);
  GHashTableIter it;
  Service *s;

  if (d)
    {
      g_hash_table_iter_init (&it, d->services);
      while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
        g_ptr_array_add (out, &s->pub);
    }
  g_ptr_array_sort (out, by_proto_port);
  return out;
}

guint64
vnm_service_table_untracked (VnmServiceTable *t, const gchar *uuid)
{
  Domain *d = g_hash_table_lookup (t->domains, uuid);
  return d ? d->untracked : 0;
}

guint vnm_service_table_max_services (VnmServiceTable *t) { return t->max_services; }
guint vnm_service_table_max_clients (VnmServiceTable *t) { return t->max_clients; }

const gchar *
vnm_service_proto_name (const VnmService *s)
{
  return s->proto == IPPROTO_TCP ? "tcp" : "udp";
}
