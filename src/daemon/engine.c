/* engine.c: the state of virtnetmond and what keeps it current. */
#include "config.h"

#include <string.h>

#include "dns-answer.h"
#include "engine.h"
#include "history-recorder.h"
#include "libvirt-watch.h"
#include "linkstats.h"
#include "qemu-scan.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"
#include "vnm-names.h"

/* How often QEMU processes not run by libvirt are looked for, besides
 * whenever a new interface appears. */
#define QEMU_SCAN_PERIOD_S 30
/* How long after a new unmapped interface the QEMU scan runs. */
#define QEMU_SCAN_SOON_MS 200
/* The address book: an address not seen for this long is dropped; at most
 * this many in all, and of one interface and source. */
#define ADDRESS_MAX_AGE_S (30 * 60)
#define ADDRESS_MAX 16384
#define ADDRESS_MAX_PER_IFACE 64
/* How often libvirt is asked for its addresses (leases, ARP), and the
 * guest agent. */
#define ADDRESS_LIBVIRT_PERIOD_S 10
#define DNS_TOUCH_PERIOD_S 60
#define ADDRESS_AGENT_PERIOD_S 60

/* What the latency policy last applied to a domain. */
typedef struct {
  gint own_latency;            /* the domain's own setting: -1, 0 or 1 */
  VnmDomainSettings effective;
  gboolean command;            /* SetLatencyTracing chose for it since */
} LatencyApplied;

struct _VnmEngine {
  GObject parent;

  gdouble interval_s;
  gchar *uri;
  const gchar *proc_root;
  VnmDomainSettings defaults;
  VnmKernelCaps *caps;
  VnmRegistry *registry;
  VnmLinkStats *linkstats;
  VnmLinkTable *links;
  VnmHistory *history;
  VnmFlowMonitor *flows;
  VnmServiceTable *services;   /* what each VM exposes, from its flows */
  VnmLatencyMonitor *latency;
  VnmLibvirtWatch *libvirt;
  gboolean libvirt_connected;
  GHashTable *applied;         /* uuid -> LatencyApplied* */
  VnmUsageStore *usage;
  VnmUsageRecorder *usage_recorder;
  guint usage_flush_s;
  guint usage_flush_source;
  gboolean usage_final_done;   /* the last reading and write at stop */

  VnmAddressBook *addresses;
  GHashTable *address_errors;  /* "uuid source" -> why libvirt's source gave none */
  gint64 address_libvirt_us;   /* when libvirt was last asked (monotonic) */
  gint64 address_agent_us;     /* and the guest agent */

  VnmDnsNames *dns_names;      /* the names VMs looked up, by address */
  gint64 dns_touch_us;         /* when flows last kept their names alive */
  guint64 dns_answers;         /* DNS answers that named addresses */
  guint64 dns_refused;         /* DNS messages to VMs that were no usable answer */

  gint64 last_refresh_us;      /* when the counters were last read */
  guint refresh_source;
  guint scan_source;
  guint scan_soon_source;
  guint reconcile_source;
};

G_DEFINE_TYPE (VnmEngine, vnm_engine, G_TYPE_OBJECT)

enum {
  SIGNAL_DOMAIN_ADDED,
  SIGNAL_DOMAIN_CHANGED,
  SIGNAL_DOMAIN_REMOVED,
  SIGNAL_LINK_ADDED,
  SIGNAL_LINK_CHANGED,
  SIGNAL_LINK_REMOVED,
  SIGNAL_INTERVAL,
  SIGNAL_PROBES_CHANGED,
  SIGNAL_LIBVIRT_CONNECTION,
  SIGNAL_LATENCY_EVENTS,
  SIGNAL_USAGE_QUOTA_EXCEEDED,
  SIGNAL_SERVICE_APPEARED,
  SIGNAL_LAST
};

static guint signals[SIGNAL_LAST];

static gboolean scan_qemu (gpointer user_data);

/* --- probes follow domains and links ----------------------------------- */

