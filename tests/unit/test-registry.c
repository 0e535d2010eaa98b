/* test-registry.c: the domain registry — add and replace with the observer
 * told of each, removal and reconciling, lookup by uuid, name or id (in
 * that order), the ifname index, list order, effective settings, object
 * paths and name-based UUIDs. */
#include "config.h"

#include <string.h>

#include "registry.h"
#include "vnm-names.h"

#define UUID_A "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a001"
#define UUID_B "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a002"
#define UUID_C "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a003"
#define UUID_D "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a004"

/* A definition with @name, @uuid, @id and one interface per non-NULL
 * target device in the NULL-terminated list that follows. */
static VnmDomainDef *
make_def (const gchar *name, const gchar *uuid, gint id, ...)
{
  VnmDomainDef *def = vnm_domain_def_new ();
  const gchar *dev;
  va_list ap;

  g_free (def->name);
  def->name = g_strdup (name);
  g_free (def->uuid);
  def->uuid = g_strdup (uuid);
  def->id = id;
  va_start (ap, id);
  while ((dev = va_arg (ap, const gchar *)))
    g_ptr_array_add (def->interfaces, vnm_domain_interface_new ("ethernet", dev));
  va_end (ap);
  return def;
}

typedef struct {
  VnmRegistry *reg;
  GPtrArray *log;   /* "added:<name>", "changed:<name>", "removed:<name>" */
  /* For REMOVED: whether the domain was still in the registry and its
   * fields still readable when the observer ran. */
  gboolean removed_still_present;
} Observed;

static void
observer (VnmRegistryChange change, const VnmDomain *domain, gpointer user_data)
{
  Observed *o = user_data;
  const gchar *what = change == VNM_REGISTRY_ADDED ? "added"
                      : change == VNM_REGISTRY_CHANGED ? "changed"
                      : change == VNM_REGISTRY_REMOVED ? "removed" : "?";

  g_ptr_array_add (o->log, g_strdup_printf ("%s:%s", what, domain->name));
  if (change == VNM_REGISTRY_REMOVED)
    o->removed_still_present = vnm_registry_lookup_uuid (o->reg, domain->uuid) == domain;
  else
    /* Called after the change: the registry already holds it. */
    g_assert_true (vnm_registry_lookup_uuid (o->reg, domain->uuid) == domain);
}

static void
assert_log (Observed *o, const gchar *const *expected)
{
  guint n = g_strv_length ((gchar **) expected);

  for (guint i = 0; i < o->log->len && i < n; i++)
    g_assert_cmpstr (g_ptr_array_index (o->log, i), ==, expected[i]);
  g_assert_cmpuint (o->log->len, ==, n);
}

static void
test_update (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  Observed o = { reg, log, FALSE };
  const VnmDomain *d, *d2;
  VnmDomainDef *def;
  const gchar *const after_add[] = { "added:web01", NULL };
  const gchar *const after_change[] = { "added:web01", "changed:web02", NULL };

  vnm_registry_set_observer (reg, observer, &o);

  def = make_def ("web01", UUID_A, 3, "vnet0", "vnet1", NULL);
  def->settings.latency = 1;
  def->settings_error = g_strdup ("no good");
  d = vnm_registry_update (reg, def, "running", VNM_MAPPED_BY_LIBVIRT);
  assert_log (&o, after_add);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->uuid, ==, UUID_A);
  g_assert_cmpstr (d->name, ==, "web01");
  g_assert_cmpint (d->id, ==, 3);
  g_assert_cmpstr (d->state, ==, "running");
  g_assert_cmpstr (d->mapped_by, ==, VNM_MAPPED_BY_LIBVIRT);
  g_assert_cmpuint (d->interfaces->len, ==, 2);
  g_assert_cmpint (d->settings.latency, ==, 1);
  g_assert_cmpint (d->settings.monitoring, ==, -1);
  g_assert_cmpstr (d->settings_error, ==, "no good");
  g_assert_cmpstr (d->object_path, ==, VNM_DBUS_DOMAIN_PREFIX "/5f1c7e0a_3b7d_4c1e_9a55_0d7e4bb0a001");
  g_assert_true (vnm_registry_lookup_uuid (reg, UUID_A) == d);

  /* The same uuid again: replaced in place, every field from the new def. */
  def = make_def ("web02", UUID_A, 4, "vnet7", NULL);
  d2 = vnm_registry_update (reg, def, "paused", VNM_MAPPED_BY_QEMU_CMDLINE);
  assert_log (&o, after_change);
  g_assert_true (d2 == d);
  g_assert_cmpstr (d2->name, ==, "web02");
  g_assert_cmpint (d2->id, ==, 4);
  g_assert_cmpstr (d2->state, ==, "paused");
  g_assert_cmpstr (d2->mapped_by, ==, VNM_MAPPED_BY_QEMU_CMDLINE);
  g_assert_cmpuint (d2->interfaces->len, ==, 1);
  g_assert_cmpint (d2->settings.latency, ==, -1);
  g_assert_null (d2->settings_error);
  g_assert_cmpstr (d2->object_path, ==, VNM_DBUS_DOMAIN_PREFIX "/5f1c7e0a_3b7d_4c1e_9a55_0d7e4bb0a001");

  /* The old interfaces are out of the index, the new one is in. */
  g_assert_null (vnm_registry_lookup_ifname (reg, "vnet0", NULL));
  g_assert_null (vnm_registry_lookup_ifname (reg, "vnet1", NULL));
  g_assert_true (vnm_registry_lookup_ifname (reg, "vnet7", NULL) == d2);

  {
    g_autoptr(GPtrArray) all = vnm_registry_list (reg);
    g_assert_cmpuint (all->len, ==, 1);
  }
}

