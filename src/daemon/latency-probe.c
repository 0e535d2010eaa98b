/* latency-probe.c: libbpf side of the latency and drop probe. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <glib-unix.h>

#include "latency.skel.h"
#include "bpf-pin.h"
#include "latency-probe.h"
#include "vnm-autocleanups.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define DROP_REASON_PREFIX "SKB_DROP_REASON_"

enum { PROG_RECEIVE, PROG_QUEUE, PROG_XMIT, PROG_CONSUME, PROG_DROP, N_PROGS };

struct _VnmLatencyProbe {
  struct vnm_latency_bpf *skel;
  gboolean btf;
  struct bpf_program *prog[N_PROGS];
  struct bpf_link *link[N_PROGS];
  struct ring_buffer *events;
  guint events_source;
  VnmLatencyEventFunc on_event;
  gpointer user_data;
  GHashTable *reasons;     /* GUINT_TO_POINTER (value) -> name */
  GHashTable *devices;     /* ifindex -> struct vnm_lat_dev, as in vnm_lat_devs */
  GHashTable *hists;       /* ifindex -> its histogram block + 1 */
  guint32 *block_owner;    /* [block]: ifindex, 0 = free */
  guint n_blocks, next_block;
};

static int
ring_event (void *ctx, void *data, size_t size)
{
  VnmLatencyProbe *p = ctx;

  if (size >= sizeof (struct vnm_lat_event) && p->on_event)
    p->on_event (data, p->user_data);
  return 0;
}

static gboolean
ring_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  VnmLatencyProbe *p = user_data;

  ring_buffer__consume (p->events);
  return G_SOURCE_CONTINUE;
}

static void
load_reason_names (VnmLatencyProbe *p)
{
  struct btf *vmlinux = btf__load_vmlinux_btf ();
  const struct btf_type *t;
  const struct btf_enum *e;
  int id;

  p->reasons = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  if (!vmlinux)
    return;
  id = btf__find_by_name_kind (vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
  if (id > 0 && (t = btf__type_by_id (vmlinux, id)))
    {
      e = btf_enum (t);
      for (guint i = 0; i < btf_vlen (t); i++, e++)
        {
          const gchar *name = btf__name_by_offset (vmlinux, e->name_off);
          if (!name)
            continue;
          if (g_str_has_prefix (name, DROP_REASON_PREFIX))
            name += strlen (DROP_REASON_PREFIX);
          g_hash_table_insert (p->reasons, GUINT_TO_POINTER ((guint32) e->val), g_strdup (name));
        }
    }
  btf__free (vmlinux);
}

/* Opens and loads the probe with the programs of one kind: @use_btf,
 * and with @direct_reads the packet headers read in place (else copied). */
static struct vnm_latency_bpf *
open_and_load (gboolean use_btf, gboolean direct_reads, guint32 netns_ino, guint paths,
               guint hist_devices, const gchar *drops_pin, gboolean *drops_adopted,
               struct bpf_program **progs, GError **error)
{
  g_autoptr(VnmLatencyBpf) skel = vnm_latency_bpf__open ();
  struct bpf_program *btf_progs[N_PROGS], *raw_progs[N_PROGS];
  int err;

  if (!skel)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("Cannot open the latency probe: %s"), g_strerror (errno));
      return NULL;
    }
  skel->rodata->host_netns_ino = netns_ino;
  /* The path table is direct-mapped: a power of two, at least @paths. */
  paths = MIN (MAX (paths, 64u), 1u << 24);
  paths = 1u << g_bit_storage (paths - 1);
  skel->rodata->paths_mask = paths - 1;
  skel->rodata->direct_reads = direct_reads;
  bpf_map__set_max_entries (skel->maps.vnm_lat_paths, paths);
  hist_devices = CLAMP (hist_devices, 1u, 65536u);
  bpf_map__set_max_entries (skel->maps.vnm_lat_hists, hist_devices * VNM_LAT_BLOCK);

  btf_progs[PROG_RECEIVE] = skel->progs.vnm_btf_receive;
  btf_progs[PROG_QUEUE] = skel->progs.vnm_btf_queue;
  btf_progs[PROG_XMIT] = skel->progs.vnm_btf_xmit;
  btf_progs[PROG_CONSUME] = skel->progs.vnm_btf_consume;
  btf_progs[PROG_DROP] = skel->progs.vnm_btf_drop;
  raw_progs[PROG_RECEIVE] = skel->progs.vnm_raw_receive;
  raw_progs[PROG_QUEUE] = skel->progs.vnm_raw_queue;
  raw_progs[PROG_XMIT] = skel->progs.vnm_raw_xmit;
  raw_progs[PROG_CONSUME] = skel->progs.vnm_raw_consume;
  raw_progs[PROG_DROP] = skel->progs.vnm_raw_drop;
  for (guint i = 0; i < N_PROGS; i++)
    {
      bpf_program__set_autoload (use_btf ? raw_progs[i] : btf_progs[i], false);
      progs[i] = use_btf ? btf_progs[i] : raw_progs[i];
    }

  *drops_adopted = FALSE;
  if (drops_pin)
    {
      int fd = vnm_bpf_open_compatible_pin (skel->maps.vnm_lat_drops, drops_pin, NULL);
      if (fd >= 0)
        {
          *drops_adopted = bpf_map__reuse_fd (skel->maps.vnm_lat_drops, fd) == 0;
          close (fd);
        }
    }
  err = vnm_latency_bpf__load (skel);
  if (err)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("The kernel refused the latency probe (%s tracepoint programs): %s"),
                   use_btf ? "tp_btf" : "raw_tp", g_strerror (-err));
      return NULL;
    }
  return g_steal_pointer (&skel);
}