static gboolean
reconcile_idle (gpointer user_data)
{
  VnmEngine *self = user_data;

  self->reconcile_source = 0;
  vnm_flow_monitor_reconcile (self->flows);
  vnm_latency_monitor_reconcile (self->latency);
  g_signal_emit (self, signals[SIGNAL_PROBES_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

/* Once per burst of changes. */
static void
reconcile_soon (VnmEngine *self)
{
  if (!self->reconcile_source)
    self->reconcile_source = g_idle_add (reconcile_idle, self);
}

/* --- links ---------------------------------------------------------------- */

static gboolean
scan_soon_cb (gpointer user_data)
{
  VnmEngine *self = user_data;

  self->scan_soon_source = 0;
  scan_qemu (self);
  return G_SOURCE_REMOVE;
}

static void
link_changed (VnmLinkChange change, const VnmLink *link, gboolean recreated, gpointer user_data)
{
  VnmEngine *self = user_data;
  static const guint which[] = {
    [VNM_LINK_ADDED] = SIGNAL_LINK_ADDED,
    [VNM_LINK_CHANGED] = SIGNAL_LINK_CHANGED,
    [VNM_LINK_REMOVED] = SIGNAL_LINK_REMOVED,
  };

  if (recreated)
    g_debug ("Device %s was recreated (ifindex %d now).", link->name, link->ifindex);
  /* A new tap nobody maps yet may belong to a QEMU that just started. */
  if (change == VNM_LINK_ADDED && !vnm_registry_lookup_ifname (self->registry, link->name, NULL) &&
      !self->scan_soon_source)
    self->scan_soon_source = g_timeout_add (QEMU_SCAN_SOON_MS, scan_soon_cb, self);
  g_signal_emit (self, signals[which[change]], 0, link, recreated);
  reconcile_soon (self);
}

/* Reads every link; on failure the table stays as it was. */
static gboolean
dump_links (VnmEngine *self, gint64 now_us)
{
  g_autoptr(GError) error = NULL;

  if (!vnm_link_table_refresh (self->links, vnm_linkstats_dump, self->linkstats, now_us, &error))
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* --- usage ------------------------------------------------------------------ */

/* Emits usage-quota-exceeded for each running domain whose month passed
 * its quota, once a domain and month. */
static void
check_quotas (VnmEngine *self, gint64 now)
{
  GHashTable *totals = vnm_usage_store_month_totals (self->usage, now);
  g_autofree gchar *month = vnm_usage_month_name (now);
  g_autoptr(GPtrArray) domains = vnm_registry_list (self->registry);

  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      const VnmUsageRow *row = g_hash_table_lookup (totals, d->uuid);
      VnmDomainSettings eff;
      guint64 bytes;

      vnm_domain_effective_settings (d, &self->defaults, &eff);
      if (eff.usage_quota_bytes <= 0 || !row)
        continue;
      bytes = row->usage.rx_bytes + row->usage.tx_bytes;
      if (bytes <= (guint64) eff.usage_quota_bytes ||
          vnm_usage_store_quota_notified (self->usage, d->uuid, month))
        continue;
      vnm_usage_store_mark_quota_notified (self->usage, d->uuid, month, bytes,
                                           (guint64) eff.usage_quota_bytes);
      g_message (_("Domain %s (%s) passed its usage quota for %s: %lld bytes received and sent, quota %lld bytes."),
                 d->name, d->uuid, month, (long long) bytes, (long long) eff.usage_quota_bytes);
      {
        VnmUsageQuotaEvent ev = {
          .vm_name = d->name, .vm_uuid = d->uuid, .month = month,
          .month_bytes = bytes, .quota_bytes = (guint64) eff.usage_quota_bytes, .time = now,
        };
        g_signal_emit (self, signals[SIGNAL_USAGE_QUOTA_EXCEEDED], 0, &ev);
      }
    }
}

static void
record_usage (VnmEngine *self)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  vnm_usage_recorder_feed (self->usage_recorder, self->links, now);
  check_quotas (self, now);
}

static gboolean
flush_usage (gpointer user_data)
{
  VnmEngine *self = user_data;
  g_autoptr(GError) error = NULL;

  /* A failure is logged and shown in the status by the store; the totals
   * wait for the next write. */
  vnm_usage_store_flush (self->usage, g_get_real_time () / G_USEC_PER_SEC, &error);
  return G_SOURCE_CONTINUE;
}

/* --- addresses -------------------------------------------------------------- */

typedef struct {
  VnmEngine *self;
  gint64 mono_now_us, real_now_us;
} LearnCtx;

static void
learned (gint ifindex, guint8 family, const guint8 addr[16], const gchar *via, const gchar *mac,
         guint64 last_ns, gpointer user_data)
{
  LearnCtx *c = user_data;
  const VnmLink *link = vnm_link_table_lookup_ifindex (c->self->links, ifindex);
  const VnmDomainInterface *iface = NULL;
  const VnmDomain *d;
  gint64 seen;

  if (!link || !(d = vnm_registry_lookup_ifname (c->self->registry, link->name, &iface)) || !iface)
    return;
  /* ARP and DHCP speak for the VM only from or to its own MAC. */
  if (mac && g_ascii_strcasecmp (mac, iface->mac) != 0)
    return;
  seen = c->real_now_us - (c->mono_now_us - (gint64) (last_ns / 1000));
  vnm_address_book_note (c->self->addresses, d->uuid, link->name, iface->mac, family, addr, -1,
                         VNM_ADDR_SOURCE_LEARNED, via, MIN (seen, c->real_now_us));
}

static void
libvirt_addresses (GPtrArray *addresses, GPtrArray *errors, gpointer user_data)
{
  VnmEngine *self = user_data;
  gint64 now = g_get_real_time ();

  for (guint i = 0; i < addresses->len; i++)
    {
      const VnmLibvirtAddress *a = g_ptr_array_index (addresses, i);
      const VnmDomain *d = vnm_registry_lookup_uuid (self->registry, a->vm_uuid);
      const gchar *iface = a->source == VNM_ADDR_SOURCE_AGENT ? "" : a->name;
      const gchar *via = a->source == VNM_ADDR_SOURCE_AGENT ? a->name : "";

      if (!d)
        continue;
      /* The agent names the guest's interface: ours is the one with its MAC. */
      for (guint j = 0; j < d->interfaces->len; j++)
        {
          const VnmDomainInterface *di = g_ptr_array_index (d->interfaces, j);
          if (g_ascii_strcasecmp (di->mac, a->mac) == 0)
            iface = di->target_dev;
        }
      if (a->source == VNM_ADDR_SOURCE_AGENT && !*iface)
        continue;  /* the guest's loopback, or a device libvirt does not give it */
      vnm_address_book_note (self->addresses, a->vm_uuid, iface, a->mac, a->family, a->addr,
                             a->prefix, a->source, via, now);
    }
  for (guint i = 0; i < errors->len; i++)
    {
      const VnmLibvirtAddressError *e = g_ptr_array_index (errors, i);
      gchar *key = g_strdup_printf ("%s %u", e->vm_uuid, e->source);
      const gchar *old = g_hash_table_lookup (self->address_errors, key);

      if (!*e->message)
        {
          g_hash_table_remove (self->address_errors, key);
          g_free (key);
          continue;
        }
      if (g_strcmp0 (old, e->message) != 0)
        g_debug ("libvirt has no %s addresses of %s: %s", vnm_addr_source_name (e->source),
                 e->vm_uuid, e->message);
      g_hash_table_insert (self->address_errors, key, g_strdup (e->message));
    }
  g_ptr_array_unref (addresses);
  g_ptr_array_unref (errors);
}

static void
update_addresses (VnmEngine *self, gint64 mono_now_us)
{
  LearnCtx c = { self, mono_now_us, g_get_real_time () };

  vnm_flow_monitor_foreach_learned (self->flows, learned, &c);
  vnm_address_book_expire (self->addresses, c.real_now_us);
  if (self->libvirt && vnm_libvirt_watch_is_connected (self->libvirt) &&
      mono_now_us - self->address_libvirt_us >= ADDRESS_LIBVIRT_PERIOD_S * G_USEC_PER_SEC)
    {
      g_autoptr(GPtrArray) domains = vnm_registry_list (self->registry);
      g_autoptr(GPtrArray) uuids = g_ptr_array_new ();
      gboolean agent = mono_now_us - self->address_agent_us >= ADDRESS_AGENT_PERIOD_S * G_USEC_PER_SEC;

      for (guint i = 0; i < domains->len; i++)
        {
          const VnmDomain *d = g_ptr_array_index (domains, i);
          if (g_str_equal (d->mapped_by, VNM_MAPPED_BY_LIBVIRT))
            g_ptr_array_add (uuids, d->uuid);
        }
      g_ptr_array_add (uuids, NULL);
      if (uuids->len > 1 &&
          vnm_libvirt_watch_query_addresses (self->libvirt, (const gchar *const *) uuids->pdata,
                                             agent, libvirt_addresses, self))
        {
          self->address_libvirt_us = mono_now_us;
          if (agent)
            self->address_agent_us = mono_now_us;
        }
    }
}

/* A DNS message sent to a VM: the addresses of the name it asked for are
 * that name, for this VM. */
static void
dns_message (const gchar *uuid, const guint8 *msg, gsize len, gsize orig_len, gpointer user_data)
{
  VnmEngine *self = user_data;
  g_autoptr(GArray) addrs = g_array_new (FALSE, FALSE, sizeof (VnmDnsAddress));
  g_autoptr(GError) error = NULL;
  g_autofree gchar *name = NULL;
  gint64 now = g_get_monotonic_time ();

  if (!vnm_dns_answer_parse (msg, len, orig_len > len, &name, addrs, &error))
    {
      self->dns_refused++;
      g_debug ("Not a DNS answer to VM %s: %s", uuid, error->message);
      return;
    }
  if (addrs->len == 0)
    return;
  self->dns_answers++;
  for (guint i = 0; i < addrs->len; i++)
    {
      const VnmDnsAddress *a = &g_array_index (addrs, VnmDnsAddress, i);
      vnm_dns_names_add (self->dns_names, uuid, a->family, a->addr, name, a->ttl, now);
    }
}

static void
touch_name (const VnmFlowRecord *rec, const gchar *uuid, const gchar *name, gpointer user_data)
{
  VnmEngine *self = user_data;

  if (uuid && *uuid)
    vnm_dns_names_touch (self->dns_names, uuid, rec->key.family, rec->key.remote_addr,
                         (gint64) (rec->flow.last_ns / 1000));
}

/* A name lives on while its VM's flows to the address do (at most once a
 * minute: a walk over all flows); expired ones go. */
static void
update_dns_names (VnmEngine *self, gint64 mono_now_us)
{
  if (mono_now_us - self->dns_touch_us < DNS_TOUCH_PERIOD_S * G_USEC_PER_SEC)
    return;
  self->dns_touch_us = mono_now_us;
  if (vnm_dns_names_count (self->dns_names) > 0)
    vnm_flow_monitor_foreach_record (self->flows, touch_name, self);
  vnm_dns_names_expire (self->dns_names, mono_now_us);
}

VnmDnsNames *
vnm_engine_dns_names (VnmEngine *self)
{
  return self->dns_names;
}

void
vnm_engine_dns_counts (VnmEngine *self, guint64 *answers, guint64 *refused, guint64 *unasked,
                       guint64 *lost)
{
  *answers = self->dns_answers;
  *refused = self->dns_refused;
  *unasked = self->flows ? vnm_flow_monitor_dns_unasked (self->flows) : 0;
  *lost = self->flows ? vnm_flow_monitor_dns_lost (self->flows) : 0;
}

VnmPeerNames *
vnm_engine_peer_names (VnmEngine *self)
{
  VnmPeerNames *n = vnm_peer_names_new ();
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) domains = vnm_registry_list (self->registry);

  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      g_hash_table_insert (names, d->uuid, d->name);
    }
  vnm_peer_names_add_host_interfaces (n);
  vnm_peer_names_add_book (n, self->addresses, names);
  /* Lookups skip expired names; they go once a minute (update_dns_names). */
  vnm_peer_names_set_dns (n, self->dns_names, g_get_monotonic_time ());
  return n;
}

