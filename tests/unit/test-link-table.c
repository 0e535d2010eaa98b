/* test-link-table.c: the link table against a fake kernel. A dump that
 * fails or comes back interrupted must not empty the table or report a
 * link as removed (the monitors detach probes on REMOVED); a device
 * recreated under its name is recognised; owners, guest views and the
 * walk over monitored VM links. */
#include "config.h"

#include <string.h>

#include "link-table.h"
#include "vnm-error.h"
#include "vnm-names.h"

/* --- a fake kernel ---------------------------------------------------------- */

typedef struct {
  GArray *links;            /* what the kernel has now */
  guint calls;
  guint interrupted_calls;  /* the first N dumps come back interrupted */
  gboolean fail;
} FakeKernel;

static VnmLink
make_link (gint ifindex, const gchar *name, const gchar *kind, guint64 rx_bytes)
{
  VnmLink l = { .ifindex = ifindex, .mtu = 1500, .speed_mbps = -1 };

  g_strlcpy (l.name, name, sizeof l.name);
  l.kind = g_intern_string (kind);
  l.state = g_intern_string ("up");
  l.counters.rx_bytes = rx_bytes;
  l.counters.tx_bytes = 2 * rx_bytes;
  return l;
}

static void
fake_add (FakeKernel *k, gint ifindex, const gchar *name, const gchar *kind, guint64 rx_bytes)
{
  VnmLink l = make_link (ifindex, name, kind, rx_bytes);
  g_array_append_val (k->links, l);
}

static void
fake_del (FakeKernel *k, gint ifindex)
{
  for (guint i = 0; i < k->links->len; i++)
    if (g_array_index (k->links, VnmLink, i).ifindex == ifindex)
      {
        g_array_remove_index (k->links, i);
        return;
      }
}

static void
fake_rename (FakeKernel *k, guint row, const gchar *name)
{
  VnmLink *l = &g_array_index (k->links, VnmLink, row);
  g_strlcpy (l->name, name, sizeof l->name);
}

static gboolean
fake_dump (gpointer user_data, GArray *out, gboolean *interrupted, GError **error)
{
  FakeKernel *k = user_data;
  guint call = k->calls++;

  g_array_set_size (out, 0);
  if (k->fail)
    {
      /* A partial list, as a dump that failed half-way leaves. */
      if (k->links->len)
        g_array_append_val (out, g_array_index (k->links, VnmLink, 0));
      g_set_error_literal (error, VNM_ERROR, VNM_ERROR_FAILED, "netlink: No buffer space available");
      return FALSE;
    }
  if (call < k->interrupted_calls)
    {
      /* What an NLM_F_DUMP_INTR dump may hold: part of the list. */
      if (k->links->len)
        g_array_append_val (out, g_array_index (k->links, VnmLink, 0));
      *interrupted = TRUE;
      return TRUE;
    }
  g_array_append_vals (out, k->links->data, k->links->len);
  *interrupted = FALSE;
  return TRUE;
}

/* --- what the observer saw ------------------------------------------------------ */

typedef struct {
  GString *log;             /* "+name/ifindex", "-name/ifindex", "~name", "+name/ifindex!" */
  guint removed;
} Changes;

static void
on_change (VnmLinkChange change, const VnmLink *link, gboolean recreated, gpointer user_data)
{
  Changes *c = user_data;
  const gchar *sign = change == VNM_LINK_ADDED ? "+" : change == VNM_LINK_REMOVED ? "-" : "~";

  if (change == VNM_LINK_REMOVED)
    c->removed++;
  if (change == VNM_LINK_CHANGED)
    g_string_append_printf (c->log, "%s%s ", sign, link->name);
  else
    g_string_append_printf (c->log, "%s%s/%d%s ", sign, link->name, link->ifindex,
                            recreated ? "!" : "");
}

