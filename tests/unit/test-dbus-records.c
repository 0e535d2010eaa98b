/* test-dbus-records.c: the D-Bus record builders of dbus-records*.c —
 * the argument parsers (vnm_record_number, vnm_record_settings_change,
 * vnm_record_latency_settings), which interfaces are hidden, the records
 * built without an engine (slow-packet events, kernel capabilities), and
 * the records read from a real engine (and GetLinkStatsColumns' columns,
 * cell by cell against GetLinkStats' records): --no-bpf, libvirt's test driver
 * (test:///default, in this process) and the links of a private network
 * namespace this test makes (lo, a veth standing for the test domain's
 * tap testnet0, a Proxmox-style tap and firewall devices). Keys and types
 * are those of dbus/org.virtnetmon.Monitor1.xml; values are checked
 * against what libvirt and the kernel (/proc/net/dev, ioctls) say.
 *
 * The namespace needs root or unprivileged user namespaces; without
 * either the engine's tests are skipped, saying why (failed when
 * VIRTNETMON_REQUIRE_ALL=1). */
#include "config.h"

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <math.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "dbus-records.h"
#include "engine.h"
#include "vnm-error.h"
#include "vnm-limits.h"
#include "vnm-names.h"

/* --- helpers ------------------------------------------------------------- */

static void
assert_contains (const gchar *message, const gchar *needle)
{
  if (!g_strstr_len (message, -1, needle))
    g_error ("message '%s' does not contain '%s'", message, needle);
}

/* @record (a{sv}) has exactly the keys of @spec ("key:type" each, NULL
 * terminated), each with its type. */
static void
assert_keys (GVariant *record, const gchar *const *spec)
{
  guint n = 0;

  g_assert_true (g_variant_is_of_type (record, G_VARIANT_TYPE_VARDICT));
  for (const gchar *const *s = spec; *s; s++, n++)
    {
      g_auto(GStrv) kt = g_strsplit (*s, ":", 2);
      g_autoptr(GVariant) v = g_variant_lookup_value (record, kt[0], NULL);

      if (!v)
        g_error ("record has no key '%s'", kt[0]);
      if (!g_str_equal (g_variant_get_type_string (v), kt[1]))
        g_error ("record's '%s' is of type '%s', not '%s'", kt[0], g_variant_get_type_string (v),
                 kt[1]);
    }
  if (g_variant_n_children (record) != n)
    {
      g_autofree gchar *text = g_variant_print (record, TRUE);
      g_error ("record has %zu keys, not %u: %s", g_variant_n_children (record), n, text);
    }
}

static const gchar *
lookup_s (GVariant *record, const gchar *key)
{
  const gchar *s = NULL;

  g_assert_true (g_variant_lookup (record, key, "&s", &s));
  return s;
}

static gdouble
lookup_d (GVariant *record, const gchar *key)
{
  gdouble d = -1;

  g_assert_true (g_variant_lookup (record, key, "d", &d));
  return d;
}

static guint64
lookup_t (GVariant *record, const gchar *key)
{
  guint64 t = 0;

  g_assert_true (g_variant_lookup (record, key, "t", &t));
  return t;
}

static gint32
lookup_i (GVariant *record, const gchar *key)
{
  gint32 i = 0;

  g_assert_true (g_variant_lookup (record, key, "i", &i));
  return i;
}

static gboolean
lookup_b (GVariant *record, const gchar *key)
{
  gboolean b = FALSE;

  g_assert_true (g_variant_lookup (record, key, "b", &b));
  return b;
}

/* An a{sv} of one @key -> @value (floating, taken). */
static GVariant *
dict1 (const gchar *key, GVariant *value)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", key, value);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static GVariant *
empty_dict (void)
{
  return g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
}

/* --- vnm_record_number --------------------------------------------------- */

/* Whether @v (floating, taken) is accepted with @max, and as what. */
static gboolean
number (GVariant *v, guint64 max, guint64 *out)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (v);

  *out = G_MAXUINT64;
  return vnm_record_number (owned, max, out);
}