VnmLatencyProbe *
vnm_latency_probe_new (gboolean use_btf, guint paths, guint hist_devices, const gchar *drops_pin,
                       gboolean *drops_adopted, VnmLatencyEventFunc on_event,
                       gpointer user_data, GError **error)
{
  g_autoptr(VnmLatencyBpf) skel = NULL;
  g_autoptr(VnmLatencyProbe) p = NULL;
  struct bpf_program *progs[N_PROGS];
  struct stat st;
  int err;

  if (stat ("/proc/self/ns/net", &st) < 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot tell this process's network namespace (/proc/self/ns/net): %s"),
                   g_strerror (errno));
      return NULL;
    }
  /* tp_btf programs read the headers in place where the kernel allows it
   * (Linux 6.17 and later), else they copy them. */
  skel = open_and_load (use_btf, use_btf, (guint32) st.st_ino, paths, hist_devices, drops_pin,
                        drops_adopted, progs, use_btf ? NULL : error);
  if (!skel && use_btf)
    skel = open_and_load (TRUE, FALSE, (guint32) st.st_ino, paths, hist_devices, drops_pin,
                          drops_adopted, progs, error);
  if (!skel)
    return NULL;

  if (drops_pin && !*drops_adopted && (err = bpf_map__pin (skel->maps.vnm_lat_drops, drops_pin)) < 0)
    g_warning (_("Cannot pin the drop counters at %s: %s; they restart with the daemon."),
               drops_pin, g_strerror (-err));

  p = g_new0 (VnmLatencyProbe, 1);
  p->btf = use_btf;
  p->on_event = on_event;
  p->user_data = user_data;
  p->devices = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  p->hists = g_hash_table_new (NULL, NULL);
  p->n_blocks = hist_devices;
  p->block_owner = g_new0 (guint32, hist_devices);
  for (guint i = 0; i < N_PROGS; i++)
    p->prog[i] = progs[i];
  p->skel = g_steal_pointer (&skel);

  /* Drops are counted whether or not any VM is traced. */
  p->link[PROG_DROP] = bpf_program__attach (p->prog[PROG_DROP]);
  if (!p->link[PROG_DROP])
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("The kernel refused to attach to the skb:kfree_skb tracepoint: %s"),
                   g_strerror (errno));
      return NULL;
    }
  p->events = ring_buffer__new (bpf_map__fd (p->skel->maps.vnm_lat_events), ring_event, p, NULL);
  if (!p->events)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("Cannot read the latency probe's ring buffer: %s"), g_strerror (errno));
      return NULL;
    }
  p->events_source = g_unix_fd_add (ring_buffer__epoll_fd (p->events), G_IO_IN, ring_readable, p);
  load_reason_names (p);
  return g_steal_pointer (&p);
}

