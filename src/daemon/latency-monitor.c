/* latency-monitor.c: latency tracing settings and the probe's device table. */
#include "config.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "device-ledger.h"
#include "latency-monitor.h"
#include "latency-probe.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"

#define FLUSH_MS 100

typedef struct {
  VnmLatencySettings s;
  gint64 since_us;             /* real time the histograms started */
  gint64 attached_at_start_us; /* the sampler's attached time then */
} Setting;

/* A domain's sampled histograms (while it is not traced in full). */
typedef struct {
  gint64 since_us;             /* real time they started */
  gint64 attached_at_start_us; /* the sampler's attached time then */
  gboolean seen;               /* still wanted at the last reconcile */
} Sampled;

typedef struct {
  struct vnm_lat_dev dev;
  gchar *uuid;                 /* the owning domain (VM devices), else NULL */
  gchar *name;
  gchar *generation;           /* "uuid/since" of the histograms, NULL when untraced */
  gboolean sampled;            /* traced by sampling, not in full */
} Device;

struct _VnmLatencyMonitor {
  VnmLinkTable *links;         /* borrowed */
  VnmRegistry *registry;       /* borrowed */
  VnmLatencyProbe *probe;      /* NULL when unavailable */
  gchar *unavailable;
  gchar *extra_stages;
  VnmLatencyConfig config;
  GHashTable *settings;        /* uuid -> Setting* */
  Setting *all;                /* every domain without its own; NULL when off */
  GHashTable *devices;         /* ifindex -> Device*: what the kernel table holds */
  GHashTable *macs;            /* guint64* mac key -> ifindex, in the kernel's MAC table */
  GHashTable *no_hists;        /* ifindex -> why a traced device has no histograms */
  gboolean listening;
  VnmLatencyEventsFunc listener;
  gpointer listener_data;
  gdouble tokens;
  gint64 refilled_us;
  guint64 lost_rate;
  GPtrArray *pending;          /* of VnmLatencyEvent* */
  guint flush_source;
  VnmDeviceLedger *drop_devices; /* pinned drops: VM devices whose counters they are */
  VnmLatencySampler *sampler;  /* when the path programs are attached */
  GHashTable *sampled;         /* uuid -> Sampled*: domains covered by sampling */
  gboolean restart_sampled;    /* a domain's sampled histograms start afresh */
};

static void
device_free (Device *d)
{
  g_free (d->uuid);
  g_free (d->name);
  g_free (d->generation);
  g_free (d);
}

static void
event_free (VnmLatencyEvent *e)
{
  g_free (e->iface);
  g_free (e->vm_name);
  g_free (e->vm_uuid);
  g_free (e);
}

void
vnm_latency_drop_free (VnmLatencyDrop *d)
{
  if (!d)
    return;
  g_free (d->iface);
  g_free (d->vm_uuid);
  g_free (d);
}

static gboolean
flush (gpointer user_data)
{
  VnmLatencyMonitor *m = user_data;
  VnmLatencyCounters c;

  m->flush_source = 0;
  vnm_latency_monitor_counters (m, &c);
  if (m->listener && m->pending->len)
    m->listener (m->pending, c.lost_kernel + c.lost_rate, m->listener_data);
  g_ptr_array_set_size (m->pending, 0);
  return G_SOURCE_REMOVE;
}

static void
on_event (const struct vnm_lat_event *ev, gpointer user_data)
{
  VnmLatencyMonitor *m = user_data;
  gint64 now = g_get_monotonic_time ();
  Device *dev;
  VnmLatencyEvent *e;

  if (!m->listening)
    return;
  /* A token bucket: at most max_events_per_s a second, in bursts of as many. */
  m->tokens = MIN ((gdouble) m->config.max_events_per_s,
                   m->tokens + (now - m->refilled_us) / 1e6 * m->config.max_events_per_s);
  m->refilled_us = now;
  if (m->tokens < 1)
    {
      m->lost_rate++;
      return;
    }
  m->tokens -= 1;
  e = g_new0 (VnmLatencyEvent, 1);
  e->ev = *ev;
  e->time_s = g_get_real_time () / 1e6 - (now / 1e6 - ev->time_ns / 1e9);
  dev = g_hash_table_lookup (m->devices, GUINT_TO_POINTER (ev->ifindex));
  e->iface = g_strdup (dev ? dev->name : "");
  if (dev && dev->uuid)
    {
      const VnmDomain *d = vnm_registry_lookup_uuid (m->registry, dev->uuid);
      e->vm_uuid = g_strdup (dev->uuid);
      e->vm_name = g_strdup (d ? d->name : "");
    }
  else
    {
      e->vm_uuid = g_strdup ("");
      e->vm_name = g_strdup ("");
    }
  g_ptr_array_add (m->pending, e);
  if (!m->flush_source)
    m->flush_source = g_timeout_add (FLUSH_MS, flush, m);
}

