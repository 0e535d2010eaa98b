/* test-qemu-scan.c: QEMU command lines and the tap<VMID>i<N> pattern. */
#include "config.h"

#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>

#include "qemu-scan.h"
#include "vnm-error.h"

static void
test_proxmox (void)
{
  const gchar *argv[] = {
    "/usr/bin/kvm", "-id", "105", "-name", "web01,debug-threads=on", "-no-shutdown",
    "-smbios", "type=1,uuid=0A1B2C3D-0000-4000-8000-000000000105",
    "-pidfile", "/var/run/qemu-server/105.pid",
    "-netdev", "type=tap,id=net0,ifname=tap105i0,script=/var/lib/qemu-server/pve-bridge,vhost=on",
    "-device", "virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0",
    "-netdev", "type=tap,id=net1,ifname=tap105i1,script=/var/lib/qemu-server/pve-bridge",
    "-netdev", "user,id=net2", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse (argv, 4242, &error);

  g_assert_no_error (error);
  g_assert_cmpint (p->pid, ==, 4242);
  g_assert_cmpstr (p->name, ==, "web01");
  g_assert_cmpstr (p->vmid, ==, "105");
  g_assert_cmpstr (p->uuid, ==, "0a1b2c3d-0000-4000-8000-000000000105");
  g_assert_false (p->libvirt_managed);
  g_assert_cmpuint (p->ifnames->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (p->ifnames, 0), ==, "tap105i0");
  g_assert_cmpstr (g_ptr_array_index (p->ifnames, 1), ==, "tap105i1");
}

static void
test_plain_qemu (void)
{
  const gchar *argv[] = {
    "qemu-system-x86_64", "--name", "db,,primary", "-nic", "tap,ifname=qtap0,script=no",
    "-net", "tap,ifname=has space,script=no", "-netdev", "bridge,id=n1,br=br0", NULL
  };
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse (argv, 1, NULL);

  g_assert_nonnull (p);
  /* ",," is an escaped comma inside the value. */
  g_assert_cmpstr (p->name, ==, "db,primary");
  g_assert_cmpstr (p->vmid, ==, "");
  g_assert_cmpuint (p->ifnames->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (p->ifnames, 0), ==, "qtap0");
}

static void
test_pidfile_vmid (void)
{
  const gchar *argv[] = { "/usr/bin/kvm", "-pidfile", "/var/run/qemu-server/311.pid", NULL };
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse (argv, 1, NULL);

  g_assert_cmpstr (p->vmid, ==, "311");
}

static void
test_libvirt_json_netdev (void)
{
  const gchar *argv[] = {
    "/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on",
    "-uuid", "11111111-2222-3333-4444-555555555555",
    "-netdev", "{\"type\":\"tap\",\"fd\":\"31\",\"vhost\":true,\"id\":\"hostnet0\",\"ifname\":\"vnet3\"}",
    NULL
  };
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse (argv, 1, NULL);

  g_assert_true (p->libvirt_managed);
  g_assert_cmpstr (p->name, ==, "vm1");
  g_assert_cmpstr (p->uuid, ==, "11111111-2222-3333-4444-555555555555");
  g_assert_cmpuint (p->ifnames->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (p->ifnames, 0), ==, "vnet3");
}

static void
test_not_qemu (void)
{
  const gchar *argv[] = { "/usr/bin/python3", "-name", "x", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse (argv, 9, &error);

  g_assert_null (p);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  g_assert_false (vnm_qemu_is_emulator (""));
  g_assert_true (vnm_qemu_is_emulator ("/usr/libexec/qemu-kvm"));
}

static void
test_truncated_and_raw (void)
{
  /* An option at the very end with no value, and a raw cmdline buffer. */
  const gchar raw[] = "qemu-system-x86_64\0-id\0" "77\0-netdev\0tap,ifname=tap77i0\0-name";
  g_autoptr(VnmQemuProcess) p = vnm_qemu_cmdline_parse_raw (raw, sizeof raw - 1, 5, NULL);

  g_assert_nonnull (p);
  g_assert_cmpstr (p->vmid, ==, "77");
  g_assert_cmpstr (p->name, ==, "");
  g_assert_cmpuint (p->ifnames->len, ==, 1);
}

static void
test_scan_fake_proc (void)
{
  g_autofree gchar *root = g_dir_make_tmp ("vnm-proc-XXXXXX", NULL);
  g_autofree gchar *d1 = g_build_filename (root, "100", NULL);
  g_autofree gchar *d2 = g_build_filename (root, "200", NULL);
  g_autofree gchar *d3 = g_build_filename (root, "self", NULL);
  g_autofree gchar *f1 = g_build_filename (d1, "cmdline", NULL);
  g_autofree gchar *f2 = g_build_filename (d2, "cmdline", NULL);
  const gchar c1[] = "/usr/bin/kvm\0-id\0" "100\0-netdev\0type=tap,id=n0,ifname=tap100i0\0";
  const gchar c2[] = "/bin/bash\0-c\0true\0";
  g_autoptr(GPtrArray) procs = NULL;

  g_mkdir (d1, 0755);
  g_mkdir (d2, 0755);
  g_mkdir (d3, 0755);
  g_file_set_contents (f1, c1, sizeof c1 - 1, NULL);
  g_file_set_contents (f2, c2, sizeof c2 - 1, NULL);
  procs = vnm_qemu_scan (root);
  g_assert_cmpuint (procs->len, ==, 1);
  g_assert_cmpint (((VnmQemuProcess *) g_ptr_array_index (procs, 0))->pid, ==, 100);

  g_unlink (f1);
  g_unlink (f2);
  g_rmdir (d1);
  g_rmdir (d2);
  g_rmdir (d3);
  g_rmdir (root);
}

static void
test_tap_device (void)
{
  gint ifindex = 0;

  g_assert_true (vnm_qemu_tap_device_ifindex ("/dev/tap25439", &ifindex));
  g_assert_cmpint (ifindex, ==, 25439);
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/net/tun", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/tap", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/tap12x", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/tap0", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/tap99999999999", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("/dev/tapx/../tap1", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex ("socket:[1234]", &ifindex));
  g_assert_false (vnm_qemu_tap_device_ifindex (NULL, &ifindex));
}

/* A QEMU given -netdev tap,fd=N on a macvtap: the device it holds open
 * (/proc/<pid>/fd/N -> /dev/tap<ifindex>), each once, whatever the queues. */
static void
test_scan_macvtap_fds (void)
{
  g_autofree gchar *root = g_dir_make_tmp ("vnm-proc-XXXXXX", NULL);
  g_autofree gchar *d = g_build_filename (root, "300", NULL);
  g_autofree gchar *fd = g_build_filename (d, "fd", NULL);
  g_autofree gchar *cmd = g_build_filename (d, "cmdline", NULL);
  const gchar c[] = "/usr/bin/qemu-system-x86_64\0-name\0mv\0-netdev\0tap,id=n0,fd=30:31\0";
  const gchar *const links[][2] = {
    { "0", "/dev/null" }, { "30", "/dev/tap41" }, { "31", "/dev/tap41" },
    { "32", "/dev/tap43" }, { "33", "/dev/net/tun" }, { "34", "socket:[99]" },
  };
  g_autoptr(GPtrArray) procs = NULL;
  VnmQemuProcess *p;

  g_mkdir (d, 0755);
  g_mkdir (fd, 0755);
  g_file_set_contents (cmd, c, sizeof c - 1, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autofree gchar *l = g_build_filename (fd, links[i][0], NULL);
      g_assert_cmpint (symlink (links[i][1], l), ==, 0);
    }
  procs = vnm_qemu_scan (root);
  g_assert_cmpuint (procs->len, ==, 1);
  p = g_ptr_array_index (procs, 0);
  g_assert_cmpstr (p->name, ==, "mv");
  g_assert_cmpuint (p->ifnames->len, ==, 0);
  g_assert_cmpuint (p->tap_ifindexes->len, ==, 2);
  g_assert_cmpint (g_array_index (p->tap_ifindexes, gint, 0) + g_array_index (p->tap_ifindexes, gint, 1),
                   ==, 41 + 43);

  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autofree gchar *l = g_build_filename (fd, links[i][0], NULL);
      g_unlink (l);
    }
  g_rmdir (fd);
  g_unlink (cmd);
  g_rmdir (d);
  g_rmdir (root);
}

static void
test_name_pattern (void)
{
  guint vmid = 0, nic = 0;

  g_assert_true (vnm_name_pattern_match ("tap105i1", &vmid, &nic));
  g_assert_cmpuint (vmid, ==, 105);
  g_assert_cmpuint (nic, ==, 1);
  g_assert_true (vnm_name_pattern_match ("tap9999i12", &vmid, &nic));
  g_assert_cmpuint (vmid, ==, 9999);
  g_assert_cmpuint (nic, ==, 12);
  g_assert_false (vnm_name_pattern_match ("tap105", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("tapi1", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("tap105i", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("tap1a5i1", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("vnet0", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("tap105i1x", NULL, NULL));
  g_assert_false (vnm_name_pattern_match ("tap99999999999i0", NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu-scan/proxmox", test_proxmox);
  g_test_add_func ("/qemu-scan/plain-qemu", test_plain_qemu);
  g_test_add_func ("/qemu-scan/pidfile-vmid", test_pidfile_vmid);
  g_test_add_func ("/qemu-scan/libvirt-json-netdev", test_libvirt_json_netdev);
  g_test_add_func ("/qemu-scan/not-qemu", test_not_qemu);
  g_test_add_func ("/qemu-scan/truncated-and-raw", test_truncated_and_raw);
  g_test_add_func ("/qemu-scan/scan-fake-proc", test_scan_fake_proc);
  g_test_add_func ("/qemu-scan/name-pattern", test_name_pattern);
  g_test_add_func ("/qemu-scan/tap-device", test_tap_device);
  g_test_add_func ("/qemu-scan/scan-macvtap-fds", test_scan_macvtap_fds);
  return g_test_run ();
}
