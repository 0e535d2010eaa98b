/* bench-refresh: the cost of one full stats refresh of every host interface,
 * measured side by side in one process so the figures are comparable:
 *
 *   netlink    virtnetmon's vnm_linkstats_dump() (one RTM_GETLINK dump with
 *              64-bit stats, libmnl) — what virtnetmond does per interval
 *   procfs     read and parse /proc/net/dev, the way psutil and the
 *              reference TUI do
 *   sysfs      read /sys/class/net/IFACE/statistics/FILE (8 files per device),
 *              the other common way
 *   libvirt    virConnectGetAllDomainStats(VIR_DOMAIN_STATS_INTERFACE), what
 *              `virsh domstats --interface` and libvirt exporters call; it
 *              covers only interfaces of running domains (--libvirt URI)
 *
 * Prints one tab-separated line per method:
 *   method  interfaces  iterations  median_us  p95_us  us_per_interface
 * Not a test: it asserts nothing beyond each method seeing interfaces. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "linkstats.h"

typedef guint (*RefreshFunc) (gpointer data);

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

static void
run (const gchar *method, RefreshFunc func, gpointer data, guint iterations)
{
  g_autofree gint64 *us = g_new0 (gint64, iterations);
  guint seen = 0;

  func (data);  /* warm caches, open sockets */
  for (guint i = 0; i < iterations; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      seen = func (data);
      us[i] = g_get_monotonic_time () - t0;
    }
  qsort (us, iterations, sizeof (gint64), compare_gint64);
  if (seen == 0)
    {
      g_printerr ("bench-refresh: %s saw no interface\n", method);
      exit (1);
    }
  gint64 median = us[iterations / 2];
  gint64 p95 = us[MIN (iterations - 1, iterations * 95 / 100)];
  g_print ("%s\t%u\t%u\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%.2f\n",
           method, seen, iterations, median, p95, (double) median / seen);
}

/* --- netlink (ours) --- */

typedef struct {
  VnmLinkStats *ls;
  GArray *links;
} NetlinkBench;

static guint
refresh_netlink (gpointer data)
{
  NetlinkBench *b = data;
  g_autoptr(GError) error = NULL;

  gboolean interrupted = FALSE;

  if (!vnm_linkstats_dump (b->ls, b->links, &interrupted, &error))
    g_error ("netlink dump: %s", error->message);
  return b->links->len;
}

/* --- /proc/net/dev --- */

typedef struct {
  gchar name[16];
  VnmCounters c;
} ParsedLink;

static guint
refresh_procfs (gpointer data)
{
  GArray *out = data;
  static gchar buf[1 << 20];
  gssize len = 0, n;
  int fd = open ("/proc/net/dev", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    g_error ("/proc/net/dev: %s", g_strerror (errno));
  while ((n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += n;
  close (fd);
  buf[len] = '\0';
  g_array_set_size (out, 0);

  gchar *line = strchr (buf, '\n');            /* skip the two headers */
  line = line ? strchr (line + 1, '\n') : NULL;
  while (line && *++line)
    {
      ParsedLink p = { 0 };
      gchar *colon = strchr (line, ':');
      gchar *end = strchr (line, '\n');
      gchar *s = line;
      guint64 f[16];

      if (!colon)
        break;
      while (*s == ' ')
        s++;
      g_strlcpy (p.name, s, MIN ((gsize) (colon - s + 1), sizeof p.name));
      s = colon + 1;
      for (int i = 0; i < 16; i++)
        f[i] = g_ascii_strtoull (s, &s, 10);
      p.c = (VnmCounters) { f[0], f[1], f[2], f[3], f[8], f[9], f[10], f[11] };
      g_array_append_val (out, p);
      line = end;
    }
  return out->len;
}

/* --- /sys/class/net/IFACE/statistics --- */

static guint64
read_u64_at (int dirfd, const gchar *file)
{
  gchar buf[32];
  int fd = openat (dirfd, file, O_RDONLY | O_CLOEXEC);
  gssize n;

  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  buf[MAX (n, 0)] = '\0';
  return g_ascii_strtoull (buf, NULL, 10);
}

static guint
refresh_sysfs (gpointer data)
{
  GArray *out = data;
  static const gchar *files[] = {
    "rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
    "tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
  };
  DIR *dir = opendir ("/sys/class/net");
  struct dirent *de;

  if (!dir)
    g_error ("/sys/class/net: %s", g_strerror (errno));
  g_array_set_size (out, 0);
  while ((de = readdir (dir)))
    {
      ParsedLink p = { 0 };
      guint64 *v = &p.c.rx_bytes;
      g_autofree gchar *path = NULL;
      int stats;

      if (de->d_name[0] == '.')
        continue;
      path = g_strdup_printf ("/sys/class/net/%s/statistics", de->d_name);
      stats = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (stats < 0)
        continue;
      g_strlcpy (p.name, de->d_name, sizeof p.name);
      for (guint i = 0; i < G_N_ELEMENTS (files); i++)
        v[i] = read_u64_at (stats, files[i]);
      close (stats);
      g_array_append_val (out, p);
    }
  closedir (dir);
  return out->len;
}

/* --- libvirt --- */

static guint
refresh_libvirt (gpointer data)
{
  virConnectPtr conn = data;
  virDomainStatsRecordPtr *records = NULL;
  guint interfaces = 0;
  int n = virConnectGetAllDomainStats (conn, VIR_DOMAIN_STATS_INTERFACE,
                                       &records, VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);

  if (n < 0)
    g_error ("virConnectGetAllDomainStats: %s", virGetLastErrorMessage ());
  for (int i = 0; i < n; i++)
    for (int j = 0; j < records[i]->nparams; j++)
      if (g_str_equal (records[i]->params[j].field, "net.count"))
        interfaces += records[i]->params[j].value.ui;
  virDomainStatsRecordListFree (records);
  return interfaces;
}

int
main (int argc, char **argv)
{
  gint iterations = 200;
  gchar *libvirt_uri = NULL;
  GOptionEntry entries[] = {
    { "iterations", 'n', 0, G_OPTION_ARG_INT, &iterations, "Refreshes per method", "N" },
    { "libvirt", 0, 0, G_OPTION_ARG_STRING, &libvirt_uri,
      "Also time libvirt's interface stats of running domains", "URI" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— time one full stats refresh");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || iterations < 1)
    {
      g_printerr ("bench-refresh: %s\n", error ? error->message : "bad --iterations");
      return 2;
    }

  NetlinkBench nb = { vnm_linkstats_new (&error), g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  if (!nb.ls)
    {
      g_printerr ("bench-refresh: %s\n", error->message);
      return 1;
    }
  g_autoptr(GArray) parsed = g_array_new (FALSE, TRUE, sizeof (ParsedLink));

  g_print ("method\tinterfaces\titerations\tmedian_us\tp95_us\tus_per_interface\n");
  run ("netlink", refresh_netlink, &nb, iterations);
  run ("procfs", refresh_procfs, parsed, iterations);
  run ("sysfs", refresh_sysfs, parsed, iterations);
  if (libvirt_uri)
    {
      virConnectPtr conn = virConnectOpenReadOnly (libvirt_uri);
      if (!conn)
        {
          g_printerr ("bench-refresh: cannot connect to %s: %s\n", libvirt_uri,
                      virGetLastErrorMessage ());
          return 1;
        }
      run ("libvirt", refresh_libvirt, conn, MAX (iterations / 10, 5));
      virConnectClose (conn);
    }
  g_array_unref (nb.links);
  vnm_linkstats_free (nb.ls);
  return 0;
}
