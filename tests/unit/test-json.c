/* test-json.c: --json output is valid JSON with the record's keys. */
#include "config.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/records", test_records);
  g_test_add_func ("/json/empty-and-nan", test_empty_and_nan);
  return g_test_run ();
}