typedef struct {
  FakeKernel kernel;
  VnmRegistry *registry;
  VnmDomainSettings defaults;
  VnmLinkTable *table;
  Changes changes;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->kernel.links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  fake_add (&f->kernel, 1, "lo", "loopback", 100);
  fake_add (&f->kernel, 2, "eth0", "physical", 200);
  fake_add (&f->kernel, 7, "vnet0", "tap", 300);
  fake_add (&f->kernel, 8, "vnet1", "tap", 400);
  f->registry = vnm_registry_new ();
  f->defaults = (VnmDomainSettings) { .monitoring = 1, .latency = 0,
                                      .latency_threshold_us = 1000, .flow_table_size = 4096 };
  f->table = vnm_link_table_new (f->registry, &f->defaults);
  f->changes.log = g_string_new (NULL);
  vnm_link_table_set_observer (f->table, on_change, &f->changes);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  vnm_link_table_free (f->table);
  vnm_registry_free (f->registry);
  g_array_unref (f->kernel.links);
  g_string_free (f->changes.log, TRUE);
}

static void
refresh_ok (Fixture *f, gint64 now_us)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (vnm_link_table_refresh (f->table, fake_dump, &f->kernel, now_us, &error));
  g_assert_no_error (error);
}

static void
reset_log (Fixture *f)
{
  g_string_truncate (f->changes.log, 0);
  f->changes.removed = 0;
}

static const gchar *
names_of (Fixture *f)
{
  static gchar buf[256];
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < vnm_link_table_size (f->table); i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", vnm_link_table_index (f->table, i)->name);
  g_strlcpy (buf, s->str, sizeof buf);
  g_string_free (s, TRUE);
  return buf;
}

/* --- dumps ------------------------------------------------------------------------ */

static void
test_complete_dump (Fixture *f, gconstpointer data)
{
  refresh_ok (f, 1000000);
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1");
  g_assert_cmpstr (f->changes.log->str, ==, "+lo/1 +eth0/2 +vnet0/7 +vnet1/8 ");
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vnet0")->ifindex, ==, 7);
  g_assert_cmpstr (vnm_link_table_lookup_ifindex (f->table, 8)->name, ==, "vnet1");
  g_assert_null (vnm_link_table_lookup_name (f->table, "vnet9"));
  g_assert_null (vnm_link_table_lookup_ifindex (f->table, 99));

  /* The same list again, counters only changed: no news. */
  reset_log (f);
  g_array_index (f->kernel.links, VnmLink, 2).counters.rx_bytes += 5000;
  refresh_ok (f, 2000000);
  g_assert_cmpstr (f->changes.log->str, ==, "");
  g_assert_cmpuint (vnm_link_table_lookup_name (f->table, "vnet0")->counters.rx_bytes, ==, 5300);

  /* One gone, one new, one changed state. */
  fake_del (&f->kernel, 8);
  fake_add (&f->kernel, 9, "vnet2", "tap", 0);
  g_array_index (f->kernel.links, VnmLink, 1).state = g_intern_string ("down");
  refresh_ok (f, 3000000);
  g_assert_cmpstr (f->changes.log->str, ==, "-vnet1/8 ~eth0 +vnet2/9 ");
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet2");
}

static void
test_failed_dump_keeps_table (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmLinkView before, after;

  refresh_ok (f, 1000000);
  g_array_index (f->kernel.links, VnmLink, 2).counters.rx_bytes += 1000;
  refresh_ok (f, 2000000);
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "vnet0"), FALSE, &before);
  g_assert_cmpfloat (before.rates.rx_bytes_ps, ==, 1000.0);
  reset_log (f);

  f->kernel.fail = TRUE;
  g_assert_false (vnm_link_table_refresh (f->table, fake_dump, &f->kernel, 3000000, &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_FAILED);
  /* Every row is still there, nothing was reported gone, the rates are
   * those of the last complete dump. */
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1");
  g_assert_cmpuint (f->changes.removed, ==, 0);
  g_assert_cmpstr (f->changes.log->str, ==, "");
  g_assert_nonnull (vnm_link_table_lookup_name (f->table, "vnet1"));
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "vnet0"), FALSE, &after);
  g_assert_cmpfloat (after.rates.rx_bytes_ps, ==, before.rates.rx_bytes_ps);

  /* The next complete dump carries on from there. */
  f->kernel.fail = FALSE;
  refresh_ok (f, 4000000);
  g_assert_cmpstr (f->changes.log->str, ==, "");
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1");
}

