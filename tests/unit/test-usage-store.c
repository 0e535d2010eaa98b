/* test-usage-store.c: the usage store on a database in a temporary
 * directory, and the recorder against a fake kernel. Rows by hour, day and
 * month across a month's end (UTC) with given times, before and after a
 * write and after reopening; a corrupt file is moved aside and a new
 * database written; a database another connection holds locked is
 * reported, the totals wait in memory and the next write has them once;
 * a restart continues from the counters written with the last batch (also
 * without a clean stop), a recreated device counts from 0, a reboot too. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "link-table.h"
#include "usage-recorder.h"
#include "usage-store.h"
#include "vnm-error.h"
#include "vnm-names.h"

#define UUID_A "11111111-2222-4333-8444-555555555555"
#define UUID_B "66666666-7777-4888-9999-aaaaaaaaaaaa"

typedef struct {
  gchar *dir;
  gchar *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vnm-usage-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  /* A directory the store has to make. */
  f->path = g_build_filename (f->dir, "lib", "usage.db", NULL);
}

static void
rm_rf (const gchar *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree gchar *p = g_build_filename (path, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        rm_rf (p);
      else
        g_unlink (p);
    }
  g_rmdir (path);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static gint64
utc (gint y, gint mo, gint d, gint h, gint mi)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (y, mo, d, h, mi, 0);
  return g_date_time_to_unix (dt);
}

static VnmUsage
usage (guint64 rx, guint64 tx, guint64 rxp, guint64 txp)
{
  VnmUsage u = { rx, tx, rxp, txp };
  return u;
}

/* The one row of @uuid/@iface starting at @start in @rows, or NULL. */
static const VnmUsageRow *
find (GPtrArray *rows, const gchar *uuid, const gchar *iface, gint64 start)
{
  for (guint i = 0; rows && i < rows->len; i++)
    {
      const VnmUsageRow *r = g_ptr_array_index (rows, i);
      if (g_str_equal (r->vm_uuid, uuid) && g_str_equal (r->iface, iface) && r->start == start)
        return r;
    }
  return NULL;
}

static void
assert_usage (const VnmUsageRow *r, guint64 rx, guint64 tx, guint64 rxp, guint64 txp)
{
  g_assert_nonnull (r);
  g_assert_cmpuint (r->usage.rx_bytes, ==, rx);
  g_assert_cmpuint (r->usage.tx_bytes, ==, tx);
  g_assert_cmpuint (r->usage.rx_packets, ==, rxp);
  g_assert_cmpuint (r->usage.tx_packets, ==, txp);
}

static GPtrArray *
query (VnmUsageStore *s, VnmUsagePeriod p, gint64 from, gint64 to, const gchar *uuid, gboolean ifaces)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *rows = vnm_usage_store_query (s, p, from, to, uuid, ifaces, &error);

  g_assert_no_error (error);
  return rows;
}

/* --- periods ----------------------------------------------------------------- */

static void
test_periods (void)
{
  gint64 t = utc (2024, 2, 29, 23, 59), start;

  g_assert_cmpint (vnm_usage_period_start (VNM_USAGE_HOUR, t), ==, utc (2024, 2, 29, 23, 0));
  g_assert_cmpint (vnm_usage_period_start (VNM_USAGE_DAY, t), ==, utc (2024, 2, 29, 0, 0));
  g_assert_cmpint (vnm_usage_period_start (VNM_USAGE_MONTH, t), ==, utc (2024, 2, 1, 0, 0));
  g_assert_cmpint (vnm_usage_period_next (VNM_USAGE_MONTH, utc (2024, 2, 1, 0, 0)), ==,
                   utc (2024, 3, 1, 0, 0));
  g_assert_cmpint (vnm_usage_period_next (VNM_USAGE_MONTH, utc (2024, 12, 1, 0, 0)), ==,
                   utc (2025, 1, 1, 0, 0));
  g_assert_true (vnm_usage_parse_month ("2024-02", &start));
  g_assert_cmpint (start, ==, utc (2024, 2, 1, 0, 0));
  g_assert_false (vnm_usage_parse_month ("2024-13", &start));
  g_assert_false (vnm_usage_parse_month ("2024-2", &start));
  g_assert_false (vnm_usage_parse_month ("24-02-01", &start));
  g_assert_false (vnm_usage_parse_month ("", &start));
  {
    g_autofree gchar *m = vnm_usage_month_name (t);
    g_assert_cmpstr (m, ==, "2024-02");
  }
}

/* --- batches and rollups across a month's end ------------------------------ */

