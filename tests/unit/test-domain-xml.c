/* test-domain-xml.c: the domain XML parser on fixture files. */
#include "config.h"

#include <string.h>

#include "domain-xml.h"
#include "vnm-error.h"

static VnmDomainDef *
parse_fixture (const gchar *name, GError **error)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "..", "data", "domain-xml", name, NULL);
  g_autofree gchar *xml = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &xml, &len, NULL));
  return vnm_domain_xml_parse (xml, (gssize) len, error);
}

static const VnmDomainInterface *
iface_at (VnmDomainDef *def, guint i)
{
  g_assert_cmpuint (i, <, def->interfaces->len);
  return g_ptr_array_index (def->interfaces, i);
}

static void
test_all_types (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("all-types.xml", &error);
  const VnmDomainInterface *i;

  g_assert_no_error (error);
  g_assert_cmpstr (def->name, ==, "web01");
  g_assert_cmpstr (def->uuid, ==, "6a2f1c3e-0b4d-4e5f-8a9b-1c2d3e4f5a6b");
  g_assert_cmpint (def->id, ==, 7);
  g_assert_cmpuint (def->interfaces->len, ==, 8);

  i = iface_at (def, 0);
  g_assert_cmpstr (i->type, ==, "network");
  g_assert_cmpstr (i->target_dev, ==, "vnet0");
  g_assert_cmpstr (i->mac, ==, "52:54:00:aa:00:01");
  g_assert_cmpstr (i->source_network, ==, "default");
  g_assert_cmpstr (vnm_domain_interface_source (i), ==, "default");
  g_assert_cmpstr (i->model, ==, "virtio");
  g_assert_cmpstr (i->alias, ==, "net0");
  g_assert_cmpstr (i->no_stats_reason, ==, "");

  i = iface_at (def, 1);
  g_assert_cmpstr (i->type, ==, "bridge");
  g_assert_cmpstr (i->source_bridge, ==, "br0");
  g_assert_cmpstr (i->model, ==, "e1000");

  i = iface_at (def, 2);
  g_assert_cmpstr (i->virtualport_type, ==, "openvswitch");
  g_assert_cmpstr (i->source_bridge, ==, "ovsbr0");
  g_assert_cmpstr (i->target_dev, ==, "vnet2");

  i = iface_at (def, 3);
  g_assert_cmpstr (i->type, ==, "ethernet");
  g_assert_cmpstr (i->target_dev, ==, "tap105i1");
  g_assert_cmpstr (vnm_domain_interface_source (i), ==, "");

  i = iface_at (def, 4);
  g_assert_cmpstr (i->type, ==, "direct");
  g_assert_cmpstr (i->source_dev, ==, "eth0");
  g_assert_cmpstr (i->source_mode, ==, "vepa");
  g_assert_cmpstr (i->target_dev, ==, "macvtap0");

  /* No host netdev: listed, with a reason, never breaking the rest. */
  for (guint k = 5; k < 8; k++)
    {
      i = iface_at (def, k);
      g_assert_cmpstr (i->target_dev, ==, "");
      g_assert_cmpstr (i->no_stats_reason, !=, "");
    }
  g_assert_cmpstr (iface_at (def, 5)->type, ==, "hostdev");
  g_assert_nonnull (strstr (iface_at (def, 5)->no_stats_reason, "SR-IOV"));
  g_assert_cmpstr (iface_at (def, 6)->type, ==, "vhostuser");
  g_assert_cmpstr (iface_at (def, 6)->source_path, ==, "/var/run/openvswitch/vhu0");
  g_assert_cmpstr (iface_at (def, 7)->type, ==, "user");
}

static void
test_missing_target (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("missing-target.xml", &error);

  g_assert_no_error (error);
  g_assert_cmpint (def->id, ==, -1);
  g_assert_cmpuint (def->interfaces->len, ==, 2);
  g_assert_nonnull (strstr (iface_at (def, 0)->no_stats_reason, "<target dev>"));
  g_assert_nonnull (strstr (iface_at (def, 1)->no_stats_reason, "'bad/name'"));
}

