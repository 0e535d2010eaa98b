/* tc-hook.c: virtnetmon's tc programs on a device, tcx or clsact. */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tc-hook.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define VNM_BPF_F_BEFORE    (1U << 3)

gboolean
vnm_tc_hook_kernel_has_tcx (void)
{
  DECLARE_LIBBPF_OPTS (bpf_prog_query_opts, q);
  gint lo = if_nametoindex ("lo");

  /* Kernels without tcx refuse the attach type in a query with EINVAL. */
  return lo > 0 && bpf_prog_query_opts (lo, VNM_BPF_TCX_INGRESS, &q) == 0;
}

VnmTcHook *
vnm_tc_hook_new (gint ifindex, const gchar *ifname)
{
  VnmTcHook *h = g_new0 (VnmTcHook, 1);

  h->ifindex = ifindex;
  h->link_fd[0] = h->link_fd[1] = -1;
  g_strlcpy (h->name, ifname, sizeof h->name);
  return h;
}

void
vnm_tc_hook_free (VnmTcHook *h)
{
  if (!h)
    return;
  for (guint i = 0; i < 2; i++)
    if (h->link_fd[i] >= 0)
      close (h->link_fd[i]);
  g_free (h);
}

static gboolean
is_our_program (__u32 prog_id)
{
  struct bpf_prog_info info = { 0 };
  __u32 len = sizeof info;
  int fd = bpf_prog_get_fd_by_id (prog_id);
  gboolean ours;

  if (fd < 0)
    return FALSE;
  ours = bpf_obj_get_info_by_fd (fd, &info, &len) == 0 && g_str_has_prefix (info.name, "vnm_tc_");
  close (fd);
  return ours;
}

/* Removes virtnetmon's filter on one side of @ifindex. Returns 1 when one
 * was removed, 0 when there was none or it was somebody else's. */
static gint
detach_side (gint ifindex, enum bpf_tc_attach_point side)
{
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = side);
  DECLARE_LIBBPF_OPTS (bpf_tc_opts, opts, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY);
  DECLARE_LIBBPF_OPTS (bpf_tc_opts, del, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY);

  if (bpf_tc_query (&hook, &opts) < 0)
    return 0;
  if (!is_our_program (opts.prog_id))
    {
      g_warning (_("The tc filter with virtnetmon's handle on ifindex %d is not virtnetmon's "
                   "(program id %u); leaving it alone."), ifindex, opts.prog_id);
      return 0;
    }
  return bpf_tc_detach (&hook, &del) == 0 ? 1 : 0;
}

guint
vnm_tc_hook_remove_ours (gint ifindex)
{
  return detach_side (ifindex, BPF_TC_INGRESS) + detach_side (ifindex, BPF_TC_EGRESS);
}

void
vnm_tc_hook_remove_qdisc_if_empty (gint ifindex, VnmTcFilterCountFunc count_filters,
                                   gpointer user_data)
{
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = ifindex,
                       .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

  if (!count_filters || count_filters (ifindex, FALSE, user_data) != 0 ||
      count_filters (ifindex, TRUE, user_data) != 0)
    return;
  bpf_tc_hook_destroy (&hook);
}

void
vnm_tc_hook_detach_clsact (VnmTcHook *h, VnmTcFilterCountFunc count_filters, gpointer user_data)
{
  vnm_tc_hook_remove_ours (h->ifindex);
  if (h->created_qdisc)
    vnm_tc_hook_remove_qdisc_if_empty (h->ifindex, count_filters, user_data);
}

static gboolean
attach_side_tcx (VnmTcHook *h, gboolean egress, int prog_fd, GError **error)
{
  DECLARE_LIBBPF_OPTS (bpf_link_create_opts, opts, .flags = VNM_BPF_F_BEFORE);
  int fd = bpf_link_create (prog_fd, h->ifindex,
                            egress ? VNM_BPF_TCX_EGRESS : VNM_BPF_TCX_INGRESS, &opts);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, VNM_ERROR, saved == EPERM ? VNM_ERROR_PERMISSION_DENIED : VNM_ERROR_FAILED,
                   _("The kernel refused the tcx %s program on %s: %s"),
                   egress ? "egress" : "ingress", h->name, g_strerror (saved));
      return FALSE;
    }
  h->link_fd[egress] = fd;
  return TRUE;
}

static gboolean
attach_side_clsact (gint ifindex, const gchar *ifname, enum bpf_tc_attach_point side, int prog_fd,
                    GError **error)
{
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = side);
  DECLARE_LIBBPF_OPTS (bpf_tc_opts, opts, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY,
                       .prog_fd = prog_fd);
  const gchar *where = side == BPF_TC_INGRESS ? "ingress" : "egress";
  int err = bpf_tc_attach (&hook, &opts);

  if (err == -EEXIST)
    {
      DECLARE_LIBBPF_OPTS (bpf_tc_opts, q, .handle = VNM_TC_HANDLE, .priority = VNM_TC_PRIORITY);
      if (bpf_tc_query (&hook, &q) == 0 && is_our_program (q.prog_id))
        {
          opts.flags = BPF_TC_F_REPLACE;
          opts.prog_id = 0;
          err = bpf_tc_attach (&hook, &opts);
        }
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("Another program holds virtnetmon's tc filter (handle 0x%x, priority %d) "
                         "on %s %s."), VNM_TC_HANDLE, VNM_TC_PRIORITY, ifname, where);
          return FALSE;
        }
    }
  if (err)
    {
      g_set_error (error, VNM_ERROR, err == -EPERM ? VNM_ERROR_PERMISSION_DENIED : VNM_ERROR_FAILED,
                   _("The kernel refused the tc %s program on %s: %s"), where, ifname,
                   g_strerror (-err));
      return FALSE;
    }
  return TRUE;
}

gboolean
vnm_tc_hook_prepare_clsact (VnmTcHook *h, GError **error)
{
  DECLARE_LIBBPF_OPTS (bpf_tc_hook, hook, .ifindex = h->ifindex, .attach_point = BPF_TC_INGRESS);
  int err = bpf_tc_hook_create (&hook);

  if (err && err != -EEXIST)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot add a clsact qdisc to %s: %s"), h->name, g_strerror (-err));
      return FALSE;
    }
  h->created_qdisc = err == 0;
  return TRUE;
}

gboolean
vnm_tc_hook_attach (VnmTcHook *h, VnmProbeAttach mode, int ingress_fd, int egress_fd,
                    GError **error)
{
  if (mode == VNM_PROBE_ATTACH_TCX)
    return attach_side_tcx (h, FALSE, ingress_fd, error) &&
           attach_side_tcx (h, TRUE, egress_fd, error);
  return attach_side_clsact (h->ifindex, h->name, BPF_TC_INGRESS, ingress_fd, error) &&
         attach_side_clsact (h->ifindex, h->name, BPF_TC_EGRESS, egress_fd, error);
}
