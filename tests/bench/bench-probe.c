/* bench-probe: what the flow probe costs on a VM's datapath. A userspace
 * pump writes UDP frames (many 5-tuples) to a tap fd, the way QEMU hands a
 * guest's packets to the host. Each round runs, in turn, the path with no
 * hook, with an empty tcx program (what any hook costs), with the flow
 * probe on tcx and with the flow probe on tc clsact; the figure is each
 * one's packets per second divided by the no-hook run of the same round,
 * the median over rounds. Per-packet cost comes from the kernel's own
 * accounting (kernel.bpf_stats_enabled) in extra, untimed rounds.
 *
 * Two paths: frames dropped by the IP stack right after the hook (the
 * cheapest thing a packet can do: the worst case for a probe's share), and
 * with --full-path frames delivered through a bridge and a veth into a
 * namespace to a UDP socket that an application reads (a VM talking to a
 * local peer). The full path checks delivery against the namespace's own
 * Udp InDatagrams counter.
 *
 * With --latency (implies --full-path) it measures the latency probe
 * instead: tracing off (the drop counter only, as virtnetmond runs when no
 * VM is traced) against tracing on for the tap's VM, and on with every
 * packet sent as a slow-packet event (threshold 0) that a second thread
 * reads from the ring buffer: how many events a second the reader keeps
 * up with, and how many the kernel counts as lost beyond that.
 *
 * Prints a Markdown table. Needs root and /dev/net/tun. */
#include "config.h"

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "latency-hist.h"
#include "latency-probe.h"
#include "latency-sampler.h"
#include "vnm-limits.h"
#include "flow-probe.h"

#define TAP_NAME "vnmbench0"
#define NETNS "vnmbench-ns"
#define FLOWS 1024

enum { RUN_NONE, RUN_EMPTY, RUN_TCX, RUN_CLSACT, N_RUNS };
static const gchar *const run_label[N_RUNS] = {
  "no hook", "empty tcx program (any hook's floor)", "flow probe, tcx", "flow probe, tc clsact",
};

/* 64-byte frame: Ethernet, IPv4 198.18.0.2 -> 198.18.1.1 (valid header
 * checksum), UDP sport varies, dport 5000, 22 bytes of payload. */
static guint8 frame[64] = {
  0x52, 0x54, 0x00, 0xbe, 0x4c, 0x01, 0x52, 0x54, 0x00, 0xbe, 0x4c, 0x02, 0x08, 0x00,
  0x45, 0x00, 0x00, 50, 0, 0, 0x40, 0, 64, 17, 0xad, 0x93,
  198, 18, 0, 2, 198, 18, 1, 1,
  0x27, 0x10, 0x13, 0x88, 0, 30, 0, 0,
};

static gdouble
pump (int fd, guint packets)
{
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < packets; i++)
    {
      guint16 sport = 10000 + (i % FLOWS);
      frame[34] = sport >> 8;
      frame[35] = sport & 0xff;
      if (write (fd, frame, sizeof frame) < 0 && errno != EAGAIN)
        g_error ("write to the tap: %s", g_strerror (errno));
    }
  return packets / ((g_get_monotonic_time () - t0) / 1e6);
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return (x > y) - (x < y);
}

static gdouble
median (gdouble *v, guint n)
{
  qsort (v, n, sizeof *v, compare_double);
  return v[n / 2];
}

static void
pin_to_cpu (gint cpu)
{
  cpu_set_t set;

  if (cpu >= (gint) sysconf (_SC_NPROCESSORS_ONLN))
    return;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (0, sizeof set, &set);
}

static gboolean
write_sysctl (const gchar *value)
{
  FILE *f = fopen ("/proc/sys/kernel/bpf_stats_enabled", "w");
  gboolean ok;

  if (!f)
    return FALSE;
  ok = fputs (value, f) >= 0;
  return fclose (f) == 0 && ok;
}

/* The program called @name on @ifindex's ingress (tcx or clsact). */
static int
find_program (gint ifindex, const gchar *name)
{
  __u32 ids[16];
  DECLARE_LIBBPF_OPTS (bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = G_N_ELEMENTS (ids));
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  DECLARE_LIBBPF_OPTS (bpf_tc_opts, tc, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY);
  guint n = 0;

  if (bpf_prog_query_opts (ifindex, VNM_BPF_TCX_INGRESS, &q) == 0)
    n = q.prog_cnt;
  if (bpf_tc_query (&hook, &tc) == 0 && n < G_N_ELEMENTS (ids))
    ids[n++] = tc.prog_id;
  for (guint i = 0; i < n; i++)
    {
      struct bpf_prog_info info = { 0 };
      __u32 len = sizeof info;
      int fd = bpf_prog_get_fd_by_id (ids[i]);
      if (fd >= 0 && bpf_obj_get_info_by_fd (fd, &info, &len) == 0 && g_str_equal (info.name, name))
        return fd;
      if (fd >= 0)
        close (fd);
    }
  return -1;
}

static gboolean
program_stats (gint ifindex, const gchar *name, __u64 *run_ns, __u64 *runs)
{
  struct bpf_prog_info info = { 0 };
  __u32 len = sizeof info;
  int fd = find_program (ifindex, name);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = bpf_obj_get_info_by_fd (fd, &info, &len) == 0;
  close (fd);
  *run_ns = info.run_time_ns;
  *runs = info.run_cnt;
  return ok;
}

