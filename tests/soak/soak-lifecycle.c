/* soak-lifecycle.c: start and stop a libvirt test-driver domain (driver in
 * this process, test:///default) CYCLES times through the daemon's own
 * engine -- libvirt watch -> registry -> link table -> flow and latency
 * monitors, with the real flow probe hooking the real netdev IFACE (a
 * veth, peer PEER) --
 * and count what could leak: open fds, resident memory, live heap, tcx
 * programs on IFACE, registry and probe entries. Faults are injected on a
 * schedule: the device is recreated under its name while the domain runs,
 * or is missing when the domain starts and appears later. Built with ASan and UBSan (tests/soak/meson.build), so
 * LeakSanitizer checks every allocation at exit.
 *
 *   soak-lifecycle IFACE PEER CYCLES STATE_DIR
 *
 * Prints TAP. */
#include "config.h"

#include <dirent.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <sanitizer/allocator_interface.h>
#include <libvirt/libvirt.h>

#include "engine.h"
#include "flow-probe.h"

static VnmEngine *engine;
static const gchar *soak_iface, *soak_peer;
static guint checks, failed;

static const VnmLink *
find_link (const gchar *name)
{
  return vnm_link_table_lookup_name (vnm_engine_get_link_table (engine), name);
}

static const VnmDomain *
find_domain (const gchar *uuid)
{
  return vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), uuid);
}

static void
check (gboolean ok, const gchar *what, const gchar *detail)
{
  checks++;
  printf ("%s %u - %s\n", ok ? "ok" : "not ok", checks, what);
  if (!ok)
    {
      failed++;
      printf ("# %s\n", detail ? detail : "");
    }
  fflush (stdout);
}

static guint
count_fds (void)
{
  guint n = 0;
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *e;

  while ((e = readdir (dir)))
    n += e->d_name[0] != '.';
  closedir (dir);
  return n - 1;   /* the directory's own */
}

static guint64
rss_kib (void)
{
  g_autofree gchar *text = NULL;
  const gchar *line;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL) ||
      !(line = strstr (text, "VmRSS:")))
    return 0;
  return g_ascii_strtoull (line + 6, NULL, 10);
}

/* Programs on @ifindex's tcx hooks (the kernel's own list). */
static guint
tcx_programs (gint ifindex)
{
  guint n = 0;

  for (guint side = 0; side < 2; side++)
    {
      DECLARE_LIBBPF_OPTS (bpf_prog_query_opts, q);
      if (bpf_prog_query_opts (ifindex, side ? VNM_BPF_TCX_EGRESS : VNM_BPF_TCX_INGRESS, &q) == 0)
        n += q.prog_cnt;
    }
  return n;
}

/* Runs the loop until @pred holds or 5 s pass. */
static gboolean
settle (gboolean (*pred) (gpointer), gpointer data)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!pred (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  return TRUE;
}

static gboolean
running_and_hooked (gpointer uuid)
{
  const VnmDomain *dom = find_domain (uuid);
  const VnmLink *l = dom ? find_link (soak_iface) : NULL;
  return l && tcx_programs (l->ifindex) == 2;
}

static gboolean
no_device (gpointer unused)
{
  return !find_link (soak_iface);
}

static gboolean
other_ifindex (gpointer old)
{
  const VnmLink *l = find_link (soak_iface);
  return l && l->ifindex != GPOINTER_TO_INT (old);
}

static gboolean
mapped_without_device (gpointer uuid)
{
  return find_domain (uuid) && !find_link (soak_iface);
}

static gboolean
ip (const gchar *args)
{
  g_autofree gchar *cmd = g_strdup_printf ("ip link %s", args);
  gint status = -1;

  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) && status == 0;
}

static gboolean
device_del (void)
{
  g_autofree gchar *a = g_strdup_printf ("del %s", soak_iface);
  return ip (a);
}

static gboolean
device_add (void)
{
  g_autofree gchar *a = g_strdup_printf ("add %s type veth peer name %s", soak_iface, soak_peer);
  g_autofree gchar *b = g_strdup_printf ("set %s up", soak_iface);
  return ip (a) && ip (b);
}

static gboolean
gone_and_unhooked (gpointer uuid)
{
  const VnmLink *l = find_link (soak_iface);
  return !find_domain (uuid) && l && tcx_programs (l->ifindex) == 0;
}

