/* tcx-progs: ground truth for tests about tcx hooks, asked of the kernel
 * directly (this system's tc and bpftool predate tcx).
 *
 *   tcx-progs show DEV             one line per program, in run order:
 *                                  "ingress NAME" / "egress NAME"
 *   tcx-progs pin DEV OBJ PINPATH  attach OBJ's first program on DEV's tcx
 *                                  ingress and pin the link (a program of
 *                                  somebody else's that must survive);
 *                                  remove the pin file to detach it. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46
#define TCX_EGRESS  47

static int
show (int ifindex)
{
  for (int side = 0; side < 2; side++)
    {
      __u32 ids[64];
      DECLARE_LIBBPF_OPTS (bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 64);

      if (bpf_prog_query_opts (ifindex, side ? TCX_EGRESS : TCX_INGRESS, &q) < 0)
        {
          fprintf (stderr, "tcx-progs: query: %s\n", strerror (errno));
          return 1;
        }
      for (__u32 i = 0; i < q.prog_cnt; i++)
        {
          struct bpf_prog_info info = { 0 };
          __u32 len = sizeof info;
          int fd = bpf_prog_get_fd_by_id (ids[i]);

          if (fd < 0 || bpf_obj_get_info_by_fd (fd, &info, &len) < 0)
            continue;
          printf ("%s %s\n", side ? "egress" : "ingress", info.name);
          close (fd);
        }
    }
  return 0;
}

static int
pin (int ifindex, const char *obj_path, const char *pin_path)
{
  struct bpf_object *obj = bpf_object__open_file (obj_path, NULL);
  struct bpf_program *prog;
  int link;

  if (!obj || bpf_object__load (obj) < 0 || !(prog = bpf_object__next_program (obj, NULL)))
    {
      fprintf (stderr, "tcx-progs: cannot load %s\n", obj_path);
      return 1;
    }
  link = bpf_link_create (bpf_program__fd (prog), ifindex, TCX_INGRESS, NULL);
  if (link < 0 || bpf_obj_pin (link, pin_path) < 0)
    {
      fprintf (stderr, "tcx-progs: attach and pin: %s\n", strerror (errno));
      return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  int ifindex = argc > 2 ? (int) if_nametoindex (argv[2]) : 0;

  if (argc > 2 && !ifindex)
    {
      fprintf (stderr, "tcx-progs: no device %s\n", argv[2]);
      return 1;
    }
  if (argc == 3 && strcmp (argv[1], "show") == 0)
    return show (ifindex);
  if (argc == 5 && strcmp (argv[1], "pin") == 0)
    return pin (ifindex, argv[3], argv[4]);
  fprintf (stderr, "usage: tcx-progs show DEV | tcx-progs pin DEV OBJ PINPATH\n");
  return 2;
}
