/* test-options.c: virtnetmond's command line — the defaults, every value
 * read, every bound refused naming the value, the config file merged under
 * the command line, its errors naming the file and key, and the [domains]
 * defaults. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "options.h"
#include "vnm-error.h"
#include "vnm-limits.h"
#include "vnm-names.h"

/* Parses "virtnetmond" followed by the NULL-terminated arguments. */
static gboolean
parse_valist (VnmOptions *o, const gchar *default_config, GError **error, va_list ap)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  const gchar *arg;
  gboolean ok;

  g_ptr_array_add (args, g_strdup ("virtnetmond"));
  while ((arg = va_arg (ap, const gchar *)))
    g_ptr_array_add (args, g_strdup (arg));
  g_ptr_array_add (args, NULL);
  ok = vnm_options_parse (o, (gint) args->len - 1, (gchar **) args->pdata, default_config, error);
  /* Never a success with an error, or a failure without one. */
  g_assert_true (ok == (error == NULL || *error == NULL));
  return ok;
}

static gboolean
parse (VnmOptions *o, GError **error, ...)
{
  va_list ap;
  gboolean ok;

  va_start (ap, error);
  ok = parse_valist (o, NULL, error, ap);
  va_end (ap);
  return ok;
}

static gboolean
parse_with_default (VnmOptions *o, const gchar *default_config, GError **error, ...)
{
  va_list ap;
  gboolean ok;

  va_start (ap, error);
  ok = parse_valist (o, default_config, error, ap);
  va_end (ap);
  return ok;
}

static void
assert_contains (const gchar *message, const gchar *needle)
{
  if (!g_strstr_len (message, -1, needle))
    g_error ("message '%s' does not contain '%s'", message, needle);
}

/* A directory of config files, removed at the end. */
typedef struct {
  gchar *dir;
  GPtrArray *files;
} TmpDir;

static void
tmp_dir_init (TmpDir *t)
{
  g_autoptr(GError) error = NULL;

  t->dir = g_dir_make_tmp ("test-options-XXXXXX", &error);
  g_assert_no_error (error);
  t->files = g_ptr_array_new_with_free_func (g_free);
}