static gchar *
describe_extra_stages (const VnmKernelCaps *caps)
{
  if (!caps)
    return g_strdup (_("not probed (eBPF is turned off)"));
  if (caps->fentry || caps->kprobe)
    return g_strdup_printf (_("the kernel allows %s; this version measures the tracepoint stages only"),
                            caps->fentry ? "fentry" : "kprobes");
  return g_strdup (_("not available: the kernel refuses fentry and has no kprobes; "
                     "the tracepoint stages cover the path"));
}

/* Adopted drop counters: keep those of the VM devices the last run listed
 * that are still the same devices (same ifindex and name), forget the rest. */
static void
keep_drops_of_same_devices (VnmLatencyMonitor *m)
{
  g_autoptr(GHashTable) same = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) doomed = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) drops = vnm_latency_probe_read_drops (m->probe);
  g_autoptr(GArray) listed = vnm_device_ledger_read_same_devices (vnm_device_ledger_path (m->drop_devices));
  GHashTableIter it;
  gpointer key;

  for (guint i = 0; i < listed->len; i++)
    g_hash_table_add (same, GINT_TO_POINTER (g_array_index (listed, VnmLedgerEntry, i).ifindex));
  for (guint i = 0; i < drops->len; i++)
    {
      gint ifindex = (gint) g_array_index (drops, VnmLatDrop, i).key.ifindex;
      if (!g_hash_table_contains (same, GINT_TO_POINTER (ifindex)))
        g_hash_table_add (doomed, GINT_TO_POINTER (ifindex));
    }
  g_hash_table_iter_init (&it, doomed);
  while (g_hash_table_iter_next (&it, &key, NULL))
    vnm_latency_probe_clear_drops (m->probe, GPOINTER_TO_UINT (key));
  g_message (ngettext ("Adopted the drop counters an earlier virtnetmond pinned: %u device continues.",
                       "Adopted the drop counters an earlier virtnetmond pinned: %u devices continue.",
                       g_hash_table_size (same)),
             g_hash_table_size (same));
}

/* Pinned drops: which VM devices the counters are of, for the next run. */
static void
save_drop_devices (VnmLatencyMonitor *m)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;

  if (!m->drop_devices)
    return;
  vnm_device_ledger_clear (m->drop_devices);
  g_hash_table_iter_init (&it, m->devices);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (((Device *) value)->uuid)
      vnm_device_ledger_add (m->drop_devices, GPOINTER_TO_INT (key), ((Device *) value)->name, 0);
  if (!vnm_device_ledger_write (m->drop_devices, &error))
    g_warning (_("Cannot record the devices with kept drop counters in %s: %s"),
               vnm_device_ledger_path (m->drop_devices), error->message);
}

static gboolean
switch_programs (gboolean on, gpointer user_data, GError **error)
{
  VnmLatencyMonitor *m = user_data;

  return vnm_latency_probe_set_tracing (m->probe, on, error);
}

