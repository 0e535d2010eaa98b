/* qemu-scan.c: QEMU command lines -> VM interface mapping. */
#include "config.h"

#include <string.h>

#include "qemu-scan.h"
#include "domain-xml.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

/* Longest /proc/<pid>/cmdline read (QEMU command lines from libvirt can be
 * long; Linux caps what a process can pass anyway). */
#define MAX_CMDLINE (1024 * 1024)

void
vnm_qemu_process_free (VnmQemuProcess *proc)
{
  if (!proc)
    return;
  g_free (proc->name);
  g_free (proc->vmid);
  g_free (proc->uuid);
  g_ptr_array_unref (proc->ifnames);
  g_array_unref (proc->tap_ifindexes);
  g_free (proc);
}

gboolean
vnm_qemu_is_emulator (const gchar *argv0)
{
  g_autofree gchar *base = NULL;

  if (!argv0 || !*argv0)
    return FALSE;
  base = g_path_get_basename (argv0);
  return g_str_has_prefix (base, "qemu-system-") || g_str_equal (base, "kvm") ||
         g_str_equal (base, "qemu-kvm");
}

/* The value of key @key in a QEMU option string "a,key=value,b=c" (commas
 * inside values are escaped as ",,"). Returns NULL when absent. */
static gchar *
option_value (const gchar *opts, const gchar *key)
{
  gsize klen = strlen (key);
  const gchar *p = opts;

  while (*p)
    {
      GString *field = g_string_new (NULL);

      while (*p)
        {
          if (*p == ',' && p[1] == ',')
            {
              g_string_append_c (field, ',');
              p += 2;
              continue;
            }
          if (*p == ',')
            break;
          g_string_append_c (field, *p++);
        }
      if (*p == ',')
        p++;
      if (strncmp (field->str, key, klen) == 0 && field->str[klen] == '=')
        {
          gchar *v = g_strdup (field->str + klen + 1);
          g_string_free (field, TRUE);
          return v;
        }
      g_string_free (field, TRUE);
    }
  return NULL;
}

/* First field of an option string, before any unescaped comma. */
static gchar *
first_field (const gchar *opts)
{
  GString *field = g_string_new (NULL);

  for (const gchar *p = opts; *p; p++)
    {
      if (*p == ',' && p[1] == ',')
        {
          g_string_append_c (field, ',');
          p++;
          continue;
        }
      if (*p == ',')
        break;
      g_string_append_c (field, *p);
    }
  return g_string_free (field, FALSE);
}

/* A string member of a flat JSON object such as libvirt's
 * -netdev {"type":"tap","fd":"30","ifname":"vnet0",...}. */
static gchar *
json_member (const gchar *json, const gchar *key)
{
  g_autofree gchar *needle = g_strdup_printf ("\"%s\"", key);
  const gchar *p = strstr (json, needle);
  GString *v;

  if (!p)
    return NULL;
  p += strlen (needle);
  while (*p == ' ' || *p == ':')
    p++;
  if (*p != '"')
    return NULL;
  p++;
  v = g_string_new (NULL);
  for (; *p && *p != '"'; p++)
    {
      if (*p == '\\' && p[1])
        p++;
      g_string_append_c (v, *p);
    }
  return g_string_free (v, FALSE);
}

static void
add_netdev (VnmQemuProcess *proc, const gchar *opts)
{
  g_autofree gchar *type = NULL;
  g_autofree gchar *ifname = NULL;

  if (opts[0] == '{')
    {
      type = json_member (opts, "type");
      ifname = json_member (opts, "ifname");
    }
  else
    {
      type = option_value (opts, "type");
      if (!type)
        type = first_field (opts);
      ifname = option_value (opts, "ifname");
    }
  if (!type || !(g_str_equal (type, "tap") || g_str_equal (type, "bridge")))
    return;
  if (ifname && vnm_is_valid_ifname (ifname))
    g_ptr_array_add (proc->ifnames, g_steal_pointer (&ifname));
}