static void
test_remove (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  Observed o = { reg, log, FALSE };
  const gchar *const expected[] = { "added:a", "added:b", "removed:a", NULL };

  vnm_registry_set_observer (reg, observer, &o);
  vnm_registry_update (reg, make_def ("a", UUID_A, 1, "vnet0", NULL), "running",
                       VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("b", UUID_B, 2, "vnet1", NULL), "running",
                       VNM_MAPPED_BY_LIBVIRT);

  g_assert_true (vnm_registry_remove (reg, UUID_A));
  assert_log (&o, expected);
  /* Told just before the domain went: it was still there. */
  g_assert_true (o.removed_still_present);
  g_assert_null (vnm_registry_lookup_uuid (reg, UUID_A));
  g_assert_null (vnm_registry_lookup (reg, "a"));
  g_assert_null (vnm_registry_lookup_ifname (reg, "vnet0", NULL));
  g_assert_nonnull (vnm_registry_lookup_ifname (reg, "vnet1", NULL));

  /* Nothing to remove: FALSE, and the observer is not called. */
  g_assert_false (vnm_registry_remove (reg, UUID_A));
  g_assert_false (vnm_registry_remove (reg, UUID_C));
  assert_log (&o, expected);

  {
    g_autoptr(GPtrArray) all = vnm_registry_list (reg);
    g_assert_cmpuint (all->len, ==, 1);
    g_assert_cmpstr (((VnmDomain *) g_ptr_array_index (all, 0))->name, ==, "b");
  }
}