static void
test_interrupted_dump_retried (Fixture *f, gconstpointer data)
{
  refresh_ok (f, 1000000);
  reset_log (f);
  f->kernel.calls = 0;
  f->kernel.interrupted_calls = VNM_LINK_DUMP_ATTEMPTS - 1;
  fake_add (&f->kernel, 10, "vnet3", "tap", 0);
  refresh_ok (f, 2000000);
  /* Retried until complete: the partial lists were never taken. */
  g_assert_cmpuint (f->kernel.calls, ==, VNM_LINK_DUMP_ATTEMPTS);
  g_assert_cmpuint (f->changes.removed, ==, 0);
  g_assert_cmpstr (f->changes.log->str, ==, "+vnet3/10 ");
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1,vnet3");
}

static void
test_always_interrupted_keeps_table (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  refresh_ok (f, 1000000);
  reset_log (f);
  f->kernel.calls = 0;
  f->kernel.interrupted_calls = G_MAXUINT;
  g_assert_false (vnm_link_table_refresh (f->table, fake_dump, &f->kernel, 2000000, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "changed during each of"));
  g_assert_cmpuint (f->kernel.calls, ==, VNM_LINK_DUMP_ATTEMPTS);
  g_assert_cmpuint (f->changes.removed, ==, 0);
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1");
}

/* --- a device recreated under its name -------------------------------------------- */

static void
test_recreated_in_dump (Fixture *f, gconstpointer data)
{
  refresh_ok (f, 1000000);
  reset_log (f);
  fake_del (&f->kernel, 7);
  fake_add (&f->kernel, 11, "vnet0", "tap", 0);
  refresh_ok (f, 2000000);
  /* The old one goes first, then the new one comes, marked recreated. */
  g_assert_cmpstr (f->changes.log->str, ==, "-vnet0/7 +vnet0/11! ");
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vnet0")->ifindex, ==, 11);
  g_assert_null (vnm_link_table_lookup_ifindex (f->table, 7));
}

static void
test_upsert_and_remove (Fixture *f, gconstpointer data)
{
  VnmLink l;

  refresh_ok (f, 1000000);
  reset_log (f);

  /* RTM_NEWLINK for a new device. */
  l = make_link (12, "vnet4", "tap", 0);
  vnm_link_table_upsert (f->table, &l, 1500000);
  /* Counters only: no news, the counters are taken. */
  l.counters.rx_bytes = 77;
  vnm_link_table_upsert (f->table, &l, 1600000);
  g_assert_cmpuint (vnm_link_table_lookup_name (f->table, "vnet4")->counters.rx_bytes, ==, 77);
  /* An MTU change is news. */
  l.mtu = 9000;
  vnm_link_table_upsert (f->table, &l, 1700000);
  /* Recreated before its RTM_DELLINK arrived: the old entry goes. */
  l = make_link (13, "vnet4", "tap", 0);
  vnm_link_table_upsert (f->table, &l, 1800000);
  g_assert_cmpstr (f->changes.log->str, ==, "+vnet4/12 ~vnet4 -vnet4/12 +vnet4/13! ");
  g_assert_null (vnm_link_table_lookup_ifindex (f->table, 12));
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vnet4")->ifindex, ==, 13);

  /* RTM_DELLINK, then one for a device the table never had. */
  reset_log (f);
  vnm_link_table_remove (f->table, 13);
  vnm_link_table_remove (f->table, 99);
  g_assert_cmpstr (f->changes.log->str, ==, "-vnet4/13 ");
  g_assert_null (vnm_link_table_lookup_name (f->table, "vnet4"));
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet0,vnet1");

  /* A rename (same ifindex, new name) is a change, found under the new name. */
  l = *vnm_link_table_lookup_ifindex (f->table, 8);
  g_strlcpy (l.name, "vm-eth1", sizeof l.name);
  vnm_link_table_upsert (f->table, &l, 1900000);
  g_assert_cmpstr (f->changes.log->str, ==, "-vnet4/13 ~vm-eth1 ");
  g_assert_null (vnm_link_table_lookup_name (f->table, "vnet1"));
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vm-eth1")->ifindex, ==, 8);
}

