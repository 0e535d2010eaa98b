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

static gchar *
read_data (const gchar *first, ...)
{
  g_autofree gchar *xml = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const gchar *p = first; p; p = va_arg (ap, const gchar *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((gchar **) parts->pdata);
  g_assert_true (g_file_get_contents (path, &xml, NULL, NULL));
  return g_steal_pointer (&xml);
}

/* The example that shows where the element sits in a domain. */
static void
test_settings_in_domain (void)
{
  g_autofree gchar *dir = g_test_build_filename (G_TEST_DIST, "..", "..", "xml", "examples", NULL);
  g_autofree gchar *xml = read_data (dir, "domain-with-settings.xml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = vnm_domain_xml_parse (xml, -1, &error);

  g_assert_no_error (error);
  g_assert_null (def->settings_error);
  g_assert_cmpint (def->settings.monitoring, ==, -1);
  g_assert_cmpint (def->settings.latency, ==, 1);
  g_assert_cmpint (def->settings.latency_threshold_us, ==, 2000);
  g_assert_cmpint (def->settings.flow_table_size, ==, 1024);
  g_assert_cmpuint (def->interfaces->len, ==, 1);
}

/* Bad settings never cost the domain its mapping: they are ignored with a
 * reason, and every field stays unset. */
static void
test_settings_bad_in_domain (void)
{
  const gchar *xml =
    "<domain><name>d</name><uuid>5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a001</uuid>"
    "<metadata><other xmlns='urn:x'/><v:settings xmlns:v='" VNM_METADATA_NS "'>"
    "<v:monitoring enabled='no'/><v:flows table-size='lots'/></v:settings></metadata>"
    "<devices><interface type='ethernet'><target dev='tap0'/></interface></devices></domain>";
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = vnm_domain_xml_parse (xml, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (def->interfaces->len, ==, 1);
  g_assert_nonnull (def->settings_error);
  g_assert_nonnull (strstr (def->settings_error, "table-size='lots'"));
  g_assert_cmpint (def->settings.monitoring, ==, -1);
  g_assert_cmpint (def->settings.flow_table_size, ==, -1);
}

/* Every fixture in tests/data/settings/valid parses and every one in
 * invalid/ is refused with a message; the schema test checks that the
 * RelaxNG schema says the same of the same files. */
static void
test_settings_fixtures (void)
{
  const gchar *kinds[] = { "valid", "invalid" };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree gchar *dir = g_test_build_filename (G_TEST_DIST, "..", "data", "settings",
                                                     kinds[k], NULL);
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const gchar *name;
      guint n = 0;

      g_assert_nonnull (d);
      while ((name = g_dir_read_name (d)))
        {
          g_autofree gchar *xml = read_data (dir, name, NULL);
          g_autoptr(GError) error = NULL;
          VnmDomainSettings s;
          gboolean ok = vnm_domain_settings_parse (xml, -1, FALSE, &s, &error);

          g_test_message ("%s/%s: %s", kinds[k], name, ok ? "parsed" : error->message);
          if (k == 0)
            g_assert_no_error (error);
          else
            {
              g_assert_false (ok);
              g_assert_error (error, VNM_ERROR, VNM_ERROR_PARSE);
            }
          n++;
        }
      g_assert_cmpuint (n, >=, 4);
    }
}

static void
test_settings_round_trip (void)
{
  VnmDomainSettings in = { 0, 1, 750, 2048 }, out, none;
  g_autofree gchar *xml = vnm_domain_settings_to_xml (&in);
  g_autofree gchar *empty = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (vnm_domain_settings_parse (xml, -1, FALSE, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&in, sizeof in, &out, sizeof out);

  vnm_domain_settings_init (&none);
  empty = vnm_domain_settings_to_xml (&none);
  g_assert_cmpstr (empty, ==, "<settings xmlns=\"" VNM_METADATA_NS "\"></settings>");
  g_assert_true (vnm_domain_settings_parse (empty, -1, FALSE, &out, &error));
  g_assert_cmpint (out.monitoring, ==, -1);
  g_assert_cmpint (out.flow_table_size, ==, -1);

  /* As virDomainGetMetadata returns it: no namespace declaration left. */
  g_assert_true (vnm_domain_settings_parse ("<settings><latency enabled='yes'/></settings>", -1,
                                            TRUE, &out, &error));
  g_assert_cmpint (out.latency, ==, 1);
  g_assert_false (vnm_domain_settings_parse ("<settings><latency enabled='yes'/></settings>", -1,
                                             FALSE, &out, &error));
  g_clear_error (&error);
  /* Implied only where nothing is declared. */
  g_assert_false (vnm_domain_settings_parse ("<settings xmlns='urn:other'/>", -1, TRUE, &out, &error));
}

/* Nova's <instance> (1.1, as a compute node writes it) with libvirt's own
 * <title> and <description>: every tenant field, the interfaces unchanged. */
static void
test_nova_instance (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("nova-instance.xml", &error);
  const VnmDomainLabels *l;

  g_assert_no_error (error);
  l = def->labels;
  g_assert_cmpstr (def->name, ==, "instance-0000002a");
  g_assert_cmpstr (l->title, ==, "Web front end (blue)");
  g_assert_cmpstr (l->description, ==, "nginx behind the \"shop\" load balancer; owner: web team");
  g_assert_cmpstr (l->nova_instance_name, ==, "web-1");
  g_assert_cmpstr (l->nova_flavor, ==, "m1.small");
  g_assert_cmpstr (l->nova_user_name, ==, "alice");
  g_assert_cmpstr (l->nova_user_uuid, ==, "8e5a9c1f0b2d4e3f9a7b6c5d4e3f2a1b");
  g_assert_cmpstr (l->nova_project_name, ==, "shop-prod");
  g_assert_cmpstr (l->nova_project_uuid, ==, "c0ffee0badd04a11b2c3d4e5f6a7b8c9");
  g_assert_cmpuint (def->interfaces->len, ==, 2);
  g_assert_cmpstr (iface_at (def, 0)->target_dev, ==, "tapa1b2c3d4-e5");
  g_assert_cmpstr (iface_at (def, 1)->source_bridge, ==, "qbr0f1e2d3c-4b");
  /* Nova's metadata is not virtnetmon's: no settings, no error. */
  g_assert_cmpint (def->settings.monitoring, ==, -1);
  g_assert_null (def->settings_error);
}

/* Nova's 1.0 namespace, UTF-8 names, owners without uuids, and an element
 * of another namespace named like Nova's, which is not taken. */
static void
test_nova_old_and_foreign (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("nova-instance-1.0.xml", &error);
  const VnmDomainLabels *l;

  g_assert_no_error (error);
  l = def->labels;
  g_assert_cmpstr (l->nova_instance_name, ==, "侯超 test ☁");
  g_assert_cmpstr (l->nova_flavor, ==, "t8.16medium");
  g_assert_cmpstr (l->nova_user_name, ==, "ops");
  g_assert_cmpstr (l->nova_user_uuid, ==, "");
  g_assert_cmpstr (l->nova_project_name, ==, "research");
  g_assert_cmpstr (l->nova_project_uuid, ==, "");
  g_assert_cmpstr (l->title, ==, "");
  g_assert_cmpstr (l->description, ==, "");
}

/* A description longer than the limit is cut on a character boundary:
 * valid UTF-8 (it goes into D-Bus strings and Prometheus labels). */
static void
test_long_description (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) xml = g_string_new ("<domain><name>d</name><uuid>3f1c9a52-6e0b-4d4f-9a43-2b7c1e5d8f10</uuid><title>");
  g_autoptr(VnmDomainDef) def = NULL;

  for (guint i = 0; i < 4095; i++)
    g_string_append_c (xml, 'a');
  g_string_append (xml, "\xc3\xa9\xc3\xa9</title><description>");
  for (guint i = 0; i < 3000; i++)
    g_string_append (xml, "\xe2\x98\x81");   /* 3 bytes each */
  g_string_append (xml, "</description></domain>");
  def = vnm_domain_xml_parse (xml->str, xml->len, &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (def->labels->title, -1, NULL));
  g_assert_cmpuint (strlen (def->labels->title), ==, 4095);
  g_assert_true (g_utf8_validate (def->labels->description, -1, NULL));
  g_assert_cmpuint (strlen (def->labels->description), ==, 4095);
}

/* Nova's namespace with a version only: not a look-alike. */
static void
test_nova_lookalike (void)
{
  g_autoptr(GError) error = NULL;
  const gchar *xml =
    "<domain><name>d</name><uuid>3f1c9a52-6e0b-4d4f-9a43-2b7c1e5d8f10</uuid><metadata>"
    "<x:instance xmlns:x='http://openstack.org/xmlns/libvirt/nova/evil'><x:name>no</x:name></x:instance>"
    "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.2'><nova:name>yes</nova:name>"
    "<nova:owner xmlns:o='http://example.org/other'><o:project>no</o:project>"
    "<nova:user>u</nova:user></nova:owner></nova:instance></metadata></domain>";
  g_autoptr(VnmDomainDef) def = vnm_domain_xml_parse (xml, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (def->labels->nova_instance_name, ==, "yes");
  g_assert_cmpstr (def->labels->nova_project_name, ==, "");
  g_assert_cmpstr (def->labels->nova_user_name, ==, "u");
}

/* A domain that is not Nova's has every label "", never NULL. */
static void
test_no_labels (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("all-types.xml", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (def->labels->nova_instance_name, ==, "");
  g_assert_cmpstr (def->labels->nova_project_name, ==, "");
  g_assert_cmpstr (def->labels->nova_flavor, ==, "");
}

/* Live XML of macvtap interfaces, as libvirt 9.0 wrote it: the lower device
 * and mode of each, the target libvirt chose or was given, and the source
 * virsh domiflist shows (the network for one a <network> gave). */
static void
test_direct_live (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = parse_fixture ("direct-live.xml", &error);
  static const struct {
    const gchar *target, *network, *dev, *mode, *mac, *shown;
  } want[] = {
    { "macvtap7", "vnm-mvnet", "vnmmx-lo", "bridge", "52:54:00:e2:e4:01", "vnm-mvnet" },
    { "macvtap8", "", "vnmmx-lo", "private", "52:54:00:e2:e4:02", "vnmmx-lo" },
    { "vnmmxtap0", "", "vnmmx-lo", "vepa", "52:54:00:e2:e4:03", "vnmmx-lo" },
  };

  g_assert_no_error (error);
  g_assert_cmpint (def->id, ==, 10);
  g_assert_cmpuint (def->interfaces->len, ==, G_N_ELEMENTS (want));
  for (guint k = 0; k < G_N_ELEMENTS (want); k++)
    {
      const VnmDomainInterface *i = iface_at (def, k);
      g_assert_cmpstr (i->type, ==, "direct");
      g_assert_cmpstr (i->target_dev, ==, want[k].target);
      g_assert_cmpstr (i->source_network, ==, want[k].network);
      g_assert_cmpstr (i->source_dev, ==, want[k].dev);
      g_assert_cmpstr (i->source_mode, ==, want[k].mode);
      g_assert_cmpstr (i->source_bridge, ==, "");
      g_assert_cmpstr (i->mac, ==, want[k].mac);
      g_assert_cmpstr (i->model, ==, "virtio");
      g_assert_cmpstr (vnm_domain_interface_source (i), ==, want[k].shown);
      g_assert_cmpstr (i->no_stats_reason, ==, "");
    }
}

/* Inactive XML of a macvtap interface: no target until it runs (libvirt
 * names it then), which is said; passthrough mode kept as written. */
static void
test_direct_inactive (void)
{
  static const gchar xml[] =
    "<domain type='kvm'><name>d</name><uuid>6a2f1c3e-0b4d-4e5f-8a9b-1c2d3e4f5a6b</uuid>"
    "<devices><interface type='direct'><mac address='52:54:00:AA:00:09'/>"
    "<source dev='enp1s0f1' mode='passthrough'/><model type='virtio'/></interface>"
    "</devices></domain>";
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = vnm_domain_xml_parse (xml, -1, &error);
  const VnmDomainInterface *i;

  g_assert_no_error (error);
  i = iface_at (def, 0);
  g_assert_cmpstr (i->type, ==, "direct");
  g_assert_cmpstr (i->source_dev, ==, "enp1s0f1");
  g_assert_cmpstr (i->source_mode, ==, "passthrough");
  g_assert_cmpstr (i->mac, ==, "52:54:00:aa:00:09");
  g_assert_cmpstr (i->target_dev, ==, "");
  g_assert_nonnull (strstr (i->no_stats_reason, "<target dev>"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/domain-xml/all-types", test_all_types);
  g_test_add_func ("/domain-xml/missing-target", test_missing_target);
  g_test_add_func ("/domain-xml/direct-live", test_direct_live);
  g_test_add_func ("/domain-xml/direct-inactive", test_direct_inactive);
  g_test_add_func ("/domain-xml/malformed", test_malformed);
  g_test_add_func ("/domain-xml/bad-encoding", test_bad_encoding);
  g_test_add_func ("/domain-xml/external-entity", test_external_entity);
  g_test_add_func ("/domain-xml/billion-laughs", test_billion_laughs);
  g_test_add_func ("/domain-xml/not-a-domain", test_not_a_domain);
  g_test_add_func ("/domain-xml/no-uuid", test_no_uuid);
  g_test_add_func ("/domain-xml/huge-names", test_huge_names);
  g_test_add_func ("/domain-xml/empty-and-oversized", test_empty_and_oversized);
  g_test_add_func ("/domain-xml/ifname-validity", test_ifname_validity);
  g_test_add_func ("/domain-xml/settings-in-domain", test_settings_in_domain);
  g_test_add_func ("/domain-xml/settings-bad-in-domain", test_settings_bad_in_domain);
  g_test_add_func ("/domain-xml/settings-fixtures", test_settings_fixtures);
  g_test_add_func ("/domain-xml/settings-round-trip", test_settings_round_trip);
  g_test_add_func ("/domain-xml/nova-instance", test_nova_instance);
  g_test_add_func ("/domain-xml/nova-old-and-foreign", test_nova_old_and_foreign);
  g_test_add_func ("/domain-xml/no-labels", test_no_labels);
  g_test_add_func ("/domain-xml/long-description", test_long_description);
  g_test_add_func ("/domain-xml/nova-lookalike", test_nova_lookalike);
  return g_test_run ();
}
