/* tc-hook.h: two tc programs (ingress, egress) hooked on one device, as
 * tcx links or as clsact filters under virtnetmon's handle; taking them off
 * again, and removing what an earlier run left. It knows virtnetmon's
 * programs by their names (vnm_tc_*), nothing of what they do. */
#pragma once

#include <glib.h>
#include <net/if.h>

#include "probe-attach.h"

/* tc filter identity of virtnetmon's programs on clsact ingress/egress. */
#define VNM_TC_HANDLE   0x564e4d31u  /* "VNM1" */
#define VNM_TC_PRIORITY 1

/* enum bpf_attach_type values of Linux 6.6, newer than the uapi headers
 * this may be built with. */
#define VNM_BPF_TCX_INGRESS 46
#define VNM_BPF_TCX_EGRESS  47

/* Counts the tc filters under clsact @egress/ingress of @ifindex, or -1 on
 * error. Lets a hook remove a clsact qdisc it created once it is empty,
 * without touching anyone else's. */
typedef gint (*VnmTcFilterCountFunc) (gint ifindex, gboolean egress, gpointer user_data);

typedef struct {
  gint ifindex;
  gchar name[IF_NAMESIZE];
  gboolean created_qdisc;  /* clsact: the qdisc was ours to create */
  int link_fd[2];          /* tcx: ingress, egress links; -1 when none */
} VnmTcHook;

/* Whether the kernel has tcx (it answers a tcx query on lo). */
gboolean vnm_tc_hook_kernel_has_tcx (void);

VnmTcHook *vnm_tc_hook_new (gint ifindex, const gchar *ifname);
/* Closes the tcx links, which detaches them; clsact filters stay (see
 * vnm_tc_hook_detach_clsact). */
void vnm_tc_hook_free (VnmTcHook *hook);

/* clsact: adds the qdisc to the device unless it has one (created_qdisc
 * says which). Call before vnm_tc_hook_attach, and record the hook in
 * between, so that a crash leaves nothing unrecorded. */
gboolean vnm_tc_hook_prepare_clsact (VnmTcHook *hook, GError **error);
/* Hooks @ingress_fd and @egress_fd (program fds) as @mode says (TCX or
 * CLSACT). A clsact filter of virtnetmon's already there is replaced; one
 * of somebody else's under virtnetmon's handle is an error. */
gboolean vnm_tc_hook_attach (VnmTcHook *hook, VnmProbeAttach mode, int ingress_fd, int egress_fd,
                             GError **error);
/* clsact: removes virtnetmon's filters from the device and, when the hook
 * created the qdisc and nothing else is left under it, the qdisc. */
void vnm_tc_hook_detach_clsact (VnmTcHook *hook, VnmTcFilterCountFunc count_filters,
                                gpointer user_data);

/* Removes virtnetmon's clsact filters from both sides of @ifindex, of this
 * run or an earlier one; how many there were. */
guint vnm_tc_hook_remove_ours (gint ifindex);
/* Removes @ifindex's clsact qdisc when nothing is left under it. */
void vnm_tc_hook_remove_qdisc_if_empty (gint ifindex, VnmTcFilterCountFunc count_filters,
                                        gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmTcHook, vnm_tc_hook_free)
