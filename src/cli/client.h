/* client.h: the CLI's side of the D-Bus API: connecting, calling, and
 * turning errors into one clear line and an exit status. */
#pragma once

#include <gio/gio.h>

#include "link-rows.h"
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
/* The same for a command that only calls methods: the proxy reads none of
 * the daemon's properties and follows none of its signals, one round trip
 * less. */
VnmMonitor1 *vnm_cli_connect_for_calls (const VnmCliOptions *opts);
/* The same as vnm_cli_connect without printing: NULL with @error, *not_running set when the
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

/* Parses a subcommand's options (@entries, already added to @octx): on
 * --help prints and exits 0; on a bad option prints the problem on one line
 * and returns FALSE with *status 2. Remembers how each option was typed,
 * for the usage errors below, and drops a "--" that ends the options. */
gboolean vnm_cli_parse (GOptionContext *octx, const GOptionEntry *entries,
                        int *argc, char ***argv, int *status);

/* Usage errors. Each is one line on stderr, "virtnetmon: COMMAND: ...",
 * that names an option as the user typed it ("--sort" or "-s") and quotes
 * the offending value; the command then exits VNM_EXIT_USAGE before any
 * D-Bus call. */

/* The longest string argument (domain, interface, filter) the daemon
 * accepts, in bytes (the daemon's MAX_ARG_LEN). */
#define VNM_CLI_ARG_MAX_LEN 256

/* The option @long_name ("sort") as typed last ("--sort" or "-s"), or
 * "--sort" when it was not given; a string that stays valid. */
const gchar *vnm_cli_option (const gchar *long_name);
/* Whether the option @long_name was given. */
gboolean vnm_cli_given (const gchar *long_name);

/* Prints "virtnetmon: COMMAND: " and the message, then a newline;
 * returns VNM_EXIT_USAGE. */
int vnm_cli_usage_error (const gchar *format, ...) G_GNUC_PRINTF (1, 2);
/* "OPTION takes EXPECTED, not 'VALUE'."; returns FALSE. */
gboolean vnm_cli_bad_value (const gchar *long_name, const gchar *value, const gchar *expected);
/* Whether @value (NULL: not given) is one of @choices, else says so. */
gboolean vnm_cli_check_choice (const gchar *long_name, const gchar *value,
                               const gchar *const *choices);
/* A base-10 whole number from @min to @max, else says so. */
gboolean vnm_cli_parse_number (const gchar *long_name, const gchar *value,
                               guint64 min, guint64 max, guint64 *out);
/* An IPv4 or IPv6 address, else says so; *family AF_INET or AF_INET6 and
 * *canonical its usual spelling (free it). */
gboolean vnm_cli_parse_address (const gchar *long_name, const gchar *value,
                                gint *family, gchar **canonical);
/* Whether @value is at most @max bytes long, else says so; @what is how
 * it was given ("--filter", or a metavariable such as "DOMAIN"). */
gboolean vnm_cli_check_length (const gchar *what, const gchar *value, gsize max);
/* After parsing, @argv of subcommand @cmd holds exactly one DOMAIN (a name,
 * id or uuid of bounded length): TRUE, or FALSE with a message naming the
 * problem (missing, an extra argument, too long). */
gboolean vnm_cli_one_domain (const gchar *cmd, int argc, char **argv);
/* Adds every entry of the a{sv} @dict to @builder (a vardict): a reply's
 * summary as top-level keys of a --json document. */
void vnm_cli_add_entries (GVariantBuilder *builder, GVariant *dict);
/* When both options were given, says that they do not go together and
 * returns TRUE. */
gboolean vnm_cli_conflict (const gchar *long_a, const gchar *long_b);

/* ifstat's query, which top shares: checks --sort and --filter (at most
 * @filter_max bytes); FALSE after a usage error. */
gboolean vnm_cli_check_link_options (const gchar *sort, const gchar *filter, gsize filter_max);
/* Connects and asks for the rows ifstat shows (@wanted: the columns
 * needed, NULL for all); NULL with *status after printing why. */
VnmLinkRows *vnm_cli_get_link_stats (const VnmCliOptions *opts, const gchar *command,
                                     const gchar *sort, gboolean asc, guint top, gboolean all,
                                     const gchar *filter, const gchar *const *wanted,
                                     int *status);

int vnm_cmd_list (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_domiflist (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_domifstat (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_domifaddr (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_conns (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_services (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_drops (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_flows (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_history (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_latency (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_ifstat (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_top (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_set (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_status (const VnmCliOptions *opts, int argc, char **argv);
int vnm_cmd_usage (const VnmCliOptions *opts, int argc, char **argv);
