/* test-prom-text.c: the Prometheus text format writer and the
 * --metrics-listen parser. */
#include "config.h"

#include <math.h>

#include "listen-address.h"
#include "prom-text.h"
#include "vnm-error.h"

static void
test_family_and_samples (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) labels = g_string_new (NULL);

  vnm_prom_label (labels, "iface", "vnet0");
  vnm_prom_label (labels, "vm_name", "web \"1\"\\prod\nx");
  vnm_prom_family (out, "virtnetmon_x_bytes_total", "counter", "Bytes\\sent\nby it.");
  vnm_prom_sample_u64 (out, "virtnetmon_x_bytes_total", labels->str, NULL, G_MAXUINT64);
  vnm_prom_sample_u64 (out, "virtnetmon_x_bytes_total", labels->str, "direction=\"tx\"", 0);
  vnm_prom_sample_double (out, "virtnetmon_x_bytes_total", NULL, NULL, 0.25);
  vnm_prom_sample_double (out, "virtnetmon_x_bytes_total", "", "le=\"+Inf\"", INFINITY);
  vnm_prom_sample_double (out, "virtnetmon_x_bytes_total", NULL, NULL, NAN);
  g_assert_cmpstr (out->str, ==,
    "# HELP virtnetmon_x_bytes_total Bytes\\\\sent\\nby it.\n"
    "# TYPE virtnetmon_x_bytes_total counter\n"
    "virtnetmon_x_bytes_total{iface=\"vnet0\",vm_name=\"web \\\"1\\\"\\\\prod\\nx\"} 18446744073709551615\n"
    "virtnetmon_x_bytes_total{iface=\"vnet0\",vm_name=\"web \\\"1\\\"\\\\prod\\nx\",direction=\"tx\"} 0\n"
    "virtnetmon_x_bytes_total 0.25\n"
    "virtnetmon_x_bytes_total{le=\"+Inf\"} +Inf\n"
    "virtnetmon_x_bytes_total NaN\n");
}

static void
test_u64_and_histogram (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  static const gchar *const le[] = { "0.001", "0.002" };
  static const guint64 cum[] = { 3, 5 };
  static const guint64 values[] = { 0, 9, 10, 99, 1000000007, G_MAXUINT64 };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree gchar *want = g_strdup_printf ("%" G_GUINT64_FORMAT, values[i]);
      g_string_truncate (out, 0);
      vnm_prom_append_u64 (out, values[i]);
      g_assert_cmpstr (out->str, ==, want);
    }
  g_string_truncate (out, 0);
  vnm_prom_histogram (out, "x_seconds", "vm_name=\"a\"", le, cum, 2, 0.25, 7);
  vnm_prom_histogram (out, "x_seconds", NULL, le, cum, 1, 0.5, 4);
  g_assert_cmpstr (out->str, ==,
    "x_seconds_bucket{vm_name=\"a\",le=\"0.001\"} 3\n"
    "x_seconds_bucket{vm_name=\"a\",le=\"0.002\"} 5\n"
    "x_seconds_bucket{vm_name=\"a\",le=\"+Inf\"} 7\n"
    "x_seconds_sum{vm_name=\"a\"} 0.25\n"
    "x_seconds_count{vm_name=\"a\"} 7\n"
    "x_seconds_bucket{le=\"0.001\"} 3\n"
    "x_seconds_bucket{le=\"+Inf\"} 4\n"
    "x_seconds_sum 0.5\n"
    "x_seconds_count 4\n");
}

static void
test_label_invalid_utf8 (void)
{
  g_autoptr(GString) labels = g_string_new (NULL);

  /* Interface names are bytes; label values must be UTF-8. */
  vnm_prom_label (labels, "iface", "tap\xff" "0");
  g_assert_true (g_utf8_validate (labels->str, -1, NULL));
  g_assert_true (g_str_has_prefix (labels->str, "iface=\"tap"));
}

static void
test_valid_name (void)
{
  g_assert_true (vnm_prom_valid_name ("virtnetmon_interface_receive_bytes_total"));
  g_assert_true (vnm_prom_valid_name ("a:b_c"));
  g_assert_false (vnm_prom_valid_name ("9lives"));
  g_assert_false (vnm_prom_valid_name ("rx-bytes"));
  g_assert_false (vnm_prom_valid_name (""));
}

static void
test_parse_listen (void)
{
  static const struct {
    const gchar *text, *host;
    guint16 port;
  } good[] = {
    { "127.0.0.1:9477", "127.0.0.1", 9477 },
    { "[::1]:9477", "::1", 9477 },
    { ":9477", "", 9477 },
    { "localhost:1", "localhost", 1 },
    { "0.0.0.0:65535", "0.0.0.0", 65535 },
  };
  static const struct {
    const gchar *text, *named;
  } bad[] = {
    { "127.0.0.1", "'127.0.0.1'" },
    { "127.0.0.1:", "'' in" },
    { "127.0.0.1:0", "'0'" },
    { "127.0.0.1:65536", "'65536'" },
    { "127.0.0.1:80x", "'80x'" },
    { "::1:9477", "'::1:9477'" },
    { "[::1:9477", "'[::1:9477'" },
    { "[::1]9477", "'[::1]9477'" },
    { "[10.0.0.1]:80", "'10.0.0.1'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree gchar *host = NULL;
      g_autoptr(GError) error = NULL;
      guint16 port = 0;

      g_assert_true (vnm_listen_address_parse (good[i].text, &host, &port, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpuint (port, ==, good[i].port);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *host = NULL;
      g_autoptr(GError) error = NULL;
      guint16 port = 0;

      g_assert_false (vnm_listen_address_parse (bad[i].text, &host, &port, &error));
      g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
      if (!strstr (error->message, bad[i].named))
        g_error ("'%s': message '%s' does not name '%s'", bad[i].text, error->message, bad[i].named);
      g_assert_null (host);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/prom-text/u64-and-histogram", test_u64_and_histogram);
  g_test_add_func ("/prom-text/family-and-samples", test_family_and_samples);
  g_test_add_func ("/prom-text/label-invalid-utf8", test_label_invalid_utf8);
  g_test_add_func ("/prom-text/valid-name", test_valid_name);
  g_test_add_func ("/metrics-http/parse-listen", test_parse_listen);
  return g_test_run ();
}
