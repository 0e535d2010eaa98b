/* kernel-caps.h: which eBPF program and map types the running kernel lets
 * this process use, detected at start by loading and attaching tiny
 * programs (the way production kernels with lockdown or hardened configs
 * actually answer, rather than what the headers claim). */
#pragma once

#include <glib.h>

typedef struct {
  gboolean btf;          /* /sys/kernel/btf/vmlinux (CO-RE) */
  gboolean bpf_tc;       /* sched_cls programs (tc clsact) */
  gboolean bpf_xdp;
  gboolean tracepoint;   /* classic tracepoint programs */
  gboolean raw_tp;
  gboolean tp_btf;
  gboolean fentry;
  gboolean kprobe;
  gboolean ringbuf;
  GPtrArray *notes;      /* of gchar*: why something is missing */
} VnmKernelCaps;

/* Probes the kernel. Never fails: what cannot be used is FALSE, with a note. */
VnmKernelCaps *vnm_kernel_caps_detect (void);
void vnm_kernel_caps_free (VnmKernelCaps *caps);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmKernelCaps, vnm_kernel_caps_free)
