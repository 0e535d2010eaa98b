/* test-config-file.c: virtnetmond.conf — every key read, the file's
 * silence left unset, and each refusal (missing file, bad syntax, unknown
 * section or key, bad or out-of-range value) naming the file and key. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "config-file.h"
#include "vnm-error.h"
#include "vnm-limits.h"

typedef struct {
  gchar *dir;
  gchar *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  f->dir = g_dir_make_tmp ("test-config-file-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "virtnetmond.conf", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  (void) data;
  g_unlink (f->path);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->path);
  g_free (f->dir);
}

static void
write_file (Fixture *f, const gchar *contents)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (f->path, contents, -1, &error));
  g_assert_no_error (error);
}

static void
assert_contains (const gchar *message, const gchar *needle)
{
  if (!strstr (message, needle))
    g_error ("message '%s' does not contain '%s'", message, needle);
}

/* Loads @contents and expects a refusal of @domain / @code whose message
 * contains the file's path and every string in the NULL-terminated list
 * that follows. */
static void
assert_refused (Fixture *f, const gchar *contents, GQuark domain, gint code, ...)
{
  g_autoptr(GError) error = NULL;
  VnmConfig config;
  const gchar *needle;
  va_list ap;

  write_file (f, contents);
  g_assert_false (vnm_config_load (f->path, &config, &error));
  vnm_config_clear (&config);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  assert_contains (error->message, f->path);
  va_start (ap, code);
  while ((needle = va_arg (ap, const gchar *)))
    assert_contains (error->message, needle);
  va_end (ap);
}

static void
test_full (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmConfig config;

  (void) data;
  write_file (f,
              "# virtnetmond.conf\n"
              "[daemon]\n"
              "connect=qemu+ssh://host/system\n"
              "interval=2.5\n"
              "metrics-listen=127.0.0.1:9477\n"
              "\n"
              "[domains]\n"
              "monitoring=no\n"
              "latency=yes\n"
              "latency-threshold-us=1500\n"
              "flow-table-size=4096\n");
  g_assert_true (vnm_config_load (f->path, &config, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config.uri, ==, "qemu+ssh://host/system");
  g_assert_cmpfloat (config.interval, ==, 2.5);
  g_assert_cmpstr (config.metrics_listen, ==, "127.0.0.1:9477");
  g_assert_cmpint (config.domains.monitoring, ==, 0);
  g_assert_cmpint (config.domains.latency, ==, 1);
  g_assert_cmpint (config.domains.latency_threshold_us, ==, 1500);
  g_assert_cmpint (config.domains.flow_table_size, ==, 4096);

  vnm_config_clear (&config);
  g_assert_null (config.uri);
  g_assert_null (config.metrics_listen);
  /* Clearing twice is harmless. */
  vnm_config_clear (&config);
  g_assert_null (config.uri);
}

static void
test_silent (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmConfig config;

  (void) data;
  /* An empty file, and one with empty sections: nothing set. Whatever the
   * struct held before is replaced. */
  for (guint i = 0; i < 2; i++)
    {
      write_file (f, i == 0 ? "" : "# nothing\n[daemon]\n[domains]\n");
      memset (&config, 0x55, sizeof config);
      g_assert_true (vnm_config_load (f->path, &config, &error));
      g_assert_no_error (error);
      g_assert_null (config.uri);
      g_assert_cmpfloat (config.interval, ==, 0);
      g_assert_null (config.metrics_listen);
      g_assert_cmpint (config.domains.monitoring, ==, -1);
      g_assert_cmpint (config.domains.latency, ==, -1);
      g_assert_cmpint (config.domains.latency_threshold_us, ==, -1);
      g_assert_cmpint (config.domains.flow_table_size, ==, -1);
      vnm_config_clear (&config);
    }
}

static void
test_switches (Fixture *f, gconstpointer data)
{
  const struct {
    const gchar *text;
    gint value;
  } cases[] = {
    { "yes", 1 }, { "on", 1 }, { "true", 1 }, { " yes ", 1 },
    { "no", 0 }, { "off", 0 }, { "false", 0 }, { "no  ", 0 },
  };

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *contents = g_strdup_printf ("[domains]\nmonitoring=%s\nlatency=%s\n",
                                                    cases[i].text, cases[i].text);
      VnmConfig config;

      write_file (f, contents);
      g_assert_true (vnm_config_load (f->path, &config, &error));
      g_assert_no_error (error);
      g_assert_cmpint (config.domains.monitoring, ==, cases[i].value);
      g_assert_cmpint (config.domains.latency, ==, cases[i].value);
      vnm_config_clear (&config);
    }
}

