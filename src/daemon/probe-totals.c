/* probe-totals.c: the flow probe's per-device totals maps, with libbpf. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "probe-totals.h"
#include "vnm-error.h"

struct _VnmProbeTotalsMaps {
  int slots_fd;                    /* PERCPU_ARRAY of struct vnm_totals_slot */
  int spill_fd;                    /* PERCPU_HASH ifindex -> vnm_iface_totals */
  gint ncpus;
  struct vnm_totals_slot *slot_buf;    /* one value per CPU */
  struct vnm_iface_totals *spill_buf;
};

G_STATIC_ASSERT (sizeof (struct vnm_totals_slot) % 8 == 0);
G_STATIC_ASSERT (sizeof (struct vnm_iface_totals) % 8 == 0);
G_STATIC_ASSERT ((VNM_TOTALS_SLOTS & (VNM_TOTALS_SLOTS - 1)) == 0);

static __u32
slot_of (gint ifindex)
{
  return (__u32) ifindex & (VNM_TOTALS_SLOTS - 1);
}

VnmProbeTotalsMaps *
vnm_probe_totals_maps_new (int slots_fd, int spill_fd, gint ncpus)
{
  VnmProbeTotalsMaps *m = g_new0 (VnmProbeTotalsMaps, 1);

  m->slots_fd = slots_fd;
  m->spill_fd = spill_fd;
  m->ncpus = ncpus;
  m->slot_buf = g_new0 (struct vnm_totals_slot, ncpus);
  m->spill_buf = g_new0 (struct vnm_iface_totals, ncpus);
  return m;
}

void
vnm_probe_totals_maps_free (VnmProbeTotalsMaps *m)
{
  if (!m)
    return;
  g_free (m->slot_buf);
  g_free (m->spill_buf);
  g_free (m);
}

/* The device holding @slot (every CPU's copy names the same one), 0 when
 * the slot is free; the slot's values are left in slot_buf. */
static __u32
read_slot (VnmProbeTotalsMaps *m, __u32 slot)
{
  if (bpf_map_lookup_elem (m->slots_fd, &slot, m->slot_buf) < 0)
    return 0;
  return m->slot_buf[0].ifindex;
}

static void
sum_cpus (struct vnm_iface_totals *out, const void *first, gsize stride, gint ncpus)
{
  memset (out, 0, sizeof *out);
  for (gint c = 0; c < ncpus; c++)
    {
      const __u64 *src = (const __u64 *) ((const guint8 *) first + c * stride);
      __u64 *dst = (__u64 *) out;
      for (gsize i = 0; i < sizeof *out / sizeof (__u64); i++)
        dst[i] += src[i];
    }
}

gboolean
vnm_probe_totals_maps_has (VnmProbeTotalsMaps *m, gint ifindex)
{
  __u32 key = ifindex;

  return read_slot (m, slot_of (ifindex)) == (__u32) ifindex ||
         bpf_map_lookup_elem (m->spill_fd, &key, m->spill_buf) == 0;
}

gboolean
vnm_probe_totals_maps_start (VnmProbeTotalsMaps *m, gint ifindex, GError **error)
{
  __u32 slot = slot_of (ifindex), key = ifindex, owner = read_slot (m, slot);
  int err;

  /* A device never has totals in both places. */
  if (owner == 0 || owner == key)
    {
      bpf_map_delete_elem (m->spill_fd, &key);
      memset (m->slot_buf, 0, m->ncpus * sizeof *m->slot_buf);
      for (gint c = 0; c < m->ncpus; c++)
        m->slot_buf[c].ifindex = key;
      err = bpf_map_update_elem (m->slots_fd, &slot, m->slot_buf, BPF_ANY);
    }
  else
    {
      memset (m->spill_buf, 0, m->ncpus * sizeof *m->spill_buf);
      err = bpf_map_update_elem (m->spill_fd, &key, m->spill_buf, BPF_ANY);
    }
  if (err < 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED, "%s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

void
vnm_probe_totals_maps_remove (VnmProbeTotalsMaps *m, gint ifindex)
{
  __u32 slot = slot_of (ifindex), key = ifindex;

  if (read_slot (m, slot) == key)
    {
      memset (m->slot_buf, 0, m->ncpus * sizeof *m->slot_buf);
      bpf_map_update_elem (m->slots_fd, &slot, m->slot_buf, BPF_ANY);
    }
  bpf_map_delete_elem (m->spill_fd, &key);
}

gboolean
vnm_probe_totals_maps_read (VnmProbeTotalsMaps *m, gint ifindex, struct vnm_iface_totals *out)
{
  __u32 key = ifindex;

  if (read_slot (m, slot_of (ifindex)) == key)
    {
      sum_cpus (out, &m->slot_buf[0].totals, sizeof *m->slot_buf, m->ncpus);
      return TRUE;
    }
  if (bpf_map_lookup_elem (m->spill_fd, &key, m->spill_buf) == 0)
    {
      sum_cpus (out, m->spill_buf, sizeof *m->spill_buf, m->ncpus);
      return TRUE;
    }
  memset (out, 0, sizeof *out);
  return FALSE;
}

GArray *
vnm_probe_totals_maps_list (VnmProbeTotalsMaps *m)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint));
  __u32 key, next, *prev = NULL;

  for (__u32 slot = 0; slot < VNM_TOTALS_SLOTS; slot++)
    {
      gint owner = (gint) read_slot (m, slot);
      if (owner)
        g_array_append_val (out, owner);
    }
  while (bpf_map_get_next_key (m->spill_fd, prev, &next) == 0)
    {
      gint ifindex = (gint) next;
      g_array_append_val (out, ifindex);
      key = next;
      prev = &key;
    }
  return out;
}