static void
test_number_types (void)
{
  guint64 n;

  g_assert_true (number (g_variant_new_uint16 (7), 100, &n));
  g_assert_cmpuint (n, ==, 7);
  g_assert_true (number (g_variant_new_uint32 (70000), 100000, &n));
  g_assert_cmpuint (n, ==, 70000);
  g_assert_true (number (g_variant_new_uint64 (G_GUINT64_CONSTANT (5000000000)), G_MAXUINT64, &n));
  g_assert_cmpuint (n, ==, G_GUINT64_CONSTANT (5000000000));
  g_assert_true (number (g_variant_new_int32 (42), 100, &n));
  g_assert_cmpuint (n, ==, 42);
  g_assert_true (number (g_variant_new_int64 (43), 100, &n));
  g_assert_cmpuint (n, ==, 43);
  g_assert_true (number (g_variant_new_double (44.0), 100, &n));
  g_assert_cmpuint (n, ==, 44);
  /* Zero of every type. */
  g_assert_true (number (g_variant_new_uint16 (0), 0, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (number (g_variant_new_int32 (0), 0, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (number (g_variant_new_int64 (0), 0, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (number (g_variant_new_double (0), 0, &n));
  g_assert_cmpuint (n, ==, 0);
}

static void
test_number_negative (void)
{
  guint64 n;

  g_assert_false (number (g_variant_new_int32 (-1), 100, &n));
  g_assert_false (number (g_variant_new_int32 (G_MININT32), G_MAXUINT64, &n));
  g_assert_false (number (g_variant_new_int64 (-1), 100, &n));
  g_assert_false (number (g_variant_new_int64 (G_MININT64), G_MAXUINT64, &n));
  g_assert_false (number (g_variant_new_double (-0.5), 100, &n));
  g_assert_false (number (g_variant_new_double (-1e9), 100, &n));
  g_assert_false (number (g_variant_new_double (NAN), 100, &n));
}

static void
test_number_max (void)
{
  guint64 n;

  /* At the bound: accepted; one above: refused, whatever the type. */
  g_assert_true (number (g_variant_new_uint16 (100), 100, &n));
  g_assert_cmpuint (n, ==, 100);
  g_assert_false (number (g_variant_new_uint16 (101), 100, &n));
  g_assert_true (number (g_variant_new_uint32 (100), 100, &n));
  g_assert_false (number (g_variant_new_uint32 (101), 100, &n));
  g_assert_false (number (g_variant_new_uint32 (G_MAXUINT32), 100, &n));
  g_assert_true (number (g_variant_new_uint64 (100), 100, &n));
  g_assert_false (number (g_variant_new_uint64 (101), 100, &n));
  g_assert_false (number (g_variant_new_uint64 (G_MAXUINT64), 100, &n));
  g_assert_true (number (g_variant_new_int32 (100), 100, &n));
  g_assert_false (number (g_variant_new_int32 (101), 100, &n));
  g_assert_true (number (g_variant_new_int64 (100), 100, &n));
  g_assert_false (number (g_variant_new_int64 (101), 100, &n));
  g_assert_false (number (g_variant_new_int64 (G_MAXINT64), 100, &n));
  g_assert_true (number (g_variant_new_double (100.0), 100, &n));
  g_assert_cmpuint (n, ==, 100);
  g_assert_false (number (g_variant_new_double (100.5), 100, &n));
  g_assert_false (number (g_variant_new_double (1e300), 100, &n));
  g_assert_false (number (g_variant_new_double (INFINITY), 100, &n));
  /* The bounds the daemon uses. */
  g_assert_true (number (g_variant_new_uint32 (65535), 65535, &n));
  g_assert_false (number (g_variant_new_uint32 (65536), 65535, &n));
  g_assert_true (number (g_variant_new_uint32 (VNM_LATENCY_THRESHOLD_MAX_US),
                         VNM_LATENCY_THRESHOLD_MAX_US, &n));
  g_assert_false (number (g_variant_new_uint32 (VNM_LATENCY_THRESHOLD_MAX_US + 1),
                          VNM_LATENCY_THRESHOLD_MAX_US, &n));
}

static void
test_number_wrong_type (void)
{
  guint64 n;

  g_assert_false (number (g_variant_new_string ("5"), 100, &n));
  g_assert_false (number (g_variant_new_boolean (TRUE), 100, &n));
  g_assert_false (number (g_variant_new_byte (5), 100, &n));
  g_assert_false (number (g_variant_new_int16 (5), 100, &n));
  g_assert_false (number (g_variant_new_variant (g_variant_new_uint32 (5)), 100, &n));
  g_assert_false (number (g_variant_new_strv (NULL, 0), 100, &n));
}

/* --- vnm_record_settings_change ------------------------------------------ */

static void
assert_settings (const VnmDomainSettings *c, gint64 monitoring, gint64 latency,
                 gint64 threshold, gint64 table)
{
  g_assert_cmpint (c->monitoring, ==, monitoring);
  g_assert_cmpint (c->latency, ==, latency);
  g_assert_cmpint (c->latency_threshold_us, ==, threshold);
  g_assert_cmpint (c->flow_table_size, ==, table);
}

/* vnm_record_settings_change of @key -> @value (floating, taken). */
static gboolean
change1 (const gchar *key, GVariant *value, VnmDomainSettings *c, GError **error)
{
  g_autoptr(GVariant) settings = dict1 (key, value);
  gboolean ok = vnm_record_settings_change (settings, NULL, c, error);

  g_assert_true (ok == (*error == NULL));
  return ok;
}

static void
test_settings_change_keys (void)
{
  g_autoptr(GVariant) none = empty_dict ();
  g_autoptr(GError) error = NULL;
  VnmDomainSettings c;
  GVariantBuilder b;
  g_autoptr(GVariant) all = NULL;

  /* Nothing given: every field kept (-1). */
  memset (&c, 0x55, sizeof c);
  g_assert_true (vnm_record_settings_change (none, NULL, &c, &error));
  g_assert_no_error (error);
  assert_settings (&c, -1, -1, -1, -1);

  g_assert_true (change1 ("monitoring", g_variant_new_boolean (TRUE), &c, &error));
  assert_settings (&c, 1, -1, -1, -1);
  g_assert_true (change1 ("monitoring", g_variant_new_boolean (FALSE), &c, &error));
  assert_settings (&c, 0, -1, -1, -1);
  g_assert_true (change1 ("latency", g_variant_new_boolean (TRUE), &c, &error));
  assert_settings (&c, -1, 1, -1, -1);
  g_assert_true (change1 ("latency", g_variant_new_boolean (FALSE), &c, &error));
  assert_settings (&c, -1, 0, -1, -1);

  /* latency_threshold_us: u, t or i (the contract), 0 to 60000000. */
  g_assert_true (change1 ("latency_threshold_us", g_variant_new_uint32 (250), &c, &error));
  assert_settings (&c, -1, -1, 250, -1);
  g_assert_true (change1 ("latency_threshold_us", g_variant_new_uint64 (VNM_LATENCY_THRESHOLD_MAX_US),
                          &c, &error));
  assert_settings (&c, -1, -1, VNM_LATENCY_THRESHOLD_MAX_US, -1);
  g_assert_true (change1 ("latency_threshold_us", g_variant_new_int32 (0), &c, &error));
  assert_settings (&c, -1, -1, 0, -1);

  /* flow_table_size: u, t or i, 16 to 4194304. */
  g_assert_true (change1 ("flow_table_size", g_variant_new_uint32 (VNM_FLOW_TABLE_MIN), &c, &error));
  assert_settings (&c, -1, -1, -1, VNM_FLOW_TABLE_MIN);
  g_assert_true (change1 ("flow_table_size", g_variant_new_uint64 (VNM_FLOW_TABLE_MAX), &c, &error));
  assert_settings (&c, -1, -1, -1, VNM_FLOW_TABLE_MAX);
  g_assert_true (change1 ("flow_table_size", g_variant_new_int32 (1024), &c, &error));
  assert_settings (&c, -1, -1, -1, 1024);

  /* All at once. */
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "monitoring", g_variant_new_boolean (FALSE));
  g_variant_builder_add (&b, "{sv}", "latency", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&b, "{sv}", "latency_threshold_us", g_variant_new_uint32 (2000));
  g_variant_builder_add (&b, "{sv}", "flow_table_size", g_variant_new_uint32 (4096));
  all = g_variant_ref_sink (g_variant_builder_end (&b));
  g_assert_true (vnm_record_settings_change (all, NULL, &c, &error));
  g_assert_no_error (error);
  assert_settings (&c, 0, 1, 2000, 4096);
}

/* A refused @key -> @value (floating, taken): InvalidArgument naming the
 * key and containing @why. */
static void
assert_setting_refused (const gchar *key, GVariant *value, const gchar *why)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *named = g_strdup_printf ("'%s'", key);
  VnmDomainSettings c;

  g_assert_false (change1 (key, value, &c, &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, named);
  assert_contains (error->message, why);
}

static void
test_settings_change_errors (void)
{
  /* Unknown key: named, with the keys there are. */
  assert_setting_refused ("monitor", g_variant_new_boolean (TRUE), "Unknown setting");
  assert_setting_refused ("monitor", g_variant_new_boolean (TRUE), "flow_table_size");
  assert_setting_refused ("", g_variant_new_boolean (TRUE), "Unknown setting");

  /* Wrong types. */
  assert_setting_refused ("monitoring", g_variant_new_uint32 (1), "boolean");
  assert_setting_refused ("monitoring", g_variant_new_string ("yes"), "boolean");
  assert_setting_refused ("latency", g_variant_new_int32 (1), "boolean");
  assert_setting_refused ("latency_threshold_us", g_variant_new_string ("100"), "microseconds");
  assert_setting_refused ("latency_threshold_us", g_variant_new_boolean (TRUE), "microseconds");
  assert_setting_refused ("flow_table_size", g_variant_new_string ("1024"), "number of flows");
  assert_setting_refused ("flow_table_size", g_variant_new_boolean (TRUE), "number of flows");

  /* Out of range: the range is in the message. */
  assert_setting_refused ("latency_threshold_us", g_variant_new_uint32 (VNM_LATENCY_THRESHOLD_MAX_US + 1),
                          "60000000");
  assert_setting_refused ("latency_threshold_us", g_variant_new_int32 (-1), "from 0 to");
  assert_setting_refused ("flow_table_size", g_variant_new_uint32 (VNM_FLOW_TABLE_MIN - 1), "from 16 to 4194304");
  assert_setting_refused ("flow_table_size", g_variant_new_uint32 (0), "from 16 to 4194304");
  assert_setting_refused ("flow_table_size", g_variant_new_uint64 (VNM_FLOW_TABLE_MAX + 1), "4194304");
  assert_setting_refused ("flow_table_size", g_variant_new_int64 (-16), "from 16");

  /* The first bad key fails the whole change, wherever it is. */
  {
    GVariantBuilder b;
    g_autoptr(GVariant) settings = NULL;
    g_autoptr(GError) error = NULL;
    VnmDomainSettings c;

    g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add (&b, "{sv}", "monitoring", g_variant_new_boolean (TRUE));
    g_variant_builder_add (&b, "{sv}", "flow_table_size", g_variant_new_uint32 (1));
    settings = g_variant_ref_sink (g_variant_builder_end (&b));
    g_assert_false (vnm_record_settings_change (settings, NULL, &c, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "'flow_table_size'");
  }
}

static void
test_settings_change_unset (void)
{
  g_autoptr(GVariant) none = empty_dict ();
  g_autoptr(GError) error = NULL;
  VnmDomainSettings c;
  const gchar *const all[] = { "monitoring", "latency", "latency_threshold_us", "flow_table_size", NULL };

  for (guint i = 0; all[i]; i++)
    {
      const gchar *const one[] = { all[i], NULL };
      gint64 expect[4] = { -1, -1, -1, -1 };

      expect[i] = VNM_SETTING_UNSET;
      g_assert_true (vnm_record_settings_change (none, one, &c, &error));
      g_assert_no_error (error);
      assert_settings (&c, expect[0], expect[1], expect[2], expect[3]);
    }
  g_assert_true (vnm_record_settings_change (none, all, &c, &error));
  assert_settings (&c, VNM_SETTING_UNSET, VNM_SETTING_UNSET, VNM_SETTING_UNSET, VNM_SETTING_UNSET);

  /* An empty list changes nothing. */
  {
    const gchar *const empty[] = { NULL };
    g_assert_true (vnm_record_settings_change (none, empty, &c, &error));
    assert_settings (&c, -1, -1, -1, -1);
  }

  /* A value and the unset of another key together. */
  {
    g_autoptr(GVariant) settings = dict1 ("latency", g_variant_new_boolean (TRUE));
    const gchar *const unset[] = { "flow_table_size", NULL };
    g_assert_true (vnm_record_settings_change (settings, unset, &c, &error));
    assert_settings (&c, -1, 1, -1, VNM_SETTING_UNSET);
  }

  /* An unknown name is refused, naming it. */
  {
    const gchar *const bad[] = { "latency", "threshold", NULL };
    g_assert_false (vnm_record_settings_change (none, bad, &c, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "'threshold'");
    assert_contains (error->message, "unset");
  }
}

/* --- vnm_record_latency_settings ----------------------------------------- */

#define DEFAULT_THRESHOLD_NS G_GUINT64_CONSTANT (1000000)

/* vnm_record_latency_settings of @key -> @value (floating, taken). */
static gboolean
latency1 (const gchar *key, GVariant *value, VnmLatencySettings *s, GError **error)
{
  g_autoptr(GVariant) options = dict1 (key, value);
  gboolean ok = vnm_record_latency_settings (options, DEFAULT_THRESHOLD_NS, s, error);

  g_assert_true (ok == (*error == NULL));
  return ok;
}

static void
assert_option_refused (const gchar *key, GVariant *value, const gchar *why)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *named = g_strdup_printf ("Option '%s'", key);
  VnmLatencySettings s;

  g_assert_false (latency1 (key, value, &s, &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, named);
  assert_contains (error->message, why);
}

static void
test_latency_settings_defaults (void)
{
  g_autoptr(GVariant) none = empty_dict ();
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;
  static const guint8 zero[16];

  memset (&s, 0x55, sizeof s);
  g_assert_true (vnm_record_latency_settings (none, 12345, &s, &error));
  g_assert_no_error (error);
  g_assert_true (s.tx);
  g_assert_true (s.rx);
  g_assert_cmpuint (s.threshold_ns, ==, 12345);
  g_assert_cmpuint (s.filter.proto, ==, 0);
  g_assert_cmpuint (s.filter.family, ==, 0);
  g_assert_cmpuint (s.filter.src_port, ==, 0);
  g_assert_cmpuint (s.filter.dst_port, ==, 0);
  g_assert_cmpmem (s.filter.src_ip, 16, zero, 16);
  g_assert_cmpmem (s.filter.dst_ip, 16, zero, 16);

  /* An unknown option is named. */
  {
    g_autoptr(GVariant) o = dict1 ("threshold", g_variant_new_uint32 (5));
    g_assert_false (vnm_record_latency_settings (o, 1, &s, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "Unknown option 'threshold'");
    assert_contains (error->message, "threshold_us");
  }
}

static void
test_latency_settings_direction (void)
{
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;

  g_assert_true (latency1 ("direction", g_variant_new_string ("tx"), &s, &error));
  g_assert_true (s.tx);
  g_assert_false (s.rx);
  g_assert_true (latency1 ("direction", g_variant_new_string ("rx"), &s, &error));
  g_assert_false (s.tx);
  g_assert_true (s.rx);
  g_assert_true (latency1 ("direction", g_variant_new_string ("both"), &s, &error));
  g_assert_true (s.tx);
  g_assert_true (s.rx);
  assert_option_refused ("direction", g_variant_new_string ("in"), "\"both\"");
  assert_option_refused ("direction", g_variant_new_string (""), "\"tx\"");
  assert_option_refused ("direction", g_variant_new_string ("TX"), "\"tx\"");
  assert_option_refused ("direction", g_variant_new_uint32 (0), "a string");
}

static void
test_latency_settings_proto (void)
{
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;

  g_assert_true (latency1 ("proto", g_variant_new_string ("tcp"), &s, &error));
  g_assert_cmpuint (s.filter.proto, ==, IPPROTO_TCP);
  g_assert_true (latency1 ("proto", g_variant_new_string ("udp"), &s, &error));
  g_assert_cmpuint (s.filter.proto, ==, IPPROTO_UDP);
  /* icmp covers ICMPv6 in the probe; the filter says IPPROTO_ICMP. */
  g_assert_true (latency1 ("proto", g_variant_new_string ("icmp"), &s, &error));
  g_assert_cmpuint (s.filter.proto, ==, IPPROTO_ICMP);
  g_assert_true (latency1 ("proto", g_variant_new_string ("all"), &s, &error));
  g_assert_cmpuint (s.filter.proto, ==, 0);
  g_assert_true (latency1 ("proto", g_variant_new_string (""), &s, &error));
  g_assert_cmpuint (s.filter.proto, ==, 0);
  assert_option_refused ("proto", g_variant_new_string ("sctp"), "\"tcp\"");
  assert_option_refused ("proto", g_variant_new_string ("TCP"), "\"udp\"");
  assert_option_refused ("proto", g_variant_new_uint32 (6), "a string");
}

static void
test_latency_settings_ip (void)
{
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;
  static const guint8 v4_mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 };
  static const guint8 zero[16];
  guint8 v6[16];

  g_assert_true (latency1 ("src_ip", g_variant_new_string ("10.1.2.3"), &s, &error));
  g_assert_cmpuint (s.filter.family, ==, 4);
  g_assert_cmpmem (s.filter.src_ip, 16, v4_mapped, 16);
  g_assert_cmpmem (s.filter.dst_ip, 16, zero, 16);
  g_assert_true (latency1 ("dst_ip", g_variant_new_string ("10.1.2.3"), &s, &error));
  g_assert_cmpuint (s.filter.family, ==, 4);
  g_assert_cmpmem (s.filter.dst_ip, 16, v4_mapped, 16);
  g_assert_cmpmem (s.filter.src_ip, 16, zero, 16);

  g_assert_cmpint (inet_pton (AF_INET6, "2001:db8::42", v6), ==, 1);
  g_assert_true (latency1 ("dst_ip", g_variant_new_string ("2001:db8::42"), &s, &error));
  g_assert_cmpuint (s.filter.family, ==, 6);
  g_assert_cmpmem (s.filter.dst_ip, 16, v6, 16);
  g_assert_true (latency1 ("src_ip", g_variant_new_string ("2001:db8::42"), &s, &error));
  g_assert_cmpuint (s.filter.family, ==, 6);
  g_assert_cmpmem (s.filter.src_ip, 16, v6, 16);

  /* "" is no filter. */
  g_assert_true (latency1 ("src_ip", g_variant_new_string (""), &s, &error));
  g_assert_cmpuint (s.filter.family, ==, 0);
  g_assert_cmpmem (s.filter.src_ip, 16, zero, 16);

  /* Both of one family; of two families refused, naming the second. */
  {
    GVariantBuilder b;
    g_autoptr(GVariant) o = NULL;

    g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add (&b, "{sv}", "src_ip", g_variant_new_string ("192.0.2.1"));
    g_variant_builder_add (&b, "{sv}", "dst_ip", g_variant_new_string ("198.51.100.7"));
    o = g_variant_ref_sink (g_variant_builder_end (&b));
    g_assert_true (vnm_record_latency_settings (o, 1, &s, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (s.filter.family, ==, 4);
    g_assert_cmpuint (s.filter.src_ip[15], ==, 1);
    g_assert_cmpuint (s.filter.dst_ip[15], ==, 7);
  }
  {
    GVariantBuilder b;
    g_autoptr(GVariant) o = NULL;

    g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add (&b, "{sv}", "src_ip", g_variant_new_string ("192.0.2.1"));
    g_variant_builder_add (&b, "{sv}", "dst_ip", g_variant_new_string ("2001:db8::1"));
    o = g_variant_ref_sink (g_variant_builder_end (&b));
    g_assert_false (vnm_record_latency_settings (o, 1, &s, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "Option 'dst_ip'");
    assert_contains (error->message, "different families");
    g_clear_error (&error);
  }

  /* Bad addresses are quoted. */
  assert_option_refused ("src_ip", g_variant_new_string ("10.0.0.256"), "'10.0.0.256' is not an IPv4 or IPv6 address");
  assert_option_refused ("dst_ip", g_variant_new_string ("2001:db8:::1"), "'2001:db8:::1'");
  assert_option_refused ("dst_ip", g_variant_new_string ("example.org"), "'example.org'");
  assert_option_refused ("src_ip", g_variant_new_string ("10.0.0.0/8"), "'10.0.0.0/8'");
  assert_option_refused ("src_ip", g_variant_new_uint32 (0x0a000001), "as a string");
}

static void
test_latency_settings_ports (void)
{
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;

  g_assert_true (latency1 ("src_port", g_variant_new_uint16 (443), &s, &error));
  g_assert_cmpuint (s.filter.src_port, ==, 443);
  g_assert_cmpuint (s.filter.dst_port, ==, 0);
  g_assert_true (latency1 ("dst_port", g_variant_new_uint32 (65535), &s, &error));
  g_assert_cmpuint (s.filter.dst_port, ==, 65535);
  g_assert_cmpuint (s.filter.src_port, ==, 0);
  g_assert_true (latency1 ("dst_port", g_variant_new_int32 (53), &s, &error));
  g_assert_cmpuint (s.filter.dst_port, ==, 53);
  g_assert_true (latency1 ("src_port", g_variant_new_int32 (0), &s, &error));
  g_assert_cmpuint (s.filter.src_port, ==, 0);
  assert_option_refused ("src_port", g_variant_new_uint32 (65536), "from 0 to 65535");
  assert_option_refused ("dst_port", g_variant_new_int32 (-1), "from 0 to 65535");
  assert_option_refused ("dst_port", g_variant_new_uint64 (G_MAXUINT64), "port number");
  assert_option_refused ("src_port", g_variant_new_string ("80"), "port number");
}

static void
test_latency_settings_threshold (void)
{
  g_autoptr(GError) error = NULL;
  VnmLatencySettings s;

  g_assert_true (latency1 ("threshold_us", g_variant_new_uint32 (250), &s, &error));
  g_assert_cmpuint (s.threshold_ns, ==, 250000);
  g_assert_true (latency1 ("threshold_us", g_variant_new_uint64 (60000000), &s, &error));
  g_assert_cmpuint (s.threshold_ns, ==, G_GUINT64_CONSTANT (60000000000));
  g_assert_true (latency1 ("threshold_us", g_variant_new_double (2000.0), &s, &error));
  g_assert_cmpuint (s.threshold_ns, ==, 2000000);
  g_assert_true (latency1 ("threshold_us", g_variant_new_uint32 (0), &s, &error));
  g_assert_cmpuint (s.threshold_ns, ==, 0);
  /* Absent: the default given. */
  g_assert_true (latency1 ("proto", g_variant_new_string ("tcp"), &s, &error));
  g_assert_cmpuint (s.threshold_ns, ==, DEFAULT_THRESHOLD_NS);
  assert_option_refused ("threshold_us", g_variant_new_uint64 (60000001), "from 0 to 60000000");
  assert_option_refused ("threshold_us", g_variant_new_double (-1.0), "microseconds");
  assert_option_refused ("threshold_us", g_variant_new_double (6e7 + 1), "microseconds");
  assert_option_refused ("threshold_us", g_variant_new_string ("250"), "microseconds");
}

/* --- vnm_is_hidden_interface --------------------------------------------- */

static void
test_hidden_interface (void)
{
  static const gchar *const hidden[] = { "lo", "fw", "fwbr100i0", "fwpr100p0", "fwln100i0", NULL };
  static const gchar *const shown[] = { "eth0", "vnet0", "tap100i0", "lo0", "loop", "l", "",
                                        "Lo", "FWbr1", "wfw0", "firewall", "br-fw", NULL };

  for (guint i = 0; hidden[i]; i++)
    if (!vnm_is_hidden_interface (hidden[i]))
      g_error ("'%s' is not hidden", hidden[i]);
  for (guint i = 0; shown[i]; i++)
    if (vnm_is_hidden_interface (shown[i]))
      g_error ("'%s' is hidden", shown[i]);
}

/* --- vnm_record_latency_events ------------------------------------------- */

static const gchar *const event_keys[] = {
  "time:d", "vm_name:s", "vm_uuid:s", "iface:s", "direction:s", "proto:s", "src_ip:s",
  "dst_ip:s", "src_port:q", "dst_port:q", "len:u", "rcv_to_queue_us:d", "queue_to_xmit_us:d",
  "xmit_to_guest_us:d", "total_us:d", NULL
};

static VnmLatencyEvent *
make_event (guint8 dir, guint8 family, guint8 proto, const gchar *src, const gchar *dst)
{
  VnmLatencyEvent *e = g_new0 (VnmLatencyEvent, 1);

  e->ev.dir = dir;
  e->ev.family = family;
  e->ev.proto = proto;
  if (family == 4)
    {
      e->ev.saddr[10] = e->ev.saddr[11] = e->ev.daddr[10] = e->ev.daddr[11] = 0xff;
      g_assert_cmpint (inet_pton (AF_INET, src, e->ev.saddr + 12), ==, 1);
      g_assert_cmpint (inet_pton (AF_INET, dst, e->ev.daddr + 12), ==, 1);
    }
  else if (family == 6)
    {
      g_assert_cmpint (inet_pton (AF_INET6, src, e->ev.saddr), ==, 1);
      g_assert_cmpint (inet_pton (AF_INET6, dst, e->ev.daddr), ==, 1);
    }
  return e;
}

static void
event_free (gpointer p)
{
  VnmLatencyEvent *e = p;

  g_free (e->iface);
  g_free (e->vm_name);
  g_free (e->vm_uuid);
  g_free (e);
}

/* ServiceAppeared's and GetServices' record: exactly the documented keys,
 * with their types. */
static void
test_service_record (void)
{
  VnmService s = {
    .proto = IPPROTO_UDP, .port = 53, .first_ns = 0, .last_ns = 0, .clients = 3,
    .clients_untracked = 1, .connections = 9, .rx_bytes = 1200, .tx_bytes = 3400,
  };
  static const gchar *const keys[] = {
    "proto:s", "port:i", "first_seen:d", "last_seen:d", "clients:u", "clients_untracked:t",
    "connections:t", "rx_bytes:t", "tx_bytes:t", NULL,
  };
  g_autoptr(GVariant) r = g_variant_ref_sink (vnm_record_service (&s));
  g_autoptr(GVariant) v = NULL;

  g_assert_cmpuint (g_variant_n_children (r), ==, g_strv_length ((gchar **) keys));
  for (guint i = 0; keys[i]; i++)
    {
      g_auto(GStrv) kt = g_strsplit (keys[i], ":", 2);
      g_autoptr(GVariant) x = g_variant_lookup_value (r, kt[0], G_VARIANT_TYPE (kt[1]));
      g_assert_nonnull (x);
    }
  v = g_variant_lookup_value (r, "proto", G_VARIANT_TYPE_STRING);
  g_assert_cmpstr (g_variant_get_string (v, NULL), ==, "udp");
  g_clear_pointer (&v, g_variant_unref);
  v = g_variant_lookup_value (r, "port", G_VARIANT_TYPE_INT32);
  g_assert_cmpint (g_variant_get_int32 (v), ==, 53);
  g_clear_pointer (&v, g_variant_unref);
  v = g_variant_lookup_value (r, "first_seen", G_VARIANT_TYPE_DOUBLE);
  g_assert_cmpfloat (g_variant_get_double (v), ==, 0);   /* never seen: 0, not a date */
}

static void
test_latency_events (void)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (event_free);
  g_autoptr(GVariant) records = NULL;
  VnmLatencyEvent *e;
  GVariant *r;

  /* None: an empty aa{sv}. */
  records = g_variant_ref_sink (vnm_record_latency_events (events));
  g_assert_cmpstr (g_variant_get_type_string (records), ==, "aa{sv}");
  g_assert_cmpuint (g_variant_n_children (records), ==, 0);
  g_clear_pointer (&records, g_variant_unref);

  /* Sent by the VM, TCP over IPv4, with every stage but xmit_to_guest. */
  e = make_event (0, 4, IPPROTO_TCP, "192.0.2.10", "198.51.100.20");
  e->time_s = 1700000000.25;
  e->iface = g_strdup ("vnet3");
  e->vm_name = g_strdup ("web1");
  e->vm_uuid = g_strdup ("5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a001");
  e->ev.sport = 43210;
  e->ev.dport = 443;
  e->ev.len = 1514;
  e->ev.stage_ns[0] = 1500;
  e->ev.stage_ns[1] = 250000;
  e->ev.stage_ns[3] = 251500;
  g_ptr_array_add (events, e);
  /* Sent to the VM, ICMPv6 (named "icmp" as the filter names it). */
  e = make_event (1, 6, IPPROTO_ICMPV6, "2001:db8::1", "fe80::5054:ff:fe00:1");
  e->time_s = 1700000001.5;
  e->iface = g_strdup ("vnet4");
  e->vm_name = g_strdup ("db");
  e->vm_uuid = g_strdup ("5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a002");
  e->ev.len = 104;
  e->ev.stage_ns[0] = 10;
  e->ev.stage_ns[1] = 20;
  e->ev.stage_ns[2] = 3000000;
  e->ev.stage_ns[3] = 3000030;
  g_ptr_array_add (events, e);
  /* No addresses (family 0) and no protocol: empty strings. */
  e = make_event (1, 0, 0, NULL, NULL);
  e->iface = g_strdup ("vnet5");
  e->vm_name = g_strdup ("x");
  e->vm_uuid = g_strdup ("5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a003");
  g_ptr_array_add (events, e);
  /* UDP over IPv4 with an unspecified (all-zero) source: "" for it. */
  e = make_event (0, 4, IPPROTO_UDP, "0.0.0.0", "192.0.2.53");
  memset (e->ev.saddr, 0, 16);
  e->iface = g_strdup ("vnet6");
  e->vm_name = g_strdup ("y");
  e->vm_uuid = g_strdup ("5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a004");
  e->ev.dport = 53;
  g_ptr_array_add (events, e);

  records = g_variant_ref_sink (vnm_record_latency_events (events));
  g_assert_cmpstr (g_variant_get_type_string (records), ==, "aa{sv}");
  g_assert_cmpuint (g_variant_n_children (records), ==, 4);

  r = g_variant_get_child_value (records, 0);
  assert_keys (r, event_keys);
  g_assert_cmpfloat (lookup_d (r, "time"), ==, 1700000000.25);
  g_assert_cmpstr (lookup_s (r, "vm_name"), ==, "web1");
  g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a001");
  g_assert_cmpstr (lookup_s (r, "iface"), ==, "vnet3");
  g_assert_cmpstr (lookup_s (r, "direction"), ==, "tx");
  g_assert_cmpstr (lookup_s (r, "proto"), ==, "tcp");
  g_assert_cmpstr (lookup_s (r, "src_ip"), ==, "192.0.2.10");
  g_assert_cmpstr (lookup_s (r, "dst_ip"), ==, "198.51.100.20");
  {
    guint16 sp = 0, dp = 0;
    guint32 len = 0;
    g_assert_true (g_variant_lookup (r, "src_port", "q", &sp));
    g_assert_true (g_variant_lookup (r, "dst_port", "q", &dp));
    g_assert_true (g_variant_lookup (r, "len", "u", &len));
    g_assert_cmpuint (sp, ==, 43210);
    g_assert_cmpuint (dp, ==, 443);
    g_assert_cmpuint (len, ==, 1514);
  }
  g_assert_cmpfloat (lookup_d (r, "rcv_to_queue_us"), ==, 1.5);
  g_assert_cmpfloat (lookup_d (r, "queue_to_xmit_us"), ==, 250.0);
  g_assert_cmpfloat (lookup_d (r, "xmit_to_guest_us"), ==, 0.0);
  g_assert_cmpfloat (lookup_d (r, "total_us"), ==, 251.5);
  g_variant_unref (r);

  r = g_variant_get_child_value (records, 1);
  assert_keys (r, event_keys);
  g_assert_cmpfloat (lookup_d (r, "time"), ==, 1700000001.5);
  g_assert_cmpstr (lookup_s (r, "vm_name"), ==, "db");
  g_assert_cmpstr (lookup_s (r, "iface"), ==, "vnet4");
  g_assert_cmpstr (lookup_s (r, "direction"), ==, "rx");
  g_assert_cmpstr (lookup_s (r, "proto"), ==, "icmp");
  g_assert_cmpstr (lookup_s (r, "src_ip"), ==, "2001:db8::1");
  g_assert_cmpstr (lookup_s (r, "dst_ip"), ==, "fe80::5054:ff:fe00:1");
  g_assert_cmpfloat (lookup_d (r, "rcv_to_queue_us"), ==, 0.01);
  g_assert_cmpfloat (lookup_d (r, "queue_to_xmit_us"), ==, 0.02);
  g_assert_cmpfloat (lookup_d (r, "xmit_to_guest_us"), ==, 3000.0);
  g_assert_cmpfloat (lookup_d (r, "total_us"), ==, 3000.03);
  g_variant_unref (r);

  r = g_variant_get_child_value (records, 2);
  assert_keys (r, event_keys);
  g_assert_cmpstr (lookup_s (r, "proto"), ==, "");
  g_assert_cmpstr (lookup_s (r, "src_ip"), ==, "");
  g_assert_cmpstr (lookup_s (r, "dst_ip"), ==, "");
  g_assert_cmpstr (lookup_s (r, "direction"), ==, "rx");
  g_assert_cmpfloat (lookup_d (r, "total_us"), ==, 0.0);
  g_variant_unref (r);

  r = g_variant_get_child_value (records, 3);
  assert_keys (r, event_keys);
  g_assert_cmpstr (lookup_s (r, "proto"), ==, "udp");
  g_assert_cmpstr (lookup_s (r, "src_ip"), ==, "");
  g_assert_cmpstr (lookup_s (r, "dst_ip"), ==, "192.0.2.53");
  g_variant_unref (r);
}

/* --- vnm_record_kernel_caps ---------------------------------------------- */

static void
test_kernel_caps (void)
{
  static const gchar *const keys[] = {
    "btf:b", "bpf_tc:b", "bpf_xdp:b", "tracepoint:b", "raw_tp:b", "tp_btf:b", "fentry:b",
    "kprobe:b", "ringbuf:b", "notes:as", NULL
  };
  VnmKernelCaps caps = { 0 };
  g_autoptr(GVariant) r = NULL;
  g_autofree const gchar **notes = NULL;

  caps.btf = TRUE;
  caps.bpf_tc = TRUE;
  caps.tracepoint = TRUE;
  caps.tp_btf = TRUE;
  caps.ringbuf = TRUE;
  caps.notes = g_ptr_array_new ();
  g_ptr_array_add (caps.notes, (gpointer) "fentry: Operation not permitted");
  g_ptr_array_add (caps.notes, (gpointer) "kprobe: no kprobes in this kernel");

  r = g_variant_ref_sink (vnm_record_kernel_caps (&caps));
  assert_keys (r, keys);
  g_assert_true (lookup_b (r, "btf"));
  g_assert_true (lookup_b (r, "bpf_tc"));
  g_assert_false (lookup_b (r, "bpf_xdp"));
  g_assert_true (lookup_b (r, "tracepoint"));
  g_assert_false (lookup_b (r, "raw_tp"));
  g_assert_true (lookup_b (r, "tp_btf"));
  g_assert_false (lookup_b (r, "fentry"));
  g_assert_false (lookup_b (r, "kprobe"));
  g_assert_true (lookup_b (r, "ringbuf"));
  g_assert_true (g_variant_lookup (r, "notes", "^a&s", &notes));
  g_assert_cmpuint (g_strv_length ((gchar **) notes), ==, 2);
  g_assert_cmpstr (notes[0], ==, "fentry: Operation not permitted");
  g_assert_cmpstr (notes[1], ==, "kprobe: no kprobes in this kernel");
  g_ptr_array_unref (caps.notes);
  g_clear_pointer (&r, g_variant_unref);
  g_clear_pointer (&notes, g_free);

  /* The other booleans, and no notes. */
  caps = (VnmKernelCaps) { .bpf_xdp = TRUE, .raw_tp = TRUE, .fentry = TRUE, .kprobe = TRUE,
                           .notes = g_ptr_array_new () };
  r = g_variant_ref_sink (vnm_record_kernel_caps (&caps));
  assert_keys (r, keys);
  g_assert_false (lookup_b (r, "btf"));
  g_assert_true (lookup_b (r, "bpf_xdp"));
  g_assert_true (lookup_b (r, "raw_tp"));
  g_assert_true (lookup_b (r, "fentry"));
  g_assert_true (lookup_b (r, "kprobe"));
  g_assert_false (lookup_b (r, "ringbuf"));
  g_assert_true (g_variant_lookup (r, "notes", "^a&s", &notes));
  g_assert_cmpuint (g_strv_length ((gchar **) notes), ==, 0);
  g_ptr_array_unref (caps.notes);
  g_clear_pointer (&r, g_variant_unref);
  g_clear_pointer (&notes, g_free);

  /* --no-bpf (no caps): only the notes, saying so. */
  {
    static const gchar *const no_bpf_keys[] = { "notes:as", NULL };
    r = g_variant_ref_sink (vnm_record_kernel_caps (NULL));
    assert_keys (r, no_bpf_keys);
    g_assert_true (g_variant_lookup (r, "notes", "^a&s", &notes));
    g_assert_cmpuint (g_strv_length ((gchar **) notes), ==, 1);
    assert_contains (notes[0], "--no-bpf");
  }
}

/* --- an engine: --no-bpf, test:///default, a private network namespace --- */

#define META_NAME "records-meta"
#define META_UUID "0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c01"
#define BAD_NAME "records-bad-meta"
#define BAD_UUID "0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c02"
#define ALPHA_NAME "alpha-vm"
#define ALPHA_UUID "0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c03"

static gchar *no_engine_reason;    /* why the engine's tests are skipped */
static VnmEngine *engine;
static VnmOptions options;
static gchar *tmp_dir;
static guint intervals;
static virConnectPtr conn;

static const gchar *const link_keys[] = {
  "iface:s", "ifindex:i", "state:s", "kind:s", "mtu:u", "speed_mbps:x", "mac:s", "master:s",
  "view:s", "rx_bytes:t", "rx_packets:t", "rx_errors:t", "rx_drops:t", "tx_bytes:t",
  "tx_packets:t", "tx_errors:t", "tx_drops:t", "rx_mbps:d", "tx_mbps:d", "rx_pps:d", "tx_pps:d",
  "rx_errors_ps:d", "tx_errors_ps:d", "rx_drops_ps:d", "tx_drops_ps:d", "vm_id:i", "vm_name:s",
  "vm_uuid:s", "mapped_by:s", NULL
};

static const gchar *const domain_keys[] = {
  "vm_id:i", "vm_name:s", "vm_uuid:s", "state:s", "mapped_by:s", "n_interfaces:u",
  "object_path:o", "settings:a{sv}", "vm_title:s", "vm_description:s", "nova_instance_name:s",
  "nova_project_name:s", "nova_project_uuid:s", "nova_user_name:s", "nova_user_uuid:s",
  "nova_flavor:s", NULL
};

static const gchar *const settings_keys[] = {
  "monitoring:b", "latency:b", "latency_threshold_us:t", "flow_table_size:t",
  "usage_quota_bytes:t", "from_metadata:as", "latency_tracing:b", "latency_source:s", "error:s", NULL
};

static gboolean
write_file (const gchar *path, const gchar *text)
{
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, NULL);
}

/* Called first thing, while this process has one thread: a network
 * namespace of its own, as root or in a user namespace of its own. */
static void
enter_private_netns (void)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  g_autofree gchar *uid_map = NULL, *gid_map = NULL;

  if (unshare (CLONE_NEWNET) == 0)
    return;
  if (unshare (CLONE_NEWUSER | CLONE_NEWNET) != 0)
    {
      no_engine_reason = g_strdup_printf ("cannot make a private network namespace "
                                          "(not root, and user namespaces: %s)", g_strerror (errno));
      return;
    }
  uid_map = g_strdup_printf ("0 %u 1\n", (guint) uid);
  gid_map = g_strdup_printf ("0 %u 1\n", (guint) gid);
  if (!write_file ("/proc/self/setgroups", "deny") ||
      !write_file ("/proc/self/uid_map", uid_map) || !write_file ("/proc/self/gid_map", gid_map))
    no_engine_reason = g_strdup ("cannot map this user into its user namespace");
}

static gboolean
run_ip (const gchar *args)
{
  static gchar *ip;
  g_autofree gchar *cmd = NULL;
  g_autofree gchar *err = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;

  if (!ip)
    ip = g_find_program_in_path ("ip");
  if (!ip && g_file_test ("/usr/sbin/ip", G_FILE_TEST_IS_EXECUTABLE))
    ip = g_strdup ("/usr/sbin/ip");
  if (!ip && g_file_test ("/sbin/ip", G_FILE_TEST_IS_EXECUTABLE))
    ip = g_strdup ("/sbin/ip");
  if (!ip)
    {
      no_engine_reason = g_strdup ("no ip command (iproute2)");
      return FALSE;
    }
  cmd = g_strdup_printf ("%s %s", ip, args);
  if (!g_spawn_command_line_sync (cmd, NULL, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      no_engine_reason = g_strdup_printf ("'%s' failed: %s", cmd, error ? error->message : err);
      return FALSE;
    }
  return TRUE;
}

/* The links of the namespace: lo (up), testnet0 (the target device of
 * test:///default's domain "test") with its peer vnmt-peer, tap4242i0 (a
 * Proxmox VM's tap by its name) with its peer vnmt-p2, and the firewall
 * pair fwpr7p0 / fwln7i0. IPv6 off, so that nothing sends by itself. */
static gboolean
make_links (void)
{
  write_file ("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
  write_file ("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
  return run_ip ("link set lo up") &&
         run_ip ("link add testnet0 type veth peer name vnmt-peer") &&
         run_ip ("link add tap4242i0 type veth peer name vnmt-p2") &&
         run_ip ("link add fwpr7p0 type veth peer name fwln7i0") &&
         run_ip ("link set testnet0 up") && run_ip ("link set vnmt-peer up") &&
         run_ip ("link set fwpr7p0 up") && run_ip ("link set fwln7i0 up");
}

static void
count_interval (VnmEngine *e, gpointer user_data)
{
  intervals++;
}

/* Runs the loop until @n more intervals have passed. */
static void
wait_intervals (guint n)
{
  guint until = intervals + n;
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (intervals < until)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* The engine, built at the first call; NULL (the test skipped) when it
 * cannot be. */
static VnmEngine *
get_engine (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *proc = NULL, *state = NULL;

  if (engine || no_engine_reason)
    goto out;
  if (!make_links ())
    goto out;
  tmp_dir = g_dir_make_tmp ("test-dbus-records-XXXXXX", &error);
  g_assert_no_error (error);
  /* No QEMU processes: an empty /proc. */
  proc = g_build_filename (tmp_dir, "proc", NULL);
  state = g_build_filename (tmp_dir, "state", NULL);
  g_assert_cmpint (g_mkdir (proc, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (state, 0700), ==, 0);
  g_setenv ("VIRTNETMON_PROC_ROOT", proc, TRUE);

  /* As virtnetmond --connect test:///default --no-bpf --interval 0.2
   * --pin-dir "" would run. */
  options.uri = g_strdup ("test:///default");
  options.interval_s = 0.2;
  options.no_bpf = TRUE;
  options.flow_table_size = 4096;
  options.flow_idle_timeout_s = 60;
  options.latency_threshold_us = 1000;
  options.latency_devices = 16;
  options.latency_events_rate = 100;
  options.probe_attach = VNM_PROBE_ATTACH_AUTO;
  options.state_dir = g_strdup (state);
  options.pin_dir = NULL;
  options.defaults = (VnmDomainSettings) { .monitoring = 1, .latency = 0,
                                           .latency_threshold_us = 1000,
                                           .flow_table_size = 4096 };
  engine = vnm_engine_new (&options, &error);
  if (!engine)
    {
      no_engine_reason = g_strdup_printf ("no engine: %s", error->message);
      goto out;
    }
  g_signal_connect (engine, "interval", G_CALLBACK (count_interval), NULL);
  vnm_engine_start (engine);
  /* The same test driver as the engine's: libvirt shares test:///default
   * within a process. */
  conn = virConnectOpen ("test:///default");
  g_assert_nonnull (conn);
  wait_intervals (2);

out:
  if (!engine && g_strcmp0 (g_getenv ("VIRTNETMON_REQUIRE_ALL"), "1") == 0)
    g_test_fail_printf ("skips are failures here: %s", no_engine_reason);
  else if (!engine)
    g_test_skip (no_engine_reason);
  return engine;
}

static void
engine_teardown (void)
{
  if (conn)
    virConnectClose (conn);
  if (engine)
    {
      vnm_engine_stop (engine);
      for (guint i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);
      g_clear_object (&engine);
    }
  vnm_options_clear (&options);
  if (tmp_dir)
    {
      g_autofree gchar *cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
      g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL);
      g_free (tmp_dir);
    }
}

/* The record of @name in @records (aa{sv}, by @key), or NULL. */
static GVariant *
find_record (GVariant *records, const gchar *key, const gchar *name)
{
  for (gsize i = 0; i < g_variant_n_children (records); i++)
    {
      GVariant *r = g_variant_get_child_value (records, i);
      const gchar *s = NULL;

      if (g_variant_lookup (r, key, "&s", &s) && g_str_equal (s, name))
        return r;
      g_variant_unref (r);
    }
  return NULL;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* The names in @records' "iface" (comma-separated), sorted if @sorted. */
static gchar *
ifaces_of (GVariant *records, gboolean sorted)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (gsize i = 0; i < g_variant_n_children (records); i++)
    {
      g_autoptr(GVariant) r = g_variant_get_child_value (records, i);
      g_ptr_array_add (names, (gpointer) g_intern_string (lookup_s (r, "iface")));
    }
  if (sorted)
    g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (gchar **) names->pdata);
}

/* The kernel's interfaces (if_nameindex), sorted, without the hidden ones
 * unless @hidden. */
static gchar *
kernel_ifaces (gboolean hidden)
{
  struct if_nameindex *all = if_nameindex ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_assert_nonnull (all);
  for (struct if_nameindex *i = all; i->if_index; i++)
    if (hidden || !(g_str_equal (i->if_name, "lo") || g_str_has_prefix (i->if_name, "fw")))
      g_ptr_array_add (names, g_strdup (i->if_name));
  if_freenameindex (all);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (gchar **) names->pdata);
}

/* A counter of @iface as the kernel has it now, from /proc/net/dev (of
 * this network namespace, unlike /sys/class/net, which shows the
 * namespace sysfs was mounted in): rx_bytes, rx_packets, tx_bytes or
 * tx_packets. */
static guint64
kernel_stat (const gchar *iface, const gchar *name)
{
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree gchar *prefix = g_strdup_printf ("%s:", iface);
  /* Fields after the name: rx bytes, packets, errs, drop, fifo, frame,
   * compressed, multicast; tx bytes, packets, ... */
  guint field = g_str_equal (name, "rx_bytes") ? 0 : g_str_equal (name, "rx_packets") ? 1
                : g_str_equal (name, "tx_bytes") ? 8 : g_str_equal (name, "tx_packets") ? 9 : 99;

  g_assert_cmpuint (field, <, 99);
  g_assert_true (g_file_get_contents ("/proc/net/dev", &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const gchar *line = g_strchug (lines[i]);
      g_auto(GStrv) f = NULL;

      if (!g_str_has_prefix (line, prefix))
        continue;
      f = g_strsplit_set (line + strlen (prefix), " ", -1);
      for (guint j = 0, k = 0; f[j]; j++)
        if (*f[j] && k++ == field)
          return g_ascii_strtoull (f[j], NULL, 10);
    }
  g_error ("no %s of %s in /proc/net/dev", name, iface);
}

static guint
kernel_mtu (const gchar *iface)
{
  struct ifreq req = { 0 };
  gint fd = socket (AF_INET, SOCK_DGRAM, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (req.ifr_name, iface, sizeof req.ifr_name);
  g_assert_cmpint (ioctl (fd, SIOCGIFMTU, &req), ==, 0);
  close (fd);
  return (guint) req.ifr_mtu;
}

static GVariant *
link_stats (const gchar *sort, gboolean ascending, guint top, gboolean hidden, const gchar *filter)
{
  g_autoptr(GError) error = NULL;
  GVariant *v = vnm_record_link_stats (engine, sort, ascending, top, hidden, filter, &error);

  g_assert_no_error (error);
  g_assert_nonnull (v);
  g_assert_cmpstr (g_variant_get_type_string (v), ==, "aa{sv}");
  return g_variant_ref_sink (v);
}

static void
test_engine_domains (void)
{
  g_autoptr(GVariant) records = NULL;
  g_autoptr(GVariant) r = NULL;
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GVariant) direct = NULL;
  virDomainPtr dom;
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autofree gchar *path = NULL;
  gint32 id;

  if (!get_engine ())
    return;
  /* Ground truth: libvirt's own domain "test". */
  dom = virDomainLookupByName (conn, "test");
  g_assert_nonnull (dom);
  g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
  id = (gint32) virDomainGetID (dom);
  g_assert_cmpint (id, >, 0);
  virDomainFree (dom);
  path = vnm_domain_object_path (uuid);

  records = g_variant_ref_sink (vnm_record_domains (engine));
  g_assert_cmpstr (g_variant_get_type_string (records), ==, "aa{sv}");
  /* One record per running domain. */
  g_assert_cmpuint (g_variant_n_children (records), ==, (guint) virConnectNumOfDomains (conn));
  r = find_record (records, "vm_name", "test");
  g_assert_nonnull (r);
  assert_keys (r, domain_keys);
  g_assert_cmpint (lookup_i (r, "vm_id"), ==, id);
  g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, uuid);
  g_assert_cmpstr (lookup_s (r, "state"), ==, "running");
  g_assert_cmpstr (lookup_s (r, "mapped_by"), ==, VNM_MAPPED_BY_LIBVIRT);
  {
    guint32 n = 0;
    const gchar *o = NULL;
    g_assert_true (g_variant_lookup (r, "n_interfaces", "u", &n));
    g_assert_cmpuint (n, ==, 1);
    g_assert_true (g_variant_lookup (r, "object_path", "&o", &o));
    g_assert_cmpstr (o, ==, path);
  }
  /* Its settings: as the Settings property says. */
  settings = g_variant_lookup_value (r, "settings", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (settings);
  assert_keys (settings, settings_keys);
  direct = g_variant_ref_sink (
    vnm_record_domain_settings (engine, vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), uuid)));
  g_assert_true (g_variant_equal (settings, direct));
}

/* Defines and starts @name with @metadata and @devices in the test
 * driver; runs the loop until the engine has it. */
static virDomainPtr
start_domain (const gchar *name, const gchar *uuid, const gchar *metadata, const gchar *devices)
{
  g_autofree gchar *xml = g_strdup_printf (
    "<domain type='test'><name>%s</name><uuid>%s</uuid>"
    "<metadata>%s</metadata><memory>65536</memory><os><type>hvm</type></os>"
    "<devices>%s</devices></domain>", name, uuid, metadata, devices);
  virDomainPtr dom = virDomainDefineXML (conn, xml);
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_nonnull (dom);
  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  while (!vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), uuid))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
  return dom;
}

static void
stop_domain (virDomainPtr dom, const gchar *uuid)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  virDomainDestroy (dom);
  virDomainUndefine (dom);
  virDomainFree (dom);
  while (vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), uuid))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
}

static GVariant *
settings_of (const gchar *uuid)
{
  const VnmDomain *d = vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), uuid);
  GVariant *s;

  g_assert_nonnull (d);
  s = g_variant_ref_sink (vnm_record_domain_settings (engine, d));
  assert_keys (s, settings_keys);
  return s;
}

static gchar *
from_metadata (GVariant *s)
{
  g_autofree const gchar **from = NULL;

  g_assert_true (g_variant_lookup (s, "from_metadata", "^a&s", &from));
  return g_strjoinv (",", (gchar **) from);
}

static void
test_engine_domain_settings (void)
{
  g_autoptr(GVariant) s = NULL;
  g_autofree gchar *from = NULL;
  virDomainPtr meta, bad;
  char uuid[VIR_UUID_STRING_BUFLEN];
  virDomainPtr dom;

  if (!get_engine ())
    return;

  /* "test" has no <metadata>: the daemon's defaults. */
  dom = virDomainLookupByName (conn, "test");
  g_assert_nonnull (dom);
  virDomainGetUUIDString (dom, uuid);
  virDomainFree (dom);
  s = settings_of (uuid);
  g_assert_true (lookup_b (s, "monitoring"));
  g_assert_false (lookup_b (s, "latency"));
  g_assert_cmpuint (lookup_t (s, "latency_threshold_us"), ==, 1000);
  g_assert_cmpuint (lookup_t (s, "flow_table_size"), ==, 4096);
  from = from_metadata (s);
  g_assert_cmpstr (from, ==, "");
  g_assert_false (lookup_b (s, "latency_tracing"));
  g_assert_cmpstr (lookup_s (s, "latency_source"), ==, "default");
  g_assert_cmpstr (lookup_s (s, "error"), ==, "");
  g_clear_pointer (&s, g_variant_unref);
  g_clear_pointer (&from, g_free);

  /* Every setting in its <metadata>; latency asked for but not traced
   * (--no-bpf). */
  meta = start_domain (META_NAME, META_UUID,
                       "<virtnetmon:settings xmlns:virtnetmon='" VNM_METADATA_NS "'>"
                       "<virtnetmon:monitoring enabled='no'/>"
                       "<virtnetmon:latency enabled='yes' threshold-us='2500'/>"
                       "<virtnetmon:flows table-size='1024'/>"
                       "</virtnetmon:settings>", "");
  s = settings_of (META_UUID);
  g_assert_false (lookup_b (s, "monitoring"));
  g_assert_true (lookup_b (s, "latency"));
  g_assert_cmpuint (lookup_t (s, "latency_threshold_us"), ==, 2500);
  g_assert_cmpuint (lookup_t (s, "flow_table_size"), ==, 1024);
  from = from_metadata (s);
  g_assert_cmpstr (from, ==, "monitoring,latency,latency_threshold_us,flow_table_size");
  g_assert_false (lookup_b (s, "latency_tracing"));
  g_assert_cmpstr (lookup_s (s, "latency_source"), ==, "settings");
  g_assert_cmpstr (lookup_s (s, "error"), ==, "");
  g_clear_pointer (&s, g_variant_unref);
  g_clear_pointer (&from, g_free);

  /* Its record in ListDomains carries the same settings. */
  {
    g_autoptr(GVariant) records = g_variant_ref_sink (vnm_record_domains (engine));
    g_autoptr(GVariant) r = find_record (records, "vm_name", META_NAME);
    g_autoptr(GVariant) in_record = NULL;

    g_assert_nonnull (r);
    assert_keys (r, domain_keys);
    g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, META_UUID);
    in_record = g_variant_lookup_value (r, "settings", G_VARIANT_TYPE_VARDICT);
    s = settings_of (META_UUID);
    g_assert_true (g_variant_equal (in_record, s));
    g_clear_pointer (&s, g_variant_unref);
  }

  /* Settings out of range: ignored, with why. */
  bad = start_domain (BAD_NAME, BAD_UUID,
                      "<virtnetmon:settings xmlns:virtnetmon='" VNM_METADATA_NS "'>"
                      "<virtnetmon:flows table-size='5'/>"
                      "</virtnetmon:settings>", "");
  s = settings_of (BAD_UUID);
  g_assert_cmpuint (lookup_t (s, "flow_table_size"), ==, 4096);
  g_assert_true (lookup_b (s, "monitoring"));
  from = from_metadata (s);
  g_assert_cmpstr (from, ==, "");
  g_assert_cmpstr (lookup_s (s, "latency_source"), ==, "default");
  g_assert_cmpstr (lookup_s (s, "error"), !=, "");
  assert_contains (lookup_s (s, "error"), "5");
  g_clear_pointer (&s, g_variant_unref);

  stop_domain (meta, META_UUID);
  stop_domain (bad, BAD_UUID);
}

