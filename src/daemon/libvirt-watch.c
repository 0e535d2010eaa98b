/* libvirt-watch.c: libvirt connection, domain events, reconciliation. */
#include "config.h"

#include <stdlib.h>
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt-watch.h"
#include "libvirt-events-glib.h"
#include "vnm-autocleanups.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30

struct _VnmLibvirtWatch {
  gchar *uri;
  VnmRegistry *registry;
  VnmLibvirtStateFunc func;
  gpointer user_data;
  virConnectPtr conn;
  int callback_ids[4];
  guint retry_source;
  guint backoff_s;
  GHashTable *pending;      /* uuids to re-read */
  guint pending_source;
  gchar *last_error;
  gboolean reconnect_pending;
  struct _AddressQuery *query;   /* running, or NULL */
};

typedef struct _AddressQuery {
  VnmLibvirtWatch *watch;   /* NULL once the watch is freed */
  virConnectPtr conn;       /* a reference of its own */
  gchar **uuids;
  gboolean agent;
  VnmLibvirtAddressFunc func;
  gpointer user_data;
  GPtrArray *addresses, *errors;
} AddressQuery;

static void connect_now (VnmLibvirtWatch *watch);

static void
ignore_libvirt_errors (void *opaque, virErrorPtr err)
{
  /* Errors are read with virGetLastErrorMessage() where they matter. */
}

static const gchar *
state_name (int state)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_SHUTOFF: return "shut-off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "unknown";
    }
}

/* Reads one domain into the registry; removes it when it no longer runs. */
static void
refresh_domain (VnmLibvirtWatch *watch, virDomainPtr dom)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autofree char *xml = NULL;
  g_autoptr(GError) error = NULL;
  VnmDomainDef *def;
  int state = VIR_DOMAIN_NOSTATE, reason = 0;

  if (virDomainGetUUIDString (dom, uuid) < 0)
    return;
  if (virDomainIsActive (dom) != 1 || virDomainGetState (dom, &state, &reason, 0) < 0 ||
      state == VIR_DOMAIN_SHUTOFF)
    {
      vnm_registry_remove (watch->registry, uuid);
      return;
    }
  xml = virDomainGetXMLDesc (dom, 0);
  if (!xml)
    {
      g_warning (_("Cannot read the XML of domain '%s': %s"), virDomainGetName (dom),
                 virGetLastErrorMessage ());
      return;
    }
  def = vnm_domain_xml_parse (xml, -1, &error);
  if (!def)
    {
      /* Keep what we knew of this domain: nothing collected is lost. */
      g_warning (_("Ignoring the XML of domain '%s': %s"), virDomainGetName (dom), error->message);
      return;
    }
  vnm_registry_update (watch->registry, def, state_name (state), VNM_MAPPED_BY_LIBVIRT);
}