/* --- owners, views, walks --------------------------------------------------------- */

static void
add_domain (Fixture *f, const gchar *name, const gchar *uuid, gint id, gint monitoring,
            const gchar *const *devs)
{
  VnmDomainDef *def = vnm_domain_def_new ();

  def->name = g_strdup (name);
  def->uuid = g_strdup (uuid);
  def->id = id;
  def->settings.monitoring = monitoring;
  for (guint i = 0; devs[i]; i++)
    g_ptr_array_add (def->interfaces, vnm_domain_interface_new ("network", devs[i]));
  g_assert_nonnull (vnm_registry_update (f->registry, def, "running", VNM_MAPPED_BY_LIBVIRT));
}

static void
test_owner_and_view (Fixture *f, gconstpointer data)
{
  const gchar *const devs[] = { "vnet0", NULL };
  VnmLinkOwner owner;
  VnmLinkView view;
  VnmLink tap;

  add_domain (f, "web", "11111111-2222-3333-4444-555555555555", 3, -1, devs);
  tap = make_link (20, "tap105i1", "tap", 0);
  g_array_append_val (f->kernel.links, tap);
  refresh_ok (f, 1000000);
  /* One second later the host received 1000 bytes on vnet0 and sent 3000. */
  g_array_index (f->kernel.links, VnmLink, 2).counters.rx_bytes += 1000;
  g_array_index (f->kernel.links, VnmLink, 2).counters.tx_bytes += 3000;
  refresh_ok (f, 2000000);

  vnm_link_table_owner (f->table, vnm_link_table_lookup_name (f->table, "vnet0"), &owner);
  g_assert_nonnull (owner.domain);
  g_assert_cmpstr (owner.vm_name, ==, "web");
  g_assert_cmpstr (owner.vm_id, ==, "3");
  g_assert_cmpstr (owner.mapped_by, ==, VNM_MAPPED_BY_LIBVIRT);
  g_assert_cmpstr (owner.iface->target_dev, ==, "vnet0");
  g_assert_true (owner.guest_view);

  /* The guest's view swaps rx and tx: the guest sent what the host received. */
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "vnet0"), TRUE, &view);
  g_assert_cmpuint (view.counters.tx_bytes, ==, 1300);
  g_assert_cmpuint (view.counters.rx_bytes, ==, 3600);
  g_assert_cmpfloat (view.rates.tx_bytes_ps, ==, 1000.0);
  g_assert_cmpfloat (view.rates.rx_bytes_ps, ==, 3000.0);
  g_assert_cmpint (view.span_us, ==, 1000000);
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "vnet0"), FALSE, &view);
  g_assert_cmpfloat (view.rates.rx_bytes_ps, ==, 1000.0);

  /* A Proxmox-style name: only the VM id. */
  vnm_link_table_owner (f->table, vnm_link_table_lookup_name (f->table, "tap105i1"), &owner);
  g_assert_null (owner.domain);
  g_assert_cmpstr (owner.vm_id, ==, "105");
  g_assert_cmpstr (owner.mapped_by, ==, VNM_MAPPED_BY_NAME_PATTERN);
  g_assert_true (owner.guest_view);

  /* Nobody's: the host's view. */
  vnm_link_table_owner (f->table, vnm_link_table_lookup_name (f->table, "eth0"), &owner);
  g_assert_null (owner.domain);
  g_assert_cmpstr (owner.mapped_by, ==, "");
  g_assert_cmpstr (owner.vm_id, ==, "");
  g_assert_false (owner.guest_view);
}

static void
collect (const VnmDomain *domain, const VnmDomainInterface *iface, const VnmLink *link,
         gpointer user_data)
{
  g_string_append_printf (user_data, "%s:%s/%d ", domain->name, iface->target_dev, link->ifindex);
}