static void
test_engine_link_stats_rows (void)
{
  g_autoptr(GVariant) shown = NULL, all = NULL;
  g_autofree gchar *got = NULL, *want = NULL;
  char uuid[VIR_UUID_STRING_BUFLEN];
  virDomainPtr dom;

  if (!get_engine ())
    return;
  dom = virDomainLookupByName (conn, "test");
  g_assert_nonnull (dom);
  virDomainGetUUIDString (dom, uuid);
  virDomainFree (dom);

  /* Every link the kernel has, lo and fw* only when asked for. */
  shown = link_stats ("", FALSE, 0, FALSE, "");
  got = ifaces_of (shown, TRUE);
  want = kernel_ifaces (FALSE);
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpstr (got, ==, "tap4242i0,testnet0,vnmt-p2,vnmt-peer");
  g_clear_pointer (&got, g_free);
  g_clear_pointer (&want, g_free);
  all = link_stats ("", FALSE, 0, TRUE, "");
  got = ifaces_of (all, TRUE);
  want = kernel_ifaces (TRUE);
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpstr (got, ==, "fwln7i0,fwpr7p0,lo,tap4242i0,testnet0,vnmt-p2,vnmt-peer");

  for (gsize i = 0; i < g_variant_n_children (all); i++)
    {
      g_autoptr(GVariant) r = g_variant_get_child_value (all, i);
      const gchar *name = lookup_s (r, "iface");
      guint32 mtu = 0;

      assert_keys (r, link_keys);
      g_assert_cmpint (lookup_i (r, "ifindex"), ==, (gint) if_nametoindex (name));
      g_assert_true (g_variant_lookup (r, "mtu", "u", &mtu));
      g_assert_cmpuint (mtu, ==, kernel_mtu (name));
      if (g_str_equal (name, "testnet0"))
        {
          /* The test domain's tap: its VM, the guest's view. */
          g_assert_cmpint (lookup_i (r, "vm_id"), ==, 1);
          g_assert_cmpstr (lookup_s (r, "vm_name"), ==, "test");
          g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, uuid);
          g_assert_cmpstr (lookup_s (r, "mapped_by"), ==, VNM_MAPPED_BY_LIBVIRT);
          g_assert_cmpstr (lookup_s (r, "view"), ==, "guest");
          g_assert_cmpstr (lookup_s (r, "kind"), ==, "veth");
        }
      else if (g_str_equal (name, "tap4242i0"))
        {
          /* A Proxmox VM's tap by its name: the VM id, no name. */
          g_assert_cmpint (lookup_i (r, "vm_id"), ==, 4242);
          g_assert_cmpstr (lookup_s (r, "vm_name"), ==, "");
          g_assert_cmpstr (lookup_s (r, "mapped_by"), ==, VNM_MAPPED_BY_NAME_PATTERN);
          g_assert_cmpstr (lookup_s (r, "view"), ==, "guest");
        }
      else
        {
          g_assert_cmpint (lookup_i (r, "vm_id"), ==, -1);
          g_assert_cmpstr (lookup_s (r, "vm_name"), ==, "");
          g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, "");
          g_assert_cmpstr (lookup_s (r, "mapped_by"), ==, "");
          g_assert_cmpstr (lookup_s (r, "view"), ==, "host");
        }
      if (g_str_equal (name, "lo"))
        g_assert_cmpstr (lookup_s (r, "state"), ==, "unknown");
      if (g_str_equal (name, "vnmt-p2"))
        g_assert_cmpstr (lookup_s (r, "state"), ==, "down");
    }

  /* Filter: name, VM name or VM id, case-insensitive. */
  {
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, TRUE, "LO");
    g_autofree gchar *names = ifaces_of (v, TRUE);
    g_assert_cmpstr (names, ==, "lo");
  }
  {
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, FALSE, "lo");
    g_assert_cmpuint (g_variant_n_children (v), ==, 0);
  }
  {
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, FALSE, "TeSt");
    g_autofree gchar *names = ifaces_of (v, TRUE);
    g_assert_cmpstr (names, ==, "testnet0");
  }
  {
    /* By VM id alone: testnet0's VM is domain 1; no name holds a 1. */
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, FALSE, "1");
    g_autofree gchar *names = ifaces_of (v, TRUE);
    g_assert_cmpstr (names, ==, "testnet0");
  }
  {
    /* By VM name alone: a domain whose tap is vnmt-p2. */
    virDomainPtr alpha = start_domain (ALPHA_NAME, ALPHA_UUID, "",
                                       "<interface type='ethernet'><target dev='vnmt-p2'/></interface>");
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, FALSE, "ALPHA");
    g_autofree gchar *names = ifaces_of (v, TRUE);
    g_autoptr(GVariant) r = find_record (v, "iface", "vnmt-p2");

    g_assert_cmpstr (names, ==, "vnmt-p2");
    g_assert_cmpstr (lookup_s (r, "vm_name"), ==, ALPHA_NAME);
    g_assert_cmpstr (lookup_s (r, "vm_uuid"), ==, ALPHA_UUID);
    g_assert_cmpint (lookup_i (r, "vm_id"), ==, virDomainGetID (alpha));
    g_assert_cmpstr (lookup_s (r, "view"), ==, "guest");
    stop_domain (alpha, ALPHA_UUID);
  }
  {
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, FALSE, "no-such-thing");
    g_assert_cmpuint (g_variant_n_children (v), ==, 0);
  }
}

