/* usage-store.c: usage totals in SQLite (see usage-store.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "usage-store.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

static const gchar *const period_tables[] = {
  [VNM_USAGE_HOUR] = "usage_hour",
  [VNM_USAGE_DAY] = "usage_day",
  [VNM_USAGE_MONTH] = "usage_month",
};

typedef struct {
  VnmUsageSeen seen;
  gboolean dirty;
} SeenEntry;

typedef struct {
  guint64 bytes, quota;
  gboolean dirty;
} QuotaMark;

struct _VnmUsageStore {
  gchar *path;              /* NULL: memory only */
  sqlite3 *db;              /* NULL while it cannot be opened */
  gboolean fresh;           /* no baseline of every device's counters yet */
  gboolean loaded;          /* the saved counters and quota marks are read */
  gboolean baseline_taken;  /* the recorder's first reading was made */
  VnmUsageLoadedFunc loaded_func;
  gpointer loaded_data;
  GHashTable *pending;      /* "uuid\x1fiface\x1fhour" -> VnmUsageRow* (hourly) */
  GHashTable *memory[3];    /* memory only: the tables, keyed like pending */
  GHashTable *seen;         /* iface -> SeenEntry* */
  GHashTable *quota;        /* "uuid month" -> QuotaMark* */
  GHashTable *month;        /* uuid -> VnmUsageRow*: this month's VM totals */
  gint64 month_start;       /* of @month; -1: to be loaded */
  gint64 month_of;          /* the month @month holds, valid or not */
  GStatBuf file;            /* the file s->db was opened on */
  gint64 last_write;
  gint64 last_prune;
  guint64 dropped;          /* rows dropped since the start */
  gboolean dropping;        /* warned; until a write succeeds */
  gchar *last_error;        /* "" when fine */
  gchar *last_recovery;     /* what was last done about a corrupt file, "" */
  gboolean available;
};

void
vnm_usage_row_free (VnmUsageRow *row)
{
  if (!row)
    return;
  g_free (row->vm_uuid);
  g_free (row->vm_name);
  g_free (row->iface);
  g_free (row);
}

static VnmUsageRow *
row_new (const gchar *uuid, const gchar *name, const gchar *iface, gint64 start)
{
  VnmUsageRow *r = g_new0 (VnmUsageRow, 1);

  r->vm_uuid = g_strdup (uuid);
  r->vm_name = g_strdup (name ? name : "");
  r->iface = g_strdup (iface ? iface : "");
  r->start = start;
  return r;
}

static void
usage_add (VnmUsage *a, const VnmUsage *b)
{
  a->rx_bytes += b->rx_bytes;
  a->tx_bytes += b->tx_bytes;
  a->rx_packets += b->rx_packets;
  a->tx_packets += b->tx_packets;
}

/* --- UTC periods ----------------------------------------------------------- */

gint64
vnm_usage_period_start (VnmUsagePeriod period, gint64 t)
{
  g_autoptr(GDateTime) dt = NULL;
  g_autoptr(GDateTime) m = NULL;

  switch (period)
    {
    case VNM_USAGE_HOUR:
      return t - (((t % 3600) + 3600) % 3600);
    case VNM_USAGE_DAY:
      /* Unix time has no leap seconds: a UTC day is 86400 s. */
      return t - (((t % 86400) + 86400) % 86400);
    case VNM_USAGE_MONTH:
    default:
      dt = g_date_time_new_from_unix_utc (t);
      if (!dt)
        return 0;
      m = g_date_time_new_utc (g_date_time_get_year (dt), g_date_time_get_month (dt), 1, 0, 0, 0);
      return g_date_time_to_unix (m);
    }
}

gint64
vnm_usage_period_next (VnmUsagePeriod period, gint64 start)
{
  g_autoptr(GDateTime) dt = NULL;
  g_autoptr(GDateTime) next = NULL;

  switch (period)
    {
    case VNM_USAGE_HOUR:
      return start + 3600;
    case VNM_USAGE_DAY:
      return start + 86400;
    case VNM_USAGE_MONTH:
    default:
      dt = g_date_time_new_from_unix_utc (start);
      next = g_date_time_add_months (dt, 1);
      return g_date_time_to_unix (next);
    }
}

gchar *
vnm_usage_month_name (gint64 t)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t);

  return dt ? g_date_time_format (dt, "%Y-%m") : g_strdup ("");
}

gboolean
vnm_usage_parse_month (const gchar *text, gint64 *start)
{
  guint64 y, m;
  g_autoptr(GDateTime) dt = NULL;

  if (!text || strlen (text) != 7 || text[4] != '-' ||
      !g_ascii_isdigit (text[0]) || !g_ascii_isdigit (text[1]) || !g_ascii_isdigit (text[2]) ||
      !g_ascii_isdigit (text[3]) || !g_ascii_isdigit (text[5]) || !g_ascii_isdigit (text[6]))
    return FALSE;
  y = g_ascii_strtoull (text, NULL, 10);
  m = g_ascii_strtoull (text + 5, NULL, 10);
  if (y < 1970 || y > 9998 || m < 1 || m > 12)
    return FALSE;
  dt = g_date_time_new_utc ((gint) y, (gint) m, 1, 0, 0, 0);
  if (!dt)
    return FALSE;
  *start = g_date_time_to_unix (dt);
  return TRUE;
}

/* --- errors ------------------------------------------------------------------ */