static void
assert_refused (const gchar *fixture, const gchar *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture (fixture, &error);

  g_assert_null (def);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_PARSE);
  if (!strstr (error->message, needle))
    g_error ("%s: message '%s' does not contain '%s'", fixture, error->message, needle);
}

static void
test_malformed (void)
{
  assert_refused ("malformed.xml", "malformed at line");
}

static void
test_bad_encoding (void)
{
  assert_refused ("bad-encoding.xml", "malformed");
}

static void
test_external_entity (void)
{
  /* The entity is never loaded: the document is refused for its DTD. */
  assert_refused ("external-entity.xml", "document type declaration");
}

static void
test_billion_laughs (void)
{
  gint64 start = g_get_monotonic_time ();

  assert_refused ("billion-laughs.xml", "entit");
  /* Refused without expanding: well under a second. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
}

static void
test_not_a_domain (void)
{
  assert_refused ("not-a-domain.xml", "<network>");
}

static void
test_no_uuid (void)
{
  assert_refused ("no-uuid.xml", "'not-a-uuid'");
}

static void
test_huge_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("huge-names.xml", &error);

  g_assert_no_error (error);
  /* Kept, but bounded. */
  g_assert_cmpuint (strlen (def->name), <=, 4096);
  g_assert_cmpuint (def->interfaces->len, ==, 2);
  g_assert_cmpstr (iface_at (def, 0)->target_dev, !=, "");
  g_assert_nonnull (strstr (iface_at (def, 0)->no_stats_reason, "not a valid network interface name"));
  g_assert_cmpstr (iface_at (def, 1)->target_dev, ==, "vnet9");
  g_assert_cmpstr (iface_at (def, 1)->no_stats_reason, ==, "");
}

static void
test_empty_and_oversized (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = vnm_domain_xml_parse ("", 0, &error);
  g_autofree gchar *big = NULL;

  g_assert_null (def);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_PARSE);
  g_clear_error (&error);

  big = g_malloc0 (VNM_DOMAIN_XML_MAX_BYTES + 2);
  memset (big, ' ', VNM_DOMAIN_XML_MAX_BYTES + 1);
  def = vnm_domain_xml_parse (big, VNM_DOMAIN_XML_MAX_BYTES + 1, &error);
  g_assert_null (def);
  g_assert_error (error, VNM_ERROR, VNM_ERROR_PARSE);
}

static void
test_ifname_validity (void)
{
  g_assert_true (vnm_is_valid_ifname ("vnet0"));
  g_assert_true (vnm_is_valid_ifname ("tap105i1"));
  g_assert_true (vnm_is_valid_ifname ("123456789012345"));
  g_assert_false (vnm_is_valid_ifname ("1234567890123456"));
  g_assert_false (vnm_is_valid_ifname (""));
  g_assert_false (vnm_is_valid_ifname ("a b"));
  g_assert_false (vnm_is_valid_ifname ("a/b"));
  g_assert_false (vnm_is_valid_ifname (".."));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/domain-xml/all-types", test_all_types);
  g_test_add_func ("/domain-xml/missing-target", test_missing_target);
  g_test_add_func ("/domain-xml/malformed", test_malformed);
  g_test_add_func ("/domain-xml/bad-encoding", test_bad_encoding);
  g_test_add_func ("/domain-xml/external-entity", test_external_entity);
  g_test_add_func ("/domain-xml/billion-laughs", test_billion_laughs);
  g_test_add_func ("/domain-xml/not-a-domain", test_not_a_domain);
  g_test_add_func ("/domain-xml/no-uuid", test_no_uuid);
  g_test_add_func ("/domain-xml/huge-names", test_huge_names);
  g_test_add_func ("/domain-xml/empty-and-oversized", test_empty_and_oversized);
  g_test_add_func ("/domain-xml/ifname-validity", test_ifname_validity);
  return g_test_run ();
}
