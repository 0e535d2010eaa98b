/* flow-probe.c: libbpf side of the per-VM flow probe. */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "bpf-pin.h"
#include "device-ledger.h"
#include "flows.skel.h"
#include "probe-totals.h"
#include "flow-probe.h"
#include "tc-hook.h"
#include "vnm-error.h"
#include "vnm-autocleanups.h"
#include "vnm-i18n.h"

#define STATE_FILE "tc-hooks"
/* Devices whose totals stayed in the pinned map at the last stop. */
#define KEPT_TOTALS_FILE "probe-totals"


struct _VnmProbes {
  struct vnm_flows_bpf *skel;
  gboolean cache;          /* the per-CPU flow cache is in use */
  guint flush_errors;
  VnmProbeTotalsMaps *totals;  /* after loading */
  VnmProbeAttach mode;     /* TCX or CLSACT */
  guint flow_table_size;
  VnmDeviceLedger *hooks_ledger; /* clsact hooks, for a restart after a crash */
  VnmTcFilterCountFunc count_filters;
  gpointer user_data;
  GHashTable *hooked;      /* ifindex -> VnmTcHook* */
  gint ncpus;
  VnmBpfPinSet *pins;      /* NULL: maps not pinned */
  gchar *pin_status;
  VnmPinState pin_state;
  VnmDeviceLedger *kept_ledger;  /* devices whose totals are in the pinned maps */
  GHashTable *kept;        /* ifindex -> name: totals an earlier run kept */
  struct ring_buffer *dns; /* DNS messages to the VMs */
  guint dns_source;
  VnmDnsMessageFunc on_dns;
  gpointer dns_data;
};

static int
libbpf_log (enum libbpf_print_level level, const char *fmt, va_list args)
{
  g_autofree gchar *msg = NULL;

  if (level == LIBBPF_DEBUG)
    return 0;
  msg = g_strdup_vprintf (fmt, args);
  g_strchomp (msg);
  g_debug ("libbpf: %s", msg);
  return 0;
}



/* Only clsact hooks outlive the daemon, so only they are recorded. */
static void
save_state (VnmFlowProbe *p)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  VnmTcHook *h;

  vnm_device_ledger_clear (p->hooks_ledger);
  g_hash_table_iter_init (&it, p->hooked);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &h))
    if (p->mode == VNM_PROBE_ATTACH_CLSACT)
      vnm_device_ledger_add (p->hooks_ledger, h->ifindex, h->name, h->created_qdisc);
  if (!vnm_device_ledger_write (p->hooks_ledger, &error))
    g_warning (_("Cannot record tc hooks in %s: %s"), vnm_device_ledger_path (p->hooks_ledger),
               error->message);
}

/* Reads the list of kept totals, and drops from the adopted totals map what
 * is not in it or belongs to a device that is no longer the same. */
static void
load_kept_totals (VnmFlowProbe *p)
{
  g_autoptr(GArray) same = vnm_device_ledger_read_same_devices (vnm_device_ledger_path (p->kept_ledger));
  g_autoptr(GArray) present = NULL;

  for (guint i = 0; i < same->len; i++)
    {
      const VnmLedgerEntry *e = &g_array_index (same, VnmLedgerEntry, i);
      g_hash_table_insert (p->kept, GINT_TO_POINTER (e->ifindex), g_strdup (e->name));
    }
  present = vnm_probe_totals_maps_list (p->totals);
  for (guint i = 0; i < present->len; i++)
    if (!g_hash_table_contains (p->kept, GINT_TO_POINTER (g_array_index (present, gint, i))))
      vnm_probe_totals_maps_remove (p->totals, g_array_index (present, gint, i));
}

/* The maps pinned together: all or none are adopted. */
static const gchar *const pinned_names[] = { "flows", "totals", "totals-spill", "flow-cache" };

static void
pinned_maps (VnmFlowProbe *p, struct bpf_map *maps[G_N_ELEMENTS (pinned_names)])
{
  maps[0] = p->skel->maps.vnm_flows;
  maps[1] = p->skel->maps.vnm_totals;
  maps[2] = p->skel->maps.vnm_totals_spill;
  maps[3] = p->skel->maps.vnm_flow_cache;
}