static void
check_rollups (VnmUsageStore *s)
{
  gint64 jan = utc (2024, 1, 1, 0, 0), feb = utc (2024, 2, 1, 0, 0), mar = utc (2024, 3, 1, 0, 0);
  g_autoptr(GPtrArray) months = query (s, VNM_USAGE_MONTH, jan, mar, NULL, TRUE);
  g_autoptr(GPtrArray) jan_vm = query (s, VNM_USAGE_MONTH, jan, feb, NULL, FALSE);
  g_autoptr(GPtrArray) days = query (s, VNM_USAGE_DAY, jan, mar, UUID_A, FALSE);
  g_autoptr(GPtrArray) hours = query (s, VNM_USAGE_HOUR, jan, mar, UUID_A, TRUE);

  /* January: A has two deltas in its last hour, B one. */
  assert_usage (find (months, UUID_A, "", jan), 300, 30, 3, 2);
  assert_usage (find (months, UUID_A, "vnet0", jan), 100, 10, 1, 1);
  assert_usage (find (months, UUID_A, "vnet1", jan), 200, 20, 2, 1);
  assert_usage (find (months, UUID_B, "", jan), 7, 7, 1, 1);
  /* February: A's first hour. */
  assert_usage (find (months, UUID_A, "", feb), 1000, 50, 10, 5);
  assert_usage (find (months, UUID_A, "vnet0", feb), 1000, 50, 10, 5);
  g_assert_null (find (months, UUID_B, "", feb));
  g_assert_cmpuint (months->len, ==, 7);
  /* Without interfaces: the VMs' totals of January only, sorted by name. */
  g_assert_cmpuint (jan_vm->len, ==, 2);
  g_assert_cmpstr (((VnmUsageRow *) g_ptr_array_index (jan_vm, 0))->vm_name, ==, "alpha");
  g_assert_cmpstr (((VnmUsageRow *) g_ptr_array_index (jan_vm, 1))->vm_name, ==, "beta");
  /* Days: 31 January and 1 February. */
  g_assert_cmpuint (days->len, ==, 2);
  assert_usage (find (days, UUID_A, "", utc (2024, 1, 31, 0, 0)), 300, 30, 3, 2);
  assert_usage (find (days, UUID_A, "", utc (2024, 2, 1, 0, 0)), 1000, 50, 10, 5);
  /* Hours. */
  assert_usage (find (hours, UUID_A, "", utc (2024, 1, 31, 23, 0)), 300, 30, 3, 2);
  assert_usage (find (hours, UUID_A, "vnet1", utc (2024, 1, 31, 23, 0)), 200, 20, 2, 1);
  assert_usage (find (hours, UUID_A, "", utc (2024, 2, 1, 0, 0)), 1000, 50, 10, 5);
}

static void
add_month_end (VnmUsageStore *s)
{
  VnmUsage a = usage (100, 10, 1, 1), b = usage (200, 20, 2, 1), c = usage (1000, 50, 10, 5);
  VnmUsage d = usage (7, 7, 1, 1);

  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 1, 31, 23, 10), &a);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet1", utc (2024, 1, 31, 23, 59), &b);
  vnm_usage_store_add (s, UUID_B, "beta", "vnet9", utc (2024, 1, 31, 23, 30), &d);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 2, 1, 0, 0), &c);
}

static void
test_rollups (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  VnmUsageStatus st;

  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);

    vnm_usage_store_status (s, &st);
    g_assert_true (st.available);
    g_assert_true (st.fresh);
    g_assert_cmpstr (st.last_error, ==, "");
    add_month_end (s);
    vnm_usage_store_status (s, &st);
    g_assert_cmpuint (st.pending, >, 0);
    /* Not written yet: the queries have it from memory. */
    check_rollups (s);
    /* A new database until a first reading is written. */
    vnm_usage_store_baseline_taken (s);
    g_assert_true (vnm_usage_store_flush (s, utc (2024, 2, 1, 0, 1), &error));
    g_assert_no_error (error);
    vnm_usage_store_status (s, &st);
    g_assert_cmpuint (st.pending, ==, 0);
    g_assert_cmpint (st.last_write, ==, utc (2024, 2, 1, 0, 1));
    check_rollups (s);
    /* A second write with nothing new changes nothing. */
    g_assert_true (vnm_usage_store_flush (s, utc (2024, 2, 1, 0, 2), &error));
    check_rollups (s);
  }
  {
    /* Reopened: from the database alone. */
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    g_autofree gchar *uuid = vnm_usage_store_find_name (s, "beta");
    GHashTable *month;

    vnm_usage_store_status (s, &st);
    g_assert_false (st.fresh);
    check_rollups (s);
    g_assert_cmpstr (uuid, ==, UUID_B);
    month = vnm_usage_store_month_totals (s, utc (2024, 1, 15, 12, 0));
    g_assert_cmpuint (g_hash_table_size (month), ==, 2);
    assert_usage (g_hash_table_lookup (month, UUID_A), 300, 30, 3, 2);
    /* The month's totals follow what is added. */
    {
      VnmUsage u = usage (1, 2, 3, 4);
      vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 1, 20, 0, 0), &u);
      assert_usage (g_hash_table_lookup (vnm_usage_store_month_totals (s, utc (2024, 1, 21, 0, 0)), UUID_A),
                    301, 32, 6, 6);
    }
  }
  {
    /* The user_version pragma says the schema. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st2 = NULL;
    g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st2, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st2), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (st2, 0), ==, VNM_USAGE_SCHEMA_VERSION);
    sqlite3_finalize (st2);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &st2, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st2), ==, SQLITE_ROW);
    g_assert_cmpstr ((const gchar *) sqlite3_column_text (st2, 0), ==, "wal");
    sqlite3_finalize (st2);
    sqlite3_close (db);
  }
}

/* --- a corrupt database ------------------------------------------------------- */

static guint
count_aside (Fixture *f)
{
  g_autofree gchar *dir = g_path_get_dirname (f->path);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_prefix (name, "usage.db.corrupt-") && !g_str_has_suffix (name, "-wal") &&
        !g_str_has_suffix (name, "-shm"))
      n++;
  return n;
}

