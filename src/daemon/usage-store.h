/* usage-store.h: traffic totals that survive a reboot: per VM (by uuid)
 * and per interface of a VM, by hour, day and month, in an SQLite database
 * (the only module that includes sqlite3.h).
 *
 * Periods are UTC: an hour, a day (00:00 to 24:00 UTC) and a calendar
 * month in UTC; a delta is counted in the period of the moment it was
 * read. Counters are in the guest's view (rx = into the VM), with the keys
 * of ifstat: rx_bytes, tx_bytes, rx_packets, tx_packets.
 *
 * Writes are batched: deltas collect in memory and go to the database in
 * one transaction at each flush (every usage-flush-interval seconds, and
 * at a clean stop), in WAL mode with synchronous=NORMAL, so nothing is
 * synced to disk each interval. The last counters read from each VM
 * interface go into the same transaction (see vnm_usage_store_set_seen),
 * so that a restart continues exactly where the database stops.
 *
 * What goes wrong is reported (the log, vnm_usage_store_status) and never
 * stops the daemon:
 *  - corrupt (SQLITE_CORRUPT, SQLITE_NOTADB): the file (and its -wal and
 *    -shm) is moved aside to PATH.corrupt-YYYYMMDDTHHMMSSZ and a new
 *    database is started; totals that were only in the old file are not
 *    in the new one (the old file is kept for whoever wants to look);
 *  - locked (another process holds the write lock longer than the busy
 *    timeout) or full (SQLITE_FULL, SQLITE_IOERR): the transaction is
 *    rolled back, the deltas stay in memory and the next flush tries
 *    again; at most VNM_USAGE_PENDING_MAX rows wait, beyond that new rows
 *    are dropped (a VM's row and its interface's together) and counted
 *    (dropped_rows, since the start);
 *  - moved, deleted or replaced while open (another file at the path, or
 *    none), or a write fails with SQLITE_IOERR, SQLITE_CANTOPEN or
 *    SQLITE_READONLY_DBMOVED: the handle is closed and the next flush
 *    opens the path again (a new database when the file is gone), writing
 *    all this run knows of the last counters and quota marks into it;
 *  - cannot be opened (a directory that cannot be made, no permission):
 *    totals are kept in memory only and each flush tries to open it again;
 *    until it opens, the saved counters and quota marks are not known
 *    (loaded is FALSE: the recorder starts each device from its counters
 *    then, and no quota counts as not notified); when it opens, the
 *    loaded function is called before the first write.
 * Whether the counters of every device at the first reading were written
 * (fresh is FALSE then) is kept in the database (table meta), so that a
 * crash before the first write still finds a new database the next time.
 * Queries always include the deltas not yet written.
 *
 * In memory only (no path), each flush moves the deltas into tables in
 * memory kept like the database's (hourly rows 8 days, daily 400): the
 * store is available, nothing waits after a flush, and nothing is ever
 * written (last_write stays 0). */
#pragma once

#include <glib.h>

typedef struct {
  guint64 rx_bytes, tx_bytes, rx_packets, tx_packets;
} VnmUsage;

/* How long a write waits for another process's lock, milliseconds. */
#define VNM_USAGE_BUSY_TIMEOUT_MS 200
/* Rows (VM or interface, hour) kept in memory while the database cannot
 * be written. */
#define VNM_USAGE_PENDING_MAX 200000
/* Hourly rows are kept 8 days, daily rows 400 days, monthly rows forever. */
#define VNM_USAGE_KEEP_HOURS_S (8 * 86400)
#define VNM_USAGE_KEEP_DAYS_S (400 * 86400)
/* The schema's version (PRAGMA user_version). */
#define VNM_USAGE_SCHEMA_VERSION 1

typedef enum {
  VNM_USAGE_HOUR,
  VNM_USAGE_DAY,
  VNM_USAGE_MONTH,
} VnmUsagePeriod;

/* One row of a query: a VM's total (iface "") or one of its interfaces'. */
typedef struct {
  gchar *vm_uuid;
  gchar *vm_name;
  gchar *iface;             /* "" for the VM's total */
  gint64 start;             /* the period's start, Unix seconds (UTC) */
  VnmUsage usage;
} VnmUsageRow;

void vnm_usage_row_free (VnmUsageRow *row);

/* The last counters read from a device (host's view), as persisted. */
typedef struct {
  gint ifindex;
  gchar boot_id[40];
  VnmUsage counters;
} VnmUsageSeen;

typedef struct _VnmUsageStore VnmUsageStore;