const gchar *
vnm_engine_address_error (VnmEngine *self, const gchar *uuid, VnmAddrSource source)
{
  g_autofree gchar *key = g_strdup_printf ("%s %u", uuid, source);
  return g_hash_table_lookup (self->address_errors, key);
}

static void
service_record (const VnmFlowRecord *rec, const gchar *domain_uuid, const gchar *domain_name,
                gpointer user_data)
{
  VnmEngine *self = user_data;
  const VnmService *s;

  if (!*domain_uuid || !vnm_registry_lookup_uuid (self->registry, domain_uuid))
    return;
  s = vnm_service_table_add (self->services, domain_uuid, rec);
  if (s)
    g_signal_emit (self, signals[SIGNAL_SERVICE_APPEARED], 0, domain_uuid, domain_name, s);
}

/* The services the VMs expose, from the flows just read. */
static void
track_services (VnmEngine *self)
{
  vnm_service_table_begin (self->services);
  vnm_flow_monitor_foreach_record (self->flows, service_record, self);
  vnm_service_table_end (self->services);
}

static gboolean
refresh (gpointer user_data)
{
  VnmEngine *self = user_data;
  gint64 now_us = g_get_monotonic_time ();

  if (!dump_links (self, now_us))
    return G_SOURCE_CONTINUE;
  record_usage (self);
  /* The rates cover the time since the previous refresh. */
  if (self->last_refresh_us)
    vnm_history_recorder_feed (self->history, self->links, self->registry,
                               g_get_real_time () / 1e6, (now_us - self->last_refresh_us) / 1e6);
  self->last_refresh_us = now_us;
  vnm_flow_monitor_poll (self->flows);
  update_addresses (self, now_us);
  track_services (self);
  update_dns_names (self, now_us);
  g_signal_emit (self, signals[SIGNAL_INTERVAL], 0);
  return G_SOURCE_CONTINUE;
}