static void
test_corrupt (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = g_path_get_dirname (f->path);
  g_autofree gchar *garbage = g_malloc (8192);
  VnmUsageStatus st;

  for (guint i = 0; i < 8192; i++)
    garbage[i] = (gchar) (i * 7 + 13);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (f->path, garbage, 8192, NULL));
  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    VnmUsage u = usage (5, 6, 1, 1);

    vnm_usage_store_status (s, &st);
    /* Reported, moved aside, a new one in its place. */
    g_assert_true (strstr (st.last_error, "corrupt") != NULL);
    g_assert_true (strstr (st.last_error, "moved aside") != NULL);
    g_assert_cmpstr (st.last_recovery, ==, st.last_error);
    g_assert_true (st.available);
    g_assert_cmpuint (count_aside (f), ==, 1);
    vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 5, 1, 0, 0), &u);
    g_assert_true (vnm_usage_store_flush (s, utc (2024, 5, 1, 0, 1), &error));
    g_assert_no_error (error);
    vnm_usage_store_status (s, &st);
    g_assert_cmpstr (st.last_error, ==, "");
    /* What was done stays in view. */
    g_assert_true (strstr (st.last_recovery, "moved aside") != NULL);
  }
  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, FALSE);

    assert_usage (find (rows, UUID_A, "", utc (2024, 5, 1, 0, 0)), 5, 6, 1, 1);
  }
  {
    /* The aside copy is the garbage, as it was. */
    g_autofree gchar *parent = g_path_get_dirname (f->path);
    g_autoptr(GDir) d = g_dir_open (parent, 0, NULL);
    const gchar *name;
    while ((name = g_dir_read_name (d)))
      if (g_str_has_prefix (name, "usage.db.corrupt-") && !strchr (name + 17, '-'))
        {
          g_autofree gchar *p = g_build_filename (parent, name, NULL);
          g_autofree gchar *text = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (p, &text, &len, NULL));
          g_assert_cmpuint (len, ==, 8192);
          g_assert_cmpint (memcmp (text, garbage, 8192), ==, 0);
        }
  }
}

/* A directory where the database cannot be: memory only, reported, and
 * each write tries again. */
static void
test_unavailable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *file = g_build_filename (f->dir, "plain-file", NULL);
  g_autofree gchar *path = g_build_filename (file, "usage.db", NULL);
  g_autoptr(VnmUsageStore) s = NULL;
  VnmUsage u = usage (1, 1, 1, 1);
  VnmUsageStatus st;

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  s = vnm_usage_store_open (path);
  vnm_usage_store_status (s, &st);
  g_assert_false (st.available);
  g_assert_cmpstr (st.last_error, !=, "");
  vnm_usage_store_add (s, UUID_A, "alpha", "", utc (2024, 5, 1, 0, 0), &u);
  g_assert_false (vnm_usage_store_flush (s, utc (2024, 5, 1, 0, 1), &error));
  g_assert_nonnull (error);
  {
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, FALSE);
    assert_usage (find (rows, UUID_A, "", utc (2024, 5, 1, 0, 0)), 1, 1, 1, 1);
  }
}

/* --- a locked database ------------------------------------------------------------ */