/* Takes @pin_dir for this run's maps; FALSE when nothing is to be pinned. */
static gboolean
prepare_pins (VnmFlowProbe *p, const gchar *pin_dir)
{
  g_autofree gchar *why = NULL;

  p->pins = vnm_bpf_pin_set_new (pin_dir, pinned_names, G_N_ELEMENTS (pinned_names), &why);
  if (!p->pins)
    {
      p->pin_status = g_strdup_printf (_("not pinned: %s: %s"), pin_dir, why);
      return FALSE;
    }
  return TRUE;
}

/* Makes the opened skeleton use the maps an earlier virtnetmond pinned when
 * they all have this run's shape (TRUE), else removes them: this run pins
 * its own after loading. */
static gboolean
reuse_pins (VnmFlowProbe *p)
{
  struct bpf_map *maps[G_N_ELEMENTS (pinned_names)];
  const gchar *why = NULL;

  pinned_maps (p, maps);
  if (vnm_bpf_pin_set_adopt (p->pins, maps, &why))
    return TRUE;
  if (why)
    g_message (_("Starting new flow probe maps in %s: %s."), vnm_bpf_pin_set_dir (p->pins), why);
  return FALSE;
}

static void
finish_pins (VnmFlowProbe *p, gboolean adopted)
{
  struct bpf_map *maps[G_N_ELEMENTS (pinned_names)];
  g_autoptr(GError) error = NULL;
  const gchar *dir = vnm_bpf_pin_set_dir (p->pins);

  if (adopted)
    {
      load_kept_totals (p);
      p->pin_status = g_strdup_printf (_("adopted from an earlier run (%s)"), dir);
      p->pin_state = VNM_PIN_ADOPTED;
      g_message (ngettext ("Adopted the flow table and totals an earlier virtnetmond pinned in %s: %u device continues.",
                           "Adopted the flow table and totals an earlier virtnetmond pinned in %s: %u devices continue.",
                           g_hash_table_size (p->kept)),
                 dir, g_hash_table_size (p->kept));
      return;
    }
  pinned_maps (p, maps);
  if (!vnm_bpf_pin_set_pin (p->pins, maps, &error))
    {
      p->pin_status = g_strdup_printf (_("not pinned: %s"), error->message);
      g_warning (_("Cannot pin the flow probe's maps: %s; totals restart with the daemon."),
                 error->message);
      g_clear_pointer (&p->pins, vnm_bpf_pin_set_free);
      return;
    }
  if (vnm_bpf_pin_set_mounted (p->pins))
    p->pin_status = g_strdup_printf (_("pinned (%s; virtnetmond mounted the BPF filesystem on %s)"),
                                     dir, vnm_bpf_pin_set_mounted (p->pins));
  else
    p->pin_status = g_strdup_printf (_("pinned (%s)"), dir);
  p->pin_state = VNM_PIN_NEW;
}

VnmPinState
vnm_flow_probe_pin_state (VnmFlowProbe *p)
{
  return p->pin_state;
}

const gchar *
vnm_flow_probe_pin_status (VnmFlowProbe *p)
{
  return p->pin_status ? p->pin_status : "";
}

/* With pinned maps: the devices whose totals are in the map, kept up to date
 * on every attach and detach so that even after a crash the next run knows
 * which entries belong to which device. */
static void
save_kept (VnmFlowProbe *p)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;

  if (!p->pins)
    return;
  vnm_device_ledger_clear (p->kept_ledger);
  g_hash_table_iter_init (&it, p->hooked);
  while (g_hash_table_iter_next (&it, &key, &value))
    vnm_device_ledger_add (p->kept_ledger, GPOINTER_TO_INT (key), ((VnmTcHook *) value)->name, 0);
  g_hash_table_iter_init (&it, p->kept);
  while (g_hash_table_iter_next (&it, &key, &value))
    vnm_device_ledger_add (p->kept_ledger, GPOINTER_TO_INT (key), value, 0);
  if (!vnm_device_ledger_write (p->kept_ledger, &error))
    g_warning (_("Cannot record the devices with kept totals in %s: %s"),
               vnm_device_ledger_path (p->kept_ledger), error->message);
}