static void
link_event (VnmLinkEvent event, const VnmLink *link, gpointer user_data)
{
  VnmEngine *self = user_data;

  switch (event)
    {
    case VNM_LINK_EVENT_RESYNC:
      refresh (self);
      break;
    case VNM_LINK_EVENT_NEW:
      vnm_link_table_upsert (self->links, link, g_get_monotonic_time ());
      break;
    case VNM_LINK_EVENT_DEL:
      /* The kernel's last word on the device has its final counters. */
      vnm_usage_recorder_link_gone (self->usage_recorder, self->links, link,
                                    g_get_real_time () / G_USEC_PER_SEC);
      vnm_link_table_remove (self->links, link->ifindex);
      break;
    }
}

/* --- QEMU processes libvirt does not run ---------------------------------- */

static VnmDomainDef *
def_from_qemu (VnmEngine *self, const VnmQemuProcess *proc)
{
  g_autoptr(VnmDomainDef) def = vnm_domain_def_new ();
  const VnmDomain *existing;
  gint64 vmid = -1;

  g_free (def->uuid);
  if (*proc->uuid && strlen (proc->uuid) == 36)
    def->uuid = g_strdup (proc->uuid);
  else
    {
      g_autofree gchar *key = g_strdup_printf ("qemu:%s:%s", proc->vmid,
                                               *proc->vmid ? "" : proc->name);
      def->uuid = vnm_uuid_for_name (key);
    }
  /* A domain libvirt already reports is libvirt's. */
  existing = vnm_registry_lookup_uuid (self->registry, def->uuid);
  if (existing && g_str_equal (existing->mapped_by, VNM_MAPPED_BY_LIBVIRT))
    return NULL;
  g_free (def->name);
  def->name = g_strdup (*proc->name ? proc->name : proc->vmid);
  if (g_ascii_string_to_signed (proc->vmid, 10, 0, G_MAXINT32, &vmid, NULL))
    def->id = (gint) vmid;
  for (guint j = 0; j < proc->ifnames->len; j++)
    g_ptr_array_add (def->interfaces,
                     vnm_domain_interface_new ("ethernet", g_ptr_array_index (proc->ifnames, j)));
  /* Macvtap devices it holds open (-netdev tap,fd= names none): by the
   * ifindex in /dev/tap<ifindex>, once the link table has them. */
  for (guint j = 0; j < proc->tap_ifindexes->len; j++)
    {
      const VnmLink *link = vnm_link_table_lookup_ifindex (self->links,
                                                           g_array_index (proc->tap_ifindexes, gint, j));
      if (link && !g_ptr_array_find_with_equal_func (proc->ifnames, link->name, g_str_equal, NULL))
        g_ptr_array_add (def->interfaces, vnm_domain_interface_new ("direct", link->name));
    }
  return g_steal_pointer (&def);
}