static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
  VnmUsage u1 = usage (10, 20, 1, 2), u2 = usage (1, 1, 1, 1);
  sqlite3 *other = NULL;
  VnmUsageStatus st;
  gint64 t0 = g_get_monotonic_time ();

  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 6, 1, 0, 0), &u1);
  g_assert_true (vnm_usage_store_flush (s, utc (2024, 6, 1, 0, 1), &error));

  /* Another process holds the write lock. */
  g_assert_cmpint (sqlite3_open (f->path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE; INSERT INTO quota_events VALUES ('x', '2024-06', 0, 0, 0);",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", utc (2024, 6, 1, 0, 2), &u2);
  t0 = g_get_monotonic_time ();
  g_assert_false (vnm_usage_store_flush (s, utc (2024, 6, 1, 0, 3), &error));
  /* It waited the busy timeout, not longer. */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  g_assert_nonnull (error);
  g_assert_true (strstr (error->message, "locked") != NULL);
  g_clear_error (&error);
  vnm_usage_store_status (s, &st);
  g_assert_false (st.available);
  g_assert_cmpuint (st.pending, ==, 2);
  g_assert_true (strstr (st.last_error, "locked") != NULL);
  {
    /* Queries still see everything. */
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, TRUE);
    assert_usage (find (rows, UUID_A, "", utc (2024, 6, 1, 0, 0)), 11, 21, 2, 3);
  }
  /* Released: the next write has the waiting deltas, once. */
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  g_assert_true (vnm_usage_store_flush (s, utc (2024, 6, 1, 0, 4), &error));
  g_assert_no_error (error);
  vnm_usage_store_status (s, &st);
  g_assert_true (st.available);
  g_assert_cmpuint (st.pending, ==, 0);
  g_assert_cmpstr (st.last_error, ==, "");
  {
    g_autoptr(VnmUsageStore) again = vnm_usage_store_open (f->path);
    g_autoptr(GPtrArray) rows = query (again, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, TRUE);
    assert_usage (find (rows, UUID_A, "", utc (2024, 6, 1, 0, 0)), 11, 21, 2, 3);
    assert_usage (find (rows, UUID_A, "vnet0", utc (2024, 6, 1, 0, 0)), 11, 21, 2, 3);
  }
}

/* --- quota events once a month ------------------------------------------------------ */

static void
test_quota_marks (Fixture *f, gconstpointer data)
{
  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    g_assert_false (vnm_usage_store_quota_notified (s, UUID_A, "2024-06"));
    vnm_usage_store_mark_quota_notified (s, UUID_A, "2024-06", 500, 400);
    g_assert_true (vnm_usage_store_quota_notified (s, UUID_A, "2024-06"));
    g_assert_true (vnm_usage_store_flush (s, utc (2024, 6, 2, 0, 0), NULL));
  }
  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    g_assert_true (vnm_usage_store_quota_notified (s, UUID_A, "2024-06"));
    g_assert_false (vnm_usage_store_quota_notified (s, UUID_A, "2024-07"));
    g_assert_false (vnm_usage_store_quota_notified (s, UUID_B, "2024-06"));
  }
}

/* --- the recorder: restarts, kills, recreated devices, reboots ------------------------ */

typedef struct {
  GArray *links;
} FakeKernel;

static gboolean
fake_dump (gpointer user_data, GArray *out, gboolean *interrupted, GError **error)
{
  FakeKernel *k = user_data;

  g_array_set_size (out, 0);
  g_array_append_vals (out, k->links->data, k->links->len);
  *interrupted = FALSE;
  return TRUE;
}

/* The kernel's device @name now has these counters (host's view). */
static void
fake_set (FakeKernel *k, gint ifindex, const gchar *name, guint64 rx, guint64 tx)
{
  VnmLink l = { .ifindex = ifindex, .mtu = 1500, .speed_mbps = -1 };

  for (guint i = 0; i < k->links->len; i++)
    if (g_str_equal (g_array_index (k->links, VnmLink, i).name, name))
      g_array_remove_index (k->links, i--);
  g_strlcpy (l.name, name, sizeof l.name);
  l.kind = g_intern_string ("tap");
  l.state = g_intern_string ("up");
  l.counters.rx_bytes = rx;
  l.counters.tx_bytes = tx;
  l.counters.rx_packets = rx / 100;
  l.counters.tx_packets = tx / 100;
  g_array_append_val (k->links, l);
}

/* One daemon's life: a registry with domain alpha owning vnet0, a link
 * table, a store and a recorder. */
typedef struct {
  VnmRegistry *registry;
  VnmLinkTable *links;
  VnmUsageStore *store;
  VnmUsageRecorder *rec;
  VnmDomainSettings defaults;
} Life;

static Life *
life_start (const gchar *path, const gchar *boot_id, FakeKernel *k)
{
  Life *l = g_new0 (Life, 1);
  VnmDomainDef *def = vnm_domain_def_new ();

  l->defaults = (VnmDomainSettings) { .monitoring = 1, .latency = 0, .latency_threshold_us = 1000,
                                      .flow_table_size = 4096, .usage_quota_bytes = 0 };
  l->registry = vnm_registry_new ();
  g_free (def->name);
  g_free (def->uuid);
  def->name = g_strdup ("alpha");
  def->uuid = g_strdup (UUID_A);
  def->id = 1;
  g_ptr_array_add (def->interfaces, vnm_domain_interface_new ("network", "vnet0"));
  g_assert_nonnull (vnm_registry_update (l->registry, def, "running", VNM_MAPPED_BY_LIBVIRT));
  l->links = vnm_link_table_new (l->registry, &l->defaults);
  l->store = vnm_usage_store_open (path);
  l->rec = vnm_usage_recorder_new (l->store, boot_id);
  return l;
}