/* The namespace's UDP InDatagrams and RcvbufErrors. */
static void
netns_udp_counters (guint64 *in, guint64 *rcvbuf_errors)
{
  g_autofree gchar *out = NULL;
  g_auto(GStrv) lines = NULL;
  gchar *argv[] = { "ip", "netns", "exec", NETNS, "cat", "/proc/net/snmp", NULL };

  *in = *rcvbuf_errors = 0;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, NULL))
    return;
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] && lines[i + 1]; i++)
    if (g_str_has_prefix (lines[i], "Udp:") && g_str_has_prefix (lines[i + 1], "Udp:"))
      {
        g_auto(GStrv) names = g_strsplit (lines[i], " ", -1);
        g_auto(GStrv) values = g_strsplit (lines[i + 1], " ", -1);
        for (guint j = 0; names[j] && values[j]; j++)
          {
            if (g_str_equal (names[j], "InDatagrams"))
              *in = g_ascii_strtoull (values[j], NULL, 10);
            else if (g_str_equal (names[j], "RcvbufErrors"))
              *rcvbuf_errors = g_ascii_strtoull (values[j], NULL, 10);
          }
        return;
      }
}

/* The application in the namespace: reads every datagram, on CPU 0 while
 * the pump runs on CPU 1. */
static pid_t
start_receiver (void)
{
  pid_t pid = fork ();

  if (pid != 0)
    return pid;
  int nsfd = open ("/var/run/netns/" NETNS, O_RDONLY | O_CLOEXEC);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (5000),
                              .sin_addr.s_addr = htonl (0xc6120101) };
  static guint8 buf[64][128];
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  int rcvbuf = 4 << 20, s;

  if (nsfd < 0 || setns (nsfd, CLONE_NEWNET) < 0)
    _exit (1);
  pin_to_cpu (0);
  s = socket (AF_INET, SOCK_DGRAM, 0);
  setsockopt (s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (s < 0 || bind (s, (struct sockaddr *) &addr, sizeof addr) < 0)
    _exit (1);
  memset (msgs, 0, sizeof msgs);
  for (guint i = 0; i < 64; i++)
    {
      iov[i].iov_base = buf[i];
      iov[i].iov_len = sizeof buf[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  /* It polls and never sleeps: a sleeping reader makes the pump pay for
   * waking it, and how often depends on how fast the pump runs, so a
   * slower pump (a hook) could pass more packets. */
  for (;;)
    recvmmsg (s, msgs, 64, MSG_DONTWAIT, NULL);
}

static gboolean
build_full_path (void)
{
  return system ("set -e; ip netns add " NETNS "; ip -n " NETNS " link set lo up;"
                 "ip link add vnmbench-br type bridge; ip link set vnmbench-br up;"
                 "ip link add vnmbench-v0 type veth peer name eth0 netns " NETNS ";"
                 "ip -n " NETNS " link set eth0 address 52:54:00:be:4c:01 up;"
                 "ip -n " NETNS " addr add 198.18.1.1/24 dev eth0;"
                 "ip -n " NETNS " route add default dev eth0;"
                 "ip link set vnmbench-v0 master vnmbench-br up;"
                 "ip link set " TAP_NAME " master vnmbench-br") == 0;
}

static void
remove_full_path (pid_t receiver)
{
  int ignored;

  kill (receiver, SIGKILL);
  waitpid (receiver, NULL, 0);
  ignored = system ("ip netns del " NETNS "; ip link del vnmbench-br;"
                    "ip link del vnmbench-v0 2>/dev/null; true");
  (void) ignored;
}

/* --- the latency probe ------------------------------------------------ */

enum { LAT_OFF, LAT_EMPTY, LAT_ON, LAT_EVENTS, N_LAT };
static const gchar *const lat_label[N_LAT] = {
  "latency tracing off (drop counter only)",
  "empty programs on the four path tracepoints (any tracer's floor)",
  "latency tracing on for the VM",
  "latency tracing on, every packet a slow-packet event",
};
static const gchar *const lat_programs[] = { "vnm_btf_receive", "vnm_btf_queue", "vnm_btf_xmit",
                                             "vnm_btf_consume", "vnm_btf_drop", "empty_receive",
                                             "empty_queue", "empty_xmit", "empty_consume" };
#define N_LAT_PROGRAMS 5  /* the probe's; then the empty ones */
static gint events_read;
static volatile gboolean reading = TRUE;

static void
count_event (const struct vnm_lat_event *ev, gpointer user_data)
{
  g_atomic_int_inc (&events_read);
}

/* Reads the ring buffer the way virtnetmond does: its main loop. */
static gpointer
event_reader (gpointer data)
{
  GMainContext *ctx = g_main_context_default ();

  pin_to_cpu (0);
  g_main_context_acquire (ctx);
  while (reading)
    g_main_context_iteration (ctx, TRUE);
  g_main_context_release (ctx);
  return NULL;
}

static gboolean
wake (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* The kernel's run time and count of each latency program (@per_ns,
 * indexed like lat_programs; may be NULL) and their sum. */
static void
latency_stats (__u64 *run_ns, __u64 *runs, __u64 *per_ns)
{
  __u32 id = 0;

  *run_ns = *runs = 0;
  if (per_ns)
    memset (per_ns, 0, sizeof (__u64) * G_N_ELEMENTS (lat_programs));
  while (bpf_prog_get_next_id (id, &id) == 0)
    {
      struct bpf_prog_info info = { 0 };
      __u32 len = sizeof info;
      int fd = bpf_prog_get_fd_by_id (id);
      if (fd < 0)
        continue;
      if (bpf_obj_get_info_by_fd (fd, &info, &len) == 0)
        for (guint i = 0; i < G_N_ELEMENTS (lat_programs); i++)
          if (g_str_equal (info.name, lat_programs[i]))
            {
              *run_ns += info.run_time_ns;
              *runs += info.run_cnt;
              if (per_ns)
                per_ns[i] += info.run_time_ns;
            }
      close (fd);
    }
}

static struct bpf_link *empty_links[4];

static void
latency_attach (VnmLatencyProbe *lat, struct bpf_object *empty, gint ifindex, gint feeder, gint run)
{
  struct vnm_lat_dev vm = { .flags = VNM_DEV_VM | VNM_DEV_TRACE_TX | VNM_DEV_TRACE_RX,
                            .mac = { 0x52, 0x54, 0x00, 0xbe, 0x4c, 0x02 } };
  struct vnm_lat_dev port = { .flags = VNM_DEV_FEEDER };
  g_autoptr(GError) error = NULL;

  if (run == LAT_OFF)
    return;
  if (run == LAT_EMPTY)
    {
      struct bpf_program *prog = NULL;
      guint i = 0;
      while ((prog = bpf_object__next_program (empty, prog)) && i < G_N_ELEMENTS (empty_links))
        if (!(empty_links[i++] = bpf_program__attach (prog)))
          g_error ("cannot attach %s: %s", bpf_program__name (prog), g_strerror (errno));
      return;
    }
  if (run == LAT_EVENTS)
    vm.flags |= VNM_DEV_EVENTS;   /* threshold 0: every packet */
  if (!vnm_latency_probe_set_device (lat, ifindex, &vm, &error) ||
      !vnm_latency_probe_set_device (lat, feeder, &port, &error) ||
      !vnm_latency_probe_reset_hists (lat, ifindex, &error) ||
      !vnm_latency_probe_set_tracing (lat, TRUE, &error))
    g_error ("latency attach: %s", error->message);
}

static void
latency_detach (VnmLatencyProbe *lat, gint ifindex, gint feeder)
{
  for (guint i = 0; i < G_N_ELEMENTS (empty_links); i++)
    g_clear_pointer (&empty_links[i], bpf_link__destroy);
  vnm_latency_probe_set_tracing (lat, FALSE, NULL);
  vnm_latency_probe_remove_device (lat, ifindex);
  vnm_latency_probe_remove_device (lat, feeder);
}

static int
latency_main (int fd, pid_t receiver, const gchar *empty_obj, gint packets, gint rounds)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *old_stats = NULL;
  VnmLatencyProbe *lat;
  gdouble *pps[N_LAT], *ratio[N_LAT], ev_rate = 0;
  __u64 cost_ns[N_LAT] = { 0 }, per_ns[G_N_ELEMENTS (lat_programs)] = { 0 };
  guint64 sent = 0, in0 = 0, in1 = 0, err0 = 0, err1 = 0, ev_lost0, ev_lost1, ev_pumped = 0;
  gint ifindex = if_nametoindex (TAP_NAME), feeder = if_nametoindex ("vnmbench-v0");
  gint ev0, ev1;
  GThread *reader;
  gboolean adopted;
  struct bpf_object *empty = NULL;
  int status;

  lat = vnm_latency_probe_new (TRUE, 16384, 4, NULL, &adopted, count_event, NULL, &error);
  if (lat)
    empty = bpf_object__open_file (empty_obj, NULL);
  if (!lat || !empty || bpf_object__load (empty) < 0)
    {
      g_printerr ("bench-probe: %s\n", error ? error->message : "cannot load the empty programs");
      vnm_latency_probe_free (lat);
      close (fd);
      remove_full_path (receiver);
      return 1;
    }
  reader = g_thread_new ("events", event_reader, NULL);
  pin_to_cpu (1);
  for (gint r = 0; r < N_LAT; r++)
    {
      pps[r] = g_new0 (gdouble, rounds);
      ratio[r] = g_new0 (gdouble, rounds);
    }
  pump (fd, packets / 2);  /* warm up */
  netns_udp_counters (&in0, &err0);
  ev_lost0 = vnm_latency_probe_counter (lat, VNM_LAT_EVENTS_LOST);
  ev0 = g_atomic_int_get (&events_read);
  for (gint round = 0; round < rounds; round++)
    {
      for (gint k = 0; k < N_LAT; k++)
        {
          gint run = (k + round) % N_LAT;
          latency_attach (lat, empty, ifindex, feeder, run);
          pps[run][round] = pump (fd, packets);
          sent += packets;
          if (run == LAT_EVENTS)
            {
              ev_rate += pps[run][round];
              ev_pumped += packets;
            }
          latency_detach (lat, ifindex, feeder);
        }
      for (gint run = 0; run < N_LAT; run++)
        ratio[run][round] = pps[run][round] / pps[LAT_OFF][round];
    }
  g_usleep (300000);
  netns_udp_counters (&in1, &err1);
  ev1 = g_atomic_int_get (&events_read);
  ev_lost1 = vnm_latency_probe_counter (lat, VNM_LAT_EVENTS_LOST);

  g_file_get_contents ("/proc/sys/kernel/bpf_stats_enabled", &old_stats, NULL, NULL);
  write_sysctl ("1");
  for (gint run = 0; run < N_LAT; run++)
    {
      __u64 ns0, n0, ns1, n1, p0[G_N_ELEMENTS (lat_programs)], p1[G_N_ELEMENTS (lat_programs)];
      latency_attach (lat, empty, ifindex, feeder, run);
      latency_stats (&ns0, &n0, p0);
      pump (fd, packets);
      latency_stats (&ns1, &n1, p1);
      latency_detach (lat, ifindex, feeder);
      cost_ns[run] = ns1 - ns0;
      if (run == LAT_ON)
        for (guint i = 0; i < G_N_ELEMENTS (lat_programs); i++)
          per_ns[i] = p1[i] - p0[i];
      (void) n0, (void) n1;
    }
  if (old_stats)
    write_sysctl (g_strstrip (old_stats));

  g_print ("| path | latency probe | packets per second (median of %d runs of %d) | ratio to tracing off "
           "(median; quartiles) | probe time per packet (bpf_stats) |\n|---|---|---:|---:|---:|\n",
           rounds, packets);
  for (gint run = 0; run < N_LAT; run++)
    {
      gdouble m = median (pps[run], rounds);
      g_autofree gchar *cost = g_strdup_printf ("%.0f ns", (gdouble) cost_ns[run] / packets);
      qsort (ratio[run], rounds, sizeof (gdouble), compare_double);
      if (run == LAT_OFF)
        g_print ("| tap -> bridge -> veth -> netns, read by a UDP application | %s | %.0f | | %s |\n",
                 lat_label[run], m, cost);
      else
        g_print ("| tap -> bridge -> veth -> netns, read by a UDP application | %s | %.0f | %s%.3f%s (%.3f to %.3f) | %s |\n",
                 lat_label[run], m, run == LAT_ON ? "**" : "", ratio[run][rounds / 2],
                 run == LAT_ON ? "**" : "", ratio[run][rounds / 4], ratio[run][(3 * rounds) / 4], cost);
    }
  g_print ("\nProbe time per packet with tracing on, by tracepoint (bpf_stats):");
  for (guint i = 0; i < N_LAT_PROGRAMS; i++)
    g_print ("%s %s %.0f ns", i ? "," : "", lat_programs[i] + strlen ("vnm_btf_"), (gdouble) per_ns[i] / packets);
  g_print (".\n");
  g_print ("\nThe pump on CPU 1, the reading application (polling, never asleep) and the event reader on CPU 0. "
           "Delivered: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " timed frames reached the socket, "
           "%" G_GUINT64_FORMAT " dropped for a full receive buffer.\n", in1 - in0, sent, err1 - err0);
  g_print ("\nSlow-packet events (threshold 0, every packet): %" G_GUINT64_FORMAT " offered at %.0f a second; "
           "the reader took %d (%.1f%%), the kernel counted %" G_GUINT64_FORMAT " lost (ring buffer full).\n",
           ev_pumped, ev_rate / rounds, ev1 - ev0, 100.0 * (ev1 - ev0) / MAX (ev_pumped, 1), ev_lost1 - ev_lost0);

  reading = FALSE;
  g_idle_add (wake, NULL);
  g_main_context_wakeup (NULL);
  g_thread_join (reader);
  vnm_latency_probe_free (lat);
  bpf_object__close (empty);
  close (fd);
  remove_full_path (receiver);
  status = (in1 - in0 < sent * 99 / 100) ? 1 : 0;
  for (gint r = 0; r < N_LAT; r++)
    {
      g_free (pps[r]);
      g_free (ratio[r]);
    }
  return status;
}

/* --- sampled latency: off, sampled, full, for whole sampling periods ---- */

enum { SMP_OFF, SMP_SAMPLED, SMP_FULL, N_SMP };
static const gchar *const smp_label[N_SMP] = {
  "latency tracing off (drop counter only)",
  "sampled: the path programs attached for a window every period (see above)",
  "full tracing of the VM",
};
static const guint smp_stages[] = { VNM_STAGE_RCV_QUEUE, VNM_STAGE_QUEUE_XMIT, VNM_STAGE_TOTAL };
static const gchar *const smp_stage_label[] = { "received -> queued", "qdisc wait", "end to end" };

static gboolean
switch_probe (gboolean on, gpointer user_data, GError **error)
{
  return vnm_latency_probe_set_tracing (user_data, on, error);
}

/* The sampler lives in a thread of its own with its own main context, as
 * in the daemon's main loop; the pump's thread switches its mode there
 * and waits, so that nothing of it runs on two threads at once. */
typedef struct {
  GMainContext *ctx;
  VnmLatencySampler *sampler;
  VnmLatencyMode mode;
  gint64 attached_us;
  gboolean done;
  GMutex lock;
  GCond cond;
} SamplerThread;

static volatile gboolean sampling = TRUE;

static gpointer
sampler_loop (gpointer data)
{
  SamplerThread *st = data;

  pin_to_cpu (0);
  g_main_context_push_thread_default (st->ctx);
  while (sampling)
    g_main_context_iteration (st->ctx, TRUE);
  g_main_context_pop_thread_default (st->ctx);
  return NULL;
}

static gboolean
switch_mode_there (gpointer data)
{
  SamplerThread *st = data;

  if (!vnm_latency_sampler_set_mode (st->sampler, st->mode, NULL) && st->mode == VNM_LATENCY_MODE_FULL)
    g_error ("cannot attach the latency programs");
  st->attached_us = vnm_latency_sampler_attached_us (st->sampler);
  g_mutex_lock (&st->lock);
  st->done = TRUE;
  g_cond_signal (&st->cond);
  g_mutex_unlock (&st->lock);
  return G_SOURCE_REMOVE;
}

/* Switches the sampler to @mode in its thread; its attached time then. */
static gint64
switch_mode (SamplerThread *st, VnmLatencyMode mode)
{
  st->mode = mode;
  st->done = FALSE;
  g_main_context_invoke (st->ctx, switch_mode_there, st);
  g_mutex_lock (&st->lock);
  while (!st->done)
    g_cond_wait (&st->cond, &st->lock);
  g_mutex_unlock (&st->lock);
  return st->attached_us;
}

/* Frames for @seconds, in batches; the rate over the whole run. */
static gdouble
pump_for (int fd, gdouble seconds, guint64 *sent)
{
  gint64 t0 = g_get_monotonic_time (), end = t0 + (gint64) (seconds * 1e6);
  guint64 n = 0;

  while (g_get_monotonic_time () < end)
    {
      pump (fd, 5000);
      n += 5000;
    }
  *sent += n;
  return n / ((g_get_monotonic_time () - t0) / 1e6);
}

/* Frames at @pps for @seconds (busy-waiting between them): the same
 * steady load whatever the probe costs, for comparing percentiles. */
static void
pump_paced (int fd, gdouble seconds, guint pps, guint64 *sent)
{
  gint64 t0 = g_get_monotonic_time ();
  guint64 n = 0, total = (guint64) (seconds * pps);

  while (n < total)
    {
      gint64 due = t0 + (gint64) (n * 1e6 / pps);
      while (g_get_monotonic_time () < due)
        ;
      pump (fd, 1);
      n++;
    }
  *sent += n;
}

/* Each round runs off, sampled and full (in rotating order) for @seconds,
 * a whole number of sampling periods, so that sampled runs trace exactly
 * the sampler's share of the time; the histograms of all sampled runs and
 * of all full runs are compared at the end. */
static int
sampled_main (int fd, pid_t receiver, gint seconds, gint rounds, guint window_ms, guint period_ms,
              guint steady_pps, gint steady_pairs)
{
  const gint steady_seconds = VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S;

  g_autoptr(GError) error = NULL;
  struct vnm_lat_dev vm = { .flags = VNM_DEV_VM | VNM_DEV_TRACE_TX | VNM_DEV_TRACE_RX,
                            .mac = { 0x52, 0x54, 0x00, 0xbe, 0x4c, 0x02 } };
  struct vnm_lat_dev port = { .flags = VNM_DEV_FEEDER };
  gint ifindex = if_nametoindex (TAP_NAME), feeder = if_nametoindex ("vnmbench-v0");
  g_autofree VnmLatHist *acc = g_new (VnmLatHist, N_SMP * G_N_ELEMENTS (smp_stages));
  g_autofree VnmLatHist *one = g_new (VnmLatHist, 1);
  gdouble *pps[N_SMP], *ratio[N_SMP], traced_s[N_SMP] = { 0 };
  guint64 sent = 0, in0 = 0, in1 = 0, err0 = 0, err1 = 0, run_sent[N_SMP] = { 0 };
  guint64 measured[N_SMP] = { 0 };
  SamplerThread st = { 0 };
  VnmLatencySampler *steady;
  VnmLatencyProbe *lat;
  GThread *thread;
  gboolean adopted;
  int status;

  lat = vnm_latency_probe_new (TRUE, 16384, 4, NULL, &adopted, count_event, NULL, &error);
  if (!lat || !vnm_latency_probe_set_device (lat, ifindex, &vm, &error) ||
      !vnm_latency_probe_set_device (lat, feeder, &port, &error))
    {
      g_printerr ("bench-probe: %s\n", error->message);
      vnm_latency_probe_free (lat);
      close (fd);
      remove_full_path (receiver);
      return 1;
    }
  /* Its timers run in the main loop of a thread of its own. */
  st.ctx = g_main_context_new ();
  g_mutex_init (&st.lock);
  g_cond_init (&st.cond);
  g_main_context_push_thread_default (st.ctx);
  st.sampler = vnm_latency_sampler_new (window_ms, period_ms, switch_probe, lat);
  steady = vnm_latency_sampler_new (VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS,
                                    VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S * 1000, switch_probe, lat);
  g_main_context_pop_thread_default (st.ctx);
  thread = g_thread_new ("sampler", sampler_loop, &st);
  pin_to_cpu (1);
  for (guint i = 0; i < N_SMP * G_N_ELEMENTS (smp_stages); i++)
    vnm_lat_hist_init (&acc[i]);
  for (gint r = 0; r < N_SMP; r++)
    {
      pps[r] = g_new0 (gdouble, rounds);
      ratio[r] = g_new0 (gdouble, rounds);
    }
  pump (fd, 20000);  /* warm up */
  netns_udp_counters (&in0, &err0);
  for (gint round = 0; round < rounds; round++)
    {
      for (gint k = 0; k < N_SMP; k++)
        {
          gint run = (k + round) % N_SMP;
          gint64 attached0;
          guint64 before = sent;

          if (!vnm_latency_probe_reset_hists (lat, ifindex, &error))
            g_error ("%s", error->message);
          attached0 = switch_mode (&st, run == SMP_OFF ? VNM_LATENCY_MODE_OFF
                                        : run == SMP_SAMPLED ? VNM_LATENCY_MODE_SAMPLED
                                        : VNM_LATENCY_MODE_FULL);
          pps[run][round] = pump_for (fd, seconds, &sent);
          traced_s[run] += (switch_mode (&st, VNM_LATENCY_MODE_OFF) - attached0) / 1e6;
          run_sent[run] += sent - before;
          if (vnm_latency_probe_read_hist (lat, ifindex, VNM_LAT_TX, VNM_STAGE_TOTAL, one))
            measured[run] += one->count;
        }
      for (gint run = 0; run < N_SMP; run++)
        ratio[run][round] = pps[run][round] / pps[SMP_OFF][round];
    }
  /* Percentiles under the same steady load: sampled (the default's
   * window and period), then full, each for @steady_seconds (whole
   * periods), their histograms compared. Both samplers are off here. */
  vnm_latency_sampler_free (st.sampler);
  st.sampler = steady;
  /* Runs of one period, alternating and in alternating order (sampled
   * first, then full first, ...): whatever drifts with time falls on both
   * modes alike. */
  for (gint k = 0; k < 2 * steady_pairs; k++)
    {
      gint run = ((k / 2) % 2 == 0) == (k % 2 == 0) ? SMP_SAMPLED : SMP_FULL;

      if (!vnm_latency_probe_reset_hists (lat, ifindex, &error))
        g_error ("%s", error->message);
      switch_mode (&st, run == SMP_SAMPLED ? VNM_LATENCY_MODE_SAMPLED : VNM_LATENCY_MODE_FULL);
      pump_paced (fd, steady_seconds, steady_pps, &sent);
      switch_mode (&st, VNM_LATENCY_MODE_OFF);
      for (guint i = 0; i < G_N_ELEMENTS (smp_stages); i++)
        if (vnm_latency_probe_read_hist (lat, ifindex, VNM_LAT_TX, smp_stages[i], one))
          vnm_lat_hist_merge (&acc[run * G_N_ELEMENTS (smp_stages) + i], one);
    }
  g_usleep (300000);
  netns_udp_counters (&in1, &err1);

  g_print ("Sampling for this table: the path programs attached %u ms every %.0f s (virtnetmond's "
           "default: %u ms every %d s); each run is %d s, whole periods.\n\n", window_ms, period_ms / 1e3,
           VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS, VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S, seconds);
  g_print ("| path | latency probe | packets per second (median of %d runs of %d s) | ratio to tracing off "
           "(median; quartiles) | time traced | packets measured (end to end) |\n|---|---|---:|---:|---:|---:|\n",
           rounds, seconds);
  for (gint run = 0; run < N_SMP; run++)
    {
      gdouble m = median (pps[run], rounds);
      g_autofree gchar *traced = g_strdup_printf ("%.1f s of %d s", traced_s[run], rounds * seconds);
      g_autofree gchar *seen = g_strdup_printf ("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " (%.1f %%)",
                                                measured[run], run_sent[run],
                                                100.0 * measured[run] / MAX (run_sent[run], 1));
      qsort (ratio[run], rounds, sizeof (gdouble), compare_double);
      if (run == SMP_OFF)
        g_print ("| tap -> bridge -> veth -> netns, read by a UDP application | %s | %.0f | | %s | |\n",
                 smp_label[run], m, traced);
      else
        g_print ("| tap -> bridge -> veth -> netns, read by a UDP application | %s | %.0f | %s%.3f%s (%.3f to %.3f) | %s | %s |\n",
                 smp_label[run], m, run == SMP_SAMPLED ? "**" : "", ratio[run][rounds / 2],
                 run == SMP_SAMPLED ? "**" : "", ratio[run][rounds / 4], ratio[run][(3 * rounds) / 4],
                 traced, seen);
    }
  g_print ("\nPercentiles under the same steady load, %u frames a second, %d runs of %d s in each "
           "mode, alternating, with the daemon's default sampling (%u ms every %.0f s):\n\n",
           steady_pps, steady_pairs, steady_seconds, VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS,
           (gdouble) VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S);
  g_print ("| stage (from the VM) | full: P50 / P90 / P99 (packets) | sampled: P50 / P90 / P99 (packets) | sampled / full |\n"
           "|---|---:|---:|---:|\n");
  for (guint i = 0; i < G_N_ELEMENTS (smp_stages); i++)
    {
      const VnmLatHist *f = &acc[SMP_FULL * G_N_ELEMENTS (smp_stages) + i];
      const VnmLatHist *sm = &acc[SMP_SAMPLED * G_N_ELEMENTS (smp_stages) + i];
      gdouble q[3] = { 0.5, 0.9, 0.99 };
      g_print ("| %s | %.2f / %.2f / %.2f us (%" G_GUINT64_FORMAT ") | %.2f / %.2f / %.2f us (%" G_GUINT64_FORMAT ") | %.2f / %.2f / %.2f |\n",
               smp_stage_label[i],
               vnm_lat_hist_quantile (f, q[0]) / 1e3, vnm_lat_hist_quantile (f, q[1]) / 1e3,
               vnm_lat_hist_quantile (f, q[2]) / 1e3, (guint64) f->count,
               vnm_lat_hist_quantile (sm, q[0]) / 1e3, vnm_lat_hist_quantile (sm, q[1]) / 1e3,
               vnm_lat_hist_quantile (sm, q[2]) / 1e3, (guint64) sm->count,
               vnm_lat_hist_quantile (sm, q[0]) / MAX (vnm_lat_hist_quantile (f, q[0]), 1),
               vnm_lat_hist_quantile (sm, q[1]) / MAX (vnm_lat_hist_quantile (f, q[1]), 1),
               vnm_lat_hist_quantile (sm, q[2]) / MAX (vnm_lat_hist_quantile (f, q[2]), 1));
    }
  g_print ("\nThe pump on CPU 1, the reading application (polling, never asleep) and the sampler's timers "
           "on CPU 0. Delivered: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " frames reached the socket, "
           "%" G_GUINT64_FORMAT " dropped for a full receive buffer. Stale paths (left by a window): "
           "%" G_GUINT64_FORMAT "; paths that lost their slot: %" G_GUINT64_FORMAT ".\n",
           in1 - in0, sent, err1 - err0, vnm_latency_probe_counter (lat, VNM_LAT_PATHS_STALE),
           vnm_latency_probe_counter (lat, VNM_LAT_PATHS_REPLACED));

  sampling = FALSE;
  g_main_context_wakeup (st.ctx);
  g_thread_join (thread);
  vnm_latency_sampler_free (st.sampler);
  g_main_context_unref (st.ctx);
  vnm_latency_probe_free (lat);
  close (fd);
  remove_full_path (receiver);
  status = (in1 - in0 < sent * 99 / 100) ? 1 : 0;
  for (gint r = 0; r < N_SMP; r++)
    {
      g_free (pps[r]);
      g_free (ratio[r]);
    }
  return status;
}

typedef struct {
  VnmFlowProbe *tcx, *clsact;
  struct bpf_program *empty;
  int empty_link;
  gint ifindex;
} Hooks;

static void
attach (Hooks *h, gint run)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  if (run == RUN_EMPTY)
    {
      DECLARE_LIBBPF_OPTS (bpf_link_create_opts, opts);
      h->empty_link = bpf_link_create (bpf_program__fd (h->empty), h->ifindex, VNM_BPF_TCX_INGRESS, &opts);
      ok = h->empty_link >= 0;
    }
  else if (run == RUN_TCX)
    ok = vnm_flow_probe_attach (h->tcx, h->ifindex, TAP_NAME, FALSE, NULL, &error);
  else if (run == RUN_CLSACT)
    ok = vnm_flow_probe_attach (h->clsact, h->ifindex, TAP_NAME, FALSE, NULL, &error);
  if (!ok)
    g_error ("attach (%s): %s", run_label[run], error ? error->message : g_strerror (errno));
}