VnmLatencyMonitor *
vnm_latency_monitor_new (VnmLinkTable *links, VnmRegistry *registry, const VnmKernelCaps *caps,
                         const VnmLatencyConfig *config, gboolean disabled)
{
  VnmLatencyMonitor *m = g_new0 (VnmLatencyMonitor, 1);
  g_autoptr(GError) error = NULL;

  m->links = links;
  m->registry = registry;
  m->config = *config;
  if (!m->config.max_events_per_s)
    m->config.max_events_per_s = 1;
  m->tokens = m->config.max_events_per_s;
  m->refilled_us = g_get_monotonic_time ();
  m->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->devices = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) device_free);
  m->macs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  m->no_hists = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  m->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);
  m->sampled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!m->config.sample_period_ms)
    m->config.sample_period_ms = VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S * 1000;
  if (!m->config.sample_window_ms || m->config.sample_window_ms >= m->config.sample_period_ms)
    m->config.sample_window_ms = MIN (VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS, m->config.sample_period_ms / 2);
  m->extra_stages = describe_extra_stages (caps);

  if (disabled)
    m->unavailable = g_strdup (_("eBPF is turned off (--no-bpf)."));
  else if (caps && !caps->tp_btf && !caps->raw_tp)
    m->unavailable = g_strdup (_("The kernel allows neither tp_btf nor raw_tp tracepoint programs."));
  else if (caps && !caps->ringbuf)
    m->unavailable = g_strdup (_("The kernel has no BPF ring buffer (Linux 5.8 or later)."));
  else
    {
      gboolean btf = !config->raw_tp && (!caps || caps->tp_btf);
      g_autofree gchar *drops_pin = NULL;
      gboolean adopted = FALSE;

      if (config->pin_dir && config->state_dir)
        {
          drops_pin = g_build_filename (config->pin_dir, "drops", NULL);
          g_autofree gchar *path = g_build_filename (config->state_dir, "drop-devices", NULL);
          m->drop_devices = vnm_device_ledger_new (path, "virtnetmond: VM devices whose drops are in the pinned map");
        }
      m->probe = vnm_latency_probe_new (btf, config->paths, config->hist_devices, drops_pin,
                                        &adopted, on_event, m, &error);
      if (!m->probe && btf && (!caps || caps->raw_tp))
        {
          g_message (_("tp_btf latency programs refused (%s); trying raw_tp."), error->message);
          g_clear_error (&error);
          m->probe = vnm_latency_probe_new (FALSE, config->paths, config->hist_devices, drops_pin,
                                            &adopted, on_event, m, &error);
        }
      if (!m->probe)
        m->unavailable = g_strdup (error->message);
      else if (adopted)
        keep_drops_of_same_devices (m);
    }
  if (m->unavailable)
    g_message (_("Latency and drop probes are not available: %s"), m->unavailable);
  else
    m->sampler = vnm_latency_sampler_new (m->config.sample_window_ms, m->config.sample_period_ms,
                                          switch_programs, m);
  return m;
}

void
vnm_latency_monitor_free (VnmLatencyMonitor *m)
{
  if (!m)
    return;
  if (m->flush_source)
    g_source_remove (m->flush_source);
  vnm_latency_sampler_free (m->sampler);
  vnm_latency_probe_free (m->probe);
  g_hash_table_unref (m->sampled);
  g_hash_table_unref (m->settings);
  g_free (m->all);
  g_hash_table_unref (m->devices);
  g_hash_table_unref (m->macs);
  g_hash_table_unref (m->no_hists);
  g_ptr_array_unref (m->pending);
  g_free (m->unavailable);
  g_free (m->extra_stages);
  vnm_device_ledger_free (m->drop_devices);
  g_free (m);
}

gboolean
vnm_latency_monitor_available (VnmLatencyMonitor *m)
{
  return m->probe != NULL;
}

const gchar *
vnm_latency_monitor_unavailable_reason (VnmLatencyMonitor *m)
{
  return m->unavailable ? m->unavailable : "";
}

const gchar *
vnm_latency_monitor_program (VnmLatencyMonitor *m)
{
  return m->probe ? vnm_latency_probe_program (m->probe) : "";
}

const gchar *
vnm_latency_monitor_extra_stages (VnmLatencyMonitor *m)
{
  return m->extra_stages;
}

guint64
vnm_latency_monitor_default_threshold (VnmLatencyMonitor *m)
{
  return m->config.threshold_ns;
}

/* The setting that applies to @uuid, or NULL when it is not traced (a
 * domain switched off while every domain is traced keeps an "off" entry). */
static const Setting *
setting_for (VnmLatencyMonitor *m, const gchar *uuid)
{
  const Setting *s = g_hash_table_lookup (m->settings, uuid);

  if (!s)
    s = m->all;
  return s && (s->s.tx || s->s.rx) ? s : NULL;
}

const VnmLatencySettings *
vnm_latency_monitor_get (VnmLatencyMonitor *m, const gchar *domain_uuid, gdouble *since_s)
{
  const Setting *s = setting_for (m, domain_uuid);

  if (since_s)
    *since_s = s ? s->since_us / 1e6 : 0;
  return s ? &s->s : NULL;
}

