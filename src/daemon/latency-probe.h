/* latency-probe.h: the latency and drop probe (bpf/latency.bpf.c) behind
 * libbpf: loads the tracepoint programs the kernel allows (tp_btf, else
 * raw_tp), keeps the drop counter attached, attaches the path programs
 * only while some VM is traced, and reads and writes its maps as plain
 * structs. */
#pragma once

#include <glib.h>

#include "vnm-latency.h"

typedef struct _VnmLatencyProbe VnmLatencyProbe;

/* Called from the main loop for each slow packet read from the ring buffer. */
typedef void (*VnmLatencyEventFunc) (const struct vnm_lat_event *event, gpointer user_data);

/* @use_btf: load the tp_btf programs (else raw_tp). @paths: entries of the
 * in-flight packet table (rounded up to a power of two). @hist_devices:
 * how many VM netdevs can have histograms at once: each takes
 * VNM_LAT_BLOCK histograms of 8 KiB in an array the kernel allocates at
 * load (66 KiB a device). @drops_pin: a bpffs path for the drop counters
 * (NULL: not pinned); a compatible map found there (an earlier run's) is
 * adopted, and *@drops_adopted says so. */
VnmLatencyProbe *vnm_latency_probe_new (gboolean use_btf, guint paths, guint hist_devices,
                                        const gchar *drops_pin,
                                        gboolean *drops_adopted,
                                        VnmLatencyEventFunc on_event, gpointer user_data,
                                        GError **error);
void vnm_latency_probe_free (VnmLatencyProbe *p);

/* "tp_btf" or "raw_tp". */
const gchar *vnm_latency_probe_program (VnmLatencyProbe *p);

/* Attaches (or detaches) the four path programs. */
gboolean vnm_latency_probe_set_tracing (VnmLatencyProbe *p, gboolean on, GError **error);
gboolean vnm_latency_probe_tracing (VnmLatencyProbe *p);

gboolean vnm_latency_probe_set_device (VnmLatencyProbe *p, guint32 ifindex,
                                       const struct vnm_lat_dev *cfg, GError **error);
void vnm_latency_probe_remove_device (VnmLatencyProbe *p, guint32 ifindex);
/* @mac_key: vnm_lat_mac_key() of a guest's MAC. */
gboolean vnm_latency_probe_set_mac (VnmLatencyProbe *p, guint64 mac_key, guint32 ifindex,
                                    GError **error);
void vnm_latency_probe_remove_mac (VnmLatencyProbe *p, guint64 mac_key);

/* Creates empty histograms for both directions and every stage of
 * @ifindex (replacing what was there), or removes them. Fails when
 * @hist_devices devices have histograms already. */
gboolean vnm_latency_probe_reset_hists (VnmLatencyProbe *p, guint32 ifindex, GError **error);
void vnm_latency_probe_remove_hists (VnmLatencyProbe *p, guint32 ifindex);
/* Whether @ifindex has histograms; whether every block is taken. */
gboolean vnm_latency_probe_has_hists (VnmLatencyProbe *p, guint32 ifindex);
gboolean vnm_latency_probe_hists_full (VnmLatencyProbe *p);
/* FALSE when @ifindex has no such histogram. */
gboolean vnm_latency_probe_read_hist (VnmLatencyProbe *p, guint32 ifindex, guint dir, guint stage,
                                      struct vnm_lat_hist *out);

typedef struct {
  struct vnm_lat_drop_key key;
  guint64 count;
} VnmLatDrop;

/* Every drop counter (GArray of VnmLatDrop). */
GArray *vnm_latency_probe_read_drops (VnmLatencyProbe *p);
/* Forgets @ifindex's drop counters (its VM stopped). */
void vnm_latency_probe_clear_drops (VnmLatencyProbe *p, guint32 ifindex);

/* The program's own counters (enum vnm_lat_counter). */
guint64 vnm_latency_probe_counter (VnmLatencyProbe *p, guint which);

/* The name of the running kernel's drop reason @reason without its
 * SKB_DROP_REASON_ prefix ("NETFILTER_DROP"), from its BTF; NULL when the
 * kernel does not name it. */
const gchar *vnm_latency_probe_reason_name (VnmLatencyProbe *p, guint32 reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLatencyProbe, vnm_latency_probe_free)
