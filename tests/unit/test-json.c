/* test-json.c: --json output is valid JSON with the record's keys; numbers
 * are written as printf writes them; a table by columns gives the text of
 * the same table by records. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vnm-json.h"

static void
test_records (void)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_parsed (
    "[{'iface': <'vnet0'>, 'rx_mbps': <1.5>, 'rx_bytes': <uint64 18446744073709551615>,"
    "  'vm_id': <''>, 'ok': <true>, 'note': <'a \"quoted\"\\nline'>}]"));
  g_autofree gchar *text = vnm_json_from_variant (v);

  g_assert_cmpstr (text, ==,
    "[\n  {\n    \"iface\": \"vnet0\",\n    \"rx_mbps\": 1.500,\n"
    "    \"rx_bytes\": 18446744073709551615,\n    \"vm_id\": \"\",\n    \"ok\": true,\n"
    "    \"note\": \"a \\\"quoted\\\"\\nline\"\n  }\n]\n");
}

static void
test_empty_and_nan (void)
{
  g_autoptr(GVariant) empty = g_variant_ref_sink (g_variant_new_parsed ("@aa{sv} []"));
  g_autoptr(GVariant) nan = g_variant_ref_sink (g_variant_new_double (0.0 / 0.0));
  g_autofree gchar *a = vnm_json_from_variant (empty);
  g_autofree gchar *b = vnm_json_from_variant (nan);

  g_assert_cmpstr (a, ==, "[]\n");
  g_assert_cmpstr (b, ==, "null\n");
}

/* @d as --json writes it (a lone double is a document). */
static gchar *
json_double (gdouble d)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_double (d));
  gchar *text = vnm_json_from_variant (v);

  text[strlen (text) - 1] = '\0';  /* the newline */
  return text;
}

static void
assert_double_as_printf (gdouble d)
{
  g_autofree gchar *got = json_double (d);
  gchar want[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (want, sizeof want, "%.3f", d);
  if (!g_str_equal (got, want))
    g_error ("%.17g is written '%s', printf's %%.3f says '%s'", d, got, want);
}

static void
test_numbers (void)
{
  static const gdouble edges[] = {
    0.0, -0.0, 1.0, -1.0, 0.0004, 0.0005, 0.0015, 0.0025, 0.0035, -0.0005, -0.0001,
    0.1, 0.2, 0.3, 1.0005, 1.2345, 2.5, 999.9995, 999.99949999, 1e-300, -1e-300,
    2147483.647, 2147483.6475, 2147483.648, 2147484.0, 1e9 + 0.0005, 1e15, 1e300,
    -1e300, 4503599627370495.5, 123456.789, 0.000999, 0.9999999, 7.0 / 3.0,
    G_MAXDOUBLE, -G_MAXDOUBLE, G_MINDOUBLE,
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261207);
  g_autofree gchar *nan = json_double (NAN);
  g_autofree gchar *inf = json_double (-INFINITY);

  for (guint i = 0; i < G_N_ELEMENTS (edges); i++)
    {
      assert_double_as_printf (edges[i]);
      assert_double_as_printf (nextafter (edges[i], G_MAXDOUBLE));
      assert_double_as_printf (nextafter (edges[i], -G_MAXDOUBLE));
    }
  /* Rates of every size, thousandths and halves of them, and neighbours. */
  for (guint i = 0; i < 200000; i++)
    {
      gdouble scale = pow (10, g_rand_int_range (rand, -4, 12));
      gdouble d = g_rand_double (rand) * scale;

      if (i % 3 == 1)
        d = floor (d * 1000) / 1000 + 0.0005;
      else if (i % 3 == 2)
        d = (gdouble) g_rand_int_range (rand, 0, 100000000) / 1000;
      assert_double_as_printf (d);
      assert_double_as_printf (-d);
      assert_double_as_printf (nextafter (d, 0));
    }
  g_assert_cmpstr (nan, ==, "null");
  g_assert_cmpstr (inf, ==, "null");
}

static void
test_integers (void)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_parsed (
    "(int32 -2147483648, int32 2147483647, int32 0, uint32 4294967295, int64 -9223372036854775808,"
    " int64 9223372036854775807, int64 -1, uint64 18446744073709551615, uint64 0, byte 255,"
    " int16 -32768, uint16 65535)"));
  g_autofree gchar *text = vnm_json_from_variant (v);

  g_assert_cmpstr (text, ==,
    "[\n  -2147483648,\n  2147483647,\n  0,\n  4294967295,\n  -9223372036854775808,\n"
    "  9223372036854775807,\n  -1,\n  18446744073709551615,\n  0,\n  255,\n  -32768,\n"
    "  65535\n]\n");
}

