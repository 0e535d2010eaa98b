/* bpf-pin.h: BPF maps an earlier virtnetmond pinned in bpffs, taken up
 * again when they still fit. Shared by the flow and latency probes. */
#pragma once

#include <glib.h>

struct bpf_map;

/* An fd of the map pinned at @path when it has @map's shape (type, key and
 * value size, entries), or -1. A pin of another shape is removed and
 * *@mismatch set TRUE (@mismatch may be NULL). */
int vnm_bpf_open_compatible_pin (struct bpf_map *map, const gchar *path, gboolean *mismatch);