static gboolean
process_pending (gpointer user_data)
{
  VnmLibvirtWatch *watch = user_data;
  g_autoptr(GHashTable) pending = g_steal_pointer (&watch->pending);
  GHashTableIter iter;
  gpointer key;

  watch->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  watch->pending_source = 0;
  if (!watch->conn)
    return G_SOURCE_REMOVE;
  g_hash_table_iter_init (&iter, pending);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr(virDomain) dom = virDomainLookupByUUIDString (watch->conn, key);
      if (dom)
        refresh_domain (watch, dom);
      else
        vnm_registry_remove (watch->registry, key);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_refresh (VnmLibvirtWatch *watch, virDomainPtr dom)
{
  char uuid[VIR_UUID_STRING_BUFLEN];

  if (virDomainGetUUIDString (dom, uuid) < 0)
    return;
  g_hash_table_add (watch->pending, g_strdup (uuid));
  if (!watch->pending_source)
    watch->pending_source = g_idle_add (process_pending, watch);
}

static int
lifecycle_cb (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  g_debug ("libvirt: domain %s: lifecycle event %d, detail %d.", virDomainGetName (dom), event, detail);
  VnmLibvirtWatch *watch = opaque;
  char uuid[VIR_UUID_STRING_BUFLEN];

  /* A stopped domain goes at once, without a round trip to libvirtd. An
   * undefined one may still run (it becomes transient): it is read again,
   * like a renamed or redefined one. Migration arrives as stopped here
   * (migrated away), started there, and suspended in between. */
  if (event == VIR_DOMAIN_EVENT_STOPPED && virDomainGetUUIDString (dom, uuid) == 0)
    {
      g_hash_table_remove (watch->pending, uuid);
      vnm_registry_remove (watch->registry, uuid);
      return 0;
    }
  schedule_refresh (watch, dom);
  return 0;
}

static void
device_cb (virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
  schedule_refresh (opaque, dom);
}

/* Settings written with virsh metadata or virtnetmon set, Nova's instance
 * metadata, a new title or description: read the domain again (its XML
 * carries them). */
static void
metadata_cb (virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
  if (type == VIR_DOMAIN_METADATA_ELEMENT && g_strcmp0 (nsuri, VNM_METADATA_NS) != 0 &&
      !g_str_has_prefix (nsuri ? nsuri : "", VNM_NOVA_NS_PREFIX))
    return;
  schedule_refresh (opaque, dom);
}

/* Lists running domains and makes the registry's libvirt part match. */
static void
reconcile (VnmLibvirtWatch *watch)
{
  virDomainPtr *doms = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int n = virConnectListAllDomains (watch->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

  if (n < 0)
    {
      g_warning (_("Cannot list libvirt domains: %s"), virGetLastErrorMessage ());
      return;
    }
  for (int i = 0; i < n; i++)
    {
      char uuid[VIR_UUID_STRING_BUFLEN];
      if (virDomainGetUUIDString (doms[i], uuid) == 0)
        g_hash_table_add (seen, g_strdup (uuid));
      refresh_domain (watch, doms[i]);
      virDomainFree (doms[i]);
    }
  free (doms);
  vnm_registry_retain (watch->registry, VNM_MAPPED_BY_LIBVIRT, seen);
}

static void
set_error (VnmLibvirtWatch *watch, const gchar *msg)
{
  g_free (watch->last_error);
  watch->last_error = g_strdup (msg);
}

static gboolean
retry_cb (gpointer user_data)
{
  VnmLibvirtWatch *watch = user_data;

  watch->retry_source = 0;
  connect_now (watch);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (VnmLibvirtWatch *watch)
{
  if (watch->retry_source)
    return;
  g_message (_("Reconnecting to libvirt at %s in %u s."), watch->uri, watch->backoff_s);
  watch->retry_source = g_timeout_add_seconds (watch->backoff_s, retry_cb, watch);
  watch->backoff_s = MIN (watch->backoff_s * 2, BACKOFF_MAX_S);
}

static void
drop_connection (VnmLibvirtWatch *watch)
{
  if (!watch->conn)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (watch->callback_ids); i++)
    if (watch->callback_ids[i] >= 0)
      {
        virConnectDomainEventDeregisterAny (watch->conn, watch->callback_ids[i]);
        watch->callback_ids[i] = -1;
      }
  virConnectClose (watch->conn);
  watch->conn = NULL;
}

static gboolean
handle_close (gpointer user_data)
{
  VnmLibvirtWatch *watch = user_data;

  watch->reconnect_pending = FALSE;
  drop_connection (watch);
  if (watch->func)
    watch->func (FALSE, watch->user_data);
  schedule_retry (watch);
  return G_SOURCE_REMOVE;
}

static void
close_cb (virConnectPtr conn, int reason, void *opaque)
{
  VnmLibvirtWatch *watch = opaque;

  g_warning (_("libvirt disconnected from %s (reason %d); serving what is known."), watch->uri,
             reason);
  set_error (watch, _("The connection to libvirtd was closed."));
  /* Closing the connection from inside its close callback is not allowed. */
  if (!watch->reconnect_pending)
    {
      watch->reconnect_pending = TRUE;
      g_idle_add (handle_close, watch);
    }
}

static void
connect_now (VnmLibvirtWatch *watch)
{
  virConnectPtr conn = virConnectOpen (watch->uri);

  if (!conn)
    {
      set_error (watch, virGetLastErrorMessage ());
      g_message (_("Cannot connect to libvirt at %s: %s"), watch->uri, watch->last_error);
      schedule_retry (watch);
      return;
    }
  watch->conn = conn;
  watch->backoff_s = BACKOFF_MIN_S;
  set_error (watch, NULL);
  virConnectRegisterCloseCallback (conn, close_cb, watch, NULL);
  /* Notice a hung libvirtd, not only a closed socket. */
  virConnectSetKeepAlive (conn, 5, 3);
  watch->callback_ids[0] =
    virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                      VIR_DOMAIN_EVENT_CALLBACK (lifecycle_cb), watch, NULL);
  watch->callback_ids[1] =
    virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                      VIR_DOMAIN_EVENT_CALLBACK (device_cb), watch, NULL);
  watch->callback_ids[2] =
    virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                      VIR_DOMAIN_EVENT_CALLBACK (device_cb), watch, NULL);
  watch->callback_ids[3] =
    virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                      VIR_DOMAIN_EVENT_CALLBACK (metadata_cb), watch, NULL);
  if (watch->callback_ids[0] < 0)
    g_warning (_("Cannot subscribe to libvirt lifecycle events: %s"), virGetLastErrorMessage ());
  g_message (_("Connected to libvirt at %s."), watch->uri);
  reconcile (watch);
  if (watch->func)
    watch->func (TRUE, watch->user_data);
}