gboolean
vnm_latency_monitor_all (VnmLatencyMonitor *m)
{
  return m->all != NULL;
}

GPtrArray *
vnm_latency_monitor_traced (VnmLatencyMonitor *m)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) domains = vnm_registry_list (m->registry);

  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      if (setting_for (m, d->uuid))
        g_ptr_array_add (out, g_strdup (d->name));
    }
  return out;
}

gboolean
vnm_latency_monitor_set (VnmLatencyMonitor *m, const gchar *domain_uuid,
                         const VnmLatencySettings *settings, GError **error)
{
  Setting *s = NULL;

  if (!m->probe)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("Latency tracing is not available: %s"), m->unavailable);
      return FALSE;
    }
  if (settings)
    {
      s = g_new0 (Setting, 1);
      s->s = *settings;
      s->since_us = g_get_real_time ();
      s->attached_at_start_us = vnm_latency_sampler_attached_us (m->sampler);
    }
  if (domain_uuid)
    {
      if (!s && m->all)
        s = g_new0 (Setting, 1);   /* off, although every domain is traced */
      if (s)
        g_hash_table_insert (m->settings, g_strdup (domain_uuid), s);
      else
        g_hash_table_remove (m->settings, domain_uuid);
    }
  else
    {
      /* "All" replaces every per-domain choice. */
      g_free (m->all);
      m->all = s;
      g_hash_table_remove_all (m->settings);
    }
  vnm_latency_monitor_reconcile (m);
  if (vnm_latency_probe_tracing (m->probe) || !settings)
    return TRUE;
  /* Nothing to trace yet (no netdev), or the kernel refused: say which. */
  if (vnm_latency_sampler_mode (m->sampler) == VNM_LATENCY_MODE_FULL)
    return vnm_latency_sampler_set_mode (m->sampler, VNM_LATENCY_MODE_FULL, error);
  return TRUE;
}