void
vnm_latency_probe_free (VnmLatencyProbe *p)
{
  if (!p)
    return;
  if (p->events_source)
    g_source_remove (p->events_source);
  if (p->events)
    ring_buffer__free (p->events);
  for (guint i = 0; i < N_PROGS; i++)
    if (p->link[i])
      bpf_link__destroy (p->link[i]);
  if (p->skel)
    vnm_latency_bpf__destroy (p->skel);
  g_clear_pointer (&p->reasons, g_hash_table_unref);
  g_clear_pointer (&p->devices, g_hash_table_unref);
  g_clear_pointer (&p->hists, g_hash_table_unref);
  g_free (p->block_owner);
  g_free (p);
}

const gchar *
vnm_latency_probe_program (VnmLatencyProbe *p)
{
  return p->btf ? "tp_btf" : "raw_tp";
}

gboolean
vnm_latency_probe_tracing (VnmLatencyProbe *p)
{
  return p->link[PROG_RECEIVE] != NULL;
}

gboolean
vnm_latency_probe_set_tracing (VnmLatencyProbe *p, gboolean on, GError **error)
{
  static const gchar *const names[] = { "net:netif_receive_skb", "net:net_dev_queue",
                                        "net:net_dev_start_xmit", "skb:consume_skb" };

  /* Paths left half-done by an earlier window are stale from now on, and
   * while detached no path is current (see window_start_ns). */
  if (on != (p->link[PROG_RECEIVE] != NULL))
    {
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      p->skel->bss->window_start_ns = (guint64) ts.tv_sec * 1000000000ull + (guint64) ts.tv_nsec;
    }
  for (guint i = PROG_RECEIVE; i <= PROG_CONSUME; i++)
    {
      if (!on)
        {
          g_clear_pointer (&p->link[i], bpf_link__destroy);
          continue;
        }
      if (p->link[i])
        continue;
      p->link[i] = bpf_program__attach (p->prog[i]);
      if (!p->link[i])
        {
          int err = errno;
          g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                       _("The kernel refused to attach to the %s tracepoint: %s"),
                       names[i], g_strerror (err));
          for (guint j = PROG_RECEIVE; j <= PROG_CONSUME; j++)
            g_clear_pointer (&p->link[j], bpf_link__destroy);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
map_error (GError **error, const gchar *what, int err)
{
  g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED, _("Cannot update the latency probe's %s: %s"),
               what, g_strerror (err < 0 ? -err : err));
  return FALSE;
}

/* The program's "maybe ours" bit of @ifindex (shared by every ifindex
 * equal modulo VNM_LAT_DEV_BITS): set while any device of the table has it.
 * Set after the device is in the table, cleared before it leaves. */
static void
update_dev_bit (VnmLatencyProbe *p, guint32 ifindex)
{
  guint32 bit = ifindex % VNM_LAT_DEV_BITS;
  __u64 mask = (__u64) 1 << (bit % 64), *word = &p->skel->bss->vnm_lat_dev_bits[bit / 64];
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, p->devices);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (GPOINTER_TO_UINT (key) % VNM_LAT_DEV_BITS == bit)
      {
        __atomic_fetch_or (word, mask, __ATOMIC_SEQ_CST);
        return;
      }
  __atomic_fetch_and (word, ~mask, __ATOMIC_SEQ_CST);
}