static gboolean
rc_corrupt (int rc)
{
  rc &= 0xff;
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* The file was moved, deleted or replaced under the open handle, or cannot
 * be reached through it: a handle opened again may do better. */
static gboolean
rc_gone (int rc)
{
  return rc == SQLITE_READONLY_DBMOVED || (rc & 0xff) == SQLITE_IOERR ||
         (rc & 0xff) == SQLITE_CANTOPEN;
}

static gboolean
db_error (sqlite3 *db, int rc, const gchar *doing, const gchar *path, GError **error)
{
  const gchar *msg = db ? sqlite3_errmsg (db) : sqlite3_errstr (rc);
  int code = VNM_ERROR_FAILED;

  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    g_set_error (error, VNM_ERROR, code,
                 _("The usage database '%s' is locked by another process (%s while %s); the totals wait in memory for the next write."),
                 path, msg, doing);
  else if ((rc & 0xff) == SQLITE_FULL)
    g_set_error (error, VNM_ERROR, code,
                 _("The disk of the usage database '%s' is full (%s while %s); the totals wait in memory for the next write."),
                 path, msg, doing);
  else if (rc_corrupt (rc))
    g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                 _("The usage database '%s' is corrupt (%s while %s)."), path, msg, doing);
  else
    g_set_error (error, VNM_ERROR, code, _("The usage database '%s' failed: %s while %s."),
                 path, msg, doing);
  return FALSE;
}

static void
note_error (VnmUsageStore *s, const GError *error)
{
  if (g_strcmp0 (s->last_error, error->message) != 0)
    g_warning ("%s", error->message);
  g_free (s->last_error);
  s->last_error = g_strdup (error->message);
  s->available = FALSE;
}

static void
note_ok (VnmUsageStore *s)
{
  if (s->last_error && *s->last_error)
    g_message (_("The usage database '%s' is written again."), s->path);
  g_free (s->last_error);
  s->last_error = g_strdup ("");
  s->available = TRUE;
}

/* --- opening ---------------------------------------------------------------- */

static int
exec (sqlite3 *db, const gchar *sql)
{
  return sqlite3_exec (db, sql, NULL, NULL, NULL);
}

static const gchar schema_sql[] =
  "CREATE TABLE usage_hour (vm_uuid TEXT NOT NULL, iface TEXT NOT NULL, start INTEGER NOT NULL,"
  " vm_name TEXT NOT NULL, rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL,"
  " rx_packets INTEGER NOT NULL, tx_packets INTEGER NOT NULL,"
  " PRIMARY KEY (vm_uuid, iface, start)) WITHOUT ROWID;"
  "CREATE TABLE usage_day (vm_uuid TEXT NOT NULL, iface TEXT NOT NULL, start INTEGER NOT NULL,"
  " vm_name TEXT NOT NULL, rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL,"
  " rx_packets INTEGER NOT NULL, tx_packets INTEGER NOT NULL,"
  " PRIMARY KEY (vm_uuid, iface, start)) WITHOUT ROWID;"
  "CREATE TABLE usage_month (vm_uuid TEXT NOT NULL, iface TEXT NOT NULL, start INTEGER NOT NULL,"
  " vm_name TEXT NOT NULL, rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL,"
  " rx_packets INTEGER NOT NULL, tx_packets INTEGER NOT NULL,"
  " PRIMARY KEY (vm_uuid, iface, start)) WITHOUT ROWID;"
  "CREATE INDEX usage_hour_start ON usage_hour (start);"
  "CREATE INDEX usage_day_start ON usage_day (start);"
  "CREATE INDEX usage_month_start ON usage_month (start);"
  /* The last counters read from each VM device (host's view), so that a
   * restart continues from them. */
  "CREATE TABLE counters_seen (iface TEXT PRIMARY KEY, ifindex INTEGER NOT NULL,"
  " boot_id TEXT NOT NULL, rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL,"
  " rx_packets INTEGER NOT NULL, tx_packets INTEGER NOT NULL, updated INTEGER NOT NULL);"
  /* Quota events sent, once a VM and month. */
  "CREATE TABLE quota_events (vm_uuid TEXT NOT NULL, month TEXT NOT NULL,"
  " month_bytes INTEGER NOT NULL, quota_bytes INTEGER NOT NULL, sent INTEGER NOT NULL,"
  " PRIMARY KEY (vm_uuid, month));";

/* The database's own state; 'baseline' (a Unix time): the counters every
 * device had at the first reading were written (see usage-recorder.h).
 * Made by every open, so that databases of schema 1 without it get it. */