static void
life_feed (Life *l, FakeKernel *k, gint64 now)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (vnm_link_table_refresh (l->links, fake_dump, k, now * G_USEC_PER_SEC, &error));
  vnm_usage_recorder_feed (l->rec, l->links, now);
}

/* @clean: a write first (SIGTERM); else as after SIGKILL. */
static void
life_end (Life *l, gboolean clean, gint64 now)
{
  if (clean)
    g_assert_true (vnm_usage_store_flush (l->store, now, NULL));
  vnm_usage_recorder_free (l->rec);
  vnm_usage_store_free (l->store);
  vnm_link_table_free (l->links);
  vnm_registry_free (l->registry);
  g_free (l);
}

/* alpha's total this month: rx, tx (guest's view). */
static void
assert_alpha (const gchar *path, guint64 rx, guint64 tx)
{
  g_autoptr(VnmUsageStore) s = vnm_usage_store_open (path);
  g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, UUID_A, TRUE);
  const VnmUsageRow *vm = find (rows, UUID_A, "", utc (2024, 7, 1, 0, 0));
  const VnmUsageRow *iface = find (rows, UUID_A, "vnet0", utc (2024, 7, 1, 0, 0));

  g_assert_nonnull (vm);
  g_assert_cmpuint (vm->usage.rx_bytes, ==, rx);
  g_assert_cmpuint (vm->usage.tx_bytes, ==, tx);
  g_assert_nonnull (iface);
  g_assert_cmpuint (iface->usage.rx_bytes, ==, rx);
  g_assert_cmpuint (iface->usage.tx_bytes, ==, tx);
}

static void
test_recorder (Fixture *f, gconstpointer data)
{
  FakeKernel k = { g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  gint64 t = utc (2024, 7, 10, 12, 0);
  Life *l;

  /* A fresh database: what vnet0 and eth0 carried before is not counted. */
  fake_set (&k, 5, "vnet0", 1000, 500);
  fake_set (&k, 2, "eth0", 99999, 99999);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t);
  fake_set (&k, 5, "vnet0", 1300, 900);     /* host rx +300 = the VM sent 300 */
  life_feed (l, &k, t + 1);
  life_end (l, TRUE, t + 2);
  /* Guest's view: rx = what the host sent to it (tx +400). */
  assert_alpha (f->path, 400, 300);

  /* Restart without reboot: traffic while the daemon was down counts. */
  fake_set (&k, 5, "vnet0", 1400, 1000);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 10);
  fake_set (&k, 5, "vnet0", 1500, 1100);
  life_feed (l, &k, t + 11);
  life_end (l, TRUE, t + 12);
  assert_alpha (f->path, 600, 500);

  /* Killed (no write at the end): the next start continues from the
   * counters of the last write, so nothing is lost or counted twice. */
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 20);
  fake_set (&k, 5, "vnet0", 1600, 1300);
  life_feed (l, &k, t + 21);
  g_assert_true (vnm_usage_store_flush (l->store, t + 22, NULL));
  fake_set (&k, 5, "vnet0", 1700, 1600);
  life_feed (l, &k, t + 23);                /* counted in memory only */
  life_end (l, FALSE, t + 24);
  assert_alpha (f->path, 800, 600);         /* the last write's */
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 30);
  life_end (l, TRUE, t + 31);
  assert_alpha (f->path, 1100, 700);        /* all of it, once */

  /* The device recreated (new ifindex, counters from 0) while down. */
  fake_set (&k, 9, "vnet0", 50, 70);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 40);
  /* ... and recreated again while the daemon runs. */
  fake_set (&k, 11, "vnet0", 5, 6);
  life_feed (l, &k, t + 41);
  life_end (l, TRUE, t + 42);
  assert_alpha (f->path, 1100 + 70 + 6, 700 + 50 + 5);

  /* A reboot: same ifindex by chance, counters from 0 again but higher
   * than before; another boot id says it is not the same device. */
  fake_set (&k, 11, "vnet0", 80, 90);
  l = life_start (f->path, "boot-2", &k);
  life_feed (l, &k, t + 50);
  life_end (l, TRUE, t + 51);
  assert_alpha (f->path, 1176 + 90, 755 + 80);

  /* Devices of nobody are not counted. */
  fake_set (&k, 12, "vnet5", 0, 0);
  l = life_start (f->path, "boot-2", &k);
  life_feed (l, &k, t + 60);
  g_array_set_size (k.links, 0);
  fake_set (&k, 11, "vnet0", 80, 90);
  fake_set (&k, 13, "vnet1", 4000, 4000);   /* nobody's: not counted */
  life_feed (l, &k, t + 61);
  life_end (l, TRUE, t + 62);
  assert_alpha (f->path, 1266, 835);

  /* Recreated while down with more traffic than the old device had: the
   * new ifindex says it is another device, so all of it counts. */
  g_array_set_size (k.links, 0);
  fake_set (&k, 14, "vnet0", 5000, 6000);
  l = life_start (f->path, "boot-2", &k);
  life_feed (l, &k, t + 70);
  life_end (l, TRUE, t + 71);
  assert_alpha (f->path, 1266 + 6000, 835 + 5000);
  g_array_unref (k.links);
}