static gboolean
scan_qemu (gpointer user_data)
{
  VnmEngine *self = user_data;
  g_autoptr(GPtrArray) procs = vnm_qemu_scan (self->proc_root);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < procs->len; i++)
    {
      VnmQemuProcess *proc = g_ptr_array_index (procs, i);
      VnmDomainDef *def;

      if (proc->libvirt_managed || !(def = def_from_qemu (self, proc)))
        continue;
      g_hash_table_add (seen, g_strdup (def->uuid));
      vnm_registry_update (self->registry, def, "running", VNM_MAPPED_BY_QEMU_CMDLINE);
    }
  vnm_registry_retain (self->registry, VNM_MAPPED_BY_QEMU_CMDLINE, seen);
  return G_SOURCE_CONTINUE;
}

/* --- latency tracing: settings and commands -------------------------------- */

static gboolean
trace_as_settings_say (VnmEngine *self, const VnmDomain *domain, const VnmDomainSettings *eff)
{
  g_autoptr(GError) error = NULL;

  if (eff->latency > 0)
    {
      VnmLatencySettings ls = {
        .tx = TRUE, .rx = TRUE,
        .threshold_ns = (guint64) eff->latency_threshold_us * 1000,
      };
      if (!vnm_latency_monitor_set (self->latency, domain->uuid, &ls, &error))
        {
          g_message (_("Cannot trace the latency of domain %s as its settings ask: %s"),
                     domain->name, error->message);
          return FALSE;
        }
      g_message (_("Latency tracing of domain %s is on (threshold %lld us), as its settings say."),
                 domain->name, (long long) eff->latency_threshold_us);
    }
  else if (vnm_latency_monitor_set (self->latency, domain->uuid, NULL, &error))
    g_message (_("Latency tracing of domain %s is off, as its settings say."), domain->name);
  return TRUE;
}

/* Latency tracing follows a domain's settings when it appears with them and
 * whenever they change. A command (SetLatencyTracing) overrides them until
 * the domain's latency setting is given a value again: removing the setting
 * (set --unset latency) leaves what the command chose. */
static void
apply_latency_settings (VnmEngine *self, const VnmDomain *domain)
{
  LatencyApplied *applied = g_hash_table_lookup (self->applied, domain->uuid);
  gboolean known = applied != NULL;
  VnmDomainSettings eff;

  vnm_domain_effective_settings (domain, &self->defaults, &eff);
  if (!known)
    {
      applied = g_new0 (LatencyApplied, 1);
      applied->own_latency = -1;
      g_hash_table_insert (self->applied, g_strdup (domain->uuid), applied);
    }
  else if (domain->settings.latency >= 0 && domain->settings.latency != applied->own_latency)
    applied->command = FALSE;    /* a new value: the setting speaks again */
  else if (applied->command ||
           (applied->effective.latency == eff.latency &&
            applied->effective.latency_threshold_us == eff.latency_threshold_us))
    {
      applied->own_latency = domain->settings.latency;
      applied->effective = eff;
      return;
    }
  applied->own_latency = domain->settings.latency;
  applied->effective = eff;
  /* A new domain that nobody asked to trace is left as the daemon has it
   * (tracing for every domain may cover it). */
  if (!known && !eff.latency && domain->settings.latency != 0)
    return;
  trace_as_settings_say (self, domain, &eff);
}

gboolean
vnm_engine_set_latency_tracing (VnmEngine *self, const gchar *uuid,
                                const VnmLatencySettings *settings, GError **error)
{
  if (!vnm_latency_monitor_set (self->latency, uuid, settings, error))
    return FALSE;
  if (uuid)
    {
      LatencyApplied *applied = g_hash_table_lookup (self->applied, uuid);
      if (applied)
        applied->command = TRUE;
      return TRUE;
    }
  /* For every domain: replaces each one's own command. Switched off, the
   * domains whose settings ask for tracing keep it. */
  {
    g_autoptr(GPtrArray) domains = vnm_registry_list (self->registry);
    for (guint i = 0; i < domains->len; i++)
      {
        const VnmDomain *d = g_ptr_array_index (domains, i);
        LatencyApplied *applied = g_hash_table_lookup (self->applied, d->uuid);
        VnmDomainSettings eff;

        if (applied)
          applied->command = FALSE;
        vnm_domain_effective_settings (d, &self->defaults, &eff);
        if (!settings && eff.latency > 0)
          trace_as_settings_say (self, d, &eff);
      }
  }
  return TRUE;
}