static const gchar meta_sql[] =
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static gboolean
load_state (VnmUsageStore *s, GError **error)
{
  sqlite3_stmt *st = NULL;
  guint saved = 0;
  gboolean baseline = FALSE;
  int rc;

  rc = sqlite3_prepare_v2 (s->db, "SELECT iface, ifindex, boot_id, rx_bytes, tx_bytes, rx_packets,"
                           " tx_packets FROM counters_seen", -1, &st, NULL);
  while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const gchar *iface = (const gchar *) sqlite3_column_text (st, 0);
      SeenEntry *e;

      saved++;
      if (!iface || g_hash_table_contains (s->seen, iface))
        continue;   /* what this run read wins */
      e = g_new0 (SeenEntry, 1);
      e->seen.ifindex = sqlite3_column_int (st, 1);
      g_strlcpy (e->seen.boot_id, (const gchar *) sqlite3_column_text (st, 2) ?: "",
                 sizeof e->seen.boot_id);
      e->seen.counters.rx_bytes = (guint64) sqlite3_column_int64 (st, 3);
      e->seen.counters.tx_bytes = (guint64) sqlite3_column_int64 (st, 4);
      e->seen.counters.rx_packets = (guint64) sqlite3_column_int64 (st, 5);
      e->seen.counters.tx_packets = (guint64) sqlite3_column_int64 (st, 6);
      g_hash_table_insert (s->seen, g_strdup (iface), e);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (s->db, rc, _("reading the last counters"), s->path, error);

  rc = sqlite3_prepare_v2 (s->db, "SELECT vm_uuid, month, month_bytes, quota_bytes FROM quota_events",
                           -1, &st, NULL);
  while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autofree gchar *key = g_strdup_printf ("%s %s", sqlite3_column_text (st, 0),
                                               sqlite3_column_text (st, 1));
      QuotaMark *q;

      if (g_hash_table_contains (s->quota, key))
        continue;
      q = g_new0 (QuotaMark, 1);
      q->bytes = (guint64) sqlite3_column_int64 (st, 2);
      q->quota = (guint64) sqlite3_column_int64 (st, 3);
      g_hash_table_insert (s->quota, g_steal_pointer (&key), q);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (s->db, rc, _("reading the quota events"), s->path, error);

  rc = sqlite3_prepare_v2 (s->db, "SELECT value FROM meta WHERE key = 'baseline'", -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      baseline = TRUE;
      rc = SQLITE_DONE;
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (s->db, rc, _("reading the database's state"), s->path, error);
  /* A database of an earlier virtnetmond without the mark but with
   * counters was started. */
  s->fresh = !baseline && saved == 0;
  return TRUE;
}

static gboolean
user_version (sqlite3 *db, gint *out, int *rc_out)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL);

  if (rc == SQLITE_OK && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      *out = sqlite3_column_int (st, 0);
      rc = SQLITE_OK;
    }
  sqlite3_finalize (st);
  *rc_out = rc;
  return rc == SQLITE_OK;
}

/* Opens s->path into s->db; on failure s->db stays NULL and @error says
 * why, *corrupt whether the file is not a sound database. */
static gboolean
db_open (VnmUsageStore *s, gboolean *corrupt, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (s->path);
  sqlite3 *db = NULL;
  gint version = 0;
  gboolean existed;
  int rc;

  *corrupt = FALSE;
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int errsv = errno;
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot make the directory '%s' of the usage database: %s"), dir,
                   g_strerror (errsv));
      return FALSE;
    }
  existed = g_file_test (s->path, G_FILE_TEST_EXISTS);
  rc = sqlite3_open_v2 (s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      db_error (db, rc, _("opening it"), s->path, error);
      sqlite3_close (db);
      return FALSE;
    }
  sqlite3_busy_timeout (db, VNM_USAGE_BUSY_TIMEOUT_MS);
  if ((rc = exec (db, "PRAGMA journal_mode=WAL")) != SQLITE_OK ||
      (rc = exec (db, "PRAGMA synchronous=NORMAL")) != SQLITE_OK ||
      !user_version (db, &version, &rc))
    goto fail;
  if (version > VNM_USAGE_SCHEMA_VERSION)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED,
                   _("The usage database '%s' has schema version %d, newer than this virtnetmond's %d; it is left as it is."),
                   s->path, version, VNM_USAGE_SCHEMA_VERSION);
      sqlite3_close (db);
      return FALSE;
    }
  if (version == 0)
    {
      g_autofree gchar *sql = g_strdup_printf ("BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;",
                                               schema_sql, VNM_USAGE_SCHEMA_VERSION);
      if ((rc = exec (db, sql)) != SQLITE_OK)
        {
          exec (db, "ROLLBACK");
          goto fail;
        }
      if (existed)
        g_debug ("Created the usage tables in '%s'.", s->path);
    }
  if ((rc = exec (db, meta_sql)) != SQLITE_OK)
    goto fail;
  if (g_stat (s->path, &s->file) < 0)
    memset (&s->file, 0, sizeof s->file);
  s->db = db;
  if (!load_state (s, error))
    {
      s->db = NULL;
      *corrupt = g_error_matches (*error, VNM_ERROR, VNM_ERROR_PARSE);
      sqlite3_close (db);
      return FALSE;
    }
  return TRUE;

fail:
  *corrupt = rc_corrupt (rc);
  db_error (db, rc, _("opening it"), s->path, error);
  sqlite3_close (db);
  return FALSE;
}

/* Moves a corrupt database (and its WAL) aside. */
static gchar *
move_aside (VnmUsageStore *s)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  gchar *aside = g_strdup_printf ("%s.corrupt-%s", s->path, stamp);
  static const gchar *const suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree gchar *from = g_strconcat (s->path, suffixes[i], NULL);
      g_autofree gchar *to = g_strconcat (aside, suffixes[i], NULL);
      if (g_rename (from, to) < 0 && errno != ENOENT)
        g_warning (_("Cannot move '%s' aside to '%s': %s"), from, to, g_strerror (errno));
    }
  return aside;
}