/* The database cannot be opened at start: each device starts from its
 * counters then, no quota counts as not yet notified, and when it opens
 * the traffic since the saved counters counts too: exactly the kernel's. */
static void
test_recorder_late_open (Fixture *f, gconstpointer data)
{
  FakeKernel k = { g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  gint64 t = utc (2024, 7, 10, 12, 0);
  g_autofree gchar *lib = g_path_get_dirname (f->path);
  g_autofree gchar *away = g_strconcat (lib, ".away", NULL);
  Life *l;

  fake_set (&k, 5, "vnet0", 1000, 500);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t);
  fake_set (&k, 5, "vnet0", 1300, 900);
  life_feed (l, &k, t + 1);
  vnm_usage_store_mark_quota_notified (l->store, UUID_A, "2024-07", 700, 600);
  life_end (l, TRUE, t + 2);
  assert_alpha (f->path, 400, 300);

  /* Its directory is a plain file now: it cannot be opened. */
  g_assert_cmpint (g_rename (lib, away), ==, 0);
  g_assert_true (g_file_set_contents (lib, "x", 1, NULL));
  fake_set (&k, 5, "vnet0", 1400, 1000);    /* while down: +100 +100 */
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 10);
  g_assert_true (vnm_usage_store_quota_notified (l->store, UUID_A, "2024-07"));
  fake_set (&k, 5, "vnet0", 1500, 1100);
  life_feed (l, &k, t + 11);
  g_assert_false (vnm_usage_store_flush (l->store, t + 12, NULL));
  {
    /* Only what this run saw. */
    g_autoptr(GPtrArray) rows = query (l->store, VNM_USAGE_MONTH, 0, G_MAXINT64, UUID_A, FALSE);
    assert_usage (find (rows, UUID_A, "", utc (2024, 7, 1, 0, 0)), 100, 100, 1, 1);
  }
  /* Back: the next write opens it. */
  g_assert_cmpint (g_unlink (lib), ==, 0);
  g_assert_cmpint (g_rename (away, lib), ==, 0);
  g_assert_true (vnm_usage_store_flush (l->store, t + 13, NULL));
  fake_set (&k, 5, "vnet0", 1550, 1150);
  life_feed (l, &k, t + 14);
  life_end (l, TRUE, t + 15);
  assert_alpha (f->path, 1150 - 500, 1550 - 1000);
  g_array_unref (k.links);
}

/* Killed before the first write of a new database: the next start still
 * finds it new (devices start from their counters, their past is not
 * counted); a write right after the first reading has every device's
 * counters, a VM's or not. */
static void
test_recorder_first_start_killed (Fixture *f, gconstpointer data)
{
  FakeKernel k = { g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  gint64 t = utc (2024, 7, 10, 12, 0);
  Life *l;

  fake_set (&k, 5, "vnet0", 1000, 500);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t);
  life_end (l, FALSE, t + 1);
  fake_set (&k, 5, "vnet0", 1100, 600);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 10);
  fake_set (&k, 5, "vnet0", 1200, 700);
  fake_set (&k, 7, "vnet7", 3000, 3000);    /* nobody's, created while running */
  life_feed (l, &k, t + 11);
  life_end (l, TRUE, t + 12);
  assert_alpha (f->path, 100, 100);

  /* Another new database, written right after the first reading. */
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t + 20);
  g_assert_true (vnm_usage_store_flush (l->store, t + 20, NULL));
  life_end (l, FALSE, t + 21);
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT rx_bytes FROM counters_seen WHERE iface = 'vnet7'",
                                         -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (st, 0), ==, 3000);
    sqlite3_finalize (st);
    sqlite3_close (db);
  }
  g_array_unref (k.links);
}

/* In memory only: devices start from their counters at the first
 * reading. */