VnmQemuProcess *
vnm_qemu_cmdline_parse (const gchar *const *argv, gint pid, GError **error)
{
  g_autoptr(VnmQemuProcess) proc = NULL;

  if (!argv || !argv[0] || !vnm_qemu_is_emulator (argv[0]))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("Process %d is not a QEMU system emulator."), pid);
      return NULL;
    }

  proc = g_new0 (VnmQemuProcess, 1);
  proc->pid = pid;
  proc->name = g_strdup ("");
  proc->vmid = g_strdup ("");
  proc->uuid = g_strdup ("");
  proc->ifnames = g_ptr_array_new_with_free_func (g_free);
  proc->tap_ifindexes = g_array_new (FALSE, FALSE, sizeof (gint));

  for (gsize i = 1; argv[i]; i++)
    {
      const gchar *opt = argv[i];
      const gchar *val = argv[i + 1];

      /* QEMU accepts both -opt and --opt. */
      if (opt[0] == '-' && opt[1] == '-')
        opt++;
      if (!val)
        break;

      if (g_str_equal (opt, "-name"))
        {
          g_autofree gchar *guest = option_value (val, "guest");
          g_free (proc->name);
          if (guest)
            {
              proc->name = g_steal_pointer (&guest);
              proc->libvirt_managed = TRUE;
            }
          else
            proc->name = first_field (val);
          i++;
        }
      else if (g_str_equal (opt, "-id"))
        {
          g_free (proc->vmid);
          proc->vmid = g_strdup (val);
          i++;
        }
      else if (g_str_equal (opt, "-uuid"))
        {
          g_free (proc->uuid);
          proc->uuid = g_ascii_strdown (val, -1);
          i++;
        }
      else if (g_str_equal (opt, "-smbios"))
        {
          g_autofree gchar *uuid = option_value (val, "uuid");
          if (uuid && !*proc->uuid)
            {
              g_free (proc->uuid);
              proc->uuid = g_ascii_strdown (uuid, -1);
            }
          i++;
        }
      else if (g_str_equal (opt, "-netdev") || g_str_equal (opt, "-nic") ||
               g_str_equal (opt, "-net"))
        {
          add_netdev (proc, val);
          i++;
        }
    }

  /* Proxmox names the VM with -id; without it, a pidfile
   * /var/run/qemu-server/<VMID>.pid appears in -pidfile. */
  if (!*proc->vmid)
    for (gsize i = 1; argv[i] && argv[i + 1]; i++)
      if (g_str_equal (argv[i], "-pidfile") && strstr (argv[i + 1], "qemu-server/"))
        {
          g_autofree gchar *base = g_path_get_basename (argv[i + 1]);
          gchar *dot = strchr (base, '.');
          if (dot)
            *dot = '\0';
          if (*base && strspn (base, "0123456789") == strlen (base))
            {
              g_free (proc->vmid);
              proc->vmid = g_strdup (base);
            }
        }

  return g_steal_pointer (&proc);
}

VnmQemuProcess *
vnm_qemu_cmdline_parse_raw (const gchar *raw, gsize len, gint pid, GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  gsize start = 0;

  for (gsize i = 0; i < len; i++)
    if (raw[i] == '\0')
      {
        g_ptr_array_add (argv, g_strndup (raw + start, i - start));
        start = i + 1;
      }
  if (start < len)
    g_ptr_array_add (argv, g_strndup (raw + start, len - start));
  g_ptr_array_add (argv, NULL);
  return vnm_qemu_cmdline_parse ((const gchar *const *) argv->pdata, pid, error);
}

gboolean
vnm_qemu_tap_device_ifindex (const gchar *fd_target, gint *ifindex)
{
  gint64 v;

  if (!fd_target || !g_str_has_prefix (fd_target, "/dev/tap"))
    return FALSE;
  fd_target += strlen ("/dev/tap");
  if (!*fd_target || strspn (fd_target, "0123456789") != strlen (fd_target) ||
      !g_ascii_string_to_signed (fd_target, 10, 1, G_MAXINT32, &v, NULL))
    return FALSE;
  *ifindex = (gint) v;
  return TRUE;
}