/* Sends @n Ethernet frames of @len bytes out of @from (to its peer). */
static void
send_frames (const gchar *from, guint n, gsize len)
{
  gint fd = socket (AF_PACKET, SOCK_RAW, 0);
  struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (gint) if_nametoindex (from),
                            .sll_halen = ETH_ALEN };
  g_autofree guint8 *frame = g_malloc0 (len);

  g_assert_cmpint (fd, >=, 0);
  memset (frame, 0xff, ETH_ALEN);                    /* broadcast */
  frame[6] = 0x02;                                   /* a local source MAC */
  frame[12] = 0x88;                                  /* local experimental ethertype */
  frame[13] = 0xb5;
  memset (to.sll_addr, 0xff, ETH_ALEN);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (sendto (fd, frame, len, 0, (struct sockaddr *) &to, sizeof to), ==, (gssize) len);
  close (fd);
}

/* Sends @n UDP datagrams of @len bytes over lo. */
static void
send_lo (guint n, gsize len)
{
  gint fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  g_autofree guint8 *buf = g_malloc0 (len);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &alen), ==, 0);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (sendto (fd, buf, len, 0, (struct sockaddr *) &a, sizeof a), ==, (gssize) len);
      while (recv (fd, buf, len, 0) > 0)
        ;
    }
  close (fd);
}