static void
test_recorder_memory_only (void)
{
  FakeKernel k = { g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  gint64 t = utc (2024, 7, 10, 12, 0);
  Life *l;

  fake_set (&k, 5, "vnet0", 1000, 500);
  l = life_start (NULL, "boot-1", &k);
  life_feed (l, &k, t);
  fake_set (&k, 5, "vnet0", 1300, 900);
  life_feed (l, &k, t + 1);
  {
    g_autoptr(GPtrArray) rows = query (l->store, VNM_USAGE_MONTH, 0, G_MAXINT64, UUID_A, FALSE);
    assert_usage (find (rows, UUID_A, "", utc (2024, 7, 1, 0, 0)), 400, 300, 4, 3);
  }
  life_end (l, FALSE, t + 2);
  g_array_unref (k.links);
}

/* A 32-bit counter that wraps counts what it carried past the wrap; a
 * counter reset counts what it shows, the others go on. */
static void
test_recorder_wrap (Fixture *f, gconstpointer data)
{
  FakeKernel k = { g_array_new (FALSE, TRUE, sizeof (VnmLink)) };
  gint64 t = utc (2024, 7, 10, 12, 0);
  const guint64 wrap = G_GUINT64_CONSTANT (1) << 32, big = G_GUINT64_CONSTANT (5000000000);
  Life *l;

  fake_set (&k, 5, "vnet0", wrap - 100, big);
  l = life_start (f->path, "boot-1", &k);
  life_feed (l, &k, t);
  fake_set (&k, 5, "vnet0", 50, big + 1000);  /* host rx wrapped: +150 */
  life_feed (l, &k, t + 1);
  fake_set (&k, 5, "vnet0", 80, 10);          /* host tx reset: +10, rx +30 */
  life_feed (l, &k, t + 2);
  life_end (l, TRUE, t + 3);
  assert_alpha (f->path, 1000 + 10, 150 + 30);
  g_array_unref (k.links);
}

/* In memory only: a flush moves what waits into tables in memory, which
 * keep hourly rows 8 days and daily rows 400; the store is available. */
static void
test_memory_store (void)
{
  g_autoptr(VnmUsageStore) s = vnm_usage_store_open (NULL);
  VnmUsage u = usage (10, 20, 1, 2);
  gint64 t = utc (2024, 3, 1, 10, 0);
  VnmUsageStatus st;

  vnm_usage_store_status (s, &st);
  g_assert_true (st.available);
  g_assert_cmpstr (st.path, ==, "");
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t, &u);
  g_assert_true (vnm_usage_store_flush (s, t + 60, NULL));
  vnm_usage_store_status (s, &st);
  g_assert_cmpuint (st.pending, ==, 0);
  g_assert_true (st.available);
  g_assert_cmpstr (st.last_error, ==, "");
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t + 120, &u);
  {
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_HOUR, 0, G_MAXINT64, NULL, TRUE);
    g_assert_cmpuint (rows->len, ==, 2);
    assert_usage (find (rows, UUID_A, "", t), 20, 40, 2, 4);
    assert_usage (find (rows, UUID_A, "vnet0", t), 20, 40, 2, 4);
  }
  g_assert_true (vnm_usage_store_flush (s, t + 180, NULL));
  {
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, FALSE);
    g_autofree gchar *uuid = vnm_usage_store_find_name (s, "alpha");
    g_assert_cmpuint (rows->len, ==, 1);
    assert_usage (find (rows, UUID_A, "", utc (2024, 3, 1, 0, 0)), 20, 40, 2, 4);
    g_assert_cmpstr (uuid, ==, UUID_A);
  }
  /* Nine days later the hours are gone, the day and month stay. */
  g_assert_true (vnm_usage_store_flush (s, t + 9 * 86400, NULL));
  {
    g_autoptr(GPtrArray) hours = query (s, VNM_USAGE_HOUR, 0, G_MAXINT64, NULL, TRUE);
    g_autoptr(GPtrArray) days = query (s, VNM_USAGE_DAY, 0, G_MAXINT64, NULL, FALSE);
    g_autoptr(GPtrArray) months = query (s, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, FALSE);
    g_assert_cmpuint (hours->len, ==, 0);
    assert_usage (find (days, UUID_A, "", utc (2024, 3, 1, 0, 0)), 20, 40, 2, 4);
    assert_usage (find (months, UUID_A, "", utc (2024, 3, 1, 0, 0)), 20, 40, 2, 4);
  }
}

/* The month's totals read before the database could be opened are read
 * again once it opens. */
static void
test_month_late_open (Fixture *f, gconstpointer data)
{
  g_autofree gchar *lib = g_path_get_dirname (f->path);
  g_autofree gchar *away = g_strconcat (lib, ".away", NULL);
  VnmUsage u1 = usage (100, 200, 1, 2), u2 = usage (1, 2, 3, 4);
  gint64 t = utc (2024, 8, 5, 10, 0);

  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t, &u1);
    g_assert_true (vnm_usage_store_flush (s, t + 1, NULL));
  }
  g_assert_cmpint (g_rename (lib, away), ==, 0);
  g_assert_true (g_file_set_contents (lib, "x", 1, NULL));
  {
    g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
    GHashTable *month;

    vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t + 10, &u2);
    month = vnm_usage_store_month_totals (s, t + 10);
    assert_usage (g_hash_table_lookup (month, UUID_A), 1, 2, 3, 4);
    g_assert_cmpint (g_unlink (lib), ==, 0);
    g_assert_cmpint (g_rename (away, lib), ==, 0);
    g_assert_true (vnm_usage_store_flush (s, t + 20, NULL));
    month = vnm_usage_store_month_totals (s, t + 20);
    assert_usage (g_hash_table_lookup (month, UUID_A), 101, 202, 4, 6);
    vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t + 30, &u2);
    month = vnm_usage_store_month_totals (s, t + 30);
    assert_usage (g_hash_table_lookup (month, UUID_A), 102, 204, 7, 10);
  }
}