/* The records whose record i is { columns[j].name: columns[j].values[i] }. */
static GVariant *
records_of (const VnmJsonColumn *columns, guint n_columns, gsize n_rows)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (gsize i = 0; i < n_rows; i++)
    {
      GVariantBuilder r;

      g_variant_builder_init (&r, G_VARIANT_TYPE_VARDICT);
      for (guint j = 0; j < n_columns; j++)
        {
          const VnmJsonColumn *c = &columns[j];
          GVariant *v = NULL;

          switch (c->type)
            {
            case 's': v = g_variant_new_string (((const gchar *const *) c->values)[i]); break;
            case 'i': v = g_variant_new_int32 (((const gint32 *) c->values)[i]); break;
            case 'u': v = g_variant_new_uint32 (((const guint32 *) c->values)[i]); break;
            case 'x': v = g_variant_new_int64 (((const gint64 *) c->values)[i]); break;
            case 't': v = g_variant_new_uint64 (((const guint64 *) c->values)[i]); break;
            case 'd': v = g_variant_new_double (((const gdouble *) c->values)[i]); break;
            default: g_assert_not_reached ();
            }
          g_variant_builder_add (&r, "{sv}", c->name, v);
        }
      g_variant_builder_add_value (&b, g_variant_builder_end (&r));
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
test_columns (void)
{
  static const gchar *const names[] = { "lo", "vnet0", "a \"quoted\"\\name\t\x01", "" };
  static const gint32 ifindex[] = { 1, 17, -1, G_MININT32 };
  static const guint32 mtu[] = { 65536, 1500, 0, G_MAXUINT32 };
  static const gint64 speed[] = { -1, 10000, G_MININT64, G_MAXINT64 };
  static const guint64 bytes[] = { 0, 123456789012, G_MAXUINT64, 1 };
  static const gdouble rate[] = { 0.0, 1.2345, NAN, -0.0 };
  static const gchar *const state[] = { "unknown", "up", "down", "ünïcödé" };
  const VnmJsonColumn columns[] = {
    { "iface", 's', names }, { "ifindex", 'i', ifindex }, { "mtu", 'u', mtu },
    { "speed_mbps", 'x', speed }, { "rx_bytes", 't', bytes }, { "rx_mbps", 'd', rate },
    { "state", 's', state },
  };

  for (gsize rows = 0; rows <= G_N_ELEMENTS (names); rows++)
    for (guint n = 1; n <= G_N_ELEMENTS (columns); n++)
      {
        g_autoptr(GVariant) records = records_of (columns, n, rows);
        g_autofree gchar *want = vnm_json_from_variant (records);
        g_autofree gchar *got = vnm_json_from_columns (columns, n, rows);

        g_assert_cmpstr (got, ==, want);
      }
  /* No column and no row: an empty list, as no record. */
  {
    g_autofree gchar *got = vnm_json_from_columns (columns, 0, 0);
    g_assert_cmpstr (got, ==, "[]\n");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/records", test_records);
  g_test_add_func ("/json/empty-and-nan", test_empty_and_nan);
  g_test_add_func ("/json/numbers", test_numbers);
  g_test_add_func ("/json/integers", test_integers);
  g_test_add_func ("/json/columns", test_columns);
  return g_test_run ();
}