const gchar *
vnm_engine_latency_source (VnmEngine *self, const VnmDomain *domain)
{
  LatencyApplied *applied = g_hash_table_lookup (self->applied, domain->uuid);

  if (applied && applied->command)
    return "command";
  if (vnm_latency_monitor_all (self->latency) && !applied)
    return "all";
  if (vnm_latency_monitor_all (self->latency) && applied->effective.latency <= 0)
    return "all";
  return domain->settings.latency >= 0 ? "settings" : "default";
}

void
vnm_engine_set_latency_listening (VnmEngine *self, gboolean listening)
{
  vnm_latency_monitor_set_listening (self->latency, listening);
}

static void
latency_events (GPtrArray *events, guint64 lost, gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_LATENCY_EVENTS], 0, events, lost);
}

/* --- domains ------------------------------------------------------------- */

static void
registry_changed (VnmRegistryChange change, const VnmDomain *domain, gpointer user_data)
{
  VnmEngine *self = user_data;

  if (domain->settings_error && change != VNM_REGISTRY_REMOVED)
    g_message (_("Ignoring the virtnetmon settings in the <metadata> of domain %s: %s"),
               domain->name, domain->settings_error);
  if (change == VNM_REGISTRY_REMOVED)
    {
      g_hash_table_remove (self->applied, domain->uuid);
      vnm_address_book_forget_vm (self->addresses, domain->uuid);
      for (guint src = 0; src < VNM_ADDR_SOURCES; src++)
        {
          g_autofree gchar *key = g_strdup_printf ("%s %u", domain->uuid, src);
          g_hash_table_remove (self->address_errors, key);
        }
      vnm_service_table_forget (self->services, domain->uuid);
      vnm_dns_names_forget_vm (self->dns_names, domain->uuid);
    }
  else
    apply_latency_settings (self, domain);
  g_signal_emit (self, signals[change == VNM_REGISTRY_ADDED ? SIGNAL_DOMAIN_ADDED
                               : change == VNM_REGISTRY_CHANGED ? SIGNAL_DOMAIN_CHANGED
                               : SIGNAL_DOMAIN_REMOVED], 0, domain);
  reconcile_soon (self);
}

static void
libvirt_state (gboolean connected, gpointer user_data)
{
  VnmEngine *self = user_data;

  self->libvirt_connected = connected;
  g_signal_emit (self, signals[SIGNAL_LIBVIRT_CONNECTION], 0, connected);
}

void
vnm_engine_domain_hook (VnmEngine *self, gboolean starting, VnmDomainDef *def)
{
  g_autoptr(VnmDomainDef) owned = def;

  if (def && starting)
    {
      g_message (_("libvirt hook: domain %s (%s) is starting."), def->name, def->uuid);
      vnm_registry_update (self->registry, g_steal_pointer (&owned), "running",
                           VNM_MAPPED_BY_LIBVIRT);
    }
  else if (def)
    {
      g_message (_("libvirt hook: domain %s (%s) has stopped."), def->name, def->uuid);
      vnm_registry_remove (self->registry, def->uuid);
    }
  /* Links created a moment ago (a tap libvirt just made) may still wait in
   * the link monitor's queue: a dump adds them, then the probes follow. */
  dump_links (self, g_get_monotonic_time ());
  g_clear_handle_id (&self->reconcile_source, g_source_remove);
  reconcile_idle (self);
}

gboolean
vnm_engine_can_store_settings (VnmEngine *self, const VnmDomain *d, GError **error)
{
  if (g_str_equal (d->mapped_by, VNM_MAPPED_BY_LIBVIRT) && self->libvirt)
    return TRUE;
  g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
               _("Domain '%s' is not run by libvirt, so it has no <metadata> to keep settings in; the defaults of virtnetmond.conf apply to it."),
               d->name);
  return FALSE;
}

gboolean
vnm_engine_change_domain_settings (VnmEngine *self, const gchar *uuid,
                                   const VnmDomainSettings *change, GError **error)
{
  g_autoptr(GError) local = NULL;
  VnmDomainSettings settings;

  /* Read what libvirt has now, so that a concurrent `virsh metadata` is
   * not undone; settings that are not valid are replaced. */
  if (!vnm_libvirt_watch_read_settings (self->libvirt, uuid, &settings, &local))
    {
      if (!g_error_matches (local, VNM_ERROR, VNM_ERROR_PARSE))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_message (_("Replacing settings of domain %s that were not valid: %s"), uuid, local->message);
      vnm_domain_settings_init (&settings);
    }
  vnm_domain_settings_apply_change (&settings, change);
  return vnm_libvirt_watch_write_settings (self->libvirt, uuid, &settings, error);
}

/* --- life ---------------------------------------------------------------- */

static gint
count_filters (gint ifindex, gboolean egress, gpointer user_data)
{
  return vnm_linkstats_count_tc_filters (user_data, ifindex, egress);
}