/* The bounds themselves are accepted. */
static void
test_number_bounds (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *low = g_strdup_printf ("[domains]\nlatency-threshold-us=0\nflow-table-size=%d\n",
                                           VNM_FLOW_TABLE_MIN);
  g_autofree gchar *high = g_strdup_printf ("[domains]\nlatency-threshold-us=%d\n"
                                            "flow-table-size=%d\n",
                                            VNM_LATENCY_THRESHOLD_MAX_US, VNM_FLOW_TABLE_MAX);
  VnmConfig config;

  (void) data;
  write_file (f, low);
  g_assert_true (vnm_config_load (f->path, &config, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.domains.latency_threshold_us, ==, 0);
  g_assert_cmpint (config.domains.flow_table_size, ==, VNM_FLOW_TABLE_MIN);
  vnm_config_clear (&config);

  write_file (f, high);
  g_assert_true (vnm_config_load (f->path, &config, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.domains.latency_threshold_us, ==, VNM_LATENCY_THRESHOLD_MAX_US);
  g_assert_cmpint (config.domains.flow_table_size, ==, VNM_FLOW_TABLE_MAX);
  vnm_config_clear (&config);
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmConfig config;

  (void) data;
  /* Nothing written: the file does not exist. */
  memset (&config, 0x55, sizeof config);
  g_assert_false (vnm_config_load (f->path, &config, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  assert_contains (error->message, "Cannot read the configuration file");
  assert_contains (error->message, f->path);
  /* Zeroed all the same. */
  g_assert_null (config.uri);
  g_assert_null (config.metrics_listen);
  g_assert_cmpint (config.domains.monitoring, ==, -1);
  g_assert_cmpint (config.domains.flow_table_size, ==, -1);
  vnm_config_clear (&config);
}

static void
test_bad_syntax (Fixture *f, gconstpointer data)
{
  (void) data;
  assert_refused (f, "[daemon]\nthis line is no key\n", G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                  "Cannot read the configuration file", NULL);
  assert_refused (f, "connect=qemu:///system\n", G_KEY_FILE_ERROR,
                  G_KEY_FILE_ERROR_GROUP_NOT_FOUND, "Cannot read the configuration file", NULL);
  assert_refused (f, "[daemon\nconnect=x\n", G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                  "Cannot read the configuration file", NULL);
}

static void
test_unknown (Fixture *f, gconstpointer data)
{
  (void) data;
  assert_refused (f, "[daemon]\ninterval=1\n[flows]\nsize=3\n", VNM_ERROR,
                  VNM_ERROR_INVALID_ARGUMENT, "[flows]", "[daemon], [domains]", NULL);
  assert_refused (f, "[Daemon]\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, "[Daemon]", NULL);
  assert_refused (f, "[daemon]\nintervall=1\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "'intervall'", "[daemon]", NULL);
  /* A [domains] key in [daemon] is unknown there. */
  assert_refused (f, "[daemon]\nlatency=yes\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "'latency'", "[daemon]", NULL);
  assert_refused (f, "[domains]\nmonitoring=yes\nflow-table=64\n", VNM_ERROR,
                  VNM_ERROR_INVALID_ARGUMENT, "'flow-table'", "[domains]", NULL);
  /* And the other way round. */
  assert_refused (f, "[domains]\nconnect=qemu:///system\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "'connect'", "[domains]", NULL);
}

static void
test_bad_switch (Fixture *f, gconstpointer data)
{
  (void) data;
  assert_refused (f, "[domains]\nmonitoring=maybe\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "monitoring=", "[domains]", "'maybe'", "yes or no", NULL);
  assert_refused (f, "[domains]\nlatency=1\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "latency=", "'1'", NULL);
  assert_refused (f, "[domains]\nlatency=\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "latency=", "''", NULL);
  /* Case matters. */
  assert_refused (f, "[domains]\nlatency=Yes\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "latency=", "'Yes'", NULL);
}

static void
test_out_of_range (Fixture *f, gconstpointer data)
{
  g_autofree gchar *min_text = g_strdup_printf ("%d", VNM_FLOW_TABLE_MIN);
  g_autofree gchar *max_text = g_strdup_printf ("%d", VNM_FLOW_TABLE_MAX);
  g_autofree gchar *lat_max_text = g_strdup_printf ("%d", VNM_LATENCY_THRESHOLD_MAX_US);
  const struct {
    const gchar *key;
    gint64 value;
    const gchar *low, *high;
  } cases[] = {
    { "latency-threshold-us", -1, "0", lat_max_text },
    { "latency-threshold-us", (gint64) VNM_LATENCY_THRESHOLD_MAX_US + 1, "0", lat_max_text },
    { "flow-table-size", VNM_FLOW_TABLE_MIN - 1, min_text, max_text },
    { "flow-table-size", (gint64) VNM_FLOW_TABLE_MAX + 1, min_text, max_text },
    { "flow-table-size", 0, min_text, max_text },
  };

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *contents = g_strdup_printf ("[domains]\n%s=%" G_GINT64_FORMAT "\n",
                                                    cases[i].key, cases[i].value);
      g_autofree gchar *key = g_strdup_printf ("%s=", cases[i].key);
      g_autofree gchar *value = g_strdup_printf ("'%" G_GINT64_FORMAT "'", cases[i].value);
      g_autofree gchar *range = g_strdup_printf ("from %s to %s", cases[i].low, cases[i].high);

      assert_refused (f, contents, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, key, "[domains]", value,
                      range, NULL);
    }
  /* Not whole numbers at all. */
  assert_refused (f, "[domains]\nflow-table-size=lots\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "flow-table-size=", "'lots'", NULL);
  assert_refused (f, "[domains]\nlatency-threshold-us=1.5\n", VNM_ERROR,
                  VNM_ERROR_INVALID_ARGUMENT, "latency-threshold-us=", "'1.5'", NULL);
  assert_refused (f, "[domains]\nflow-table-size=\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "flow-table-size=", "''", NULL);
}

static void
test_bad_interval (Fixture *f, gconstpointer data)
{
  g_autofree gchar *high = g_strdup_printf ("[daemon]\ninterval=%g\n", VNM_INTERVAL_MAX_S * 2);

  (void) data;
  assert_refused (f, "[daemon]\nconnect=qemu:///system\ninterval=soon\n", VNM_ERROR,
                  VNM_ERROR_INVALID_ARGUMENT, "interval=", "[daemon]", "'soon'", NULL);
  assert_refused (f, "[daemon]\ninterval=\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, "interval=",
                  "''", NULL);
  /* 0 is a value like any other, not "unset". */
  assert_refused (f, "[daemon]\ninterval=0\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, "interval=",
                  "'0'", NULL);
  assert_refused (f, high, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, "interval=", "[daemon]",
                  "seconds from", NULL);
}

/* A value that is not UTF-8 is refused, naming the key; it neither crashes
 * nor is taken as unset. */
static void
test_not_utf8 (Fixture *f, gconstpointer data)
{
  (void) data;
  assert_refused (f, "[domains]\nmonitoring=\xff\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "monitoring=", "[domains]", "UTF-8", NULL);
  assert_refused (f, "[domains]\nflow-table-size=\xff\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "flow-table-size=", "UTF-8", NULL);
  assert_refused (f, "[daemon]\nconnect=qemu:///\xff\n", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                  "connect=", "[daemon]", "UTF-8", NULL);
}

/* A failed load leaves nothing allocated (valgrind or ASan would show it;
 * here: the strings read before the bad key are gone). */
static void
test_failure_clears (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmConfig config;

  (void) data;
  write_file (f, "[daemon]\nconnect=test:///default\nmetrics-listen=:9477\n"
              "[domains]\nlatency=maybe\n");
  g_assert_false (vnm_config_load (f->path, &config, &error));
  g_assert_nonnull (error);
  g_assert_null (config.uri);
  g_assert_null (config.metrics_listen);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add ("/config-file/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("full", test_full);
  ADD ("not-utf8", test_not_utf8);
  ADD ("failure-clears", test_failure_clears);
  ADD ("silent", test_silent);
  ADD ("switches", test_switches);
  ADD ("number-bounds", test_number_bounds);
  ADD ("missing", test_missing);
  ADD ("bad-syntax", test_bad_syntax);
  ADD ("unknown", test_unknown);
  ADD ("bad-switch", test_bad_switch);
  ADD ("out-of-range", test_out_of_range);
  ADD ("bad-interval", test_bad_interval);
#undef ADD
  return g_test_run ();
}