/* Opens the database; a corrupt one is moved aside and a new one started. */
static gboolean
open_or_recreate (VnmUsageStore *s, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean corrupt;

  if (db_open (s, &corrupt, &local))
    return TRUE;
  if (!corrupt)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  {
    g_autofree gchar *aside = move_aside (s);
    GHashTableIter it;
    gpointer value;

    g_warning (_("%s It was moved aside to '%s' and a new one is started; the totals only it held are not in the new one."),
               local->message, aside);
    g_free (s->last_error);
    s->last_error = g_strdup_printf (_("%s It was moved aside to '%s' and a new one was started."),
                                     local->message, aside);
    g_free (s->last_recovery);
    s->last_recovery = g_strdup (s->last_error);
    /* What this run knows goes into the new one. */
    g_hash_table_iter_init (&it, s->seen);
    while (g_hash_table_iter_next (&it, NULL, &value))
      ((SeenEntry *) value)->dirty = TRUE;
    g_hash_table_iter_init (&it, s->quota);
    while (g_hash_table_iter_next (&it, NULL, &value))
      ((QuotaMark *) value)->dirty = TRUE;
    s->month_start = -1;
    g_clear_error (&local);
    if (!db_open (s, &corrupt, error))
      return FALSE;
    /* Reported until a write succeeds. */
    return TRUE;
  }
}

VnmUsageStore *
vnm_usage_store_open (const gchar *path)
{
  VnmUsageStore *s = g_new0 (VnmUsageStore, 1);
  g_autoptr(GError) error = NULL;

  s->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) vnm_usage_row_free);
  s->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->quota = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->month = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                    (GDestroyNotify) vnm_usage_row_free);
  s->month_start = -1;
  s->month_of = -1;
  s->last_error = g_strdup ("");
  s->last_recovery = g_strdup ("");
  if (!path || !*path)
    {
      /* Nothing saved to read: every device starts from its counters at
       * the first reading. */
      s->fresh = TRUE;
      s->loaded = TRUE;
      s->available = TRUE;
      for (guint p = 0; p < 3; p++)
        s->memory[p] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) vnm_usage_row_free);
      return s;
    }
  s->path = g_strdup (path);
  if (!open_or_recreate (s, &error))
    note_error (s, error);
  else
    {
      s->loaded = TRUE;
      s->available = TRUE;
      if (s->fresh)
        g_message (_("Usage totals are kept in '%s' (a new database)."), s->path);
      else
        g_message (_("Usage totals are kept in '%s'."), s->path);
    }
  return s;
}

void
vnm_usage_store_free (VnmUsageStore *s)
{
  if (!s)
    return;
  if (s->db)
    sqlite3_close (s->db);
  g_hash_table_unref (s->pending);
  for (guint p = 0; p < 3; p++)
    g_clear_pointer (&s->memory[p], g_hash_table_unref);
  g_hash_table_unref (s->seen);
  g_hash_table_unref (s->quota);
  g_hash_table_unref (s->month);
  g_free (s->path);
  g_free (s->last_error);
  g_free (s->last_recovery);
  g_free (s);
}

/* --- adding -------------------------------------------------------------------- */

static gchar *
pending_key (const gchar *uuid, const gchar *iface, gint64 hour)
{
  return g_strdup_printf ("%s\x1f%s\x1f%" G_GINT64_FORMAT, uuid, iface, hour);
}

/* Adds to a row the caller made room for. */
static void
add_pending (VnmUsageStore *s, const gchar *uuid, const gchar *name, const gchar *iface,
             gint64 hour, const VnmUsage *delta)
{
  g_autofree gchar *key = pending_key (uuid, iface, hour);
  VnmUsageRow *r = g_hash_table_lookup (s->pending, key);

  if (!r)
    {
      r = row_new (uuid, name, iface, hour);
      g_hash_table_insert (s->pending, g_steal_pointer (&key), r);
    }
  else if (name && *name && g_strcmp0 (r->vm_name, name) != 0)
    {
      g_free (r->vm_name);
      r->vm_name = g_strdup (name);
    }
  usage_add (&r->usage, delta);
}

void
vnm_usage_store_add (VnmUsageStore *s, const gchar *uuid, const gchar *name, const gchar *iface,
                     gint64 when, const VnmUsage *delta)
{
  gint64 hour = vnm_usage_period_start (VNM_USAGE_HOUR, when);

  if (!delta->rx_bytes && !delta->tx_bytes && !delta->rx_packets && !delta->tx_packets)
    return;
  {
    /* The VM's row and the interface's, both or neither: the VM's total
     * stays the sum of its interfaces'. */
    g_autofree gchar *vm_key = pending_key (uuid, "", hour);
    g_autofree gchar *if_key = iface && *iface ? pending_key (uuid, iface, hour) : NULL;
    guint needed = !g_hash_table_contains (s->pending, vm_key) +
                   (if_key && !g_hash_table_contains (s->pending, if_key));

    if (needed && g_hash_table_size (s->pending) + needed > VNM_USAGE_PENDING_MAX)
      {
        if (!s->dropping)
          g_warning (_("%u usage rows wait for the database '%s'; more are dropped until it can be written."),
                     VNM_USAGE_PENDING_MAX, s->path ? s->path : "");
        s->dropping = TRUE;
        s->dropped += needed;
        return;
      }
  }
  add_pending (s, uuid, name, "", hour, delta);
  if (iface && *iface)
    add_pending (s, uuid, name, iface, hour, delta);
  if (s->month_start >= 0 && vnm_usage_period_start (VNM_USAGE_MONTH, when) == s->month_start)
    {
      VnmUsageRow *m = g_hash_table_lookup (s->month, uuid);
      if (!m)
        {
          m = row_new (uuid, name, "", s->month_start);
          g_hash_table_insert (s->month, m->vm_uuid, m);
        }
      else if (name && *name && g_strcmp0 (m->vm_name, name) != 0)
        {
          g_free (m->vm_name);
          m->vm_name = g_strdup (name);
        }
      usage_add (&m->usage, delta);
    }
}

