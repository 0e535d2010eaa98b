/* bpf-pin.c: pinned BPF map sets and their directory, with libbpf. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <glib/gstdio.h>

#include "bpf-pin.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

/* Where iproute2 and bpftool mount a BPF filesystem when none is. */
#define BPFFS_STANDARD_PLACE "/sys/fs/bpf"

struct _VnmBpfPinSet {
  gchar *dir;
  gchar *mounted;  /* where this run mounted bpffs, or NULL */
  gchar **names;
  guint n;
  int lock_fd;     /* @dir, flock()ed while this run uses it */
};

/* Whether this process may mount (CAP_SYS_ADMIN): a confined daemon (the
 * systemd unit, where bpffs is always mounted) does not even try. */
static gboolean
may_mount (void)
{
  g_autofree gchar *status = NULL;
  const gchar *cap;
  guint64 eff;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      !(cap = strstr (status, "\nCapEff:")))
    return FALSE;
  eff = g_ascii_strtoull (cap + strlen ("\nCapEff:"), NULL, 16);
  return (eff >> 21) & 1;  /* CAP_SYS_ADMIN */
}

/* Mounts bpffs on @where unless one is there by now. The check and the
 * mount hold a lock on @where, so that two daemons starting at once do not
 * both mount (each bpffs mount is a new, empty instance: the second would
 * hide what the first pinned). *@mounted: @where when this call mounted. */
static gboolean
mount_bpffs (const gchar *where, gchar **mounted, gchar **why)
{
  struct statfs fs;
  int fd = open (where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok = TRUE;

  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    {
      *why = g_strdup_printf (_("no BPF filesystem is mounted on %s, and it cannot be mounted: %s"),
                              where, g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  if (statfs (where, &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
    ;  /* another process mounted it meanwhile */
  else if (mount ("bpf", where, "bpf", 0, "mode=0700") == 0)
    *mounted = g_strdup (where);
  else
    {
      *why = g_strdup_printf (_("no BPF filesystem is mounted on %s, and mounting one failed: %s"),
                              where, g_strerror (errno));
      ok = FALSE;
    }
  close (fd);
  return ok;
}

VnmBpfPinSet *
vnm_bpf_pin_set_new (const gchar *dir, const gchar *const *names, guint n, gchar **why)
{
  g_autofree gchar *parent = g_path_get_dirname (dir);
  g_autoptr(VnmBpfPinSet) set = NULL;
  struct statfs fs;

  set = g_new0 (VnmBpfPinSet, 1);
  set->lock_fd = -1;
  if (statfs (parent, &fs) < 0 || fs.f_type != BPF_FS_MAGIC)
    {
      /* A host without systemd mounts none at boot: mount it where iproute2
       * and bpftool would, or the maps could not outlive the daemon. */
      if (!g_str_equal (parent, BPFFS_STANDARD_PLACE) || !may_mount ())
        {
          *why = g_strdup (_("no BPF filesystem is mounted there"));
          return NULL;
        }
      if (!mount_bpffs (parent, &set->mounted, why))
        return NULL;
      if (set->mounted)
        g_message (_("Mounted a BPF filesystem on %s (none was mounted there), as iproute2 and "
                     "bpftool do, to pin maps in %s."), parent, dir);
    }
  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      *why = g_strdup (g_strerror (errno));
      return NULL;
    }
  set->dir = g_strdup (dir);
  set->names = g_new0 (gchar *, n + 1);
  for (guint i = 0; i < n; i++)
    set->names[i] = g_strdup (names[i]);
  set->n = n;
  set->lock_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (set->lock_fd < 0)
    {
      *why = g_strdup (g_strerror (errno));
      return NULL;
    }
  if (flock (set->lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      *why = g_strdup (_("another virtnetmond uses it"));
      return NULL;
    }
  return g_steal_pointer (&set);
}

static gchar *
pin_path (VnmBpfPinSet *set, guint i)
{
  return g_build_filename (set->dir, set->names[i], NULL);
}

void
vnm_bpf_pin_set_unlink (VnmBpfPinSet *set)
{
  for (guint i = 0; i < set->n; i++)
    {
      g_autofree gchar *path = pin_path (set, i);
      g_unlink (path);
    }
}

gboolean
vnm_bpf_pin_set_adopt (VnmBpfPinSet *set, struct bpf_map **maps, const gchar **why)
{
  g_autofree int *fds = g_new (int, set->n);
  guint found = 0, reused = 0;
  gboolean mismatch = FALSE;

  if (why)
    *why = NULL;
  for (guint i = 0; i < set->n; i++)
    {
      g_autofree gchar *path = pin_path (set, i);
      fds[i] = vnm_bpf_open_compatible_pin (maps[i], path, &mismatch);
      found += fds[i] >= 0;
    }
  if (found == set->n)
    for (guint i = 0; i < set->n; i++)
      reused += bpf_map__reuse_fd (maps[i], fds[i]) == 0;
  for (guint i = 0; i < set->n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  if (reused == set->n)
    return TRUE;
  /* Part of a set is no use: start all afresh. */
  if (found)
    vnm_bpf_pin_set_unlink (set);
  if (why && mismatch)
    *why = _("the pinned maps of an earlier run have another shape (table size or version)");
  else if (why && found == set->n)
    *why = _("the pinned maps of an earlier run could not be taken up");
  else if (why && found)
    *why = _("only part of the pinned set of an earlier run was there");
  return FALSE;
}

gboolean
vnm_bpf_pin_set_pin (VnmBpfPinSet *set, struct bpf_map **maps, GError **error)
{
  for (guint i = 0; i < set->n; i++)
    {
      g_autofree gchar *path = pin_path (set, i);
      int err = bpf_map__pin (maps[i], path);

      if (err < 0)
        {
          vnm_bpf_pin_set_unlink (set);
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED, "%s: %s", path,
                       g_strerror (-err));
          return FALSE;
        }
    }
  return TRUE;
}

const gchar *
vnm_bpf_pin_set_dir (VnmBpfPinSet *set)
{
  return set->dir;
}

const gchar *
vnm_bpf_pin_set_mounted (VnmBpfPinSet *set)
{
  return set->mounted;
}

void
vnm_bpf_pin_set_free (VnmBpfPinSet *set)
{
  if (!set)
    return;
  if (set->lock_fd >= 0)
    close (set->lock_fd);
  g_strfreev (set->names);
  g_free (set->mounted);
  g_free (set->dir);
  g_free (set);
}

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