VnmLibvirtWatch *
vnm_libvirt_watch_new (const gchar *uri, VnmRegistry *registry, VnmLibvirtStateFunc func,
                       gpointer user_data)
{
  VnmLibvirtWatch *watch = g_new0 (VnmLibvirtWatch, 1);

  vnm_libvirt_events_register_glib ();
  virSetErrorFunc (NULL, ignore_libvirt_errors);
  watch->uri = g_strdup (uri);
  watch->registry = registry;
  watch->func = func;
  watch->user_data = user_data;
  watch->backoff_s = BACKOFF_MIN_S;
  watch->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (watch->callback_ids); i++)
    watch->callback_ids[i] = -1;
  return watch;
}

void
vnm_libvirt_watch_start (VnmLibvirtWatch *watch)
{
  connect_now (watch);
}

void
vnm_libvirt_watch_free (VnmLibvirtWatch *watch)
{
  if (!watch)
    return;
  if (watch->retry_source)
    g_source_remove (watch->retry_source);
  if (watch->pending_source)
    g_source_remove (watch->pending_source);
  if (watch->query)
    watch->query->watch = NULL;
  if (watch->conn)
    virConnectUnregisterCloseCallback (watch->conn, close_cb);
  drop_connection (watch);
  g_hash_table_unref (watch->pending);
  g_free (watch->last_error);
  g_free (watch->uri);
  g_free (watch);
}

static virDomainPtr
lookup_for_settings (VnmLibvirtWatch *watch, const gchar *uuid, GError **error)
{
  virDomainPtr dom;

  if (!watch->conn)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_LIBVIRT_DISCONNECTED,
                   _("Not connected to libvirt at %s: domain settings live in libvirt."),
                   watch->uri);
      return NULL;
    }
  dom = virDomainLookupByUUIDString (watch->conn, uuid);
  if (!dom)
    g_set_error (error, VNM_ERROR, VNM_ERROR_UNKNOWN_DOMAIN,
                 _("libvirt has no domain with uuid '%s': %s"), uuid, virGetLastErrorMessage ());
  return dom;
}

gboolean
vnm_libvirt_watch_read_settings (VnmLibvirtWatch *watch, const gchar *uuid,
                                 VnmDomainSettings *out, GError **error)
{
  g_autoptr(virDomain) dom = lookup_for_settings (watch, uuid, error);
  g_autofree char *xml = NULL;
  virErrorPtr err;

  if (!dom)
    return FALSE;
  vnm_domain_settings_init (out);
  xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, VNM_METADATA_NS,
                              VIR_DOMAIN_AFFECT_CURRENT);
  if (xml)
    {
      if (!vnm_domain_settings_parse (xml, -1, TRUE, out, error))
        {
          g_prefix_error (error, _("The virtnetmon settings of domain '%s' are not valid: "),
                          virDomainGetName (dom));
          return FALSE;
        }
      return TRUE;
    }
  err = virGetLastError ();
  if (err && err->code == VIR_ERR_NO_DOMAIN_METADATA)
    return TRUE;
  g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
               _("Cannot read the metadata of domain '%s': %s"), virDomainGetName (dom),
               virGetLastErrorMessage ());
  return FALSE;
}

