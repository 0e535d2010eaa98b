/* test-device-ledger.c: the device ledger against this machine's lo (whose
 * ifindex and name any network namespace has). */
#include "config.h"

#include <glib/gstdio.h>
#include <net/if.h>

#include "device-ledger.h"

typedef struct {
  gchar *dir;
  gchar *path;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("test-device-ledger-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "ledger", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr(VnmDeviceLedger) ledger = vnm_device_ledger_new (f->path, "test: devices");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) same = NULL;
  g_autofree gchar *text = NULL;
  gint lo = (gint) if_nametoindex ("lo");

  g_assert_cmpint (lo, >, 0);
  vnm_device_ledger_add (ledger, lo, "lo", 1);
  /* The same ifindex under another name: that device is gone. */
  vnm_device_ledger_add (ledger, lo, "vnm-gone0", 0);
  /* An ifindex no device has. */
  vnm_device_ledger_add (ledger, 999999, "vnm-gone1", 0);
  g_assert_true (vnm_device_ledger_write (ledger, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (f->path, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "# test: devices\n"));

  same = vnm_device_ledger_read_same_devices (f->path);
  g_assert_cmpuint (same->len, ==, 1);
  g_assert_cmpint (g_array_index (same, VnmLedgerEntry, 0).ifindex, ==, lo);
  g_assert_cmpstr (g_array_index (same, VnmLedgerEntry, 0).name, ==, "lo");
  g_assert_cmpint (g_array_index (same, VnmLedgerEntry, 0).flag, ==, 1);
}

static void
test_earlier_format_and_missing (Fixture *f, gconstpointer data)
{
  g_autofree gchar *old = g_strdup_printf ("# an earlier run\n%u lo\nnot a line\n\n",
                                           if_nametoindex ("lo"));
  g_autoptr(GArray) none = vnm_device_ledger_read_same_devices (f->path);
  g_autoptr(GArray) same = NULL;

  /* No file: no devices. */
  g_assert_cmpuint (none->len, ==, 0);
  /* Lines without a flag, as earlier versions wrote them. */
  g_assert_true (g_file_set_contents (f->path, old, -1, NULL));
  same = vnm_device_ledger_read_same_devices (f->path);
  g_assert_cmpuint (same->len, ==, 1);
  g_assert_cmpint (g_array_index (same, VnmLedgerEntry, 0).flag, ==, 0);
}

static void
test_writes_changes_only (Fixture *f, gconstpointer data)
{
  g_autoptr(VnmDeviceLedger) ledger = vnm_device_ledger_new (f->path, "test");
  g_autoptr(GArray) same = NULL;

  vnm_device_ledger_add (ledger, 1, "lo", 0);
  g_assert_true (vnm_device_ledger_write (ledger, NULL));
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  /* The same contents again: not written. */
  vnm_device_ledger_clear (ledger);
  vnm_device_ledger_add (ledger, 1, "lo", 0);
  g_assert_true (vnm_device_ledger_write (ledger, NULL));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  /* Changed: written. */
  vnm_device_ledger_clear (ledger);
  g_assert_true (vnm_device_ledger_write (ledger, NULL));
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  same = vnm_device_ledger_read_same_devices (f->path);
  g_assert_cmpuint (same->len, ==, 0);
}

static void
test_write_error (Fixture *f, gconstpointer data)
{
  g_autofree gchar *bad = g_build_filename (f->dir, "no-such-dir", "ledger", NULL);
  g_autoptr(VnmDeviceLedger) ledger = vnm_device_ledger_new (bad, "test");
  g_autoptr(GError) error = NULL;

  vnm_device_ledger_add (ledger, 1, "lo", 0);
  g_assert_false (vnm_device_ledger_write (ledger, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/device-ledger/round-trip", test_round_trip);
  ADD ("/device-ledger/earlier-format-and-missing", test_earlier_format_and_missing);
  ADD ("/device-ledger/writes-changes-only", test_writes_changes_only);
  ADD ("/device-ledger/write-error", test_write_error);
#undef ADD
  return g_test_run ();
}