VnmFlowProbe *
vnm_flow_probe_new (guint flow_table_size, VnmProbeAttach attach, const gchar *state_dir,
                const gchar *pin_dir, VnmTcFilterCountFunc count_filters, gpointer user_data,
                GError **error)
{
  g_autoptr(VnmFlowProbe) p = NULL;
  gboolean tcx, pinning = FALSE, adopted = FALSE;
  int err;

  libbpf_set_print (libbpf_log);
  tcx = vnm_tc_hook_kernel_has_tcx ();
  if (attach == VNM_PROBE_ATTACH_TCX && !tcx)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("This kernel has no tcx hooks (Linux 6.6 or later); use tc-clsact."));
      return NULL;
    }
  if (attach == VNM_PROBE_ATTACH_AUTO)
    attach = tcx ? VNM_PROBE_ATTACH_TCX : VNM_PROBE_ATTACH_CLSACT;
  if (g_mkdir_with_parents (state_dir, 0755) < 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot create the state directory %s: %s"), state_dir, g_strerror (errno));
      return NULL;
    }
  p = g_new0 (VnmFlowProbe, 1);
  p->mode = attach;
  p->flow_table_size = flow_table_size;
  {
    g_autofree gchar *hooks = g_build_filename (state_dir, STATE_FILE, NULL);
    g_autofree gchar *kept = g_build_filename (state_dir, KEPT_TOTALS_FILE, NULL);

    p->hooks_ledger = vnm_device_ledger_new (hooks, "virtnetmond: devices with virtnetmon tc hooks");
    p->kept_ledger = vnm_device_ledger_new (kept, "virtnetmond: devices whose totals are in the pinned map");
  }
  p->count_filters = count_filters;
  p->user_data = user_data;
  p->hooked = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) vnm_tc_hook_free);
  p->kept = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  p->ncpus = libbpf_num_possible_cpus ();
  if (pin_dir)
    pinning = prepare_pins (p, pin_dir);
  else
    p->pin_status = g_strdup (_("not pinned (no pin directory)"));
  /* With the flow cache first; without it where the kernel refuses its
   * flush (bpf_loop, compare-and-exchange). */
  for (gint with_cache = 1; with_cache >= 0; with_cache--)
    {
      p->skel = vnm_flows_bpf__open ();
      if (!p->skel)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                       _("Cannot open the flow probe: %s"), g_strerror (errno));
          return NULL;
        }
      bpf_map__set_max_entries (p->skel->maps.vnm_flows, flow_table_size);
      p->skel->rodata->use_cache = with_cache;
      bpf_program__set_autoload (p->skel->progs.vnm_flush_cache, with_cache);
      if (pinning)
        adopted = reuse_pins (p);
      err = vnm_flows_bpf__load (p->skel);
      if (!err)
        break;
      g_clear_pointer (&p->skel, vnm_flows_bpf__destroy);
      if (with_cache)
        g_debug ("Flow probe with its cache refused (%s); loading it without.", g_strerror (-err));
    }
  if (!p->skel)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("The kernel refused the flow probe (tc programs, LRU hash map): %s"),
                   g_strerror (-err));
      return NULL;
    }
  p->cache = p->skel->rodata->use_cache != 0;
  p->totals = vnm_probe_totals_maps_new (bpf_map__fd (p->skel->maps.vnm_totals),
                                         bpf_map__fd (p->skel->maps.vnm_totals_spill), p->ncpus);
  if (pinning)
    finish_pins (p, adopted);
  if (p->pins)
    save_kept (p);
  else
    g_unlink (vnm_device_ledger_path (p->kept_ledger));
  return g_steal_pointer (&p);
}