/* The database file moved away or deleted while open: the write after
 * says so and the next one writes a new file at the path, with what this
 * run knows (the waiting totals, the last counters). */
static void
test_moved (Fixture *f, gconstpointer data)
{
  g_autofree gchar *moved = g_strconcat (f->path, ".moved", NULL);
  g_autoptr(VnmUsageStore) s = vnm_usage_store_open (f->path);
  VnmUsageSeen seen = { .ifindex = 5, .boot_id = "b", .counters = { 7, 8, 9, 10 } };
  VnmUsage u = usage (10, 20, 1, 2);
  gint64 t = utc (2024, 9, 1, 10, 0);
  VnmUsageStatus st;

  vnm_usage_store_set_seen (s, "vnet0", &seen);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t, &u);
  g_assert_true (vnm_usage_store_flush (s, t + 1, NULL));
  g_assert_cmpint (g_rename (f->path, moved), ==, 0);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t + 2, &u);
  g_assert_true (vnm_usage_store_flush (s, t + 3, NULL));
  /* Deleted: the same. */
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t + 4, &u);
  g_assert_true (vnm_usage_store_flush (s, t + 5, NULL));
  vnm_usage_store_status (s, &st);
  g_assert_true (st.available);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  {
    g_autoptr(VnmUsageStore) again = vnm_usage_store_open (f->path);
    g_autoptr(GPtrArray) rows = query (again, VNM_USAGE_MONTH, 0, G_MAXINT64, NULL, TRUE);
    VnmUsageSeen back;
    assert_usage (find (rows, UUID_A, "", utc (2024, 9, 1, 0, 0)), 10, 20, 1, 2);
    g_assert_true (vnm_usage_store_get_seen (again, "vnet0", &back));
    g_assert_cmpuint (back.counters.tx_packets, ==, 10);
  }
}

/* Beyond VNM_USAGE_PENDING_MAX waiting rows a VM's row and its
 * interface's are dropped together; the count of dropped rows is kept
 * after a write. */
static void
test_dropped (void)
{
  g_autoptr(VnmUsageStore) s = vnm_usage_store_open (NULL);
  VnmUsage u = usage (1, 1, 1, 1);
  gint64 t = utc (2024, 3, 1, 10, 0);
  VnmUsageStatus st;

  for (guint i = 0; i < VNM_USAGE_PENDING_MAX - 1; i++)
    {
      g_autofree gchar *uuid = g_strdup_printf ("vm-%u", i);
      vnm_usage_store_add (s, uuid, "x", "", t, &u);
    }
  vnm_usage_store_add (s, UUID_A, "alpha", "vnet0", t, &u);
  vnm_usage_store_status (s, &st);
  g_assert_cmpuint (st.pending, ==, VNM_USAGE_PENDING_MAX - 1);
  g_assert_cmpuint (st.dropped_rows, ==, 2);
  {
    g_autoptr(GPtrArray) rows = query (s, VNM_USAGE_HOUR, 0, G_MAXINT64, UUID_A, TRUE);
    g_assert_cmpuint (rows->len, ==, 0);
  }
  g_assert_true (vnm_usage_store_flush (s, t + 60, NULL));
  vnm_usage_store_status (s, &st);
  g_assert_cmpuint (st.pending, ==, 0);
  g_assert_cmpuint (st.dropped_rows, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The store warns about what it reports in its status; the tests check
   * the status. */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/usage/periods", test_periods);
  g_test_add ("/usage/rollups-month-end", Fixture, NULL, setup, test_rollups, teardown);
  g_test_add ("/usage/corrupt", Fixture, NULL, setup, test_corrupt, teardown);
  g_test_add ("/usage/unavailable", Fixture, NULL, setup, test_unavailable, teardown);
  g_test_add ("/usage/locked", Fixture, NULL, setup, test_locked, teardown);
  g_test_add ("/usage/quota-marks", Fixture, NULL, setup, test_quota_marks, teardown);
  g_test_add ("/usage/recorder", Fixture, NULL, setup, test_recorder, teardown);
  g_test_add ("/usage/recorder-late-open", Fixture, NULL, setup, test_recorder_late_open, teardown);
  g_test_add ("/usage/recorder-first-start-killed", Fixture, NULL, setup,
              test_recorder_first_start_killed, teardown);
  g_test_add_func ("/usage/recorder-memory-only", test_recorder_memory_only);
  g_test_add_func ("/usage/memory", test_memory_store);
  g_test_add_func ("/usage/dropped", test_dropped);
  g_test_add ("/usage/moved", Fixture, NULL, setup, test_moved, teardown);
  g_test_add ("/usage/month-late-open", Fixture, NULL, setup, test_month_late_open, teardown);
  g_test_add ("/usage/recorder-wrap", Fixture, NULL, setup, test_recorder_wrap, teardown);
  return g_test_run ();
}