static void
test_foreach_vm_link (Fixture *f, gconstpointer data)
{
  const gchar *const web[] = { "vnet0", "vnet9", NULL };   /* vnet9 does not exist */
  const gchar *const db[] = { "vnet1", NULL };
  g_autoptr(GString) seen = g_string_new (NULL);
  const VnmDomain *d;

  add_domain (f, "web", "11111111-2222-3333-4444-555555555555", 3, -1, web);
  add_domain (f, "db", "66666666-7777-8888-9999-000000000000", 4, 0, db); /* monitoring off */
  refresh_ok (f, 1000000);

  vnm_link_table_foreach_vm_link (f->table, collect, seen);
  g_assert_cmpstr (seen->str, ==, "web:vnet0/7 ");

  /* The domain walk sees an unmonitored domain's devices too. */
  g_string_truncate (seen, 0);
  d = vnm_registry_lookup (f->registry, "db");
  g_assert_false (vnm_link_table_monitored (f->table, d));
  vnm_link_table_foreach_domain_link (f->table, d, NULL, collect, seen);
  g_assert_cmpstr (seen->str, ==, "db:vnet1/8 ");

  /* One interface by name. */
  g_string_truncate (seen, 0);
  d = vnm_registry_lookup (f->registry, "web");
  vnm_link_table_foreach_domain_link (f->table, d, "vnet1", collect, seen);
  g_assert_cmpstr (seen->str, ==, "");
  vnm_link_table_foreach_domain_link (f->table, d, "vnet0", collect, seen);
  g_assert_cmpstr (seen->str, ==, "web:vnet0/7 ");

  /* The daemon's default switched off: nothing is walked. */
  g_string_truncate (seen, 0);
  f->defaults.monitoring = 0;
  vnm_link_table_foreach_vm_link (f->table, collect, seen);
  g_assert_cmpstr (seen->str, ==, "");
}

/* The name and ifindex indexes after each refresh: every row found by both,
 * nothing else found. */
static void
assert_indexes (Fixture *f, const gchar *const *gone_names, const gint *gone_ifindexes)
{
  for (guint i = 0; i < vnm_link_table_size (f->table); i++)
    {
      const VnmLink *row = vnm_link_table_index (f->table, i);
      g_assert_true (vnm_link_table_lookup_name (f->table, row->name) == row);
      g_assert_true (vnm_link_table_lookup_ifindex (f->table, row->ifindex) == row);
    }
  for (; gone_names && *gone_names; gone_names++)
    g_assert_null (vnm_link_table_lookup_name (f->table, *gone_names));
  for (; gone_ifindexes && *gone_ifindexes; gone_ifindexes++)
    g_assert_null (vnm_link_table_lookup_ifindex (f->table, *gone_ifindexes));
}

static void
test_indexes_follow_refreshes (Fixture *f, gconstpointer data)
{
  static const gint gone1_ifindex[] = { 8, 0 };

  refresh_ok (f, 1000000);
  assert_indexes (f, NULL, NULL);
  refresh_ok (f, 2000000);          /* the same list, swapped in again */
  assert_indexes (f, NULL, NULL);

  /* Gone, and a rename (same ifindex, new name). */
  fake_del (&f->kernel, 8);
  fake_rename (&f->kernel, 2, "vnet9");
  refresh_ok (f, 3000000);
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet9");
  assert_indexes (f, (const gchar *const[]) { "vnet0", "vnet1", NULL }, gone1_ifindex);

  /* Two devices trade names, and the list changes order. */
  fake_add (&f->kernel, 10, "vnet0", "tap", 0);
  refresh_ok (f, 4000000);
  fake_rename (&f->kernel, 2, "vnet0");
  fake_rename (&f->kernel, 3, "vnet9");
  refresh_ok (f, 5000000);
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vnet0")->ifindex, ==, 7);
  g_assert_cmpint (vnm_link_table_lookup_name (f->table, "vnet9")->ifindex, ==, 10);
  assert_indexes (f, (const gchar *const[]) { "vnet1", NULL }, gone1_ifindex);

  /* A link event's in-place removal between refreshes, then a refresh. */
  vnm_link_table_remove (f->table, 7);
  assert_indexes (f, (const gchar *const[]) { "vnet0", "vnet1", NULL }, (const gint[]) { 7, 8, 0 });
  fake_del (&f->kernel, 7);
  refresh_ok (f, 6000000);
  assert_indexes (f, (const gchar *const[]) { "vnet0", "vnet1", NULL }, (const gint[]) { 7, 8, 0 });
  g_assert_cmpstr (names_of (f), ==, "lo,eth0,vnet9");

  /* Many refreshes of an unchanged list keep every index exact. */
  for (gint i = 0; i < 50; i++)
    refresh_ok (f, 7000000 + i * 1000000);
  assert_indexes (f, (const gchar *const[]) { "vnet0", "vnet1", NULL }, (const gint[]) { 7, 8, 9, 0 });
}