guint
vnm_flow_probe_flow_table_size (VnmFlowProbe *p)
{
  return p->flow_table_size;
}

VnmProbeAttach
vnm_flow_probe_attach_mode (VnmFlowProbe *p)
{
  return p->mode;
}

/* Whether the program with @prog_id is one of virtnetmon's. */



guint
vnm_flow_probe_remove_stale (VnmFlowProbe *p, GArray *ifindexes)
{
  g_autoptr(GArray) same = vnm_device_ledger_read_same_devices (vnm_device_ledger_path (p->hooks_ledger));
  guint removed = 0;

  /* Only the same device: an ifindex can be reused by another. */
  for (guint i = 0; i < same->len; i++)
    {
      const VnmLedgerEntry *e = &g_array_index (same, VnmLedgerEntry, i);

      removed += vnm_tc_hook_remove_ours (e->ifindex);
      if (e->flag)
        vnm_tc_hook_remove_qdisc_if_empty (e->ifindex, p->count_filters, p->user_data);
    }
  for (guint i = 0; ifindexes && i < ifindexes->len; i++)
    {
      gint ifindex = g_array_index (ifindexes, gint, i);
      removed += vnm_tc_hook_remove_ours (ifindex);
    }
  g_hash_table_remove_all (p->hooked);
  save_state (p);
  return removed;
}



gboolean
vnm_flow_probe_attach (VnmFlowProbe *p, gint ifindex, const gchar *ifname,
                       gboolean vm_sends_on_egress, gboolean *continued, GError **error)
{
  g_autoptr(GError) totals_error = NULL;
  int from_vm = bpf_program__fd (p->skel->progs.vnm_tc_from_vm);
  int to_vm = bpf_program__fd (p->skel->progs.vnm_tc_to_vm);
  VnmTcHook *h;

  if (g_hash_table_contains (p->hooked, GINT_TO_POINTER (ifindex)))
    return TRUE;
  if (continued)
    *continued = FALSE;
  /* Totals an earlier run kept for this very device continue. */
  if (g_hash_table_remove (p->kept, GINT_TO_POINTER (ifindex)) &&
      vnm_probe_totals_maps_has (p->totals, ifindex))
    {
      if (continued)
        *continued = TRUE;
    }
  else if (!vnm_probe_totals_maps_start (p->totals, ifindex, &totals_error))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot start the totals of %s: %s"), ifname, totals_error->message);
      return FALSE;
    }
  h = vnm_tc_hook_new (ifindex, ifname);
  if (p->mode == VNM_PROBE_ATTACH_CLSACT)
    {
      if (!vnm_tc_hook_prepare_clsact (h, error))
        {
          vnm_probe_totals_maps_remove (p->totals, ifindex);
          vnm_tc_hook_free (h);
          return FALSE;
        }
      /* Recorded before attaching, so that a crash in between is cleaned up. */
      g_hash_table_insert (p->hooked, GINT_TO_POINTER (ifindex), h);
      save_state (p);
    }
  else
    g_hash_table_insert (p->hooked, GINT_TO_POINTER (ifindex), h);
  if (!vnm_tc_hook_attach (h, p->mode, vm_sends_on_egress ? to_vm : from_vm,
                           vm_sends_on_egress ? from_vm : to_vm, error))
    {
      vnm_flow_probe_detach (p, ifindex, FALSE);
      return FALSE;
    }
  save_kept (p);
  return TRUE;
}

void
vnm_flow_probe_detach (VnmFlowProbe *p, gint ifindex, gboolean device_gone)
{
  VnmTcHook *h = g_hash_table_lookup (p->hooked, GINT_TO_POINTER (ifindex));

  if (!h)
    return;
  /* tcx: closing the links (in vnm_tc_hook_free) detaches them. */
  if (!device_gone && p->mode == VNM_PROBE_ATTACH_CLSACT)
    vnm_tc_hook_detach_clsact (h, p->count_filters, p->user_data);
  vnm_probe_totals_maps_remove (p->totals, ifindex);
  g_hash_table_remove (p->hooked, GINT_TO_POINTER (ifindex));
  if (p->mode == VNM_PROBE_ATTACH_CLSACT)
    save_state (p);
  save_kept (p);
}