static void
test_retain (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  Observed o = { reg, log, FALSE };

  vnm_registry_update (reg, make_def ("a", UUID_A, 1, NULL), "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("b", UUID_B, 2, NULL), "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("c", UUID_C, 3, NULL), "running",
                       VNM_MAPPED_BY_QEMU_CMDLINE);
  vnm_registry_update (reg, make_def ("d", UUID_D, 4, NULL), "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_set_observer (reg, observer, &o);

  /* Keep b among libvirt's: a and d go; c, mapped otherwise, stays. */
  g_hash_table_add (keep, (gpointer) UUID_B);
  g_hash_table_add (keep, (gpointer) "not-in-the-registry");
  vnm_registry_retain (reg, VNM_MAPPED_BY_LIBVIRT, keep);
  g_assert_null (vnm_registry_lookup_uuid (reg, UUID_A));
  g_assert_nonnull (vnm_registry_lookup_uuid (reg, UUID_B));
  g_assert_nonnull (vnm_registry_lookup_uuid (reg, UUID_C));
  g_assert_null (vnm_registry_lookup_uuid (reg, UUID_D));
  g_assert_cmpuint (log->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (log, "removed:a", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (log, "removed:d", g_str_equal, NULL));

  /* Nothing kept from the command line scan: c goes, b stays. */
  g_hash_table_remove_all (keep);
  vnm_registry_retain (reg, VNM_MAPPED_BY_QEMU_CMDLINE, keep);
  g_assert_null (vnm_registry_lookup_uuid (reg, UUID_C));
  g_assert_nonnull (vnm_registry_lookup_uuid (reg, UUID_B));
  g_assert_cmpuint (log->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (log, 2), ==, "removed:c");

  /* A source with no domains: nothing happens. */
  vnm_registry_retain (reg, VNM_MAPPED_BY_NAME_PATTERN, keep);
  g_assert_nonnull (vnm_registry_lookup_uuid (reg, UUID_B));
  g_assert_cmpuint (log->len, ==, 3);
}

static void
test_lookup (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  const VnmDomain *a, *b, *c, *d, *e;

  a = vnm_registry_update (reg, make_def ("alpha", UUID_A, 5, NULL), "running",
                           VNM_MAPPED_BY_LIBVIRT);
  /* Named as a's id. */
  b = vnm_registry_update (reg, make_def ("5", UUID_B, 6, NULL), "running",
                           VNM_MAPPED_BY_LIBVIRT);
  /* Named as a's uuid. */
  c = vnm_registry_update (reg, make_def (UUID_A, UUID_C, 7, NULL), "running",
                           VNM_MAPPED_BY_LIBVIRT);
  d = vnm_registry_update (reg, make_def ("delta", UUID_D, -1, NULL), "shut off",
                           VNM_MAPPED_BY_LIBVIRT);
  /* Named "-1": found by name only. */
  e = vnm_registry_update (reg, make_def ("-1", "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a005", -1, NULL),
                           "shut off", VNM_MAPPED_BY_LIBVIRT);

  /* By uuid, in any case. */
  g_assert_true (vnm_registry_lookup (reg, UUID_A) == a);
  g_assert_true (vnm_registry_lookup (reg, "5F1C7E0A-3B7D-4C1E-9A55-0D7E4BB0A004") == d);
  g_assert_true (vnm_registry_lookup_uuid (reg, UUID_B) == b);
  g_assert_null (vnm_registry_lookup_uuid (reg, "alpha"));
  /* By name. */
  g_assert_true (vnm_registry_lookup (reg, "alpha") == a);
  g_assert_true (vnm_registry_lookup (reg, "delta") == d);
  g_assert_null (vnm_registry_lookup (reg, "Alpha"));
  /* By id. */
  g_assert_true (vnm_registry_lookup (reg, "6") == b);
  g_assert_true (vnm_registry_lookup (reg, "7") == c);
  g_assert_null (vnm_registry_lookup (reg, "8"));
  /* uuid > name > id, as virsh does. */
  g_assert_true (vnm_registry_lookup (reg, "5") == b);
  g_assert_true (c != a);
  g_assert_true (vnm_registry_lookup (reg, UUID_A) == a);
  /* -1 is no id: never matches a domain that has none. */
  g_assert_true (vnm_registry_lookup (reg, "-1") == e);
  g_assert_true (vnm_registry_remove (reg, "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a005"));
  g_assert_null (vnm_registry_lookup (reg, "-1"));
  /* Nothing, or nothing found. */
  g_assert_null (vnm_registry_lookup (reg, ""));
  g_assert_null (vnm_registry_lookup (reg, NULL));
  g_assert_null (vnm_registry_lookup (reg, "nope"));
  g_assert_null (vnm_registry_lookup (reg, "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a0ff"));
}

static void
test_lookup_ifname (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  const VnmDomain *a, *b, *c, *found;
  const VnmDomainInterface *iface = (gpointer) 0x1;

  a = vnm_registry_update (reg, make_def ("a", UUID_A, 1, "vnet0", "vnet1", "", NULL),
                           "running", VNM_MAPPED_BY_LIBVIRT);
  found = vnm_registry_lookup_ifname (reg, "vnet1", &iface);
  g_assert_true (found == a);
  g_assert_nonnull (iface);
  g_assert_true (iface == g_ptr_array_index (a->interfaces, 1));
  g_assert_cmpstr (iface->target_dev, ==, "vnet1");
  g_assert_true (vnm_registry_lookup_ifname (reg, "vnet0", NULL) == a);
  /* Interfaces without a host netdev are not indexed. */
  g_assert_null (vnm_registry_lookup_ifname (reg, "", &iface));
  g_assert_null (iface);
  iface = (gpointer) 0x1;
  g_assert_null (vnm_registry_lookup_ifname (reg, "vnet9", &iface));
  g_assert_null (iface);

  /* Another source claims vnet0: libvirt's mapping wins, whichever came
   * first. */
  b = vnm_registry_update (reg, make_def ("b", UUID_B, 2, "vnet0", "tap5", NULL), "running",
                           VNM_MAPPED_BY_QEMU_CMDLINE);
  g_assert_true (vnm_registry_lookup_ifname (reg, "vnet0", &iface) == a);
  g_assert_true (iface == g_ptr_array_index (a->interfaces, 0));
  g_assert_true (vnm_registry_lookup_ifname (reg, "tap5", NULL) == b);
  c = vnm_registry_update (reg, make_def ("c", UUID_C, 3, "tap5", NULL), "running",
                           VNM_MAPPED_BY_LIBVIRT);
  g_assert_true (vnm_registry_lookup_ifname (reg, "tap5", &iface) == c);
  g_assert_true (iface == g_ptr_array_index (c->interfaces, 0));

  /* When libvirt's domain goes, the other's claim shows. */
  g_assert_true (vnm_registry_remove (reg, UUID_A));
  g_assert_true (vnm_registry_lookup_ifname (reg, "vnet0", &iface) == b);
  g_assert_true (iface == g_ptr_array_index (b->interfaces, 0));
  g_assert_null (vnm_registry_lookup_ifname (reg, "vnet1", NULL));
}

static void
test_list (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) none = NULL;
  const gchar *const order[] = { "zulu", "alpha", "mike", "bravo", "charlie", NULL };

  none = vnm_registry_list (reg);
  g_assert_cmpuint (none->len, ==, 0);

  vnm_registry_update (reg, make_def ("charlie", UUID_A, -1, NULL), "shut off",
                       VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("mike", UUID_B, 12, NULL), "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("bravo", UUID_C, -1, NULL), "shut off",
                       VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("alpha", UUID_D, 2, NULL), "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_registry_update (reg, make_def ("zulu", "5f1c7e0a-3b7d-4c1e-9a55-0d7e4bb0a005", 1, NULL),
                       "running", VNM_MAPPED_BY_LIBVIRT);

  /* Ids first in id order (2 before 12: numbers, not text), then the
   * domains without one by name. */
  all = vnm_registry_list (reg);
  g_assert_cmpuint (all->len, ==, g_strv_length ((gchar **) order));
  for (guint i = 0; i < all->len; i++)
    g_assert_cmpstr (((VnmDomain *) g_ptr_array_index (all, i))->name, ==, order[i]);
}

static void
test_effective_settings (void)
{
  g_autoptr(VnmRegistry) reg = vnm_registry_new ();
  VnmDomainDef *def = make_def ("a", UUID_A, 1, NULL);
  const VnmDomainSettings defaults = { 1, 0, 1000, 32768 };
  VnmDomainSettings out;
  const VnmDomain *d;

  /* Nothing set: every field from the defaults. */
  d = vnm_registry_update (reg, def, "running", VNM_MAPPED_BY_LIBVIRT);
  memset (&out, 0x55, sizeof out);
  vnm_domain_effective_settings (d, &defaults, &out);
  g_assert_cmpint (out.monitoring, ==, 1);
  g_assert_cmpint (out.latency, ==, 0);
  g_assert_cmpint (out.latency_threshold_us, ==, 1000);
  g_assert_cmpint (out.flow_table_size, ==, 32768);

  /* Set fields win, 0 included; the unset one still defaults. */
  def = make_def ("a", UUID_A, 1, NULL);
  def->settings.monitoring = 0;
  def->settings.latency = 1;
  def->settings.latency_threshold_us = 0;
  d = vnm_registry_update (reg, def, "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_domain_effective_settings (d, &defaults, &out);
  g_assert_cmpint (out.monitoring, ==, 0);
  g_assert_cmpint (out.latency, ==, 1);
  g_assert_cmpint (out.latency_threshold_us, ==, 0);
  g_assert_cmpint (out.flow_table_size, ==, 32768);
  /* Defaults the other way round: the set fields still win. */
  vnm_domain_effective_settings (d, &(const VnmDomainSettings) { 1, 0, 500, 16 }, &out);
  g_assert_cmpint (out.monitoring, ==, 0);
  g_assert_cmpint (out.latency, ==, 1);
  g_assert_cmpint (out.latency_threshold_us, ==, 0);
  g_assert_cmpint (out.flow_table_size, ==, 16);
  vnm_domain_effective_settings (d, &(const VnmDomainSettings) { 0, 0, 500, 16 }, &out);
  g_assert_cmpint (out.monitoring, ==, 0);
  g_assert_cmpint (out.latency, ==, 1);

  def = make_def ("a", UUID_A, 1, NULL);
  def->settings.latency = 0;
  d = vnm_registry_update (reg, def, "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_domain_effective_settings (d, &(const VnmDomainSettings) { 1, 1, 500, 16 }, &out);
  g_assert_cmpint (out.monitoring, ==, 1);
  g_assert_cmpint (out.latency, ==, 0);
  g_assert_cmpint (out.latency_threshold_us, ==, 500);

  def = make_def ("a", UUID_A, 1, NULL);
  def->settings.flow_table_size = 64;
  def->settings.latency_threshold_us = 250;
  d = vnm_registry_update (reg, def, "running", VNM_MAPPED_BY_LIBVIRT);
  vnm_domain_effective_settings (d, &defaults, &out);
  g_assert_cmpint (out.monitoring, ==, 1);
  g_assert_cmpint (out.latency, ==, 0);
  g_assert_cmpint (out.latency_threshold_us, ==, 250);
  g_assert_cmpint (out.flow_table_size, ==, 64);
}

static void
test_object_path (void)
{
  g_autofree gchar *p1 = vnm_domain_object_path (UUID_A);
  g_autofree gchar *p2 = vnm_domain_object_path ("ab.c/d_e");
  g_autofree gchar *p3 = vnm_domain_object_path ("");

  g_assert_cmpstr (p1, ==, "/org/virtnetmon/Monitor1/domain/5f1c7e0a_3b7d_4c1e_9a55_0d7e4bb0a001");
  g_assert_cmpstr (p2, ==, VNM_DBUS_DOMAIN_PREFIX "/ab_c_d_e");
  g_assert_true (g_variant_is_object_path (p1));
  g_assert_true (g_variant_is_object_path (p2));
  g_assert_cmpstr (p3, ==, VNM_DBUS_DOMAIN_PREFIX "/");
}

static gboolean
is_lower_hex (gchar c)
{
  return g_ascii_isdigit (c) || (c >= 'a' && c <= 'f');
}

static void
test_uuid_for_name (void)
{
  g_autofree gchar *u1 = vnm_uuid_for_name ("105");
  g_autofree gchar *u1b = vnm_uuid_for_name ("105");
  g_autofree gchar *u2 = vnm_uuid_for_name ("106");
  g_autofree gchar *u3 = vnm_uuid_for_name ("");

  /* Stable: the same name, the same UUID, run after run (SHA-1 of
   * "virtnetmon:105" with the version and variant bits set). */
  g_assert_cmpstr (u1, ==, u1b);
  g_assert_cmpstr (u1, ==, "715b0123-f944-56b9-9941-5f24e1adba2e");
  g_assert_cmpstr (u1, !=, u2);
  g_assert_cmpstr (u1, !=, u3);
  g_assert_cmpstr (u2, !=, u3);

  for (const gchar *const *u = (const gchar *const[]) { u1, u2, u3, NULL }; *u; u++)
    {
      const gchar *s = *u;

      g_assert_cmpuint (strlen (s), ==, 36);
      for (guint i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23)
          g_assert_cmpint (s[i], ==, '-');
        else
          g_assert_true (is_lower_hex (s[i]));
      /* Version 5, RFC 4122 variant (10xx). */
      g_assert_cmpint (s[14], ==, '5');
      g_assert_nonnull (strchr ("89ab", s[19]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/registry/update", test_update);
  g_test_add_func ("/registry/remove", test_remove);
  g_test_add_func ("/registry/retain", test_retain);
  g_test_add_func ("/registry/lookup", test_lookup);
  g_test_add_func ("/registry/lookup-ifname", test_lookup_ifname);
  g_test_add_func ("/registry/list", test_list);
  g_test_add_func ("/registry/effective-settings", test_effective_settings);
  g_test_add_func ("/registry/object-path", test_object_path);
  g_test_add_func ("/registry/uuid-for-name", test_uuid_for_name);
  return g_test_run ();
}