/* Refreshes of the engine before the baseline (one per interval). */
#define WARMUP_REFRESHES 2.5

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const gchar *iface, *state_dir;
  guint cycles, ok_cycles = 0, warmup, min_warmup, faults = 0;
  guint fds_before = 0, fds_after;
  guint64 rss_before = 0, rss_after;
  gsize heap_before = 0, heap_after, kept_before = 0, kept_after;
  g_autofree gchar *xml = NULL;
  g_autofree gchar *detail = NULL;
  virConnectPtr conn;
  virDomainPtr dom;
  char uuid[VIR_UUID_STRING_BUFLEN];
  VnmOptions options = { 0 };
  gint64 t0;

  if (argc != 5)
    {
      fprintf (stderr, "usage: soak-lifecycle IFACE PEER CYCLES STATE_DIR\n");
      return 2;
    }
  iface = soak_iface = argv[1];
  soak_peer = argv[2];
  cycles = atoi (argv[3]);
  state_dir = argv[4];
  /* The baseline is taken once the first cycles have run and the engine
   * has refreshed twice: the history series of every host link, created at
   * the first refresh and sized for their whole span, are then in it. */
  min_warmup = MIN (20, cycles / 10);
  warmup = cycles;
  printf ("TAP version 13\n");

  /* As virtnetmond --connect test:///default --pin-dir "" would run. */
  options.uri = g_strdup ("test:///default");
  options.interval_s = 1;
  options.flow_table_size = 4096;
  options.flow_idle_timeout_s = 60;
  options.latency_threshold_us = 1000;
  options.latency_devices = 16;
  options.latency_events_rate = 100;
  /* Sampled latency as by default, its windows ten times as often. */
  options.latency_sampling = TRUE;
  options.latency_sample_window_ms = 100;
  options.latency_sample_period_s = 1;
  options.probe_attach = VNM_PROBE_ATTACH_AUTO;
  options.state_dir = g_strdup (state_dir);
  options.pin_dir = NULL;
  options.defaults = (VnmDomainSettings) { .monitoring = 1, .latency = 0,
                                           .latency_threshold_us = 1000,
                                           .flow_table_size = 4096 };
  engine = vnm_engine_new (&options, &error);
  if (!engine)
    {
      printf ("Bail out! %s\n", error->message);
      return 1;
    }
  check (vnm_flow_monitor_available (vnm_engine_get_flow_monitor (engine)), "the flow probe loads",
         vnm_flow_monitor_unavailable_reason (vnm_engine_get_flow_monitor (engine)));
  vnm_engine_start (engine);

  /* The test driver of this process; the watch shares it. */
  conn = virConnectOpen ("test:///default");
  xml = g_strdup_printf ("<domain type='test'><name>soak</name>"
                         "<uuid>0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d</uuid>"
                         "<memory>65536</memory><os><type>hvm</type></os>"
                         "<devices><interface type='ethernet'><mac address='52:54:00:50:a0:01'/>"
                         "<target dev='%s'/></interface></devices></domain>", iface);
  dom = conn ? virDomainDefineXML (conn, xml) : NULL;
  if (!dom)
    {
      printf ("Bail out! cannot define the soak domain in the test driver\n");
      return 1;
    }
  virDomainGetUUIDString (dom, uuid);

  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < cycles; i++)
    {
      gboolean up, down;

      if (warmup == cycles && i >= min_warmup
          && g_get_monotonic_time () - t0 >= WARMUP_REFRESHES * G_USEC_PER_SEC * options.interval_s)
        {
          warmup = i;
          fds_before = count_fds ();
          rss_before = rss_kib ();
          heap_before = __sanitizer_get_current_allocated_bytes ();
          kept_before = vnm_history_memory (vnm_engine_get_history (engine));
        }
      /* Fault: the device is missing when the domain starts. */
      gboolean missing = i % 25 == 13;
      /* Fault: the device is recreated under its name while it runs. */
      gboolean recreate = i % 25 == 7;

      if (missing)
        {
          faults += device_del ();
          settle (no_device, NULL);
        }
      if (virDomainCreate (dom) < 0)
        {
          detail = g_strdup_printf ("cycle %u: virDomainCreate: %s", i, virGetLastErrorMessage ());
          break;
        }
      if (missing)
        {
          up = settle (mapped_without_device, uuid);
          up = up && device_add () && settle (running_and_hooked, uuid);
        }
      else
        up = settle (running_and_hooked, uuid);
      if (recreate && up)
        {
          gint old = find_link (soak_iface)->ifindex;
          faults += device_del () && device_add ();
          up = settle (other_ifindex, GINT_TO_POINTER (old)) && settle (running_and_hooked, uuid);
        }
      if (virDomainDestroy (dom) < 0 && !detail)
        detail = g_strdup_printf ("cycle %u: virDomainDestroy: %s", i, virGetLastErrorMessage ());
      down = settle (gone_and_unhooked, uuid);
      if (up && down)
        ok_cycles++;
      else if (!detail)
        detail = g_strdup_printf ("cycle %u%s: %s", i,
                                  missing ? " (device missing at start)" : recreate ? " (device recreated)" : "",
                                  up ? "the probe stayed after stop" : "no probe after start");
    }
  fds_after = count_fds ();
  rss_after = rss_kib ();
  heap_after = __sanitizer_get_current_allocated_bytes ();
  kept_after = vnm_history_memory (vnm_engine_get_history (engine));

  {
    g_autofree gchar *what = g_strdup_printf (
      "%u start/stop cycles in %.1f s, %u faults injected (device recreated while running, device missing at start): each time mapped and probed (2 tcx programs on %s), then unmapped with no program left",
      cycles, (g_get_monotonic_time () - t0) / 1e6, faults, iface);
    check (ok_cycles == cycles && cycles > 0, what, detail);
  }
  {
    g_autofree gchar *what = g_strdup_printf ("open fds after cycle %u: %u, at the end: %u", warmup,
                                              fds_before, fds_after);
    check (fds_after == fds_before, what, "fds grew");
  }
  {
    /* The allocator keeps what it once had; what grows per cycle shows. */
    g_autofree gchar *what = g_strdup_printf (
      "resident memory after cycle %u: %" G_GUINT64_FORMAT " KiB, at the end: %" G_GUINT64_FORMAT " KiB (%+.2f KiB per cycle)",
      warmup, rss_before, rss_after, ((gdouble) rss_after - rss_before) / MAX (cycles - warmup, 1));
    /* A coarse bound: the live heap below is the exact count, and the
     * sanitizer's allocator keeps freed chunks of its size classes. */
    check (rss_after <= rss_before + 2048, what, "more than 2 MiB of growth");
  }
  {
    /* The allocator's own count of live bytes: what is still referenced,
     * which LeakSanitizer cannot call a leak. The history rings are kept
     * 48 h for every link and domain seen, bounded by their number, and
     * are set apart. */
    gdouble per_cycle = ((gdouble) heap_after - heap_before - ((gdouble) kept_after - kept_before))
                        / MAX (cycles - warmup, 1);
    g_autofree gchar *what = g_strdup_printf (
      "live heap after cycle %u: %" G_GSIZE_FORMAT " bytes, at the end: %" G_GSIZE_FORMAT " bytes, of which %+" G_GSSIZE_FORMAT " in the history rings: %+.1f bytes per cycle otherwise",
      warmup, heap_before, heap_after, (gssize) kept_after - (gssize) kept_before, per_cycle);
    check (per_cycle * MAX (cycles - warmup, 1) <= 4096, what, "the live heap grows with the cycles");
  }
  {
    g_autoptr(GPtrArray) status = vnm_flow_monitor_status (vnm_engine_get_flow_monitor (engine));
    guint rows = 0;
    for (guint i = 0; i < status->len; i++)
      rows += g_str_equal (((VnmProbeStatus *) status->pdata[i])->domain_uuid, uuid);
    check (find_domain (uuid) == NULL && rows == 0,
           "nothing of the domain is left in the registry or the probe's status", NULL);
  }

  virDomainUndefine (dom);
  virDomainFree (dom);
  virConnectClose (conn);
  vnm_engine_stop (engine);
  /* Let libvirt's event loop drop what the closed connections left. */
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&engine);
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  vnm_options_clear (&options);
  printf ("1..%u\n", checks);
  /* LeakSanitizer reports and fails the run at exit, after this. */
  return failed ? 1 : 0;
}