static guint32
hist_block_of (VnmLatencyProbe *p, guint32 ifindex)
{
  guint block = GPOINTER_TO_UINT (g_hash_table_lookup (p->hists, GUINT_TO_POINTER (ifindex)));

  return block ? block - 1 : VNM_LAT_NO_HISTS;
}

gboolean
vnm_latency_probe_has_hists (VnmLatencyProbe *p, guint32 ifindex)
{
  return hist_block_of (p, ifindex) != VNM_LAT_NO_HISTS;
}

gboolean
vnm_latency_probe_hists_full (VnmLatencyProbe *p)
{
  return g_hash_table_size (p->hists) >= p->n_blocks;
}

/* Writes @ifindex's configuration with its histogram block. */
static gboolean
write_device (VnmLatencyProbe *p, guint32 ifindex, const struct vnm_lat_dev *cfg, GError **error)
{
  struct vnm_lat_dev dev = *cfg;
  int err;

  dev.hist_block = hist_block_of (p, ifindex);
  err = bpf_map__update_elem (p->skel->maps.vnm_lat_devs, &ifindex, sizeof ifindex, &dev,
                              sizeof dev, BPF_ANY);
  return err == 0 || map_error (error, _("device table"), err);
}

gboolean
vnm_latency_probe_set_device (VnmLatencyProbe *p, guint32 ifindex, const struct vnm_lat_dev *cfg,
                              GError **error)
{
  if (!write_device (p, ifindex, cfg, error))
    return FALSE;
  g_hash_table_replace (p->devices, GUINT_TO_POINTER (ifindex), g_memdup2 (cfg, sizeof *cfg));
  update_dev_bit (p, ifindex);
  return TRUE;
}

void
vnm_latency_probe_remove_device (VnmLatencyProbe *p, guint32 ifindex)
{
  g_hash_table_remove (p->devices, GUINT_TO_POINTER (ifindex));
  update_dev_bit (p, ifindex);
  bpf_map__delete_elem (p->skel->maps.vnm_lat_devs, &ifindex, sizeof ifindex, 0);
}

gboolean
vnm_latency_probe_set_mac (VnmLatencyProbe *p, guint64 k, guint32 ifindex, GError **error)
{
  int err = bpf_map__update_elem (p->skel->maps.vnm_lat_macs, &k, sizeof k, &ifindex,
                                   sizeof ifindex, BPF_ANY);
  return err == 0 || map_error (error, _("MAC table"), err);
}

void
vnm_latency_probe_remove_mac (VnmLatencyProbe *p, guint64 k)
{
  bpf_map__delete_elem (p->skel->maps.vnm_lat_macs, &k, sizeof k, 0);
}

gboolean
vnm_latency_probe_reset_hists (VnmLatencyProbe *p, guint32 ifindex, GError **error)
{
  g_autofree struct vnm_lat_hist *empty = g_new0 (struct vnm_lat_hist, 1);
  guint32 block = hist_block_of (p, ifindex);
  const struct vnm_lat_dev *cfg;

  if (block == VNM_LAT_NO_HISTS)
    {
      /* The next free block round the array, not the one just freed:
       * packets still in flight towards a device's old block do not land
       * in another device's new one. */
      for (guint i = 0; i < p->n_blocks && block == VNM_LAT_NO_HISTS; i++)
        if (!p->block_owner[(p->next_block + i) % p->n_blocks])
          block = (p->next_block + i) % p->n_blocks;
      if (block == VNM_LAT_NO_HISTS)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("no room for its latency histograms: %u devices have them, the most at once "
                         "(virtnetmond --latency-devices)"), p->n_blocks);
          return FALSE;
        }
      p->next_block = (block + 1) % p->n_blocks;
    }
  empty->min_ns = G_MAXUINT64;
  for (guint dir = 0; dir < 2; dir++)
    for (guint stage = 0; stage < VNM_STAGE_COUNT; stage++)
      {
        __u32 k = vnm_lat_hist_index (block, dir, stage);
        int err = bpf_map__update_elem (p->skel->maps.vnm_lat_hists, &k, sizeof k, empty,
                                         sizeof *empty, BPF_ANY);
        if (err)
          return map_error (error, _("histograms"), err);
      }
  if (!p->block_owner[block])
    {
      p->block_owner[block] = ifindex;
      g_hash_table_insert (p->hists, GUINT_TO_POINTER (ifindex), GUINT_TO_POINTER (block + 1));
      if ((cfg = g_hash_table_lookup (p->devices, GUINT_TO_POINTER (ifindex))))
        return write_device (p, ifindex, cfg, error);
    }
  return TRUE;
}