gboolean
vnm_usage_store_get_seen (VnmUsageStore *s, const gchar *iface, VnmUsageSeen *out)
{
  SeenEntry *e = g_hash_table_lookup (s->seen, iface);

  if (!e)
    return FALSE;
  *out = e->seen;
  return TRUE;
}

void
vnm_usage_store_set_seen (VnmUsageStore *s, const gchar *iface, const VnmUsageSeen *seen)
{
  SeenEntry *e = g_hash_table_lookup (s->seen, iface);

  if (!e)
    {
      e = g_new0 (SeenEntry, 1);
      g_hash_table_insert (s->seen, g_strdup (iface), e);
    }
  else if (e->seen.ifindex == seen->ifindex && !memcmp (&e->seen.counters, &seen->counters, sizeof seen->counters) &&
           !strcmp (e->seen.boot_id, seen->boot_id))
    return;
  e->seen = *seen;
  e->dirty = TRUE;
}

gboolean
vnm_usage_store_quota_notified (VnmUsageStore *s, const gchar *uuid, const gchar *month)
{
  g_autofree gchar *key = g_strdup_printf ("%s %s", uuid, month);

  /* Unknown until the saved marks are read: not sent twice. */
  return !s->loaded || g_hash_table_contains (s->quota, key);
}

void
vnm_usage_store_mark_quota_notified (VnmUsageStore *s, const gchar *uuid, const gchar *month,
                                     guint64 bytes, guint64 quota)
{
  QuotaMark *q = g_new0 (QuotaMark, 1);

  q->bytes = bytes;
  q->quota = quota;
  q->dirty = TRUE;
  g_hash_table_replace (s->quota, g_strdup_printf ("%s %s", uuid, month), q);
}

/* --- writing --------------------------------------------------------------------- */

static int
bind_row (sqlite3_stmt *st, const VnmUsageRow *r, gint64 start)
{
  sqlite3_reset (st);
  sqlite3_bind_text (st, 1, r->vm_uuid, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, r->iface, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, start);
  sqlite3_bind_text (st, 4, r->vm_name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 5, (sqlite3_int64) r->usage.rx_bytes);
  sqlite3_bind_int64 (st, 6, (sqlite3_int64) r->usage.tx_bytes);
  sqlite3_bind_int64 (st, 7, (sqlite3_int64) r->usage.rx_packets);
  sqlite3_bind_int64 (st, 8, (sqlite3_int64) r->usage.tx_packets);
  return sqlite3_step (st);
}