static void
detach (Hooks *h, gint run)
{
  if (run == RUN_EMPTY)
    close (h->empty_link);
  else if (run == RUN_TCX)
    vnm_flow_probe_detach (h->tcx, h->ifindex, FALSE);
  else if (run == RUN_CLSACT)
    vnm_flow_probe_detach (h->clsact, h->ifindex, FALSE);
}

int
main (int argc, char **argv)
{
  gint packets = 100000, rounds = 15;
  gboolean full = FALSE, latency = FALSE, sampled = FALSE;
  gint seconds = 10, window_ms = VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS;
  gint period_s = VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S, steady_pps = 50000, steady_pairs = 4;
  g_autofree gchar *empty_obj = NULL;
  GOptionEntry entries[] = {
    { "full-path", 0, 0, G_OPTION_ARG_NONE, &full,
      "Deliver the frames: tap -> bridge -> veth -> namespace -> UDP socket read by an application", NULL },
    { "latency", 0, 0, G_OPTION_ARG_NONE, &latency,
      "Measure the latency probe (tracing off, on, on with every packet an event) on the full path", NULL },
    { "latency-sampled", 0, 0, G_OPTION_ARG_NONE, &sampled,
      "Measure sampled latency tracing against off and full, in runs of whole sampling periods", NULL },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Seconds a run (--latency-sampled; whole periods)", "N" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window_ms, "Sampling window for the throughput runs (ms)", "MS" },
    { "period", 0, 0, G_OPTION_ARG_INT, &period_s, "Sampling period for the throughput runs (s)", "S" },
    { "steady-pps", 0, 0, G_OPTION_ARG_INT, &steady_pps, "Frames a second of the percentile runs", "N" },
    { "steady-pairs", 0, 0, G_OPTION_ARG_INT, &steady_pairs,
      "Runs of one default period in each mode for the percentiles", "N" },
    { "empty-program", 0, 0, G_OPTION_ARG_FILENAME, &empty_obj,
      "BPF object whose first program does nothing (the hook's own cost)", "FILE" },
    { "packets", 'n', 0, G_OPTION_ARG_INT, &packets, "Frames per run", "N" },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Rounds", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— flow probe cost on a tap path");
  g_autoptr(GError) error = NULL;
  g_autofree gchar *state = NULL;
  g_autofree gchar *old_stats = NULL;
  struct bpf_object *empty = NULL;
  struct ifreq ifr = { 0 };
  Hooks h = { 0 };
  gdouble *pps[N_RUNS], *ratio[N_RUNS];
  guint64 sent = 0, in0 = 0, in1 = 0, err0 = 0, err1 = 0;
  __u64 cost_ns[N_RUNS] = { 0 }, cost_runs[N_RUNS] = { 0 };
  pid_t receiver = 0;
  int fd;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || packets < 1000 || rounds < 1 || (!empty_obj && !sampled))
    {
      g_printerr ("bench-probe: %s\n", error ? error->message : "bad arguments (--empty-program is required)");
      return 2;
    }
  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      g_printerr ("bench-probe: /dev/net/tun: %s\n", g_strerror (errno));
      return 1;
    }
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  g_strlcpy (ifr.ifr_name, TAP_NAME, sizeof ifr.ifr_name);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      g_printerr ("bench-probe: cannot create %s: %s\n", TAP_NAME, g_strerror (errno));
      return 1;
    }
  if (system ("ip link set " TAP_NAME " up") != 0)
    return 1;
  if (full || latency || sampled)
    {
      if (!build_full_path ())
        {
          g_printerr ("bench-probe: cannot build the full path\n");
          return 1;
        }
      receiver = start_receiver ();
      g_usleep (300000);
    }
  if (sampled)
    return sampled_main (fd, receiver, seconds, rounds, window_ms, period_s * 1000, steady_pps,
                         steady_pairs);
  if (latency)
    return latency_main (fd, receiver, empty_obj, packets, rounds);
  pin_to_cpu (1);
  h.ifindex = if_nametoindex (TAP_NAME);

  empty = bpf_object__open_file (empty_obj, NULL);
  if (!empty || bpf_object__load (empty) < 0)
    {
      g_printerr ("bench-probe: cannot load %s\n", empty_obj);
      return 1;
    }
  h.empty = bpf_object__next_program (empty, NULL);
  state = g_dir_make_tmp ("vnm-bench-XXXXXX", NULL);
  h.tcx = vnm_flow_probe_new (65536, VNM_PROBE_ATTACH_TCX, state, NULL, NULL, NULL, &error);
  if (h.tcx)
    h.clsact = vnm_flow_probe_new (65536, VNM_PROBE_ATTACH_CLSACT, state, NULL, NULL, NULL, &error);
  if (!h.tcx || !h.clsact)
    {
      g_printerr ("bench-probe: %s\n", error->message);
      return 1;
    }
  g_file_get_contents ("/proc/sys/kernel/bpf_stats_enabled", &old_stats, NULL, NULL);

  for (gint r = 0; r < N_RUNS; r++)
    {
      pps[r] = g_new0 (gdouble, rounds);
      ratio[r] = g_new0 (gdouble, rounds);
    }
  pump (fd, packets / 2);  /* warm up */
  if (full)
    netns_udp_counters (&in0, &err0);
  for (gint round = 0; round < rounds; round++)
    {
      /* The runs rotate, so that no kind always comes first in a round or
       * follows another. */
      for (gint k = 0; k < N_RUNS; k++)
        {
          gint run = (k + round) % N_RUNS;
          attach (&h, run);
          pps[run][round] = pump (fd, packets);
          sent += packets;
          detach (&h, run);
        }
      for (gint run = 0; run < N_RUNS; run++)
        ratio[run][round] = pps[run][round] / pps[RUN_NONE][round];
    }
  if (full)
    {
      g_usleep (300000);
      netns_udp_counters (&in1, &err1);
    }

  /* The kernel's accounting, untimed: it costs two clock reads a packet. */
  write_sysctl ("1");
  for (gint run = RUN_EMPTY; run < N_RUNS; run++)
    {
      const gchar *name = run == RUN_EMPTY ? bpf_program__name (h.empty) : "vnm_tc_from_vm";
      __u64 ns0 = 0, n0 = 0, ns1 = 0, n1 = 0;
      attach (&h, run);
      program_stats (h.ifindex, name, &ns0, &n0);
      pump (fd, packets);
      program_stats (h.ifindex, name, &ns1, &n1);
      detach (&h, run);
      cost_ns[run] = ns1 - ns0;
      cost_runs[run] = n1 - n0;
    }
  if (old_stats)
    write_sysctl (g_strstrip (old_stats));

  const gchar *path = full ? "tap -> bridge -> veth -> netns, read by a UDP application"
                           : "tap -> IP stack (dropped: not for this host)";
  g_print ("| path | hook | packets per second (median of %d runs of %d) | ratio to no hook "
           "(median; quartiles) | cost per packet (bpf_stats) |\n|---|---|---:|---:|---:|\n",
           rounds, packets);
  for (gint run = 0; run < N_RUNS; run++)
    {
      gdouble m = median (pps[run], rounds);
      g_autofree gchar *cost = cost_runs[run] ? g_strdup_printf ("%.0f ns", (gdouble) cost_ns[run] / cost_runs[run])
                                              : g_strdup ("");
      qsort (ratio[run], rounds, sizeof (gdouble), compare_double);
      if (run == RUN_NONE)
        g_print ("| %s | %s | %.0f | | |\n", path, run_label[run], m);
      else
        g_print ("| %s | %s | %.0f | %s%.3f%s (%.3f to %.3f) | %s |\n", path, run_label[run], m,
                 run == RUN_TCX ? "**" : "", ratio[run][rounds / 2], run == RUN_TCX ? "**" : "",
                 ratio[run][rounds / 4], ratio[run][(3 * rounds) / 4], cost);
    }
  g_print ("\n%d distinct flows; the pump on CPU 1%s.\n", FLOWS,
           full ? ", the reading application (polling, never asleep) on CPU 0" : "");
  if (full)
    g_print ("Delivered: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
             " timed frames reached the socket (the namespace's Udp InDatagrams), "
             "%" G_GUINT64_FORMAT " dropped for a full receive buffer.\n",
             in1 - in0, sent, err1 - err0);

  vnm_flow_probe_free (h.tcx);
  vnm_flow_probe_free (h.clsact);
  bpf_object__close (empty);
  close (fd);
  if (full)
    remove_full_path (receiver);
  g_rmdir (state);
  for (gint r = 0; r < N_RUNS; r++)
    {
      g_free (pps[r]);
      g_free (ratio[r]);
    }
  return full && in1 - in0 < sent * 99 / 100 ? 1 : 0;
}