/* A macvtap counts as the guest does (what the guest sends is its tx, as
 * virsh domifstat shows it): its guest view is its own counters; a tap's
 * are swapped. */
static void
test_macvtap_view (Fixture *f, gconstpointer data)
{
  const gchar *const devs[] = { "macvtap0", NULL };
  VnmLinkOwner owner;
  VnmLinkView view;
  VnmLink mv = make_link (30, "macvtap0", "macvtap", 0);

  g_assert_true (vnm_link_kind_counts_as_guest ("macvtap"));
  g_assert_true (vnm_link_kind_counts_as_guest ("ipvtap"));
  g_assert_false (vnm_link_kind_counts_as_guest ("tap"));
  g_assert_false (vnm_link_kind_counts_as_guest ("macvlan"));
  g_assert_false (vnm_link_kind_counts_as_guest ("veth"));
  g_assert_false (vnm_link_kind_counts_as_guest (NULL));

  add_domain (f, "mv", "11111111-2222-3333-4444-666666666666", 4, -1, devs);
  g_array_append_val (f->kernel.links, mv);
  refresh_ok (f, 1000000);
  /* One second later the macvtap received 1000 bytes (into the guest) and
   * sent 3000 (the guest's). */
  g_array_index (f->kernel.links, VnmLink, f->kernel.links->len - 1).counters.rx_bytes += 1000;
  g_array_index (f->kernel.links, VnmLink, f->kernel.links->len - 1).counters.tx_bytes += 3000;
  refresh_ok (f, 2000000);

  vnm_link_table_owner (f->table, vnm_link_table_lookup_name (f->table, "macvtap0"), &owner);
  g_assert_cmpstr (owner.vm_name, ==, "mv");
  g_assert_true (owner.guest_view);
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "macvtap0"), TRUE, &view);
  g_assert_cmpuint (view.counters.rx_bytes, ==, 1000);
  g_assert_cmpuint (view.counters.tx_bytes, ==, 3000);
  g_assert_cmpfloat (view.rates.rx_bytes_ps, ==, 1000.0);
  g_assert_cmpfloat (view.rates.tx_bytes_ps, ==, 3000.0);
  /* The host's view is the same numbers. */
  vnm_link_table_view (f->table, vnm_link_table_lookup_name (f->table, "macvtap0"), FALSE, &view);
  g_assert_cmpuint (view.counters.rx_bytes, ==, 1000);
  g_assert_cmpfloat (view.rates.tx_bytes_ps, ==, 3000.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/link-table/dump/complete", test_complete_dump);
  ADD ("/link-table/dump/failed-keeps-table", test_failed_dump_keeps_table);
  ADD ("/link-table/dump/interrupted-retried", test_interrupted_dump_retried);
  ADD ("/link-table/dump/always-interrupted-keeps-table", test_always_interrupted_keeps_table);
  ADD ("/link-table/recreated-in-dump", test_recreated_in_dump);
  ADD ("/link-table/upsert-and-remove", test_upsert_and_remove);
  ADD ("/link-table/owner-and-view", test_owner_and_view);
  ADD ("/link-table/macvtap-view", test_macvtap_view);
  ADD ("/link-table/foreach-vm-link", test_foreach_vm_link);
  ADD ("/link-table/indexes-follow-refreshes", test_indexes_follow_refreshes);
#undef ADD
  return g_test_run ();
}
