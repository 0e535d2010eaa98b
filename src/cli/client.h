/* client.h: the CLI's side of the D-Bus API: connecting, calling, and
 * turning errors into one clear line and an exit status. */
#pragma once

#include <gio/gio.h>

#include "vnm-generated.h"

typedef struct {
  const gchar *bus_address;  /* --bus-address, or NULL */
  gboolean session;          /* --session */
  gboolean json;             /* --json */
} VnmCliOptions;

/* Exit statuses: 0 ok, 1 failure (daemon, unknown domain, ...), 2 usage. */
#define VNM_EXIT_FAILURE 1
#define VNM_EXIT_USAGE 2

/* A proxy to the daemon's manager object, or NULL after printing why
 * (most often: the daemon is not running, and how to start it). */
VnmMonitor1 *vnm_cli_connect (const VnmCliOptions *opts);
/* The same without printing: NULL with @error, *not_running set when the
 * cause is that no daemon (or no bus) is there. */
VnmMonitor1 *vnm_cli_open (const VnmCliOptions *opts, gboolean *not_running, GError **error);
/* Whether a failed call failed because the daemon is gone. */
gboolean vnm_cli_error_is_not_running (const GError *error);

/* Prints a failed call's error as one line; returns the exit status. */
int vnm_cli_report_error (const gchar *what, GError *error);

/* Prints @value as a JSON document. */
void vnm_cli_print_json (GVariant *value);

/* Looks up @key in an a{sv} record: a string, "" when absent. */
const gchar *vnm_rec_str (GVariant *rec, const gchar *key);
gdouble vnm_rec_double (GVariant *rec, const gchar *key);
guint64 vnm_rec_u64 (GVariant *rec, const gchar *key);
gint64 vnm_rec_int (GVariant *rec, const gchar *key);
gboolean vnm_rec_bool (GVariant *rec, const gchar *key);

/* Parses a subcommand's options: on --help prints and returns FALSE with
 * *status 0; on a bad option prints the problem and returns FALSE with
 * *status 2. */
gboolean vnm_cli_parse (GOptionContext *octx, int *argc, char ***argv, int *status);

int vnm_cmd_list (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_domiflist (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_domifstat (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_drops (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_flows (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_history (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_latency (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_ifstat (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_top (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_set (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_status (const VnmCliOptions *opts, int argc, char **argv);