/* @name's record in GetLinkStats (hidden ones included) once the counters
 * the engine read are the kernel's now (nothing sent in between). */
static GVariant *
settled_link (const gchar *name, guint64 *sys_rx_bytes, guint64 *sys_tx_bytes,
              guint64 *sys_rx_packets, guint64 *sys_tx_packets)
{
  for (guint attempt = 0; attempt < 10; attempt++)
    {
      guint64 before = kernel_stat (name, "rx_bytes") + kernel_stat (name, "tx_bytes");
      g_autoptr(GVariant) all = NULL;
      GVariant *r;

      wait_intervals (1);
      all = link_stats ("", FALSE, 0, TRUE, "");
      r = find_record (all, "iface", name);
      g_assert_nonnull (r);
      *sys_rx_bytes = kernel_stat (name, "rx_bytes");
      *sys_tx_bytes = kernel_stat (name, "tx_bytes");
      *sys_rx_packets = kernel_stat (name, "rx_packets");
      *sys_tx_packets = kernel_stat (name, "tx_packets");
      if (*sys_rx_bytes + *sys_tx_bytes == before)
        return r;
      g_variant_unref (r);
    }
  g_error ("the counters of %s never settled", name);
}

static void
test_engine_link_stats_counters (void)
{
  guint64 rx_b, tx_b, rx_p, tx_p;
  GVariant *r;

  if (!get_engine ())
    return;

  /* lo, the host's view: the kernel's counters as they are. */
  send_lo (50, 1000);
  r = settled_link ("lo", &rx_b, &tx_b, &rx_p, &tx_p);
  g_assert_cmpuint (rx_p, >=, 50);
  g_assert_cmpuint (lookup_t (r, "rx_bytes"), ==, rx_b);
  g_assert_cmpuint (lookup_t (r, "tx_bytes"), ==, tx_b);
  g_assert_cmpuint (lookup_t (r, "rx_packets"), ==, rx_p);
  g_assert_cmpuint (lookup_t (r, "tx_packets"), ==, tx_p);
  g_variant_unref (r);

  /* testnet0, the test domain's tap: the guest's view. Frames sent into
   * it by its peer (the host's rx) were sent by the VM (the guest's tx). */
  send_frames ("vnmt-peer", 7, 300);
  r = settled_link ("testnet0", &rx_b, &tx_b, &rx_p, &tx_p);
  g_assert_cmpuint (rx_p, >=, 7);
  g_assert_cmpuint (tx_p, ==, 0);
  g_assert_cmpuint (lookup_t (r, "tx_packets"), ==, rx_p);
  g_assert_cmpuint (lookup_t (r, "tx_bytes"), ==, rx_b);
  g_assert_cmpuint (lookup_t (r, "rx_packets"), ==, tx_p);
  g_assert_cmpuint (lookup_t (r, "rx_bytes"), ==, tx_b);
  g_variant_unref (r);

  /* Its peer, a host interface: the host's view. */
  r = settled_link ("vnmt-peer", &rx_b, &tx_b, &rx_p, &tx_p);
  g_assert_cmpuint (tx_p, >=, 7);
  g_assert_cmpuint (lookup_t (r, "tx_packets"), ==, tx_p);
  g_assert_cmpuint (lookup_t (r, "tx_bytes"), ==, tx_b);
  g_assert_cmpuint (lookup_t (r, "rx_packets"), ==, rx_p);
  g_variant_unref (r);
}

