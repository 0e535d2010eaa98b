/* probe-attach.h: how the tc probes hook a device, by name. Pure. */
#pragma once

#include <glib.h>

/* How the programs hook a device's ingress and egress. tcx (Linux 6.6+)
 * runs BPF links straight from the datapath, before any clsact filter, and
 * the kernel drops them when their owner exits; on older kernels the
 * programs are filters under a clsact qdisc. */
typedef enum {
  VNM_PROBE_ATTACH_AUTO,    /* tcx where the kernel has it, else clsact */
  VNM_PROBE_ATTACH_TCX,
  VNM_PROBE_ATTACH_CLSACT,
} VnmProbeAttach;

/* "auto", "tcx", "tc-clsact" (also accepts "clsact"); FALSE when unknown. */
gboolean vnm_probe_attach_from_string (const gchar *s, VnmProbeAttach *out);
const gchar *vnm_probe_attach_to_string (VnmProbeAttach a);
