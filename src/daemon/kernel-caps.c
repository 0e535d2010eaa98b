/* kernel-caps.c: eBPF feature detection with libbpf. */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kernel-caps.h"
#include "vnm-i18n.h"

/* r0 = 0; exit */
static const struct bpf_insn return_zero[] = {
  { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
  { .code = BPF_JMP | BPF_EXIT },
};

static int
silent_print (enum libbpf_print_level level, const char *fmt, va_list args)
{
  return 0;
}

static void
note (VnmKernelCaps *caps, const gchar *what, int err)
{
  g_ptr_array_add (caps->notes,
                   g_strdup_printf (_("%s: not available (%s)."), what, g_strerror (err)));
}

/* Loads a trivial program of @type and, for tracing types, attaches it to
 * BTF function/typedef @btf_name. Returns 0 or a positive errno. */
static int
try_btf_program (struct btf *vmlinux, enum bpf_prog_type type,
                 enum bpf_attach_type attach, const char *btf_name, __u32 btf_kind)
{
  LIBBPF_OPTS (bpf_prog_load_opts, opts);
  int id, fd, link;

  if (!vmlinux)
    return ENOENT;
  id = btf__find_by_name_kind (vmlinux, btf_name, btf_kind);
  if (id < 0)
    return ENOENT;
  opts.expected_attach_type = attach;
  opts.attach_btf_id = id;
  fd = bpf_prog_load (type, "vnm_probe", "GPL", return_zero, G_N_ELEMENTS (return_zero), &opts);
  if (fd < 0)
    return errno;
  link = bpf_raw_tracepoint_open (NULL, fd);
  if (link < 0)
    {
      int err = errno;
      close (fd);
      return err;
    }
  close (link);
  close (fd);
  return 0;
}

static int
try_raw_tp (void)
{
  int fd = bpf_prog_load (BPF_PROG_TYPE_RAW_TRACEPOINT, "vnm_probe", "GPL", return_zero,
                          G_N_ELEMENTS (return_zero), NULL);
  int link;

  if (fd < 0)
    return errno;
  link = bpf_raw_tracepoint_open ("netif_receive_skb", fd);
  if (link < 0)
    {
      int err = errno;
      close (fd);
      return err;
    }
  close (link);
  close (fd);
  return 0;
}

static int
try_prog_type (enum bpf_prog_type type)
{
  int ret = libbpf_probe_bpf_prog_type (type, NULL);

  if (ret == 1)
    return 0;
  return ret < 0 ? -ret : EOPNOTSUPP;
}

VnmKernelCaps *
vnm_kernel_caps_detect (void)
{
  VnmKernelCaps *caps = g_new0 (VnmKernelCaps, 1);
  libbpf_print_fn_t old = libbpf_set_print (silent_print);
  struct btf *vmlinux = NULL;
  int err;

  caps->notes = g_ptr_array_new_with_free_func (g_free);

  vmlinux = btf__load_vmlinux_btf ();
  caps->btf = vmlinux != NULL;
  if (!caps->btf)
    note (caps, "btf", errno);

  if (!(err = try_prog_type (BPF_PROG_TYPE_SCHED_CLS)))
    caps->bpf_tc = TRUE;
  else
    note (caps, "bpf_tc", err);
  if (!(err = try_prog_type (BPF_PROG_TYPE_XDP)))
    caps->bpf_xdp = TRUE;
  else
    note (caps, "bpf_xdp", err);
  if (!(err = try_prog_type (BPF_PROG_TYPE_TRACEPOINT)))
    caps->tracepoint = TRUE;
  else
    note (caps, "tracepoint", err);
  if (!(err = try_raw_tp ()))
    caps->raw_tp = TRUE;
  else
    note (caps, "raw_tp", err);
  if (!(err = try_btf_program (vmlinux, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
                               "btf_trace_netif_receive_skb", BTF_KIND_TYPEDEF)))
    caps->tp_btf = TRUE;
  else
    note (caps, "tp_btf", err);
  if (!(err = try_btf_program (vmlinux, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY,
                               "netif_receive_skb", BTF_KIND_FUNC)))
    caps->fentry = TRUE;
  else
    note (caps, "fentry", err);

  /* Attaching a kprobe needs the kprobe PMU (CONFIG_KPROBES). */
  if (g_file_test ("/sys/bus/event_source/devices/kprobe/type", G_FILE_TEST_EXISTS) &&
      !(err = try_prog_type (BPF_PROG_TYPE_KPROBE)))
    caps->kprobe = TRUE;
  else
    g_ptr_array_add (caps->notes,
                     g_strdup (_("kprobe: not available (the kernel has no kprobe event source).")));

  err = libbpf_probe_bpf_map_type (BPF_MAP_TYPE_RINGBUF, NULL);
  caps->ringbuf = err == 1;
  if (!caps->ringbuf)
    note (caps, "ringbuf", err < 0 ? -err : EOPNOTSUPP);

  btf__free (vmlinux);
  libbpf_set_print (old);
  return caps;
}

void
vnm_kernel_caps_free (VnmKernelCaps *caps)
{
  if (!caps)
    return;
  g_ptr_array_unref (caps->notes);
  g_free (caps);
}