static int
write_all (VnmUsageStore *s, gint64 now)
{
  sqlite3_stmt *up[3] = { NULL, NULL, NULL };
  sqlite3_stmt *seen = NULL, *quota = NULL;
  GHashTableIter it;
  gpointer key, value;
  int rc = SQLITE_OK;

  for (guint p = 0; p < 3 && rc == SQLITE_OK; p++)
    {
      g_autofree gchar *sql = g_strdup_printf (
        "INSERT INTO %s (vm_uuid, iface, start, vm_name, rx_bytes, tx_bytes, rx_packets, tx_packets)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (vm_uuid, iface, start) DO UPDATE SET"
        " vm_name = excluded.vm_name, rx_bytes = rx_bytes + excluded.rx_bytes,"
        " tx_bytes = tx_bytes + excluded.tx_bytes, rx_packets = rx_packets + excluded.rx_packets,"
        " tx_packets = tx_packets + excluded.tx_packets", period_tables[p]);
      rc = sqlite3_prepare_v2 (s->db, sql, -1, &up[p], NULL);
    }
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (s->db,
      "INSERT OR REPLACE INTO counters_seen (iface, ifindex, boot_id, rx_bytes, tx_bytes, rx_packets,"
      " tx_packets, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &seen, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (s->db,
      "INSERT OR REPLACE INTO quota_events (vm_uuid, month, month_bytes, quota_bytes, sent)"
      " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &quota, NULL);

  g_hash_table_iter_init (&it, s->pending);
  while (rc == SQLITE_OK && g_hash_table_iter_next (&it, NULL, &value))
    {
      const VnmUsageRow *r = value;
      if ((rc = bind_row (up[VNM_USAGE_HOUR], r, r->start)) != SQLITE_DONE ||
          (rc = bind_row (up[VNM_USAGE_DAY], r, vnm_usage_period_start (VNM_USAGE_DAY, r->start))) != SQLITE_DONE ||
          (rc = bind_row (up[VNM_USAGE_MONTH], r, vnm_usage_period_start (VNM_USAGE_MONTH, r->start))) != SQLITE_DONE)
        break;
      rc = SQLITE_OK;
    }
  g_hash_table_iter_init (&it, s->seen);
  while (rc == SQLITE_OK && g_hash_table_iter_next (&it, &key, &value))
    {
      const SeenEntry *e = value;
      if (!e->dirty)
        continue;
      sqlite3_reset (seen);
      sqlite3_bind_text (seen, 1, key, -1, SQLITE_STATIC);
      sqlite3_bind_int (seen, 2, e->seen.ifindex);
      sqlite3_bind_text (seen, 3, e->seen.boot_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (seen, 4, (sqlite3_int64) e->seen.counters.rx_bytes);
      sqlite3_bind_int64 (seen, 5, (sqlite3_int64) e->seen.counters.tx_bytes);
      sqlite3_bind_int64 (seen, 6, (sqlite3_int64) e->seen.counters.rx_packets);
      sqlite3_bind_int64 (seen, 7, (sqlite3_int64) e->seen.counters.tx_packets);
      sqlite3_bind_int64 (seen, 8, now);
      if ((rc = sqlite3_step (seen)) != SQLITE_DONE)
        break;
      rc = SQLITE_OK;
    }
  g_hash_table_iter_init (&it, s->quota);
  while (rc == SQLITE_OK && g_hash_table_iter_next (&it, &key, &value))
    {
      const QuotaMark *q = value;
      const gchar *space = strchr (key, ' ');
      g_autofree gchar *uuid = g_strndup (key, space - (const gchar *) key);
      if (!q->dirty)
        continue;
      sqlite3_reset (quota);
      sqlite3_bind_text (quota, 1, uuid, -1, SQLITE_STATIC);
      sqlite3_bind_text (quota, 2, space + 1, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (quota, 3, (sqlite3_int64) q->bytes);
      sqlite3_bind_int64 (quota, 4, (sqlite3_int64) q->quota);
      sqlite3_bind_int64 (quota, 5, now);
      if ((rc = sqlite3_step (quota)) != SQLITE_DONE)
        break;
      rc = SQLITE_OK;
    }
  if (rc == SQLITE_OK && s->fresh && s->baseline_taken)
    {
      g_autofree gchar *sql = g_strdup_printf (
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('baseline', '%" G_GINT64_FORMAT "')", now);
      rc = exec (s->db, sql);
    }
  if (rc == SQLITE_OK && now - s->last_prune >= 3600)
    {
      g_autofree gchar *sql = g_strdup_printf (
        "DELETE FROM usage_hour WHERE start < %" G_GINT64_FORMAT ";"
        "DELETE FROM usage_day WHERE start < %" G_GINT64_FORMAT ";"
        "DELETE FROM counters_seen WHERE updated < %" G_GINT64_FORMAT ";",
        now - VNM_USAGE_KEEP_HOURS_S, now - VNM_USAGE_KEEP_DAYS_S, now - VNM_USAGE_KEEP_DAYS_S);
      rc = exec (s->db, sql);
    }
  for (guint p = 0; p < 3; p++)
    sqlite3_finalize (up[p]);
  sqlite3_finalize (seen);
  sqlite3_finalize (quota);
  return rc;
}

static gboolean
flush_once (VnmUsageStore *s, gint64 now, gboolean *corrupt, gboolean *gone, GError **error)
{
  int rc;

  *corrupt = FALSE;
  *gone = FALSE;
  if ((rc = exec (s->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
    {
      *corrupt = rc_corrupt (rc);
      *gone = rc_gone (rc);
      return db_error (s->db, rc, _("starting a write"), s->path, error);
    }
  if ((rc = write_all (s, now)) != SQLITE_OK || (rc = exec (s->db, "COMMIT")) != SQLITE_OK)
    {
      *corrupt = rc_corrupt (rc);
      *gone = rc_gone (rc);
      db_error (s->db, rc, _("writing the totals"), s->path, error);
      exec (s->db, "ROLLBACK");
      return FALSE;
    }
  return TRUE;
}

/* Whether the path still names the file the database was opened on. */
static gboolean
same_file (VnmUsageStore *s)
{
  GStatBuf now;

  if (g_stat (s->path, &now) < 0)
    return errno != ENOENT;     /* unknown otherwise: left as it is */
  return now.st_dev == s->file.st_dev && now.st_ino == s->file.st_ino;
}

/* What this run knows of the last counters and quota marks goes into the
 * next write (a new file). */
static void
mark_all_dirty (VnmUsageStore *s)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->seen);
  while (g_hash_table_iter_next (&it, NULL, &value))
    ((SeenEntry *) value)->dirty = TRUE;
  g_hash_table_iter_init (&it, s->quota);
  while (g_hash_table_iter_next (&it, NULL, &value))
    ((QuotaMark *) value)->dirty = TRUE;
}

/* Memory only: what waits goes into the tables in memory, which keep
 * hourly and daily rows as long as the database does. */
static void
flush_memory (VnmUsageStore *s, gint64 now)
{
  static const gint64 keep[3] = {
    [VNM_USAGE_HOUR] = VNM_USAGE_KEEP_HOURS_S, [VNM_USAGE_DAY] = VNM_USAGE_KEEP_DAYS_S,
    [VNM_USAGE_MONTH] = 0,
  };
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->pending);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      const VnmUsageRow *p = value;
      for (guint period = 0; period < 3; period++)
        {
          gint64 start = vnm_usage_period_start (period, p->start);
          g_autofree gchar *key = g_strdup_printf ("%s\x1f%s\x1f%" G_GINT64_FORMAT, p->vm_uuid,
                                                   p->iface, start);
          VnmUsageRow *r = g_hash_table_lookup (s->memory[period], key);
          if (!r)
            {
              r = row_new (p->vm_uuid, p->vm_name, p->iface, start);
              g_hash_table_insert (s->memory[period], g_steal_pointer (&key), r);
            }
          else if (g_strcmp0 (r->vm_name, p->vm_name) != 0)
            {
              g_free (r->vm_name);
              r->vm_name = g_strdup (p->vm_name);
            }
          usage_add (&r->usage, &p->usage);
        }
    }
  g_hash_table_remove_all (s->pending);
  for (guint period = 0; period < 3; period++)
    {
      if (!keep[period])
        continue;
      g_hash_table_iter_init (&it, s->memory[period]);
      while (g_hash_table_iter_next (&it, NULL, &value))
        if (((VnmUsageRow *) value)->start < now - keep[period])
          g_hash_table_iter_remove (&it);
    }
}

gboolean
vnm_usage_store_flush (VnmUsageStore *s, gint64 now, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean corrupt = FALSE, gone = FALSE;
  GHashTableIter it;
  gpointer value;

  if (!s->path)
    {
      flush_memory (s, now);
      s->dropping = FALSE;
      return TRUE;
    }
  if (s->db && !same_file (s))
    {
      /* Moved, deleted or replaced: SQLite (in WAL mode) would go on
       * writing the file it has open. */
      g_warning (_("The usage database '%s' was moved, deleted or replaced; it is opened again."),
                 s->path);
      sqlite3_close (s->db);
      s->db = NULL;
      mark_all_dirty (s);
    }
  if (!s->db)
    {
      if (!open_or_recreate (s, &local))
        goto failed;
      /* The month's totals were read without it. */
      s->month_start = -1;
      if (!s->loaded)
        {
          /* Late: what this run counted so far is checked against the
           * saved counters before anything is written. */
          s->loaded = TRUE;
          g_message (_("The usage database '%s' is open; its saved counters are read."), s->path);
          if (s->loaded_func)
            s->loaded_func (s, s->loaded_data);
        }
    }
  if (!flush_once (s, now, &corrupt, &gone, &local))
    {
      if (gone && !corrupt)
        {
          /* The next write opens the file at the path again (a new one
           * when it is gone) and writes all this run knows into it. */
          sqlite3_close (s->db);
          s->db = NULL;
          mark_all_dirty (s);
        }
      if (!corrupt)
        goto failed;
      /* Corrupt while running: start a new one and write into it. */
      sqlite3_close (s->db);
      s->db = NULL;
      {
        g_autofree gchar *aside = move_aside (s);
        g_autofree gchar *why = g_strdup_printf (_("%s It was moved aside to '%s' and a new one was started."),
                                                 local->message, aside);
        g_warning ("%s", why);
        g_clear_error (&local);
        g_hash_table_iter_init (&it, s->seen);
        while (g_hash_table_iter_next (&it, NULL, &value))
          ((SeenEntry *) value)->dirty = TRUE;
        g_hash_table_iter_init (&it, s->quota);
        while (g_hash_table_iter_next (&it, NULL, &value))
          ((QuotaMark *) value)->dirty = TRUE;
        s->month_start = -1;
        if (!open_or_recreate (s, &local) || !flush_once (s, now, &corrupt, &gone, &local))
          goto failed;
        g_free (s->last_recovery);
        s->last_recovery = g_strdup (why);
        g_free (s->last_error);
        s->last_error = g_steal_pointer (&why);
        s->available = TRUE;
        goto written;
      }
    }
  note_ok (s);
written:
  if (s->baseline_taken)
    s->fresh = FALSE;
  g_hash_table_remove_all (s->pending);
  g_hash_table_iter_init (&it, s->seen);
  while (g_hash_table_iter_next (&it, NULL, &value))
    ((SeenEntry *) value)->dirty = FALSE;
  g_hash_table_iter_init (&it, s->quota);
  while (g_hash_table_iter_next (&it, NULL, &value))
    ((QuotaMark *) value)->dirty = FALSE;
  if (now - s->last_prune >= 3600)
    s->last_prune = now;
  s->last_write = now;
  s->dropping = FALSE;
  return TRUE;

failed:
  note_error (s, local);
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* --- reading ---------------------------------------------------------------------- */

static gint
row_cmp (gconstpointer a, gconstpointer b)
{
  const VnmUsageRow *x = *(VnmUsageRow *const *) a, *y = *(VnmUsageRow *const *) b;
  gint c;

  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if ((c = g_strcmp0 (x->vm_name, y->vm_name)))
    return c;
  if ((c = g_strcmp0 (x->vm_uuid, y->vm_uuid)))
    return c;
  return g_strcmp0 (x->iface, y->iface);
}

/* Adds the rows of @table (of its period or a shorter one) in
 * [@from, @to) to @rows, summed by @period through @index. */
static void
merge_rows (GHashTable *table, VnmUsagePeriod period, gint64 from, gint64 to, const gchar *uuid,
            gboolean interfaces, GPtrArray *rows, GHashTable *index)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      const VnmUsageRow *p = value;
      gint64 start = vnm_usage_period_start (period, p->start);
      g_autofree gchar *key = NULL;
      VnmUsageRow *r;

      if (start < from || start >= to || (uuid && g_strcmp0 (p->vm_uuid, uuid)) ||
          (!interfaces && *p->iface))
        continue;
      key = g_strdup_printf ("%s\x1f%s\x1f%" G_GINT64_FORMAT, p->vm_uuid, p->iface, start);
      if (!(r = g_hash_table_lookup (index, key)))
        {
          r = row_new (p->vm_uuid, p->vm_name, p->iface, start);
          g_hash_table_insert (index, g_steal_pointer (&key), r);
          g_ptr_array_add (rows, r);
        }
      else
        {
          g_free (r->vm_name);
          r->vm_name = g_strdup (p->vm_name);
        }
      usage_add (&r->usage, &p->usage);
    }
}

GPtrArray *
vnm_usage_store_query (VnmUsageStore *s, VnmUsagePeriod period, gint64 from, gint64 to,
                       const gchar *uuid, gboolean interfaces, GError **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) vnm_usage_row_free);
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (s->db)
    {
      g_autofree gchar *sql = g_strdup_printf (
        "SELECT vm_uuid, vm_name, iface, start, rx_bytes, tx_bytes, rx_packets, tx_packets FROM %s"
        " WHERE start >= ?1 AND start < ?2 AND (?3 IS NULL OR vm_uuid = ?3) AND (?4 OR iface = '')",
        period_tables[period]);
      sqlite3_stmt *st = NULL;
      int rc = sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL);

      if (rc == SQLITE_OK)
        {
          sqlite3_bind_int64 (st, 1, from);
          sqlite3_bind_int64 (st, 2, to);
          if (uuid)
            sqlite3_bind_text (st, 3, uuid, -1, SQLITE_STATIC);
          sqlite3_bind_int (st, 4, interfaces);
        }
      while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step (st)) == SQLITE_ROW)
        {
          VnmUsageRow *r = row_new ((const gchar *) sqlite3_column_text (st, 0),
                                    (const gchar *) sqlite3_column_text (st, 1),
                                    (const gchar *) sqlite3_column_text (st, 2),
                                    sqlite3_column_int64 (st, 3));
          r->usage.rx_bytes = (guint64) sqlite3_column_int64 (st, 4);
          r->usage.tx_bytes = (guint64) sqlite3_column_int64 (st, 5);
          r->usage.rx_packets = (guint64) sqlite3_column_int64 (st, 6);
          r->usage.tx_packets = (guint64) sqlite3_column_int64 (st, 7);
          g_hash_table_insert (index, g_strdup_printf ("%s\x1f%s\x1f%" G_GINT64_FORMAT, r->vm_uuid,
                                                       r->iface, r->start), r);
          g_ptr_array_add (rows, r);
        }
      sqlite3_finalize (st);
      if (rc != SQLITE_DONE)
        {
          db_error (s->db, rc, _("reading the totals"), s->path, error);
          return NULL;
        }
    }
  /* The deltas not yet written, and the tables of a store in memory. */
  merge_rows (s->pending, period, from, to, uuid, interfaces, rows, index);
  if (s->memory[period])
    merge_rows (s->memory[period], period, from, to, uuid, interfaces, rows, index);
  g_ptr_array_sort (rows, row_cmp);
  return g_steal_pointer (&rows);
}