guint
vnm_flow_probe_cache_slots (VnmFlowProbe *p)
{
  return p->cache ? VNM_FLOW_CACHE_SLOTS : 0;
}

/* Moves what the per-CPU flow cache holds into the flow table: the flush
 * program runs on each CPU in turn (an IPI; never interleaved with the
 * probe on that CPU in a way that loses or doubles a count, see
 * flows.bpf.c). An offline CPU keeps its slots until it is back. */
void
vnm_flow_probe_flush_cache (VnmFlowProbe *p)
{
  int fd;

  if (!p->cache)
    return;
  fd = bpf_program__fd (p->skel->progs.vnm_flush_cache);
  for (gint cpu = 0; cpu < p->ncpus; cpu++)
    {
      DECLARE_LIBBPF_OPTS (bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
      if (bpf_prog_test_run_opts (fd, &run) < 0 && errno != ENXIO && p->flush_errors++ == 0)
        g_warning (_("Cannot flush the flow cache on CPU %d: %s"), cpu, g_strerror (errno));
    }
}

gboolean
vnm_flow_probe_is_attached (VnmFlowProbe *p, gint ifindex)
{
  return g_hash_table_contains (p->hooked, GINT_TO_POINTER (ifindex));
}

void
vnm_flow_probe_detach_all (VnmFlowProbe *p)
{
  g_autoptr(GList) keys = g_hash_table_get_keys (p->hooked);

  /* With pinned maps, the list of kept totals stays as it is now. */
  for (GList *l = keys; l; l = l->next)
    {
      gint ifindex = GPOINTER_TO_INT (l->data);
      VnmTcHook *h = g_hash_table_lookup (p->hooked, l->data);

      if (!p->pins)
        {
          vnm_flow_probe_detach (p, ifindex, FALSE);
          continue;
        }
      /* Unhook, but leave the totals for the next run. */
      if (p->mode == VNM_PROBE_ATTACH_CLSACT)
        vnm_tc_hook_detach_clsact (h, p->count_filters, p->user_data);
      g_hash_table_remove (p->hooked, l->data);
    }
  if (p->mode == VNM_PROBE_ATTACH_CLSACT)
    save_state (p);
  /* What the cache holds goes to the (pinned) table for the next run. */
  vnm_flow_probe_flush_cache (p);
}

void
vnm_flow_probe_free (VnmFlowProbe *p)
{
  if (!p)
    return;
  if (p->dns_source)
    g_source_remove (p->dns_source);
  if (p->dns)
    ring_buffer__free (p->dns);
  vnm_probe_totals_maps_free (p->totals);
  if (p->skel)
    vnm_flows_bpf__destroy (p->skel);
  g_hash_table_unref (p->hooked);
  g_hash_table_unref (p->kept);
  vnm_bpf_pin_set_free (p->pins);
  vnm_device_ledger_free (p->hooks_ledger);
  vnm_device_ledger_free (p->kept_ledger);
  g_free (p->pin_status);
  g_free (p);
}

static int
dns_event (void *ctx, void *data, size_t size)
{
  VnmFlowProbe *p = ctx;
  const struct vnm_dns_event *ev = data;

  if (size >= sizeof *ev && ev->len <= VNM_DNS_CAPTURE && p->on_dns)
    p->on_dns ((gint) ev->ifindex, ev->data, ev->len, ev->orig_len, p->dns_data);
  return 0;
}

static gboolean
dns_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  VnmFlowProbe *p = user_data;

  ring_buffer__consume (p->dns);
  return G_SOURCE_CONTINUE;
}