static gboolean
parse_mac (const gchar *text, guint8 out[6])
{
  guint v[6];

  if (!text || sscanf (text, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return FALSE;
  for (guint i = 0; i < 6; i++)
    out[i] = (guint8) v[i];
  return TRUE;
}

/* What reconcile wants the probe to hold. */
typedef struct {
  VnmLatencyMonitor *m;
  GHashTable *devices;      /* ifindex -> Device* */
  GHashTable *rx_masters;   /* bridges of the VM netdevs traced for rx */
  GHashTable *mv_lowers;    /* lower devices of the macvtaps traced for rx */
  GHashTable *macs;         /* guint64* MAC key -> ifindex */
  gboolean traced;          /* some device is traced in full */
  gboolean sampled;         /* some device is traced by sampling */
} Wanted;

static void
want_vm_link (const VnmDomain *d, const VnmDomainInterface *iface, const VnmLink *link,
              gpointer user_data)
{
  Wanted *w = user_data;
  const Setting *s = setting_for (w->m, d->uuid);
  Device *dev = g_new0 (Device, 1);

  dev->uuid = g_strdup (d->uuid);
  dev->name = g_strdup (link->name);
  dev->dev.flags = VNM_DEV_VM;
  if (parse_mac (iface->mac, dev->dev.mac))
    {
      guint64 *k = g_new (guint64, 1);
      *k = vnm_lat_mac_key (dev->dev.mac);
      g_hash_table_insert (w->macs, k, GINT_TO_POINTER (link->ifindex));
    }
  /* A macvtap: its paths run otherwise than a tap's (the guest's
   * packets queued on it, the host's received on its lower device and
   * never on it); the probe follows them by this flag. */
  if (vnm_link_kind_counts_as_guest (link->kind))
    dev->dev.flags |= VNM_DEV_MACVTAP;
  if (s && (s->s.tx || s->s.rx))
    {
      dev->dev.flags |= (s->s.tx ? VNM_DEV_TRACE_TX : 0) | (s->s.rx ? VNM_DEV_TRACE_RX : 0);
      if (w->m->listening)
        dev->dev.flags |= VNM_DEV_EVENTS;
      dev->dev.threshold_ns = s->s.threshold_ns;
      dev->dev.filter = s->s.filter;
      dev->generation = g_strdup_printf ("%s/%" G_GINT64_FORMAT, d->uuid, s->since_us);
      w->traced = TRUE;
      if (s->s.rx && link->master_ifindex)
        g_hash_table_add (w->rx_masters, GINT_TO_POINTER (link->master_ifindex));
    }
  else if (w->m->config.sampled)
    {
      /* Not traced in full (switched off, or never on): sampling covers
       * it, without slow-packet events; monitoring=no leaves it out. */
      Sampled *sm = g_hash_table_lookup (w->m->sampled, d->uuid);

      if (!sm)
        {
          sm = g_new0 (Sampled, 1);
          sm->since_us = g_get_real_time ();
          sm->attached_at_start_us = vnm_latency_sampler_attached_us (w->m->sampler);
          g_hash_table_insert (w->m->sampled, g_strdup (d->uuid), sm);
        }
      sm->seen = TRUE;
      dev->dev.flags |= VNM_DEV_TRACE_TX | VNM_DEV_TRACE_RX;
      dev->dev.threshold_ns = G_MAXUINT64;
      dev->generation = g_strdup_printf ("%s/sampled/%" G_GINT64_FORMAT, d->uuid, sm->since_us);
      dev->sampled = TRUE;
      w->sampled = TRUE;
      if (link->master_ifindex)
        g_hash_table_add (w->rx_masters, GINT_TO_POINTER (link->master_ifindex));
    }
  g_hash_table_replace (w->devices, GINT_TO_POINTER (link->ifindex), dev);
  /* A macvtap traced for rx: its lower device's receive starts the path. */
  if ((dev->dev.flags & (VNM_DEV_MACVTAP | VNM_DEV_TRACE_RX)) == (VNM_DEV_MACVTAP | VNM_DEV_TRACE_RX) &&
      link->lower_ifindex)
    g_hash_table_add (w->mv_lowers, GINT_TO_POINTER (link->lower_ifindex));
}

/* The lower devices of traced macvtaps. */
static void
want_mv_lowers (Wanted *w)
{
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, w->mv_lowers);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const VnmLink *link = vnm_link_table_lookup_ifindex (w->m->links, GPOINTER_TO_INT (key));
      Device *dev;

      if (!link)
        continue;
      if (!(dev = g_hash_table_lookup (w->devices, key)))
        {
          dev = g_new0 (Device, 1);
          dev->name = g_strdup (link->name);
          g_hash_table_insert (w->devices, key, dev);
        }
      dev->dev.flags |= VNM_DEV_MV_LOWER;
    }
}

/* The other ports of a traced VM's bridge start its rx paths. */
static void
want_rx_feeders (Wanted *w)
{
  VnmLinkTable *links = w->m->links;

  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      Device *dev;

      if (!link->master_ifindex ||
          !g_hash_table_contains (w->rx_masters, GINT_TO_POINTER (link->master_ifindex)))
        continue;
      if (!(dev = g_hash_table_lookup (w->devices, GINT_TO_POINTER (link->ifindex))))
        {
          dev = g_new0 (Device, 1);
          dev->name = g_strdup (link->name);
          g_hash_table_insert (w->devices, GINT_TO_POINTER (link->ifindex), dev);
        }
      dev->dev.flags |= VNM_DEV_FEEDER;
    }
}

/* A sampled device (in @want) that holds histograms, to give them up. */
static guint32
sampled_with_hists (VnmLatencyMonitor *m, GHashTable *want)
{
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (((Device *) value)->sampled && vnm_latency_probe_has_hists (m->probe, GPOINTER_TO_UINT (key)))
      return GPOINTER_TO_UINT (key);
  return 0;
}

/* New tracing starts its histograms; a device that found no room for them
 * tries again (another may have stopped). A device traced in full takes
 * the blocks of a sampled one when none is free. */