gboolean
vnm_libvirt_watch_write_settings (VnmLibvirtWatch *watch, const gchar *uuid,
                                  const VnmDomainSettings *settings, GError **error)
{
  g_autoptr(virDomain) dom = lookup_for_settings (watch, uuid, error);
  g_autofree gchar *xml = NULL;
  gboolean empty;
  unsigned int flags = 0;

  if (!dom)
    return FALSE;
  empty = settings->monitoring < 0 && settings->latency < 0 &&
          settings->latency_threshold_us < 0 && settings->flow_table_size < 0 &&
          settings->usage_quota_bytes < 0;
  if (virDomainIsActive (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_LIVE;
  if (virDomainIsPersistent (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_CONFIG;
  if (!empty)
    xml = vnm_domain_settings_to_xml (settings);
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml,
                            empty ? NULL : VNM_METADATA_PREFIX, VNM_METADATA_NS, flags) < 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("libvirt refused the settings of domain '%s': %s"), virDomainGetName (dom),
                   virGetLastErrorMessage ());
      return FALSE;
    }
  return TRUE;
}

gboolean
vnm_libvirt_watch_is_connected (VnmLibvirtWatch *watch)
{
  return watch->conn != NULL;
}

const gchar *
vnm_libvirt_watch_get_uri (VnmLibvirtWatch *watch)
{
  return watch->uri;
}

const gchar *
vnm_libvirt_watch_get_last_error (VnmLibvirtWatch *watch)
{
  return watch->last_error;
}

/* --- addresses (virDomainInterfaceAddresses) -------------------------------- */

static void
libvirt_address_free (VnmLibvirtAddress *a)
{
  g_free (a->vm_uuid);
  g_free (a->name);
  g_free (a->mac);
  g_free (a);
}

static void
libvirt_address_error_free (VnmLibvirtAddressError *e)
{
  g_free (e->vm_uuid);
  g_free (e->message);
  g_free (e);
}

static void
address_query_free (AddressQuery *q)
{
  if (q->conn)
    virConnectClose (q->conn);
  g_strfreev (q->uuids);
  g_clear_pointer (&q->addresses, g_ptr_array_unref);
  g_clear_pointer (&q->errors, g_ptr_array_unref);
  g_free (q);
}

static void
query_source (AddressQuery *q, virDomainPtr dom, const gchar *uuid, VnmAddrSource source)
{
  static const unsigned int libvirt_source[] = {
    [VNM_ADDR_SOURCE_LEASE] = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
    [VNM_ADDR_SOURCE_ARP] = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
    [VNM_ADDR_SOURCE_AGENT] = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
  };
  virDomainInterfacePtr *ifaces = NULL;
  int n = virDomainInterfaceAddresses (dom, &ifaces, libvirt_source[source], 0);

  if (n < 0)
    {
      VnmLibvirtAddressError *e = g_new0 (VnmLibvirtAddressError, 1);
      e->vm_uuid = g_strdup (uuid);
      e->source = source;
      e->message = g_strdup (virGetLastErrorMessage ());
      g_ptr_array_add (q->errors, e);
      return;
    }
  {
    /* It answered (maybe with nothing): an empty message says so. */
    VnmLibvirtAddressError *e = g_new0 (VnmLibvirtAddressError, 1);
    e->vm_uuid = g_strdup (uuid);
    e->source = source;
    e->message = g_strdup ("");
    g_ptr_array_add (q->errors, e);
  }
  for (int i = 0; i < n; i++)
    {
      for (unsigned int j = 0; j < ifaces[i]->naddrs; j++)
        {
          const virDomainIPAddress *ip = &ifaces[i]->addrs[j];
          VnmLibvirtAddress *a = g_new0 (VnmLibvirtAddress, 1);
          guint8 family;

          if (!vnm_addr_parse (ip->addr, &family, a->addr) ||
              (family == 4) != (ip->type == VIR_IP_ADDR_TYPE_IPV4))
            {
              g_free (a);
              continue;
            }
          a->family = family;
          a->vm_uuid = g_strdup (uuid);
          a->source = source;
          a->name = g_strdup (ifaces[i]->name ? ifaces[i]->name : "");
          a->mac = g_ascii_strdown (ifaces[i]->hwaddr ? ifaces[i]->hwaddr : "", -1);
          a->prefix = ip->prefix;
          g_ptr_array_add (q->addresses, a);
        }
      virDomainInterfaceFree (ifaces[i]);
    }
  free (ifaces);
}

static void
address_query_run (GTask *task, gpointer source_object, gpointer task_data,
                   GCancellable *cancellable)
{
  AddressQuery *q = task_data;

  for (guint i = 0; q->uuids[i]; i++)
    {
      g_autoptr(virDomain) dom = virDomainLookupByUUIDString (q->conn, q->uuids[i]);
      if (!dom)
        continue;  /* gone meanwhile */
      query_source (q, dom, q->uuids[i], VNM_ADDR_SOURCE_LEASE);
      query_source (q, dom, q->uuids[i], VNM_ADDR_SOURCE_ARP);
      if (q->agent)
        query_source (q, dom, q->uuids[i], VNM_ADDR_SOURCE_AGENT);
    }
  g_task_return_boolean (task, TRUE);
}

static void
address_query_done (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  AddressQuery *q = g_task_get_task_data (G_TASK (result));

  if (!q->watch)
    return;
  q->watch->query = NULL;
  q->func (g_steal_pointer (&q->addresses), g_steal_pointer (&q->errors), q->user_data);
}

gboolean
vnm_libvirt_watch_query_addresses (VnmLibvirtWatch *watch, const gchar *const *uuids,
                                   gboolean agent, VnmLibvirtAddressFunc func, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  AddressQuery *q;

  if (watch->query || !watch->conn || virConnectRef (watch->conn) < 0)
    return FALSE;
  q = g_new0 (AddressQuery, 1);
  q->watch = watch;
  q->conn = watch->conn;
  q->uuids = g_strdupv ((gchar **) uuids);
  q->agent = agent;
  q->func = func;
  q->user_data = user_data;
  q->addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) libvirt_address_free);
  q->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) libvirt_address_error_free);
  watch->query = q;
  task = g_task_new (NULL, NULL, address_query_done, NULL);
  g_task_set_task_data (task, q, (GDestroyNotify) address_query_free);
  g_task_run_in_thread (task, address_query_run);
  return TRUE;
}