/* The macvtap devices @proc holds open (a QEMU given -netdev tap,fd=N on
 * /dev/tap<ifindex>). Unreadable (another user's, or gone): none. */
static void
read_tap_fds (VnmQemuProcess *proc, const gchar *proc_root, const gchar *pid)
{
  g_autofree gchar *dir_path = g_build_filename (proc_root, pid, "fd", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const gchar *entry;
  guint seen = 0;

  if (!dir)
    return;
  /* A QEMU holds a few hundred fds at most; stop at some thousands. */
  while ((entry = g_dir_read_name (dir)) && seen++ < 4096)
    {
      g_autofree gchar *path = g_build_filename (dir_path, entry, NULL);
      g_autofree gchar *target = g_file_read_link (path, NULL);
      gint ifindex;
      gboolean dup = FALSE;

      if (!vnm_qemu_tap_device_ifindex (target, &ifindex))
        continue;
      /* One fd per queue: a multiqueue device once. */
      for (guint i = 0; i < proc->tap_ifindexes->len; i++)
        dup = dup || g_array_index (proc->tap_ifindexes, gint, i) == ifindex;
      if (!dup)
        g_array_append_val (proc->tap_ifindexes, ifindex);
    }
}

GPtrArray *
vnm_qemu_scan (const gchar *proc_root)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) vnm_qemu_process_free);
  g_autoptr(GDir) dir = g_dir_open (proc_root, 0, NULL);
  const gchar *entry;

  if (!dir)
    return out;
  while ((entry = g_dir_read_name (dir)))
    {
      g_autofree gchar *path = NULL;
      g_autofree gchar *raw = NULL;
      gsize len = 0;
      gint64 pid;
      VnmQemuProcess *proc;

      if (!g_ascii_string_to_signed (entry, 10, 1, G_MAXINT32, &pid, NULL))
        continue;
      path = g_build_filename (proc_root, entry, "cmdline", NULL);
      if (!g_file_get_contents (path, &raw, &len, NULL) || len == 0 || len > MAX_CMDLINE)
        continue;
      /* Cheap pre-check before splitting: argv[0] must look like QEMU. */
      if (!vnm_qemu_is_emulator (raw))
        continue;
      proc = vnm_qemu_cmdline_parse_raw (raw, len, (gint) pid, NULL);
      if (!proc)
        continue;
      if (!proc->libvirt_managed)
        read_tap_fds (proc, proc_root, entry);
      g_ptr_array_add (out, proc);
    }
  return out;
}

gboolean
vnm_name_pattern_match (const gchar *ifname, guint *vmid, guint *nic)
{
  const gchar *p;
  const gchar *i_pos;
  guint64 id, n;

  if (!ifname || !g_str_has_prefix (ifname, "tap"))
    return FALSE;
  p = ifname + 3;
  i_pos = strchr (p, 'i');
  if (!i_pos || i_pos == p || !i_pos[1])
    return FALSE;
  for (const gchar *q = p; q < i_pos; q++)
    if (!g_ascii_isdigit (*q))
      return FALSE;
  for (const gchar *q = i_pos + 1; *q; q++)
    if (!g_ascii_isdigit (*q))
      return FALSE;
  {
    g_autofree gchar *id_str = g_strndup (p, i_pos - p);
    if (!g_ascii_string_to_unsigned (id_str, 10, 0, G_MAXUINT32, &id, NULL))
      return FALSE;
  }
  if (!g_ascii_string_to_unsigned (i_pos + 1, 10, 0, G_MAXUINT32, &n, NULL))
    return FALSE;
  if (vmid)
    *vmid = (guint) id;
  if (nic)
    *nic = (guint) n;
  return TRUE;
}