gboolean
vnm_flow_probe_watch_dns (VnmFlowProbe *p, VnmDnsMessageFunc func, gpointer user_data,
                          GError **error)
{
  g_return_val_if_fail (!p->dns, FALSE);
  p->on_dns = func;
  p->dns_data = user_data;
  p->dns = ring_buffer__new (bpf_map__fd (p->skel->maps.vnm_dns_events), dns_event, p, NULL);
  if (!p->dns)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("Cannot read the flow probe's DNS ring buffer: %s"), g_strerror (errno));
      return FALSE;
    }
  p->dns_source = g_unix_fd_add (ring_buffer__epoll_fd (p->dns), G_IO_IN, dns_readable, p);
  return TRUE;
}

guint64
vnm_flow_probe_dns_lost (VnmFlowProbe *p)
{
  return p->skel && p->skel->bss ? __atomic_load_n (&p->skel->bss->dns_lost, __ATOMIC_RELAXED) : 0;
}

guint64
vnm_flow_probe_dns_unasked (VnmFlowProbe *p)
{
  return p->skel && p->skel->bss ? __atomic_load_n (&p->skel->bss->dns_unasked, __ATOMIC_RELAXED) : 0;
}

/* Batch read where the kernel supports it, one by one otherwise. */
GArray *
vnm_flow_probe_read_flows (VnmFlowProbe *p, GError **error)
{
  int fd = bpf_map__fd (p->skel->maps.vnm_flows);
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  const guint chunk = 1024;
  g_autofree struct vnm_flow_key *keys = g_new (struct vnm_flow_key, chunk);
  g_autofree struct vnm_flow *values = g_new (struct vnm_flow, chunk);
  struct vnm_flow_key in_batch, out_batch;
  gboolean first = TRUE;

  for (;;)
    {
      DECLARE_LIBBPF_OPTS (bpf_map_batch_opts, opts);
      __u32 count = chunk;
      int err = bpf_map_lookup_batch (fd, first ? NULL : &in_batch, &out_batch,
                                      keys, values, &count, &opts);
      int saved = errno;

      for (__u32 i = 0; i < count; i++)
        {
          VnmFlowEntry e = { keys[i], values[i] };
          g_array_append_val (out, e);
        }
      if (err < 0 && saved == ENOENT)
        break;                       /* the end */
      if (err < 0 && first && (saved == EINVAL || saved == ENOTSUP || saved == EOPNOTSUPP))
        break;                       /* no batch ops: fall back below */
      if (err < 0)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("Cannot read the flow table: %s"), g_strerror (saved));
          return NULL;
        }
      in_batch = out_batch;
      first = FALSE;
    }
  if (out->len == 0)
    {
      struct vnm_flow_key key, next;
      const struct vnm_flow_key *prev = NULL;
      while (bpf_map_get_next_key (fd, prev, &next) == 0)
        {
          VnmFlowEntry e = { next };
          if (bpf_map_lookup_elem (fd, &next, &e.flow) == 0)
            g_array_append_val (out, e);
          key = next;
          prev = &key;
        }
    }
  return g_steal_pointer (&out);
}

GArray *
vnm_flow_probe_read_learned (VnmFlowProbe *p)
{
  int fd = bpf_map__fd (p->skel->maps.vnm_learned);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (VnmLearnedEntry));
  struct vnm_learned_key key, next;
  const struct vnm_learned_key *prev = NULL;

  while (out->len < VNM_LEARNED_SLOTS && bpf_map_get_next_key (fd, prev, &next) == 0)
    {
      VnmLearnedEntry e = { next };
      if (bpf_map_lookup_elem (fd, &next, &e.value) == 0)
        g_array_append_val (out, e);
      key = next;
      prev = &key;
    }
  return out;
}

void
vnm_flow_probe_delete_flow (VnmFlowProbe *p, const struct vnm_flow_key *key)
{
  bpf_map_delete_elem (bpf_map__fd (p->skel->maps.vnm_flows), key);
}

gboolean
vnm_flow_probe_read_totals (VnmFlowProbe *p, gint ifindex, struct vnm_iface_totals *out)
{
  memset (out, 0, sizeof *out);
  return vnm_flow_probe_is_attached (p, ifindex) &&
         vnm_probe_totals_maps_read (p->totals, ifindex, out);
}