static void
start_hists (VnmLatencyMonitor *m, GHashTable *want, GHashTable *evicted, Device *dev,
             guint32 ifindex)
{
  g_autoptr(GError) error = NULL;
  gpointer key = GUINT_TO_POINTER (ifindex);
  gboolean had_none = g_hash_table_contains (m->no_hists, key);
  guint32 victim;

  while (!vnm_latency_probe_reset_hists (m->probe, ifindex, &error))
    {
      /* Only for want of room, not a failed map update. */
      if (!dev->sampled && vnm_latency_probe_hists_full (m->probe) &&
          (victim = sampled_with_hists (m, want)))
        {
          vnm_latency_probe_remove_hists (m->probe, victim);
          g_hash_table_replace (m->no_hists, GUINT_TO_POINTER (victim),
                                g_strdup (_("its histograms went to a VM traced in full; "
                                            "sampling has no room for it")));
          g_hash_table_add (evicted, GUINT_TO_POINTER (victim));
          g_clear_error (&error);
          continue;
        }
      if (!g_hash_table_contains (m->no_hists, key))
        {
          if (dev->sampled)
            g_message (_("%s: no sampled latency: %s"), dev->name, error->message);
          else
            g_warning ("%s: %s", dev->name, error->message);
        }
      g_hash_table_replace (m->no_hists, key, g_strdup (error->message));
      return;
    }
  g_hash_table_remove (m->no_hists, key);
  /* A sampled device that got a block back: its domain's histograms
   * start afresh, all of its interfaces together, so that since and
   * traced_seconds stay true. */
  if (dev->sampled && had_none)
    {
      Sampled *sm = g_hash_table_lookup (m->sampled, dev->uuid);
      if (sm)
        {
          sm->since_us = g_get_real_time ();
          sm->attached_at_start_us = vnm_latency_sampler_attached_us (m->sampler);
          m->restart_sampled = TRUE;
        }
    }
}

/* Removes from the probe what is no longer wanted, then writes what
 * changed; @want's entries move into m->devices. */
static void
apply_devices (VnmLatencyMonitor *m, GHashTable *want)
{
  g_autoptr(GHashTable) evicted = g_hash_table_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, m->devices);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      Device *old = value, *now = g_hash_table_lookup (want, key);
      guint32 ifindex = GPOINTER_TO_UINT (key);

      if (old->generation && (!now || g_strcmp0 (old->generation, now->generation) != 0))
        {
          vnm_latency_probe_remove_hists (m->probe, ifindex);
          g_hash_table_remove (m->no_hists, key);
        }
      if (old->uuid && (!now || g_strcmp0 (old->uuid, now->uuid) != 0))
        vnm_latency_probe_clear_drops (m->probe, ifindex);
      if (!now)
        {
          vnm_latency_probe_remove_device (m->probe, ifindex);
          g_hash_table_iter_remove (&it);
        }
    }
  /* Devices traced in full first: they take histogram blocks before
   * sampled ones, and from them when none is free. */
  for (guint pass = 0; pass < 2; pass++)
    {
      g_hash_table_iter_init (&it, want);
      while (g_hash_table_iter_next (&it, &key, &value))
        {
          Device *now = value, *old = g_hash_table_lookup (m->devices, key);

          if (now->generation && now->sampled == (pass == 1) &&
              !g_hash_table_contains (evicted, key) &&
              ((!old || g_strcmp0 (old->generation, now->generation) != 0) ||
               g_hash_table_contains (m->no_hists, key)))
            start_hists (m, want, evicted, now, GPOINTER_TO_UINT (key));
        }
    }
  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      Device *now = value, *old = g_hash_table_lookup (m->devices, key);
      guint32 ifindex = GPOINTER_TO_UINT (key);

      /* Sampling a device without histograms would cost without use. */
      if (now->sampled && g_hash_table_contains (m->no_hists, key))
        now->dev.flags &= ~(VNM_DEV_TRACE_TX | VNM_DEV_TRACE_RX);
      if ((!old || memcmp (&old->dev, &now->dev, sizeof now->dev) != 0) &&
          !vnm_latency_probe_set_device (m->probe, ifindex, &now->dev, &error))
        {
          g_warning ("%s", error->message);
          g_clear_error (&error);
        }
      g_hash_table_iter_steal (&it);
      g_hash_table_replace (m->devices, key, now);
    }
}

/* MACs of the guests, for drops seen on other devices. */
static void
apply_macs (VnmLatencyMonitor *m, GHashTable *want_macs)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, m->macs);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (g_hash_table_lookup (want_macs, key) != value)
      {
        vnm_latency_probe_remove_mac (m->probe, *(guint64 *) key);
        g_hash_table_iter_remove (&it);
      }
  g_hash_table_iter_init (&it, want_macs);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (!g_hash_table_contains (m->macs, key))
      {
        if (vnm_latency_probe_set_mac (m->probe, *(guint64 *) key, GPOINTER_TO_UINT (value), &error))
          g_hash_table_insert (m->macs, g_memdup2 (key, sizeof (guint64)), value);
        else
          {
            g_warning ("%s", error->message);
            g_clear_error (&error);
          }
      }
}