void
vnm_latency_probe_remove_hists (VnmLatencyProbe *p, guint32 ifindex)
{
  guint32 block = hist_block_of (p, ifindex);
  const struct vnm_lat_dev *cfg;

  if (block == VNM_LAT_NO_HISTS)
    return;
  g_hash_table_remove (p->hists, GUINT_TO_POINTER (ifindex));
  p->block_owner[block] = 0;
  if ((cfg = g_hash_table_lookup (p->devices, GUINT_TO_POINTER (ifindex))))
    write_device (p, ifindex, cfg, NULL);
}

gboolean
vnm_latency_probe_read_hist (VnmLatencyProbe *p, guint32 ifindex, guint dir, guint stage,
                             struct vnm_lat_hist *out)
{
  guint32 block = hist_block_of (p, ifindex);
  __u32 k;

  if (block == VNM_LAT_NO_HISTS || dir > 1 || stage >= VNM_STAGE_COUNT)
    return FALSE;
  k = vnm_lat_hist_index (block, dir, stage);
  if (bpf_map__lookup_elem (p->skel->maps.vnm_lat_hists, &k, sizeof k, out, sizeof *out, 0) != 0)
    return FALSE;
  /* The program keeps no count: it is the sum of the buckets. */
  out->count = 0;
  for (guint b = 0; b < VNM_LAT_BUCKETS; b++)
    out->count += out->buckets[b];
  return TRUE;
}

GArray *
vnm_latency_probe_read_drops (VnmLatencyProbe *p)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (VnmLatDrop));
  struct bpf_map *map = p->skel->maps.vnm_lat_drops;
  struct vnm_lat_drop_key key, next;
  void *prev = NULL;

  while (bpf_map__get_next_key (map, prev, &next, sizeof next) == 0)
    {
      VnmLatDrop d = { .key = next };
      if (bpf_map__lookup_elem (map, &next, sizeof next, &d.count, sizeof d.count, 0) == 0)
        g_array_append_val (out, d);
      key = next;
      prev = &key;
    }
  return out;
}

void
vnm_latency_probe_clear_drops (VnmLatencyProbe *p, guint32 ifindex)
{
  g_autoptr(GArray) drops = vnm_latency_probe_read_drops (p);

  for (guint i = 0; i < drops->len; i++)
    {
      VnmLatDrop *d = &g_array_index (drops, VnmLatDrop, i);
      if (d->key.ifindex == ifindex)
        bpf_map__delete_elem (p->skel->maps.vnm_lat_drops, &d->key, sizeof d->key, 0);
    }
}

guint64
vnm_latency_probe_counter (VnmLatencyProbe *p, guint which)
{
  return which < VNM_LAT_COUNTERS ? p->skel->bss->vnm_lat_counters[which] : 0;
}

const gchar *
vnm_latency_probe_reason_name (VnmLatencyProbe *p, guint32 reason)
{
  return g_hash_table_lookup (p->reasons, GUINT_TO_POINTER (reason));
}