/* Whether @records are in the order GetLinkStats promises: by @key's
 * rate, ties by name ascending. */
static void
assert_sorted (GVariant *records, const gchar *key, gboolean ascending)
{
  for (gsize i = 1; i < g_variant_n_children (records); i++)
    {
      g_autoptr(GVariant) a = g_variant_get_child_value (records, i - 1);
      g_autoptr(GVariant) b = g_variant_get_child_value (records, i);
      gdouble va = lookup_d (a, key), vb = lookup_d (b, key);

      if (va == vb)
        g_assert_cmpint (strcmp (lookup_s (a, "iface"), lookup_s (b, "iface")), <, 0);
      else if (ascending)
        g_assert_cmpfloat (va, <, vb);
      else
        g_assert_cmpfloat (va, >, vb);
    }
}

static void
test_engine_link_stats_sort (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) full = NULL;
  gboolean busy = FALSE;

  if (!get_engine ())
    return;

  /* Traffic on lo (rx = tx) and into testnet0 (rx only), then one
   * interval: lo has the highest rates both ways, and testnet0 (guest's
   * view: tx) the next tx rate. */
  for (guint attempt = 0; attempt < 5 && !busy; attempt++)
    {
      g_autoptr(GVariant) lo = NULL;

      wait_intervals (1);
      send_lo (400, 1400);
      send_frames ("vnmt-peer", 20, 100);
      wait_intervals (1);
      g_clear_pointer (&full, g_variant_unref);
      full = link_stats ("rx", FALSE, 0, TRUE, "");
      lo = find_record (full, "iface", "lo");
      busy = lo && lookup_d (lo, "rx_mbps") > 0;
      g_clear_pointer (&lo, g_variant_unref);
    }
  g_assert_true (busy);

  /* rx, descending: lo first. */
  assert_sorted (full, "rx_mbps", FALSE);
  {
    g_autoptr(GVariant) first = g_variant_get_child_value (full, 0);
    g_assert_cmpstr (lookup_s (first, "iface"), ==, "lo");
  }
  /* The same rates, the other way round. */
  {
    g_autoptr(GVariant) v = link_stats ("rx", TRUE, 0, TRUE, "");
    g_autoptr(GVariant) last = g_variant_get_child_value (v, g_variant_n_children (v) - 1);
    g_assert_cmpuint (g_variant_n_children (v), ==, g_variant_n_children (full));
    assert_sorted (v, "rx_mbps", TRUE);
    g_assert_cmpstr (lookup_s (last, "iface"), ==, "lo");
  }
  /* tx ("" is tx), descending: lo, then testnet0 (the VM sent). */
  {
    g_autoptr(GVariant) v = link_stats ("", FALSE, 0, TRUE, "");
    g_autoptr(GVariant) tx = link_stats ("tx", FALSE, 0, TRUE, "");
    g_autoptr(GVariant) first = g_variant_get_child_value (v, 0);
    g_autoptr(GVariant) second = g_variant_get_child_value (v, 1);
    g_autofree gchar *order_default = ifaces_of (v, FALSE);
    g_autofree gchar *order_tx = ifaces_of (tx, FALSE);

    assert_sorted (v, "tx_mbps", FALSE);
    g_assert_cmpstr (order_default, ==, order_tx);
    g_assert_cmpstr (lookup_s (first, "iface"), ==, "lo");
    g_assert_cmpstr (lookup_s (second, "iface"), ==, "testnet0");
    g_assert_cmpfloat (lookup_d (second, "tx_mbps"), >, 0);
    g_assert_cmpfloat (lookup_d (second, "rx_mbps"), ==, 0);
  }
  {
    /* Ascending: the busiest last. testnet0 (guest's tx) and its peer
     * vnmt-peer (host's tx) sent the same frames: a tie, by name
     * ascending even when the rates are. */
    g_autoptr(GVariant) v = link_stats ("tx", TRUE, 0, FALSE, "");
    gsize n = g_variant_n_children (v);
    g_autoptr(GVariant) before_last = g_variant_get_child_value (v, n - 2);
    g_autoptr(GVariant) last = g_variant_get_child_value (v, n - 1);

    assert_sorted (v, "tx_mbps", TRUE);
    g_assert_cmpstr (lookup_s (before_last, "iface"), ==, "testnet0");
    g_assert_cmpstr (lookup_s (last, "iface"), ==, "vnmt-peer");
    g_assert_cmpfloat (lookup_d (last, "tx_mbps"), ==, lookup_d (before_last, "tx_mbps"));
  }

  /* top: the first rows of the same order; 0 and more than there are: all. */
  {
    g_autoptr(GVariant) v1 = link_stats ("rx", FALSE, 1, TRUE, "");
    g_autoptr(GVariant) v3 = link_stats ("rx", FALSE, 3, TRUE, "");
    g_autoptr(GVariant) vmany = link_stats ("rx", FALSE, 1000, TRUE, "");
    g_autofree gchar *all_names = ifaces_of (full, FALSE);
    g_autofree gchar *names3 = ifaces_of (v3, FALSE);
    g_autofree gchar *names_many = ifaces_of (vmany, FALSE);
    g_autoptr(GVariant) only = NULL;

    g_assert_cmpuint (g_variant_n_children (v1), ==, 1);
    only = g_variant_get_child_value (v1, 0);
    g_assert_cmpstr (lookup_s (only, "iface"), ==, "lo");
    g_assert_cmpuint (g_variant_n_children (v3), ==, 3);
    g_assert_true (g_str_has_prefix (all_names, names3));
    g_assert_cmpstr (names_many, ==, all_names);
  }
  {
    /* top with the hidden left out: from what is left. */
    g_autoptr(GVariant) v = link_stats ("tx", FALSE, 1, FALSE, "");
    g_autoptr(GVariant) only = g_variant_get_child_value (v, 0);
    g_assert_cmpuint (g_variant_n_children (v), ==, 1);
    g_assert_cmpstr (lookup_s (only, "iface"), ==, "testnet0");
  }

  /* An unknown sort key: InvalidArgument naming it. */
  g_assert_null (vnm_record_link_stats (engine, "bytes", FALSE, 0, FALSE, "", &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, "'bytes'");
  g_clear_error (&error);
  g_assert_null (vnm_record_link_stats (engine, "RX", FALSE, 0, FALSE, "", &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, "'RX'");
  g_clear_error (&error);
  /* A filter too long. */
  {
    g_autofree gchar *longer = g_strnfill (VNM_ARG_MAX_LEN + 1, 'a');
    g_autofree gchar *longest = g_strnfill (VNM_ARG_MAX_LEN, 'a');
    g_autoptr(GVariant) v = NULL;

    g_assert_null (vnm_record_link_stats (engine, "", FALSE, 0, FALSE, longer, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    v = link_stats ("", FALSE, 0, FALSE, longest);
    g_assert_cmpuint (g_variant_n_children (v), ==, 0);
  }
}

/* The type of @key in GetLinkStats' records (link_keys). */
static const gchar *
link_key_type (const gchar *key)
{
  for (const gchar *const *k = link_keys; *k; k++)
    if (g_str_has_prefix (*k, key) && (*k)[strlen (key)] == ':')
      return *k + strlen (key) + 1;
  g_error ("'%s' is no key of GetLinkStats' records", key);
}

/* GetLinkStatsColumns for these arguments is GetLinkStats for the same,
 * field by field: the columns asked for (@wanted, NULL: all, in the
 * records' order), the same rows in the same order, each cell the
 * record's value. Both are read with no main loop iteration in between,
 * so from the same state. Returns the rows' iface column, sorted, when
 * it was asked for. */
static gchar *
assert_columns_are_records (const gchar *sort, gboolean ascending, guint top, gboolean hidden,
                            const gchar *filter, const gchar *const *wanted)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) records = link_stats (sort, ascending, top, hidden, filter);
  g_autoptr(GVariant) reply = vnm_record_link_columns (engine, sort, ascending, top, hidden,
                                                       filter, wanted, &error);
  g_autoptr(GVariant) names = NULL, values = NULL;
  g_autoptr(GPtrArray) ifaces = g_ptr_array_new ();
  gsize n_rows;

  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_variant_ref_sink (reply);
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(asav)");
  names = g_variant_get_child_value (reply, 0);
  values = g_variant_get_child_value (reply, 1);
  n_rows = g_variant_n_children (records);

  /* The columns asked for, in that order; all of them for none. */
  {
    g_autofree const gchar **got = g_variant_get_strv (names, NULL);
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);

    for (const gchar *const *k = wanted && *wanted ? wanted : link_keys; *k; k++)
      g_ptr_array_add (want, g_strndup (*k, strcspn (*k, ":")));
    g_ptr_array_add (want, NULL);
    g_assert_cmpstrv (got, (const gchar *const *) want->pdata);
    g_assert_cmpuint (g_variant_n_children (values), ==, g_strv_length ((gchar **) got));
  }

  for (gsize j = 0; j < g_variant_n_children (names); j++)
    {
      g_autoptr(GVariant) name_v = g_variant_get_child_value (names, j);
      g_autoptr(GVariant) boxed = g_variant_get_child_value (values, j);
      g_autoptr(GVariant) column = g_variant_get_variant (boxed);
      const gchar *key = g_variant_get_string (name_v, NULL);
      const gchar *type = link_key_type (key);

      if (g_str_equal (type, "s"))
        {
          /* Text: each row's string and a NUL, in one ay. */
          gsize len = 0;
          const gchar *text, *p;

          g_assert_cmpstr (g_variant_get_type_string (column), ==, "ay");
          text = g_variant_get_fixed_array (column, &len, 1);
          g_assert_true (len == 0 || text[len - 1] == '\0');
          p = text;
          for (gsize i = 0; i < n_rows; i++)
            {
              g_autoptr(GVariant) r = g_variant_get_child_value (records, i);

              g_assert_true (p < text + len);
              g_assert_cmpstr (p, ==, lookup_s (r, key));
              if (g_str_equal (key, "iface"))
                g_ptr_array_add (ifaces, (gpointer) g_intern_string (p));
              p += strlen (p) + 1;
            }
          g_assert_true (p == text + len);
        }
      else
        {
          g_autofree gchar *array_type = g_strconcat ("a", type, NULL);

          g_assert_cmpstr (g_variant_get_type_string (column), ==, array_type);
          g_assert_cmpuint (g_variant_n_children (column), ==, n_rows);
          for (gsize i = 0; i < n_rows; i++)
            {
              g_autoptr(GVariant) r = g_variant_get_child_value (records, i);
              g_autoptr(GVariant) want = g_variant_lookup_value (r, key, NULL);
              g_autoptr(GVariant) got = g_variant_get_child_value (column, i);

              if (!g_variant_equal (got, want))
                {
                  g_autofree gchar *a = g_variant_print (got, TRUE);
                  g_autofree gchar *b = g_variant_print (want, TRUE);
                  g_error ("row %zu, %s: the column says %s, the record %s", i, key, a, b);
                }
            }
        }
    }
  if (!ifaces->len)
    return NULL;
  g_ptr_array_sort (ifaces, compare_names);
  g_ptr_array_add (ifaces, NULL);
  return g_strjoinv (",", (gchar **) ifaces->pdata);
}