static const gchar *
tmp_dir_write (TmpDir *t, const gchar *name, const gchar *contents)
{
  g_autoptr(GError) error = NULL;
  gchar *path = g_build_filename (t->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
  g_ptr_array_add (t->files, path);
  return path;
}

static void
tmp_dir_clear (TmpDir *t)
{
  for (guint i = 0; i < t->files->len; i++)
    g_unlink (g_ptr_array_index (t->files, i));
  g_ptr_array_unref (t->files);
  g_assert_cmpint (g_rmdir (t->dir), ==, 0);
  g_free (t->dir);
}

static void
assert_defaults (const VnmOptions *o)
{
  g_assert_cmpstr (o->uri, ==, VNM_DEFAULT_LIBVIRT_URI);
  g_assert_cmpfloat (o->interval_s, ==, VNM_INTERVAL_DEFAULT_S);
  g_assert_false (o->system_bus);
  g_assert_false (o->session_bus);
  g_assert_null (o->bus_address);
  g_assert_null (o->metrics_listen);
  g_assert_false (o->no_bpf);
  g_assert_false (o->verbose);
  g_assert_false (o->version);
  g_assert_cmpint (o->flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
  g_assert_cmpint (o->flow_idle_timeout_s, ==, VNM_FLOW_IDLE_TIMEOUT_DEFAULT_S);
  g_assert_cmpint (o->latency_threshold_us, ==, VNM_LATENCY_THRESHOLD_DEFAULT_US);
  g_assert_cmpint (o->latency_devices, ==, VNM_LATENCY_DEVICES_DEFAULT);
  g_assert_cmpint (o->latency_events_rate, ==, VNM_LATENCY_EVENTS_RATE_DEFAULT);
  g_assert_false (o->latency_raw_tp);
  g_assert_cmpint (o->probe_attach, ==, VNM_PROBE_ATTACH_AUTO);
  g_assert_cmpstr (o->state_dir, ==, VNM_DEFAULT_STATE_DIR);
  g_assert_cmpstr (o->pin_dir, ==, VNM_DEFAULT_PIN_DIR);
  g_assert_null (o->config_file);
  g_assert_cmpint (o->defaults.monitoring, ==, 1);
  g_assert_cmpint (o->defaults.latency, ==, 0);
  g_assert_cmpint (o->defaults.latency_threshold_us, ==, VNM_LATENCY_THRESHOLD_DEFAULT_US);
  g_assert_cmpint (o->defaults.flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
}

static void
test_defaults (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *missing = g_build_filename (g_get_tmp_dir (), "vnm-test-options-no-such-dir",
                                                "virtnetmond.conf", NULL);
  VnmOptions o;

  g_assert_true (parse (&o, &error, NULL));
  g_assert_no_error (error);
  assert_defaults (&o);
  vnm_options_clear (&o);
  g_assert_null (o.uri);
  g_assert_null (o.state_dir);
  g_assert_null (o.pin_dir);

  /* A default config file that does not exist is no error. */
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_assert_true (parse_with_default (&o, missing, &error, NULL));
  g_assert_no_error (error);
  assert_defaults (&o);
  vnm_options_clear (&o);
}

static void
test_command_line (void)
{
  g_autoptr(GError) error = NULL;
  VnmOptions o;

  g_assert_true (parse (&o, &error, "--connect", "qemu:///session", "-i", "0.5", "--session",
                        "--metrics-listen=[::1]:9477", "--no-bpf", "-v",
                        "--flow-table-size=1024", "--flow-idle-timeout", "30",
                        "--latency-threshold=250", "--latency-devices=4",
                        "--latency-events-rate=10", "--latency-programs=raw_tp",
                        "--probe-attach=tc-clsact", "--state-dir=/tmp/vnm-state",
                        "--pin-dir=/tmp/vnm-pin", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.uri, ==, "qemu:///session");
  g_assert_cmpfloat (o.interval_s, ==, 0.5);
  g_assert_true (o.session_bus);
  g_assert_false (o.system_bus);
  g_assert_cmpstr (o.metrics_listen, ==, "[::1]:9477");
  g_assert_true (o.no_bpf);
  g_assert_true (o.verbose);
  g_assert_cmpint (o.flow_table_size, ==, 1024);
  g_assert_cmpint (o.flow_idle_timeout_s, ==, 30);
  g_assert_cmpint (o.latency_threshold_us, ==, 250);
  g_assert_cmpint (o.latency_devices, ==, 4);
  g_assert_cmpint (o.latency_events_rate, ==, 10);
  g_assert_true (o.latency_raw_tp);
  g_assert_cmpint (o.probe_attach, ==, VNM_PROBE_ATTACH_CLSACT);
  g_assert_cmpstr (o.state_dir, ==, "/tmp/vnm-state");
  g_assert_cmpstr (o.pin_dir, ==, "/tmp/vnm-pin");
  g_assert_null (o.config_file);
  /* The command line's values are the domains' defaults. */
  g_assert_cmpint (o.defaults.monitoring, ==, 1);
  g_assert_cmpint (o.defaults.latency, ==, 0);
  g_assert_cmpint (o.defaults.latency_threshold_us, ==, 250);
  g_assert_cmpint (o.defaults.flow_table_size, ==, 1024);
  vnm_options_clear (&o);

  g_assert_true (parse (&o, &error, "--bus-address=unix:path=/tmp/bus", "--latency-programs",
                        "tp_btf", "--probe-attach", "tcx", "--pin-dir=", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.bus_address, ==, "unix:path=/tmp/bus");
  g_assert_false (o.latency_raw_tp);
  g_assert_cmpint (o.probe_attach, ==, VNM_PROBE_ATTACH_TCX);
  /* --pin-dir "" pins nowhere. */
  g_assert_null (o.pin_dir);
  vnm_options_clear (&o);

  g_assert_true (parse (&o, &error, "--system", "--latency-programs=auto", "--probe-attach=auto",
                        "--interval=3600", NULL));
  g_assert_no_error (error);
  g_assert_true (o.system_bus);
  g_assert_false (o.latency_raw_tp);
  g_assert_cmpint (o.probe_attach, ==, VNM_PROBE_ATTACH_AUTO);
  g_assert_cmpfloat (o.interval_s, ==, VNM_INTERVAL_MAX_S);
  vnm_options_clear (&o);

  /* --version stops before anything is checked or merged. */
  g_assert_true (parse (&o, &error, "--version", "--flow-table-size=1", "extra", NULL));
  g_assert_no_error (error);
  g_assert_true (o.version);
  vnm_options_clear (&o);
}

/* --OPTION=VALUE is refused with a message holding @value_text (and
 * @name, when not NULL); --OPTION=@ok_value is accepted. */
static void
assert_bounded (const gchar *option, const gchar *value, const gchar *value_text, const gchar *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *arg = g_strdup_printf ("%s=%s", option, value);
  VnmOptions o;

  g_assert_false (parse (&o, &error, arg, NULL));
  vnm_options_clear (&o);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s: %s", arg, error->message);
  assert_contains (error->message, value_text);
  if (name)
    assert_contains (error->message, name);
}

static void
assert_accepted (const gchar *option, const gchar *value)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *arg = g_strdup_printf ("%s=%s", option, value);
  VnmOptions o;

  if (!parse (&o, &error, arg, NULL))
    g_error ("%s refused: %s", arg, error->message);
  vnm_options_clear (&o);
}

static gchar *
int_text (gint64 v)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, v);
}

static void
test_bounds (void)
{
  const struct {
    const gchar *option;
    gint64 min, max;
  } ints[] = {
    { "--flow-table-size", VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX },
    { "--flow-idle-timeout", VNM_FLOW_IDLE_TIMEOUT_MIN_S, VNM_FLOW_IDLE_TIMEOUT_MAX_S },
    { "--latency-threshold", 0, VNM_LATENCY_THRESHOLD_MAX_US },
    { "--latency-devices", VNM_LATENCY_DEVICES_MIN, VNM_LATENCY_DEVICES_MAX },
    { "--latency-events-rate", VNM_LATENCY_EVENTS_RATE_MIN, VNM_LATENCY_EVENTS_RATE_MAX },
  };
  g_autofree gchar *imin = g_strdup_printf ("%g", VNM_INTERVAL_MIN_S);
  g_autofree gchar *imax = g_strdup_printf ("%g", VNM_INTERVAL_MAX_S);
  g_autofree gchar *ilow = g_strdup_printf ("%g", VNM_INTERVAL_MIN_S / 2);
  g_autofree gchar *ihigh = g_strdup_printf ("%g", VNM_INTERVAL_MAX_S + 0.5);

  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      g_autofree gchar *min = int_text (ints[i].min);
      g_autofree gchar *max = int_text (ints[i].max);
      g_autofree gchar *below = int_text (ints[i].min - 1);
      g_autofree gchar *above = int_text (ints[i].max + 1);
      /* Only --latency-devices names itself in its message today; the
       * others are checked for the value alone. */
      const gchar *name = g_str_equal (ints[i].option, "--latency-devices") ? ints[i].option
                                                                            : NULL;
      g_autofree gchar *not_below = g_strdup_printf ("not %s", below);
      g_autofree gchar *not_above = g_strdup_printf ("not %s", above);

      assert_accepted (ints[i].option, min);
      assert_accepted (ints[i].option, max);
      assert_bounded (ints[i].option, below, not_below, name);
      assert_bounded (ints[i].option, above, not_above, name);
      /* And the bounds are in the message. */
      assert_bounded (ints[i].option, above, min, NULL);
      assert_bounded (ints[i].option, above, max, NULL);
    }

  assert_accepted ("--interval", imin);
  assert_accepted ("--interval", imax);
  assert_bounded ("--interval", ilow, ilow, NULL);
  assert_bounded ("--interval", ihigh, ihigh, NULL);
  assert_bounded ("--interval", "0", "not 0", NULL);
  assert_bounded ("--interval", "-1", "not -1", NULL);
  assert_bounded ("--interval", ihigh, imin, NULL);
  assert_bounded ("--interval", ihigh, imax, NULL);
  /* Not a number within the bounds either. */
  assert_bounded ("--interval", "nan", "nan", NULL);
  assert_bounded ("--interval", "inf", "inf", NULL);
}

/* What is not a value of the right kind at all, named with the option. */
static void
test_bad_values (void)
{
  const struct {
    const gchar *arg;
    GQuark domain;
    gint code;
    const gchar *needles[3];
  } cases[] = {
    { "--interval=soon", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, { "--interval", "'soon'" } },
    { "--interval=1s", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, { "--interval", "'1s'" } },
    { "--interval=", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, { "--interval", "''" } },
    { "--latency-programs=kprobe", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
      { "--latency-programs", "'kprobe'" } },
    { "--probe-attach=xdp", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, { "--probe-attach", "'xdp'" } },
    { "--metrics-listen=localhost", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
      { "--metrics-listen", "'localhost'" } },
    { "--metrics-listen=:0", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, { "--metrics-listen", "'0'" } },
    { "--flow-table-size=lots", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
      { "--flow-table-size", "lots" } },
    { "--latency-devices=99999999999", G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
      { "--latency-devices", "99999999999" } },
    { "--no-such-option", G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, { "--no-such-option" } },
    /* Not the default: -1 once meant "not given". */
    { "--usage-flush-interval=-1", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
      { "--usage-flush-interval", "'-1'" } },
    { "--usage-flush-interval=-30", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
      { "--usage-flush-interval", "'-30'" } },
    { "--usage-flush-interval=soon", VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
      { "--usage-flush-interval", "'soon'" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      VnmOptions o;

      g_assert_false (parse (&o, &error, cases[i].arg, NULL));
      vnm_options_clear (&o);
      g_test_message ("%s: %s", cases[i].arg, error->message);
      g_assert_error (error, cases[i].domain, cases[i].code);
      for (guint k = 0; k < G_N_ELEMENTS (cases[i].needles) && cases[i].needles[k]; k++)
        assert_contains (error->message, cases[i].needles[k]);
    }
}

static void
test_conflicts (void)
{
  const gchar *const pairs[][2] = {
    { "--system", "--session" },
    { "--system", "--bus-address=unix:path=/x" },
    { "--session", "--bus-address=unix:path=/x" },
  };
  g_autoptr(GError) error = NULL;
  VnmOptions o;

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_assert_false (parse (&o, &error, pairs[i][0], pairs[i][1], NULL));
      vnm_options_clear (&o);
      g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
      assert_contains (error->message, "--system, --session and --bus-address");
      g_clear_error (&error);
    }

  g_assert_false (parse (&o, &error, "-v", "stray", NULL));
  vnm_options_clear (&o);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, "'stray'");
}

static void
test_config_file (void)
{
  TmpDir t;
  const gchar *conf;
  g_autoptr(GError) error = NULL;
  VnmOptions o;

  tmp_dir_init (&t);
  conf = tmp_dir_write (&t, "virtnetmond.conf",
                        "[daemon]\n"
                        "connect=qemu+tcp://host/system\n"
                        "interval=5\n"
                        "metrics-listen=:9477\n");

  /* Given with --config. */
  g_assert_true (parse (&o, &error, "--config", conf, NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.config_file, ==, conf);
  g_assert_cmpstr (o.uri, ==, "qemu+tcp://host/system");
  g_assert_cmpfloat (o.interval_s, ==, 5.0);
  g_assert_cmpstr (o.metrics_listen, ==, ":9477");
  /* What the file leaves out keeps its default. */
  g_assert_cmpint (o.flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
  g_assert_cmpint (o.latency_threshold_us, ==, VNM_LATENCY_THRESHOLD_DEFAULT_US);
  g_assert_cmpstr (o.state_dir, ==, VNM_DEFAULT_STATE_DIR);
  g_assert_cmpint (o.defaults.monitoring, ==, 1);
  g_assert_cmpint (o.defaults.latency, ==, 0);
  vnm_options_clear (&o);

  /* As the default file, when it exists. */
  g_assert_true (parse_with_default (&o, conf, &error, NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.config_file, ==, conf);
  g_assert_cmpstr (o.uri, ==, "qemu+tcp://host/system");
  g_assert_cmpfloat (o.interval_s, ==, 5.0);
  vnm_options_clear (&o);

  /* The command line wins. */
  g_assert_true (parse (&o, &error, "--config", conf, "-c", "test:///default", "--interval=2",
                        "--metrics-listen=127.0.0.1:1234", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.uri, ==, "test:///default");
  g_assert_cmpfloat (o.interval_s, ==, 2.0);
  g_assert_cmpstr (o.metrics_listen, ==, "127.0.0.1:1234");
  vnm_options_clear (&o);

  /* --config wins over the default file, which is then not read at all. */
  {
    const gchar *bad = tmp_dir_write (&t, "bad.conf", "[nonsense]\n");

    g_assert_true (parse_with_default (&o, bad, &error, "--config", conf, NULL));
    g_assert_no_error (error);
    g_assert_cmpstr (o.config_file, ==, conf);
    g_assert_cmpstr (o.uri, ==, "qemu+tcp://host/system");
    vnm_options_clear (&o);
  }

  tmp_dir_clear (&t);
}

static void
test_config_errors (void)
{
  const struct {
    const gchar *contents;
    const gchar *needles[3];
  } cases[] = {
    { "[daemon\n", { "Cannot read the configuration file" } },
    { "no group=1\n", { "Cannot read the configuration file" } },
    { "[daemon]\nfrobnicate=1\n", { "'frobnicate'", "[daemon]" } },
    { "[servers]\n", { "[servers]" } },
    { "[daemon]\ninterval=fast\n", { "interval=", "'fast'" } },
    { "[domains]\nlatency=sometimes\n", { "latency=", "'sometimes'" } },
    { "[domains]\nflow-table-size=1\n", { "flow-table-size=", "'1'" } },
    { "[daemon]\nmetrics-listen=nowhere\n", { "metrics-listen=", "'nowhere'" } },
  };
  TmpDir t;

  tmp_dir_init (&t);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree gchar *name = g_strdup_printf ("case%u.conf", i);
      const gchar *conf = tmp_dir_write (&t, name, cases[i].contents);
      VnmOptions o;

      /* Whether given or found as the default: the same refusal. */
      for (guint how = 0; how < 2; how++)
        {
          gboolean ok = how == 0 ? parse (&o, &error, "--config", conf, NULL)
                                 : parse_with_default (&o, conf, &error, NULL);

          vnm_options_clear (&o);
          g_assert_false (ok);
          g_test_message ("%s", error->message);
          assert_contains (error->message, conf);
          for (guint k = 0; k < G_N_ELEMENTS (cases[i].needles) && cases[i].needles[k]; k++)
            assert_contains (error->message, cases[i].needles[k]);
          g_clear_error (&error);
        }
    }
  tmp_dir_clear (&t);
}

static void
test_config_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *missing = g_build_filename (g_get_tmp_dir (), "vnm-test-options-no-such-dir",
                                                "virtnetmond.conf", NULL);
  VnmOptions o;

  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_assert_false (parse (&o, &error, "--config", missing, NULL));
  vnm_options_clear (&o);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  assert_contains (error->message, missing);
}

/* An out-of-range interval in the file is refused, naming the file and
 * the key, as any bad value of the file is, whatever the command line
 * says; 0 included (it is not "unset"). */
static void
test_config_interval_bounds (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *contents = g_strdup_printf ("[daemon]\ninterval=%g\n", VNM_INTERVAL_MAX_S * 2);
  g_autofree gchar *value = g_strdup_printf ("'%g'", VNM_INTERVAL_MAX_S * 2);
  TmpDir t;
  const gchar *conf;
  VnmOptions o;

  tmp_dir_init (&t);
  conf = tmp_dir_write (&t, "virtnetmond.conf", contents);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_false (i ? parse (&o, &error, "--config", conf, "--interval=10", NULL)
                        : parse (&o, &error, "--config", conf, NULL));
      vnm_options_clear (&o);
      g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
      assert_contains (error->message, value);
      assert_contains (error->message, "interval=");
      assert_contains (error->message, conf);
      g_clear_error (&error);
    }
  conf = tmp_dir_write (&t, "virtnetmond.conf", "[daemon]\ninterval=0\n");
  g_assert_false (parse (&o, &error, "--config", conf, NULL));
  vnm_options_clear (&o);
  assert_contains (error->message, "'0'");
  g_clear_error (&error);

  /* The lowest int is a value out of range, not "not given". */
  g_assert_false (parse (&o, &error, "--latency-threshold=-2147483648", NULL));
  vnm_options_clear (&o);
  assert_contains (error->message, "--latency-threshold");
  assert_contains (error->message, "not -2147483648");
  tmp_dir_clear (&t);
}

static void
test_domain_defaults (void)
{
  TmpDir t;
  const gchar *conf, *big;
  g_autoptr(GError) error = NULL;
  VnmOptions o;

  tmp_dir_init (&t);
  conf = tmp_dir_write (&t, "virtnetmond.conf",
                        "[domains]\n"
                        "monitoring=no\n"
                        "latency=yes\n"
                        "latency-threshold-us=2000\n"
                        "flow-table-size=1024\n");

  g_assert_true (parse (&o, &error, "--config", conf, NULL));
  g_assert_no_error (error);
  g_assert_cmpint (o.defaults.monitoring, ==, 0);
  g_assert_cmpint (o.defaults.latency, ==, 1);
  g_assert_cmpint (o.defaults.latency_threshold_us, ==, 2000);
  g_assert_cmpint (o.defaults.flow_table_size, ==, 1024);
  /* The file's threshold is the daemon's too; its flow-table-size is a
   * domain's share, not the kernel table's size. */
  g_assert_cmpint (o.latency_threshold_us, ==, 2000);
  g_assert_cmpint (o.flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
  vnm_options_clear (&o);

  /* The command line's threshold wins over the file's. */
  g_assert_true (parse (&o, &error, "--config", conf, "--latency-threshold=300",
                        "--flow-table-size=4096", NULL));
  g_assert_no_error (error);
  g_assert_cmpint (o.latency_threshold_us, ==, 300);
  g_assert_cmpint (o.defaults.latency_threshold_us, ==, 300);
  g_assert_cmpint (o.defaults.monitoring, ==, 0);
  g_assert_cmpint (o.defaults.latency, ==, 1);
  g_assert_cmpint (o.flow_table_size, ==, 4096);
  g_assert_cmpint (o.defaults.flow_table_size, ==, 1024);
  vnm_options_clear (&o);

  /* A domain's share is never more than the whole table. */
  g_assert_true (parse (&o, &error, "--config", conf, "--flow-table-size=512", NULL));
  g_assert_no_error (error);
  g_assert_cmpint (o.flow_table_size, ==, 512);
  g_assert_cmpint (o.defaults.flow_table_size, ==, 512);
  vnm_options_clear (&o);

  big = tmp_dir_write (&t, "big.conf", "[domains]\nflow-table-size=65536\n");
  g_assert_true (parse (&o, &error, "--config", big, NULL));
  g_assert_no_error (error);
  g_assert_cmpint (o.flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
  g_assert_cmpint (o.defaults.flow_table_size, ==, VNM_FLOW_TABLE_DEFAULT);
  /* The rest unset in the file: the built-in defaults. */
  g_assert_cmpint (o.defaults.monitoring, ==, 1);
  g_assert_cmpint (o.defaults.latency, ==, 0);
  g_assert_cmpint (o.defaults.latency_threshold_us, ==, VNM_LATENCY_THRESHOLD_DEFAULT_US);
  vnm_options_clear (&o);

  tmp_dir_clear (&t);
}

/* Sampled latency: on by default (no file, or a file that is silent), the
 * command line over [daemon] latency-sampling=, window and period bounds. */
static void
test_latency_sampling (void)
{
  TmpDir t;
  const gchar *off, *silent;
  g_autoptr(GError) error = NULL;
  VnmOptions o;

  tmp_dir_init (&t);
  off = tmp_dir_write (&t, "off.conf", "[daemon]\nlatency-sampling=no\n");
  silent = tmp_dir_write (&t, "silent.conf", "[daemon]\ninterval=2\n");

  g_assert_true (parse (&o, &error, NULL));
  g_assert_true (o.latency_sampling);
  g_assert_cmpint (o.latency_sample_window_ms, ==, VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS);
  g_assert_cmpint (o.latency_sample_period_s, ==, VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S);
  vnm_options_clear (&o);
  g_assert_true (parse (&o, &error, "--config", silent, NULL));
  g_assert_true (o.latency_sampling);
  vnm_options_clear (&o);
  g_assert_true (parse (&o, &error, "--config", off, NULL));
  g_assert_false (o.latency_sampling);
  vnm_options_clear (&o);
  g_assert_true (parse (&o, &error, "--config", off, "--latency-sampling", "on", NULL));
  g_assert_true (o.latency_sampling);
  vnm_options_clear (&o);
  g_assert_true (parse (&o, &error, "--latency-sampling", "off", "--latency-sample-window", "200",
                        "--latency-sample-period", "2", NULL));
  g_assert_false (o.latency_sampling);
  g_assert_cmpint (o.latency_sample_window_ms, ==, 200);
  g_assert_cmpint (o.latency_sample_period_s, ==, 2);
  vnm_options_clear (&o);

  g_assert_false (parse (&o, &error, "--latency-sampling", "sometimes", NULL));
  assert_contains (error->message, "'sometimes'");
  g_clear_error (&error);
  g_assert_false (parse (&o, &error, "--latency-sample-window", "5", NULL));
  assert_contains (error->message, "--latency-sample-window");
  g_clear_error (&error);
  /* The window must be shorter than the period. */
  g_assert_false (parse (&o, &error, "--latency-sample-period", "1", "--latency-sample-window", "1000", NULL));
  assert_contains (error->message, "1000 ms");
  g_clear_error (&error);
  g_assert_false (parse (&o, &error, "--latency-sample-period", "3601", NULL));
  assert_contains (error->message, "--latency-sample-period");
  g_clear_error (&error);
  {
    const gchar *bad = tmp_dir_write (&t, "bad.conf", "[daemon]\nlatency-sampling=maybe\n");
    g_assert_false (parse (&o, &error, "--config", bad, NULL));
    assert_contains (error->message, "latency-sampling=");
    assert_contains (error->message, "[daemon]");
    g_clear_error (&error);
  }
  tmp_dir_clear (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/options/defaults", test_defaults);
  g_test_add_func ("/options/command-line", test_command_line);
  g_test_add_func ("/options/bounds", test_bounds);
  g_test_add_func ("/options/bad-values", test_bad_values);
  g_test_add_func ("/options/conflicts", test_conflicts);
  g_test_add_func ("/options/config-file", test_config_file);
  g_test_add_func ("/options/config-errors", test_config_errors);
  g_test_add_func ("/options/config-missing", test_config_missing);
  g_test_add_func ("/options/config-interval-bounds", test_config_interval_bounds);
  g_test_add_func ("/options/domain-defaults", test_domain_defaults);
  g_test_add_func ("/options/latency-sampling", test_latency_sampling);
  return g_test_run ();
}