gchar *
vnm_usage_store_find_name (VnmUsageStore *s, const gchar *name)
{
  GHashTableIter it;
  gpointer value;
  gchar *found = NULL;
  gint64 best = G_MININT64;

  for (guint i = 0; i < 2; i++)
    {
      GHashTable *table = i ? s->memory[VNM_USAGE_HOUR] : s->pending;
      if (!table)
        continue;
      g_hash_table_iter_init (&it, table);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          const VnmUsageRow *p = value;
          if (g_str_equal (p->vm_name, name) && p->start > best)
            {
              best = p->start;
              g_free (found);
              found = g_strdup (p->vm_uuid);
            }
        }
    }
  if (!found && s->memory[VNM_USAGE_MONTH])
    {
      g_hash_table_iter_init (&it, s->memory[VNM_USAGE_MONTH]);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          const VnmUsageRow *p = value;
          if (g_str_equal (p->vm_name, name) && p->start > best)
            {
              best = p->start;
              g_free (found);
              found = g_strdup (p->vm_uuid);
            }
        }
    }
  if (!found && s->db)
    {
      sqlite3_stmt *st = NULL;
      if (sqlite3_prepare_v2 (s->db, "SELECT vm_uuid FROM usage_month WHERE vm_name = ?1"
                              " ORDER BY start DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK)
        {
          sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
          if (sqlite3_step (st) == SQLITE_ROW)
            found = g_strdup ((const gchar *) sqlite3_column_text (st, 0));
        }
      sqlite3_finalize (st);
    }
  return found;
}

GHashTable *
vnm_usage_store_month_totals (VnmUsageStore *s, gint64 now)
{
  gint64 start = vnm_usage_period_start (VNM_USAGE_MONTH, now);

  if (s->month_start != start)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) rows = vnm_usage_store_query (s, VNM_USAGE_MONTH, start,
                                                         vnm_usage_period_next (VNM_USAGE_MONTH, start),
                                                         NULL, FALSE, &error);
      if (!rows)
        {
          /* The last totals read, when of this month; tried again next
           * time (what is added meanwhile is not in them). */
          g_debug ("%s", error->message);
          if (s->month_of != start)
            g_hash_table_remove_all (s->month);
          s->month_of = start;
          return s->month;
        }
      g_hash_table_remove_all (s->month);
      s->month_of = start;
      while (rows->len)
        {
          VnmUsageRow *r = g_ptr_array_steal_index_fast (rows, rows->len - 1);
          g_hash_table_insert (s->month, r->vm_uuid, r);
        }
      s->month_start = start;
    }
  return s->month;
}

void
vnm_usage_store_status (VnmUsageStore *s, VnmUsageStatus *out)
{
  out->path = s->path ? s->path : "";
  out->available = s->available;
  out->last_write = s->last_write;
  out->pending = g_hash_table_size (s->pending);
  out->dropped_rows = s->dropped;
  out->last_error = s->last_error;
  out->last_recovery = s->last_recovery;
  out->fresh = s->fresh;
  out->loaded = s->loaded;
}

void
vnm_usage_store_set_loaded_func (VnmUsageStore *s, VnmUsageLoadedFunc func, gpointer data)
{
  s->loaded_func = func;
  s->loaded_data = data;
}

void
vnm_usage_store_baseline_taken (VnmUsageStore *s)
{
  s->baseline_taken = TRUE;
}