/* Domains sampling no longer covers start afresh when it covers them again. */
static void
forget_unsampled (VnmLatencyMonitor *m)
{
  GHashTableIter it;
  Sampled *sm;

  g_hash_table_iter_init (&it, m->sampled);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &sm))
    if (!sm->seen)
      g_hash_table_iter_remove (&it);
    else
      sm->seen = FALSE;
}

void
vnm_latency_monitor_reconcile (VnmLatencyMonitor *m)
{
  g_autoptr(GHashTable) devices = NULL;
  g_autoptr(GHashTable) rx_masters = NULL;
  g_autoptr(GHashTable) mv_lowers = NULL;
  g_autoptr(GHashTable) macs = NULL;
  g_autoptr(GError) error = NULL;
  VnmLatencyMode mode;
  Wanted want;

  if (!m->probe)
    return;
  devices = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) device_free);
  rx_masters = g_hash_table_new (NULL, NULL);
  mv_lowers = g_hash_table_new (NULL, NULL);
  macs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  want = (Wanted) { m, devices, rx_masters, mv_lowers, macs, FALSE, FALSE };
  /* Monitoring off: neither latency nor drops for a domain. */
  vnm_link_table_foreach_vm_link (m->links, want_vm_link, &want);
  forget_unsampled (m);
  want_rx_feeders (&want);
  want_mv_lowers (&want);
  apply_devices (m, devices);
  apply_macs (m, macs);
  mode = want.traced ? VNM_LATENCY_MODE_FULL
         : want.sampled ? VNM_LATENCY_MODE_SAMPLED : VNM_LATENCY_MODE_OFF;
  if ((mode != vnm_latency_sampler_mode (m->sampler) ||
       (mode == VNM_LATENCY_MODE_FULL && !vnm_latency_sampler_attached (m->sampler))) &&
      !vnm_latency_sampler_set_mode (m->sampler, mode, &error))
    g_warning ("%s", error->message);
  save_drop_devices (m);
  /* The other interfaces of a domain whose sampled histograms restarted
   * take the new generation too (once: they have their blocks). */
  if (m->restart_sampled)
    {
      m->restart_sampled = FALSE;
      vnm_latency_monitor_reconcile (m);
    }
}

gboolean
vnm_latency_monitor_hist (VnmLatencyMonitor *m, const VnmDomain *domain, const gchar *iface,
                          guint dir, guint stage, VnmLatHist *out)
{
  g_autofree VnmLatHist *one = g_new (VnmLatHist, 1);
  gboolean found = FALSE;

  vnm_lat_hist_init (out);
  if (!m->probe)
    return FALSE;
  for (guint j = 0; j < domain->interfaces->len; j++)
    {
      const VnmDomainInterface *di = g_ptr_array_index (domain->interfaces, j);
      const VnmLink *link;

      if (!*di->target_dev || (iface && g_strcmp0 (iface, di->target_dev) != 0) ||
          !(link = vnm_link_table_lookup_iface (m->links, di)))
        continue;
      if (vnm_latency_probe_read_hist (m->probe, link->ifindex, dir, stage, one))
        {
          vnm_lat_hist_merge (out, one);
          found = TRUE;
        }
    }
  return found;
}

GHashTable *
vnm_latency_monitor_missing_hists (VnmLatencyMonitor *m, const VnmDomain *domain)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint j = 0; m->probe && j < domain->interfaces->len; j++)
    {
      const VnmDomainInterface *di = g_ptr_array_index (domain->interfaces, j);
      const VnmLink *link;
      const gchar *why;

      if (!*di->target_dev || !(link = vnm_link_table_lookup_iface (m->links, di)))
        continue;
      if ((why = g_hash_table_lookup (m->no_hists, GINT_TO_POINTER (link->ifindex))))
        g_hash_table_insert (out, g_strdup (di->target_dev), g_strdup (why));
    }
  return out;
}