/* What vnm_usage_store_status says. */
typedef struct {
  const gchar *path;        /* "" when off */
  gboolean available;       /* the last open or write succeeded (memory only: TRUE) */
  gint64 last_write;        /* Unix seconds of the last committed flush, 0 never */
  guint pending;            /* rows waiting for the next flush */
  guint64 dropped_rows;     /* rows dropped because too many waited, since
                             * the store was opened */
  const gchar *last_error;  /* "" when the last open or flush succeeded */
  const gchar *last_recovery; /* what was done about a corrupt database the
                             * last time (kept after good writes), "" never */
  gboolean fresh;           /* no first reading written yet (memory only: always) */
  gboolean loaded;          /* the saved counters and quota marks were read
                             * (memory only: always, there are none) */
} VnmUsageStatus;

/* Called by a flush that opened the database the first time, before it
 * writes (see vnm_usage_store_set_loaded_func). */
typedef void (*VnmUsageLoadedFunc) (VnmUsageStore *store, gpointer user_data);

/* Opens (creating it and its directory when missing) the database at
 * @path; NULL @path keeps totals in memory only. Never fails: see the
 * status for what went wrong. */
VnmUsageStore *vnm_usage_store_open (const gchar *path);
/* Frees without flushing (call vnm_usage_store_flush first). */
void vnm_usage_store_free (VnmUsageStore *store);

/* Adds @delta to @vm_uuid's total and, when @iface is not NULL or "",
 * to that interface's, in the hour, day and month of @when (Unix seconds). */
void vnm_usage_store_add (VnmUsageStore *store, const gchar *vm_uuid, const gchar *vm_name,
                          const gchar *iface, gint64 when, const VnmUsage *delta);

/* The last counters persisted for device @iface, FALSE when none. */
gboolean vnm_usage_store_get_seen (VnmUsageStore *store, const gchar *iface, VnmUsageSeen *out);
/* Records the counters just read from @iface; written at the next flush. */
void vnm_usage_store_set_seen (VnmUsageStore *store, const gchar *iface, const VnmUsageSeen *seen);

/* Writes what waits in one transaction; @now (Unix seconds) is the time
 * of the write and decides which old rows are pruned. FALSE with @error
 * when it could not (the deltas stay for the next flush). */
gboolean vnm_usage_store_flush (VnmUsageStore *store, gint64 now, GError **error);

/* Rows of @period whose start is in [@from, @to), of @vm_uuid (NULL:
 * every VM), with each interface's rows too when @interfaces; sorted by
 * start, VM name, uuid and interface (the VM's total first). Includes the
 * deltas not yet written. NULL with @error when the database could not be
 * read. */
GPtrArray *vnm_usage_store_query (VnmUsageStore *store, VnmUsagePeriod period, gint64 from,
                                  gint64 to, const gchar *vm_uuid, gboolean interfaces,
                                  GError **error);
/* The uuid of a VM the store has rows for under @name (the most recently
 * seen one), or NULL. */
gchar *vnm_usage_store_find_name (VnmUsageStore *store, const gchar *name);

/* This UTC month's total of every VM that has one (iface ""), by uuid:
 * kept in memory, with the deltas not yet written; owned by the store,
 * valid until the next call. @now picks the month. */
GHashTable *vnm_usage_store_month_totals (VnmUsageStore *store, gint64 now);

/* Whether the quota event of @vm_uuid for @month ("YYYY-MM") was sent
 * (TRUE too while the saved marks could not be read yet); marking it is
 * written at the next flush. */
gboolean vnm_usage_store_quota_notified (VnmUsageStore *store, const gchar *vm_uuid,
                                         const gchar *month);
void vnm_usage_store_mark_quota_notified (VnmUsageStore *store, const gchar *vm_uuid,
                                          const gchar *month, guint64 bytes, guint64 quota);

void vnm_usage_store_status (VnmUsageStore *store, VnmUsageStatus *out);

/* @func is called once, by the flush that opens a database that could
 * not be opened when the store was, after its saved state is read and
 * before anything is written. */
void vnm_usage_store_set_loaded_func (VnmUsageStore *store, VnmUsageLoadedFunc func,
                                      gpointer user_data);
/* The recorder made its first reading (every device's starting counters
 * were set with vnm_usage_store_set_seen): the next write marks the
 * database as no longer new. */
void vnm_usage_store_baseline_taken (VnmUsageStore *store);

/* UTC period helpers. */
gint64 vnm_usage_period_start (VnmUsagePeriod period, gint64 t);
/* The start of the period after the one starting at @start. */
gint64 vnm_usage_period_next (VnmUsagePeriod period, gint64 start);
/* "YYYY-MM" of @t (UTC). */
gchar *vnm_usage_month_name (gint64 t);
/* "YYYY-MM" -> the month's start; FALSE when malformed. */
gboolean vnm_usage_parse_month (const gchar *text, gint64 *start);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmUsageStore, vnm_usage_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmUsageRow, vnm_usage_row_free)