VnmEngine *
vnm_engine_new (const VnmOptions *o, GError **error)
{
  g_autoptr(VnmEngine) self = g_object_new (VNM_TYPE_ENGINE, NULL);

  self->interval_s = o->interval_s;
  self->uri = g_strdup (o->uri);
  self->defaults = o->defaults;
  self->proc_root = g_getenv ("VIRTNETMON_PROC_ROOT") ? g_getenv ("VIRTNETMON_PROC_ROOT") : "/proc";
  self->caps = o->no_bpf ? NULL : vnm_kernel_caps_detect ();
  self->registry = vnm_registry_new ();
  self->links = vnm_link_table_new (self->registry, &self->defaults);
  self->history = vnm_history_new ();
  self->usage = vnm_usage_store_open (o->usage_db);
  self->usage_flush_s = o->usage_flush_interval_s > 0 ? (guint) o->usage_flush_interval_s
                                                      : VNM_USAGE_FLUSH_DEFAULT_S;
  {
    g_autofree gchar *boot_id = vnm_usage_boot_id ();
    self->usage_recorder = vnm_usage_recorder_new (self->usage, boot_id);
  }

  self->linkstats = vnm_linkstats_new (error);
  if (!self->linkstats)
    return NULL;
  if (!vnm_link_table_refresh (self->links, vnm_linkstats_dump, self->linkstats,
                               g_get_monotonic_time (), error))
    return NULL;
  /* Where counting starts for the devices present now (no domain is
   * known yet, so nothing is counted for one). */
  vnm_usage_recorder_feed (self->usage_recorder, self->links, g_get_real_time () / G_USEC_PER_SEC);
  {
    VnmFlowMonitorConfig fc = {
      .table_size = (guint) o->flow_table_size,
      .idle_timeout_s = o->flow_idle_timeout_s,
      .retention_s = 15 * 60,
      .max_ended = 100000,
      .state_dir = o->state_dir,
      .pin_dir = o->pin_dir,
      .attach = o->probe_attach,
      .count_filters = count_filters,
      .count_filters_data = self->linkstats,
    };
    self->flows = vnm_flow_monitor_new (self->links, self->registry, self->caps, &fc, o->no_bpf);
    vnm_flow_monitor_watch_dns (self->flows, dns_message, self);
  }
  {
    VnmLatencyConfig lc = {
      .paths = 16384,
      .hist_devices = (guint) o->latency_devices,
      .threshold_ns = (guint64) o->latency_threshold_us * 1000,
      .max_events_per_s = (guint) o->latency_events_rate,
      .raw_tp = o->latency_raw_tp,
      .sampled = o->latency_sampling,
      .sample_window_ms = (guint) o->latency_sample_window_ms,
      .sample_period_ms = (guint) o->latency_sample_period_s * 1000,
      .state_dir = o->state_dir,
    };
    /* The drop counters go where the flow maps went (the flow probe holds
     * the pin directory's lock). */
    if (*vnm_flow_monitor_pinned (self->flows))
      lc.pin_dir = o->pin_dir;
    self->latency = vnm_latency_monitor_new (self->links, self->registry, self->caps, &lc,
                                             o->no_bpf);
  }
  vnm_latency_monitor_set_listener (self->latency, latency_events, self);
  vnm_registry_set_observer (self->registry, registry_changed, self);
  vnm_link_table_set_observer (self->links, link_changed, self);
  if (!vnm_linkstats_monitor (self->linkstats, link_event, self, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
vnm_engine_start (VnmEngine *self)
{
  self->libvirt = vnm_libvirt_watch_new (self->uri, self->registry, libvirt_state, self);
  vnm_libvirt_watch_start (self->libvirt);
  scan_qemu (self);
  self->refresh_source = g_timeout_add ((guint) (self->interval_s * 1000), refresh, self);
  self->scan_source = g_timeout_add_seconds (QEMU_SCAN_PERIOD_S, scan_qemu, self);
  self->usage_flush_source = g_timeout_add_seconds (self->usage_flush_s, flush_usage, self);
  /* The starting counters of the first reading, at once: a crash in the
   * first interval must not leave a new database without them. */
  flush_usage (self);
}

void
vnm_engine_stop (VnmEngine *self)
{
  /* A clean stop counts up to now and writes it: nothing is lost. */
  if (self->refresh_source && !self->usage_final_done)
    {
      self->usage_final_done = TRUE;
      if (dump_links (self, g_get_monotonic_time ()))
        record_usage (self);
      flush_usage (self);
    }
  /* The flows as they are at the stop: the IPFIX exporter's final records
   * and the saved summaries have the last counts. */
  if (self->refresh_source && self->flows)
    vnm_flow_monitor_poll (self->flows);
  g_clear_handle_id (&self->usage_flush_source, g_source_remove);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_handle_id (&self->scan_source, g_source_remove);
  g_clear_handle_id (&self->scan_soon_source, g_source_remove);
  g_clear_handle_id (&self->reconcile_source, g_source_remove);
  if (self->registry)
    vnm_registry_set_observer (self->registry, NULL, NULL);
  if (self->flows)
    vnm_flow_monitor_stop (self->flows);
}

static void
vnm_engine_finalize (GObject *object)
{
  VnmEngine *self = VNM_ENGINE (object);

  vnm_engine_stop (self);
  g_clear_pointer (&self->libvirt, vnm_libvirt_watch_free);
  if (self->latency)
    vnm_latency_monitor_set_listener (self->latency, NULL, NULL);
  g_clear_pointer (&self->flows, vnm_flow_monitor_free);
  g_clear_pointer (&self->services, vnm_service_table_free);
  g_clear_pointer (&self->latency, vnm_latency_monitor_free);
  g_clear_pointer (&self->linkstats, vnm_linkstats_free);
  g_clear_pointer (&self->links, vnm_link_table_free);
  g_clear_pointer (&self->registry, vnm_registry_free);
  g_clear_pointer (&self->history, vnm_history_free);
  g_clear_pointer (&self->usage_recorder, vnm_usage_recorder_free);
  g_clear_pointer (&self->usage, vnm_usage_store_free);
  g_clear_pointer (&self->caps, vnm_kernel_caps_free);
  g_clear_pointer (&self->applied, g_hash_table_unref);
  g_clear_pointer (&self->addresses, vnm_address_book_free);
  g_clear_pointer (&self->dns_names, vnm_dns_names_free);
  g_clear_pointer (&self->address_errors, g_hash_table_unref);
  g_free (self->uri);
  G_OBJECT_CLASS (vnm_engine_parent_class)->finalize (object);
}

static void
vnm_engine_init (VnmEngine *self)
{
  self->applied = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->addresses = vnm_address_book_new (ADDRESS_MAX, ADDRESS_MAX_PER_IFACE,
                                          (gint64) ADDRESS_MAX_AGE_S * G_USEC_PER_SEC);
  self->address_errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->dns_names = vnm_dns_names_new (VNM_DNS_NAMES_PER_VM);
  self->address_libvirt_us = self->address_agent_us = G_MININT64 / 2;
  self->services = vnm_service_table_new (VNM_SERVICES_MAX, VNM_SERVICE_CLIENTS_MAX);
}

static void
vnm_engine_class_init (VnmEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  static const gchar *const domain_signals[] = { "domain-added", "domain-changed", "domain-removed" };
  static const gchar *const link_signals[] = { "link-added", "link-changed", "link-removed" };

  object_class->finalize = vnm_engine_finalize;
  for (guint i = 0; i < 3; i++)
    {
      signals[SIGNAL_DOMAIN_ADDED + i] =
        g_signal_new (domain_signals[i], G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
      signals[SIGNAL_LINK_ADDED + i] =
        g_signal_new (link_signals[i], G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BOOLEAN);
    }
  signals[SIGNAL_INTERVAL] =
    g_signal_new ("interval", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_PROBES_CHANGED] =
    g_signal_new ("probes-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_LIBVIRT_CONNECTION] =
    g_signal_new ("libvirt-connection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[SIGNAL_USAGE_QUOTA_EXCEEDED] =
    g_signal_new ("usage-quota-exceeded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_SERVICE_APPEARED] =
    g_signal_new ("service-appeared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_POINTER, G_TYPE_POINTER);
  signals[SIGNAL_LATENCY_EVENTS] =
    g_signal_new ("latency-events", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT64);
}

/* --- accessors ------------------------------------------------------------ */

VnmRegistry *vnm_engine_get_registry (VnmEngine *self) { return self->registry; }
VnmLinkTable *vnm_engine_get_link_table (VnmEngine *self) { return self->links; }
VnmHistory *vnm_engine_get_history (VnmEngine *self) { return self->history; }
VnmFlowMonitor *vnm_engine_get_flow_monitor (VnmEngine *self) { return self->flows; }
VnmAddressBook *vnm_engine_get_address_book (VnmEngine *self) { return self->addresses; }
VnmServiceTable *vnm_engine_get_services (VnmEngine *self) { return self->services; }
VnmLatencyMonitor *vnm_engine_get_latency_monitor (VnmEngine *self) { return self->latency; }
VnmUsageStore *vnm_engine_get_usage_store (VnmEngine *self) { return self->usage; }
gdouble vnm_engine_get_usage_flush_interval (VnmEngine *self) { return self->usage_flush_s; }
const VnmKernelCaps *vnm_engine_get_kernel_caps (VnmEngine *self) { return self->caps; }
const VnmDomainSettings *vnm_engine_get_defaults (VnmEngine *self) { return &self->defaults; }
gdouble vnm_engine_get_interval (VnmEngine *self) { return self->interval_s; }
const gchar *vnm_engine_get_libvirt_uri (VnmEngine *self) { return self->uri; }
gboolean vnm_engine_get_libvirt_connected (VnmEngine *self) { return self->libvirt_connected; }

gchar *
vnm_engine_history_series (VnmEngine *self, const gchar *target)
{
  return vnm_history_recorder_series (self->history, self->registry, target);
}