static gint
drop_cmp (gconstpointer a, gconstpointer b)
{
  const VnmLatencyDrop *x = *(VnmLatencyDrop *const *) a, *y = *(VnmLatencyDrop *const *) b;

  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return g_strcmp0 (x->iface, y->iface);
}

GPtrArray *
vnm_latency_monitor_drops (VnmLatencyMonitor *m, const VnmDomain *domain)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) vnm_latency_drop_free);
  g_autoptr(GArray) drops = NULL;

  if (!m->probe)
    return out;
  drops = vnm_latency_probe_read_drops (m->probe);
  for (guint i = 0; i < drops->len; i++)
    {
      const VnmLatDrop *k = &g_array_index (drops, VnmLatDrop, i);
      Device *dev = g_hash_table_lookup (m->devices, GUINT_TO_POINTER (k->key.ifindex));
      VnmLatencyDrop *d;

      if (!dev || !dev->uuid || (domain && g_strcmp0 (dev->uuid, domain->uuid) != 0))
        continue;
      d = g_new0 (VnmLatencyDrop, 1);
      d->iface = g_strdup (dev->name);
      d->vm_uuid = g_strdup (dev->uuid);
      d->dir = k->key.dir;
      d->reason = k->key.reason;
      d->reason_name = vnm_latency_probe_reason_name (m->probe, k->key.reason);
      d->count = k->count;
      g_ptr_array_add (out, d);
    }
  g_ptr_array_sort (out, drop_cmp);
  return out;
}

void
vnm_latency_monitor_set_listener (VnmLatencyMonitor *m, VnmLatencyEventsFunc func,
                                  gpointer user_data)
{
  m->listener = func;
  m->listener_data = user_data;
}

void
vnm_latency_monitor_set_listening (VnmLatencyMonitor *m, gboolean listening)
{
  if (m->listening == listening)
    return;
  m->listening = listening;
  vnm_latency_monitor_reconcile (m);
}

void
vnm_latency_monitor_counters (VnmLatencyMonitor *m, VnmLatencyCounters *out)
{
  memset (out, 0, sizeof *out);
  out->lost_rate = m->lost_rate;
  if (!m->probe)
    return;
  out->sent = vnm_latency_probe_counter (m->probe, VNM_LAT_EVENTS_SENT);
  out->lost_kernel = vnm_latency_probe_counter (m->probe, VNM_LAT_EVENTS_LOST);
  out->stale_paths = vnm_latency_probe_counter (m->probe, VNM_LAT_PATHS_STALE);
  out->replaced_paths = vnm_latency_probe_counter (m->probe, VNM_LAT_PATHS_REPLACED);
}

void
vnm_latency_monitor_coverage (VnmLatencyMonitor *m, const gchar *domain_uuid,
                              VnmLatencyCoverage *out)
{
  const Setting *s = m->probe ? setting_for (m, domain_uuid) : NULL;
  const Sampled *sm = m->probe ? g_hash_table_lookup (m->sampled, domain_uuid) : NULL;
  gint64 since_us, attached_at_start_us;

  memset (out, 0, sizeof *out);
  if (s)
    {
      out->mode = VNM_LATENCY_MODE_FULL;
      since_us = s->since_us;
      attached_at_start_us = s->attached_at_start_us;
    }
  else if (sm)
    {
      out->mode = VNM_LATENCY_MODE_SAMPLED;
      since_us = sm->since_us;
      attached_at_start_us = sm->attached_at_start_us;
    }
  else
    return;
  out->since_s = since_us / 1e6;
  out->traced_s = (vnm_latency_sampler_attached_us (m->sampler) - attached_at_start_us) / 1e6;
}

gboolean
vnm_latency_monitor_sampling (VnmLatencyMonitor *m, VnmLatencySampling *out)
{
  memset (out, 0, sizeof *out);
  if (!m->probe || !m->config.sampled)
    return FALSE;
  out->window_ms = m->config.sample_window_ms;
  out->period_ms = m->config.sample_period_ms;
  out->mode = vnm_latency_sampler_mode (m->sampler);
  out->windows = vnm_latency_sampler_windows (m->sampler);
  out->failed_windows = vnm_latency_sampler_failed_windows (m->sampler);
  out->sampled_domains = g_hash_table_size (m->sampled);
  return TRUE;
}