static void
test_engine_link_columns (void)
{
  static const gchar *const some[] = { "vm_name", "rx_bytes", "iface", "tx_mbps", "vm_id", NULL };
  static const gchar *const one[] = { "mtu", NULL };
  static const gchar *const none[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autofree gchar *all = NULL, *shown = NULL, *kernel_all = NULL, *kernel_shown = NULL;
  const gchar *const *names = vnm_record_link_column_names ();

  if (!get_engine ())
    return;

  /* One schema of names: the columns are the records' keys, in order. */
  for (guint i = 0; link_keys[i] || names[i]; i++)
    {
      g_assert_nonnull (names[i]);
      g_assert_nonnull (link_keys[i]);
      g_assert_true (g_str_has_prefix (link_keys[i], names[i]));
      g_assert_cmpint (link_keys[i][strlen (names[i])], ==, ':');
    }

  /* Traffic, so that counters and rates are not all 0. */
  send_lo (100, 1000);
  send_frames ("vnmt-peer", 10, 200);
  wait_intervals (1);

  /* Every interface the kernel has, each cell as its record says. */
  all = assert_columns_are_records ("", FALSE, 0, TRUE, "", NULL);
  kernel_all = kernel_ifaces (TRUE);
  g_assert_cmpstr (all, ==, kernel_all);
  shown = assert_columns_are_records ("tx", FALSE, 0, FALSE, "", none);
  kernel_shown = kernel_ifaces (FALSE);
  g_assert_cmpstr (shown, ==, kernel_shown);
  g_free (assert_columns_are_records ("rx", TRUE, 0, TRUE, "", NULL));
  g_free (assert_columns_are_records ("rx", FALSE, 3, TRUE, "", NULL));
  g_free (assert_columns_are_records ("", FALSE, 0, TRUE, "VNMT", NULL));
  g_free (assert_columns_are_records ("", FALSE, 0, TRUE, "test", some));
  g_assert_null (assert_columns_are_records ("", FALSE, 0, TRUE, "", one));
  /* No row: every column empty. */
  {
    g_autofree gchar *nothing = assert_columns_are_records ("", FALSE, 0, FALSE, "no-such-thing",
                                                            NULL);
    g_assert_null (nothing);
  }

  /* Bad arguments: InvalidArgument naming what was wrong. */
  {
    static const gchar *const unknown[] = { "iface", "rx_bytez", NULL };
    static const gchar *const twice[] = { "iface", "state", "iface", NULL };
    g_autofree gchar *longer = g_strnfill (VNM_ARG_MAX_LEN + 1, 'a');

    g_assert_null (vnm_record_link_columns (engine, "", FALSE, 0, TRUE, "", unknown, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "'rx_bytez'");
    g_clear_error (&error);
    g_assert_null (vnm_record_link_columns (engine, "", FALSE, 0, TRUE, "", twice, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "'iface'");
    g_clear_error (&error);
    g_assert_null (vnm_record_link_columns (engine, "bytes", FALSE, 0, TRUE, "", NULL, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    assert_contains (error->message, "'bytes'");
    g_clear_error (&error);
    g_assert_null (vnm_record_link_columns (engine, "", FALSE, 0, TRUE, longer, NULL, &error));
    g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  /* Before anything can start a thread. */
  enter_private_netns ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dbus-records/number/types", test_number_types);
  g_test_add_func ("/dbus-records/number/negative", test_number_negative);
  g_test_add_func ("/dbus-records/number/max", test_number_max);
  g_test_add_func ("/dbus-records/number/wrong-type", test_number_wrong_type);
  g_test_add_func ("/dbus-records/settings-change/keys", test_settings_change_keys);
  g_test_add_func ("/dbus-records/settings-change/errors", test_settings_change_errors);
  g_test_add_func ("/dbus-records/settings-change/unset", test_settings_change_unset);
  g_test_add_func ("/dbus-records/latency-settings/defaults", test_latency_settings_defaults);
  g_test_add_func ("/dbus-records/latency-settings/direction", test_latency_settings_direction);
  g_test_add_func ("/dbus-records/latency-settings/proto", test_latency_settings_proto);
  g_test_add_func ("/dbus-records/latency-settings/ip", test_latency_settings_ip);
  g_test_add_func ("/dbus-records/latency-settings/ports", test_latency_settings_ports);
  g_test_add_func ("/dbus-records/latency-settings/threshold", test_latency_settings_threshold);
  g_test_add_func ("/dbus-records/hidden-interface", test_hidden_interface);
  g_test_add_func ("/dbus-records/latency-events", test_latency_events);
  g_test_add_func ("/dbus-records/service", test_service_record);
  g_test_add_func ("/dbus-records/kernel-caps", test_kernel_caps);
  g_test_add_func ("/dbus-records/engine/domains", test_engine_domains);
  g_test_add_func ("/dbus-records/engine/domain-settings", test_engine_domain_settings);
  g_test_add_func ("/dbus-records/engine/link-stats-rows", test_engine_link_stats_rows);
  g_test_add_func ("/dbus-records/engine/link-stats-counters", test_engine_link_stats_counters);
  g_test_add_func ("/dbus-records/engine/link-stats-sort", test_engine_link_stats_sort);
  g_test_add_func ("/dbus-records/engine/link-columns", test_engine_link_columns);
  ret = g_test_run ();
  engine_teardown ();
  return ret;
}
