/* probe-totals.h: where the flow probe keeps each device's exact totals —
 * a per-CPU array slot (ifindex % VNM_TOTALS_SLOTS) that names its device,
 * or, when another attached device holds that slot, a per-CPU hash. The
 * probe looks in the same two places (totals_of in flows.bpf.c). */
#pragma once

#include <glib.h>

#include "vnm-flows.h"

typedef struct _VnmProbeTotalsMaps VnmProbeTotalsMaps;

/* Works on the two loaded maps (fds stay the caller's). */
VnmProbeTotalsMaps *vnm_probe_totals_maps_new (int slots_fd, int spill_fd, gint ncpus);
void vnm_probe_totals_maps_free (VnmProbeTotalsMaps *maps);

/* Whether @ifindex has totals in either map. */
gboolean vnm_probe_totals_maps_has (VnmProbeTotalsMaps *maps, gint ifindex);
/* Starts @ifindex's totals at zero: in its slot when the slot is free or
 * already its own, else in the spill map. */
gboolean vnm_probe_totals_maps_start (VnmProbeTotalsMaps *maps, gint ifindex, GError **error);
/* Forgets @ifindex's totals; its slot is free again. */
void vnm_probe_totals_maps_remove (VnmProbeTotalsMaps *maps, gint ifindex);
/* The sum over CPUs; FALSE when @ifindex has no totals. */
gboolean vnm_probe_totals_maps_read (VnmProbeTotalsMaps *maps, gint ifindex,
                                     struct vnm_iface_totals *out);
/* Every device with totals (an array of gint). */
GArray *vnm_probe_totals_maps_list (VnmProbeTotalsMaps *maps);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmProbeTotalsMaps, vnm_probe_totals_maps_free)
