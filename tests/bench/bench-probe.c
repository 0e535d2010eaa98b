/* bench-probe: what the flow probe costs on a VM's datapath. A userspace
 * pump writes UDP frames (many 5-tuples) to a tap fd, the way QEMU hands a
 * guest's packets to the host; the kernel takes each one through tc
 * ingress and the IP stack. Rounds without and with the probe alternate in
 * one run; the figure is packets per second with / without. Per-packet cost
 * comes from the kernel's own accounting (kernel.bpf_stats_enabled).
 *
 * Prints a Markdown table. Needs root and /dev/net/tun. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "probes.h"

#define TAP_NAME "vnmbench0"
#define FLOWS 1024

static guint8 frame[64];

static void
build_frame (guint16 sport)
{
  static const guint8 head[] = {
    0x52, 0x54, 0x00, 0xbe, 0x4c, 0x01,   /* dst */
    0x52, 0x54, 0x00, 0xbe, 0x4c, 0x02,   /* src */
    0x08, 0x00,
    0x45, 0x00, 0x00, 50, 0, 0, 0x40, 0, 64, 17, 0, 0,   /* IPv4, UDP, len 50 */
    198, 18, 0, 2,  198, 18, 1, 1,
  };
  memcpy (frame, head, sizeof head);
  frame[34] = sport >> 8;
  frame[35] = sport & 0xff;
  frame[36] = 0x13;  /* dport 5000 */
  frame[37] = 0x88;
  frame[38] = 0;
  frame[39] = 30;    /* UDP length */
}

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

/* run_time_ns / run_cnt of the ingress program on @ifindex. */
static gboolean
program_stats (gint ifindex, __u64 *run_ns, __u64 *runs)
{
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  DECLARE_LIBBPF_OPTS (bpf_tc_opts, opts, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY);
  struct bpf_prog_info info = { 0 };
  __u32 len = sizeof info;
  int fd;

  if (bpf_tc_query (&hook, &opts) < 0 || (fd = bpf_prog_get_fd_by_id (opts.prog_id)) < 0)
    return FALSE;
  if (bpf_obj_get_info_by_fd (fd, &info, &len) < 0)
    {
      close (fd);
      return FALSE;
    }
  close (fd);
  *run_ns = info.run_time_ns;
  *runs = info.run_cnt;
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint packets = 300000, rounds = 5;
  gboolean full = FALSE;
  GOptionEntry entries[] = {
    { "full-path", 0, 0, G_OPTION_ARG_NONE, &full,
      "Deliver the frames: tap -> bridge -> veth -> namespace -> UDP socket", NULL },
    { "packets", 'n', 0, G_OPTION_ARG_INT, &packets, "Frames per round", "N" },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Rounds of each kind", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— flow probe cost on a tap path");
  g_autoptr(GError) error = NULL;
  g_autofree gdouble *off = NULL, *on = NULL;
  g_autofree gchar *state = NULL;
  g_autofree gchar *old_stats = NULL;
  struct ifreq ifr = { 0 };
  VnmProbes *probes;
  __u64 ns0 = 0, n0 = 0, ns1 = 0, n1 = 0;
  gint ifindex;
  int fd;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || packets < 1000 || rounds < 1)
    {
      g_printerr ("bench-probe: %s\n", error ? error->message : "bad arguments");
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
  if (full &&
      system ("set -e; ip netns add vnmbench-ns; ip -n vnmbench-ns link set lo up;"
              "ip link add vnmbench-br type bridge; ip link set vnmbench-br up;"
              "ip link add vnmbench-v0 type veth peer name eth0 netns vnmbench-ns;"
              "ip -n vnmbench-ns link set eth0 address 52:54:00:be:4c:01 up;"
              "ip -n vnmbench-ns addr add 198.18.1.1/24 dev eth0;"
              "ip link set vnmbench-v0 master vnmbench-br up;"
              "ip link set " TAP_NAME " master vnmbench-br;"
              "ip netns exec vnmbench-ns python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,"
              "socket.SOCK_DGRAM); s.bind((\"198.18.1.1\",5000)); time.sleep(3600)' & sleep 0.5") != 0)
    {
      g_printerr ("bench-probe: cannot build the full path\n");
      return 1;
    }
  ifindex = if_nametoindex (TAP_NAME);
  build_frame (10000);

  state = g_dir_make_tmp ("vnm-bench-XXXXXX", NULL);
  probes = vnm_probes_new (65536, state, NULL, NULL, &error);
  if (!probes)
    {
      g_printerr ("bench-probe: %s\n", error->message);
      return 1;
    }
  g_file_get_contents ("/proc/sys/kernel/bpf_stats_enabled", &old_stats, NULL, NULL);

  off = g_new0 (gdouble, rounds);
  on = g_new0 (gdouble, rounds);
  pump (fd, packets / 4);  /* warm up */
  for (gint r = 0; r < rounds; r++)
    {
      off[r] = pump (fd, packets);
      if (!vnm_probes_attach (probes, ifindex, TAP_NAME, &error))
        {
          g_printerr ("bench-probe: %s\n", error->message);
          return 1;
        }
      on[r] = pump (fd, packets);
      if (r == rounds - 1)
        {
          /* One extra round with the kernel's accounting, not timed: the
           * accounting itself costs two clock reads per packet. */
          write_sysctl ("1");
          program_stats (ifindex, &ns0, &n0);
          pump (fd, packets);
          program_stats (ifindex, &ns1, &n1);
          write_sysctl ("0");
        }
      vnm_probes_detach (probes, ifindex, FALSE);
    }
  if (old_stats)
    write_sysctl (g_strstrip (old_stats));

  gdouble m_off = median (off, rounds), m_on = median (on, rounds);
  const gchar *path = full ? "tap -> bridge -> veth -> netns UDP socket" : "tap -> IP stack (dropped: not for this host)";
  g_print ("| path | probe | packets per second (median of %d rounds of %d) | ratio |\n"
           "|---|---|---:|---:|\n", rounds, packets);
  g_print ("| %s | no | %.0f | |\n", path, m_off);
  g_print ("| %s | flow probe | %.0f | **%.3f** |\n", path, m_on, m_on / m_off);
  g_print ("\n");
  if (n1 > n0)
    g_print ("Probe cost from kernel.bpf_stats_enabled (last round): %.0f ns per packet "
             "over %" G_GUINT64_FORMAT " runs, %d distinct flows.\n",
             (gdouble) (ns1 - ns0) / (n1 - n0), (guint64) (n1 - n0), FLOWS);
  else
    g_print ("(bpf_stats_enabled gave no figures.)\n");

  vnm_probes_free (probes);
  close (fd);
  if (full)
    {
      int ignored = system ("kill $(ip netns pids vnmbench-ns) 2>/dev/null; sleep 0.3;"
                            "ip netns del vnmbench-ns; ip link del vnmbench-br;"
                            "ip link del vnmbench-v0 2>/dev/null; true");
      (void) ignored;
    }
  g_rmdir (state);
  return 0;
}
