/* bpf-pin.c: reusing pinned maps, with libbpf. */
#include "config.h"

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <glib/gstdio.h>

#include "bpf-pin.h"

int
vnm_bpf_open_compatible_pin (struct bpf_map *map, const gchar *path, gboolean *mismatch)
{
  struct bpf_map_info info = { 0 };
  __u32 len = sizeof info;
  int fd = bpf_obj_get (path);

  if (fd < 0)
    return -1;
  if (bpf_obj_get_info_by_fd (fd, &info, &len) == 0 && info.type == bpf_map__type (map) &&
      info.key_size == bpf_map__key_size (map) && info.value_size == bpf_map__value_size (map) &&
      info.max_entries == bpf_map__max_entries (map))
    return fd;
  close (fd);
  g_unlink (path);
  if (mismatch)
    *mismatch = TRUE;
  return -1;
}
