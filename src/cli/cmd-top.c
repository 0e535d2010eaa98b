/* cmd-top.c: `virtnetmon top`, a full-screen view of every interface with
 * the ifstat columns, refreshed each interval (ncurses). The daemon sorts and
 * filters (GetLinkStatsColumns, or GetLinkStats from an older daemon), so
 * top shows exactly what ifstat would; this file
 * is the screen, the keys, and staying up while the daemon comes and goes. */
#include "config.h"

#include <curses.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

#define FILTER_MAX 64

typedef enum {
  VIEW_INTERFACES,
  VIEW_FLOWS,
} View;

typedef struct {
  const VnmCliOptions *opts;
  VnmMonitor1 *proxy;
  gint interval_ms;
  /* What is asked of the daemon. */
  gboolean sort_rx;
  gboolean ascending;
  gboolean show_hidden;
  gchar filter[FILTER_MAX + 1];
  /* Filter being typed after '/', shown live. */
  gboolean editing;
  /* The last answer, or NULL with why in @problem. */
  VnmLinkRows *rows;
  GVariant *flows;
  gchar *problem;
  gchar *message;            /* one-line feedback to the last key */
  /* Selection and scrolling, by row index. */
  View view;
  gint selected, scroll;
  gchar *selected_iface;     /* follows the interface when the order changes */
  gchar *flows_vm;           /* uuid (or name) of the VM whose flows are shown */
  gchar *flows_vm_name;
  gint flows_scroll;
} Top;

static void
set_message (Top *top, const gchar *text)
{
  g_free (top->message);
  top->message = g_strdup (text);
}

/* The columns the screen shows, and vm_uuid for the flows of a row's VM. */
static const gchar *const screen_columns[] = {
  "iface", "state", "rx_mbps", "tx_mbps", "rx_pps", "tx_pps", "rx_errors_ps", "tx_errors_ps",
  "vm_id", "vm_name", "vm_uuid", NULL
};

static void
drop_proxy (Top *top, GError *error)
{
  g_clear_object (&top->proxy);
  g_free (top->problem);
  top->problem = g_strdup (error->message);
}

/* Asks the daemon for the rows (and the flows when they are shown). On
 * failure keeps the screen up and says why; the next tick tries again. */
static void
fetch (Top *top)
{
  g_autoptr(GError) error = NULL;
  VnmLinkRows *rows = NULL;

  if (!top->proxy)
    {
      gboolean not_running;
      if (!(top->proxy = vnm_cli_open (top->opts, &not_running, &error)))
        {
          g_clear_pointer (&top->rows, vnm_link_rows_free);
          drop_proxy (top, error);
          return;
        }
    }
  if (!(rows = vnm_link_rows_fetch (top->proxy, top->sort_rx ? "rx" : "tx", top->ascending, 0,
                                    top->show_hidden, top->filter, screen_columns, &error)))
    {
      g_dbus_error_strip_remote_error (error);
      g_clear_pointer (&top->rows, vnm_link_rows_free);
      drop_proxy (top, error);
      return;
    }
  g_clear_pointer (&top->problem, g_free);
  g_clear_pointer (&top->rows, vnm_link_rows_free);
  top->rows = rows;

  if (top->view == VIEW_FLOWS)
    {
      GVariantBuilder options;
      GVariant *flows = NULL;

      g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&options, "{sv}", "by", g_variant_new_string ("remote"));
      g_variant_builder_add (&options, "{sv}", "sort", g_variant_new_string ("bytes"));
      g_clear_pointer (&top->flows, g_variant_unref);
      if (!vnm_monitor1_call_get_flows_sync (top->proxy, top->flows_vm,
                                             g_variant_builder_end (&options), &flows, NULL, &error))
        {
          g_autofree gchar *text = NULL;
          g_dbus_error_strip_remote_error (error);
          text = g_strdup_printf (_("Flows of %s: %s"), top->flows_vm_name, error->message);
          set_message (top, text);
          top->view = VIEW_INTERFACES;
          return;
        }
      top->flows = flows;
    }
}

static gint
n_rows (Top *top)
{
  return top->rows ? (gint) vnm_link_rows_count (top->rows) : 0;
}

/* Cells of row @i (< n_rows) by key. */
static const gchar *
cell_str (Top *top, gint i, const gchar *key)
{
  return vnm_link_rows_str (top->rows, (guint) i, vnm_link_rows_column (top->rows, key));
}

static gdouble
cell_double (Top *top, gint i, const gchar *key)
{
  return vnm_link_rows_double (top->rows, (guint) i, vnm_link_rows_column (top->rows, key));
}

static gint64
cell_int (Top *top, gint i, const gchar *key)
{
  return vnm_link_rows_int (top->rows, (guint) i, vnm_link_rows_column (top->rows, key));
}

/* Keeps the selection on the same interface across refreshes and re-sorts. */
static void
follow_selection (Top *top)
{
  gint n = n_rows (top);

  if (top->selected_iface)
    for (gint i = 0; i < n; i++)
      if (g_str_equal (cell_str (top, i, "iface"), top->selected_iface))
        {
          top->selected = i;
          break;
        }
  top->selected = CLAMP (top->selected, 0, MAX (n - 1, 0));
  g_clear_pointer (&top->selected_iface, g_free);
  if (n > 0)
    top->selected_iface = g_strdup (cell_str (top, top->selected, "iface"));
}

static void
draw_line (gint y, const gchar *text, attr_t attr)
{
  if (y >= LINES)
    return;
  attron (attr);
  mvaddnstr (y, 0, text, COLS);
  for (gint x = MIN ((gint) strlen (text), COLS); x < COLS; x++)
    addch (' ');
  attroff (attr);
}

#define ROW_FORMAT "%-15.15s %-7.7s %9s %9s %9s %9s %7s %7s %6.6s %s"

static void
draw_interfaces (Top *top, gint first_y, gint height)
{
  gint n = n_rows (top);
  g_autofree gchar *header = g_strdup_printf (ROW_FORMAT, "IFACE", "STATE",
                                              top->sort_rx ? (top->ascending ? "RX_Mbps^" : "RX_Mbpsv") : "RX_Mbps",
                                              top->sort_rx ? "TX_Mbps" : (top->ascending ? "TX_Mbps^" : "TX_Mbpsv"),
                                              "RX_Pkts", "TX_Pkts", "RX_Err", "TX_Err", "VMID", "VM_NAME");

  draw_line (first_y, header, A_BOLD | A_REVERSE);
  if (top->selected < top->scroll)
    top->scroll = top->selected;
  if (top->selected >= top->scroll + height)
    top->scroll = top->selected - height + 1;
  top->scroll = CLAMP (top->scroll, 0, MAX (n - height, 0));
  for (gint i = 0; i < height && top->scroll + i < n; i++)
    {
      gint r = top->scroll + i;
      g_autofree gchar *rx = vnm_format_rate (cell_double (top, r, "rx_mbps"));
      g_autofree gchar *tx = vnm_format_rate (cell_double (top, r, "tx_mbps"));
      g_autofree gchar *rxp = g_strdup_printf ("%.0f", cell_double (top, r, "rx_pps"));
      g_autofree gchar *txp = g_strdup_printf ("%.0f", cell_double (top, r, "tx_pps"));
      g_autofree gchar *rxe = g_strdup_printf ("%.0f", cell_double (top, r, "rx_errors_ps"));
      g_autofree gchar *txe = g_strdup_printf ("%.0f", cell_double (top, r, "tx_errors_ps"));
      gint64 vm_id = cell_int (top, r, "vm_id");
      g_autofree gchar *vmid = vm_id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, vm_id) : g_strdup ("-");
      g_autofree gchar *line = g_strdup_printf (ROW_FORMAT, cell_str (top, r, "iface"),
                                                cell_str (top, r, "state"), rx, tx, rxp, txp, rxe, txe,
                                                vmid, cell_str (top, r, "vm_name"));
      draw_line (first_y + 1 + i, line, top->scroll + i == top->selected ? A_REVERSE : A_NORMAL);
    }
}

static void
draw_flows (Top *top, gint first_y, gint height)
{
  gint n = top->flows ? (gint) g_variant_n_children (top->flows) : 0;
  g_autofree gchar *header = g_strdup_printf ("%-39s %11s %11s %9s %9s %6s %7s", "REMOTE", "SENT",
                                              "RECEIVED", "RTT_ms", "JITTER_ms", "CONNS", "RETRANS");

  draw_line (first_y, header, A_BOLD | A_REVERSE);
  top->flows_scroll = CLAMP (top->flows_scroll, 0, MAX (n - height, 0));
  if (n == 0)
    draw_line (first_y + 1, _("No flows seen for this VM (yet)."), A_NORMAL);
  for (gint i = 0; i < height && top->flows_scroll + i < n; i++)
    {
      g_autoptr(GVariant) rec = g_variant_get_child_value (top->flows, top->flows_scroll + i);
      g_autofree gchar *sent = vnm_format_bytes (vnm_rec_u64 (rec, "tx_bytes"));
      g_autofree gchar *recv = vnm_format_bytes (vnm_rec_u64 (rec, "rx_bytes"));
      gdouble rtt = vnm_rec_double (rec, "rtt_avg_us");
      g_autofree gchar *rtt_s = rtt > 0 ? g_strdup_printf ("%.3f", rtt / 1000) : g_strdup ("-");
      g_autofree gchar *jit_s = rtt > 0 ? g_strdup_printf ("%.3f", vnm_rec_double (rec, "jitter_us") / 1000)
                                        : g_strdup ("-");
      g_autofree gchar *line = g_strdup_printf ("%-39.39s %11s %11s %9s %9s %6" G_GUINT64_FORMAT
                                                " %7" G_GUINT64_FORMAT,
                                                vnm_rec_str (rec, "remote_ip"), sent, recv, rtt_s, jit_s,
                                                vnm_rec_u64 (rec, "tcp_conns_opened"),
                                                vnm_rec_u64 (rec, "tcp_retrans"));
      draw_line (first_y + 1 + i, line, A_NORMAL);
    }
}

static void
draw (Top *top)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree gchar *clock = g_date_time_format (now, "%H:%M:%S");
  g_autofree gchar *title = NULL;
  g_autofree gchar *footer = NULL;
  gint height = MAX (LINES - 4, 0);

  erase ();
  if (top->view == VIEW_FLOWS)
    title = g_strdup_printf (_("virtnetmon top - flows of %s, by remote, most bytes first  %s"),
                             top->flows_vm_name, clock);
  else
    title = g_strdup_printf (_("virtnetmon top - %d interfaces, sorted by %s %s%s%s%s  %s"),
                             n_rows (top), top->sort_rx ? "RX" : "TX",
                             top->ascending ? _("ascending") : _("descending"),
                             *top->filter ? _(", filter: ") : "", top->filter,
                             top->show_hidden ? _(", hidden devices shown") : "", clock);
  draw_line (0, title, A_BOLD);

  if (top->problem)
    {
      g_autofree gchar *text = g_strdup_printf (_("No data: %s. Retrying every %.1f s."),
                                                top->problem, top->interval_ms / 1000.0);
      draw_line (2, text, A_BOLD);
      draw_line (3, _("Start the daemon with 'virtnetmond &' as root, or with ./run.sh."), A_NORMAL);
    }
  else if (top->view == VIEW_FLOWS)
    draw_flows (top, 1, height);
  else
    draw_interfaces (top, 1, height);

  if (top->editing)
    footer = g_strdup_printf (_("Filter (VM id, VM name or interface): %s_   Enter: keep  Esc: clear"),
                              top->filter);
  else if (top->message)
    footer = g_strdup (top->message);
  else if (top->view == VIEW_FLOWS)
    footer = g_strdup (_("q/Esc: back  Up/Down: scroll"));
  else
    footer = g_strdup (_("1: sort RX  2: sort TX (again: reverse)  /: filter  a: hidden  Enter/f: flows  l: latency  q: quit"));
  draw_line (LINES - 1, footer, A_REVERSE);
  refresh ();
}

static void
open_flows (Top *top)
{
  const gchar *uuid, *name;

  if (n_rows (top) == 0)
    return;
  uuid = cell_str (top, top->selected, "vm_uuid");
  name = cell_str (top, top->selected, "vm_name");
  if (!*uuid)
    {
      g_autofree gchar *text = g_strdup_printf (_("%s belongs to no VM virtnetmon knows: no flows."),
                                                cell_str (top, top->selected, "iface"));
      set_message (top, text);
      return;
    }
  g_free (top->flows_vm);
  g_free (top->flows_vm_name);
  top->flows_vm = g_strdup (uuid);
  top->flows_vm_name = g_strdup (*name ? name : uuid);
  top->flows_scroll = 0;
  top->view = VIEW_FLOWS;
  g_clear_pointer (&top->message, g_free);
}

/* What fetch() would ask the daemon for. */
static gchar *
request_key (Top *top)
{
  return g_strdup_printf ("%d %d %d %d %s %s", top->sort_rx, top->ascending, top->show_hidden,
                          top->view, top->filter, top->flows_vm ? top->flows_vm : "");
}

/* Returns FALSE to quit. */
static gboolean
handle_key (Top *top, gint ch)
{
  gint page = MAX (LINES - 4, 1);

  if (top->editing)
    {
      gsize len = strlen (top->filter);
      if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
        top->editing = FALSE;
      else if (ch == 27)
        {
          top->editing = FALSE;
          top->filter[0] = '\0';
        }
      else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len > 0)
        top->filter[len - 1] = '\0';
      else if (ch >= 32 && ch < 127 && len < FILTER_MAX)
        {
          top->filter[len] = (gchar) ch;
          top->filter[len + 1] = '\0';
        }
      top->selected = 0;
      return TRUE;
    }
  if (ch != ERR && ch != KEY_RESIZE)
    g_clear_pointer (&top->message, g_free);

  if (top->view == VIEW_FLOWS)
    {
      switch (ch)
        {
        case 'q': case 27: case KEY_LEFT: top->view = VIEW_INTERFACES; break;
        case KEY_UP: case 'k': top->flows_scroll--; break;
        case KEY_DOWN: case 'j': top->flows_scroll++; break;
        case KEY_PPAGE: top->flows_scroll -= page; break;
        case KEY_NPAGE: top->flows_scroll += page; break;
        default: break;
        }
      return TRUE;
    }
  switch (ch)
    {
    case 'q': return FALSE;
    case '1':
    case '2':
      if (top->sort_rx == (ch == '1'))
        top->ascending = !top->ascending;
      else
        {
          top->sort_rx = ch == '1';
          top->ascending = FALSE;
        }
      break;
    case '/':
      top->editing = TRUE;
      break;
    case 'a':
      top->show_hidden = !top->show_hidden;
      break;
    case '\n': case '\r': case KEY_ENTER: case 'f':
      open_flows (top);
      break;
    case 'l':
      set_message (top, _("Latency is not shown here yet: run 'virtnetmon latency DOMAIN' (root: --on first)."));
      break;
    case KEY_UP: case 'k': top->selected--; break;
    case KEY_DOWN: case 'j': top->selected++; break;
    case KEY_PPAGE: top->selected -= page; break;
    case KEY_NPAGE: top->selected += page; break;
    case KEY_HOME: case 'g': top->selected = 0; break;
    case KEY_END: case 'G': top->selected = n_rows (top) - 1; break;
    default: return TRUE;
    }
  top->selected = CLAMP (top->selected, 0, MAX (n_rows (top) - 1, 0));
  g_clear_pointer (&top->selected_iface, g_free);
  if (n_rows (top) > 0)
    top->selected_iface = g_strdup (cell_str (top, top->selected, "iface"));
  return TRUE;
}

/* The full screen: fetch, draw and answer keys until 'q'. */
static int
run_screen (Top *top)
{
  gint64 next_fetch = 0;

  if (!initscr ())
    {
      g_printerr (_("virtnetmon: top: cannot set up the terminal.\n"));
      return VNM_EXIT_FAILURE;
    }
  cbreak ();
  noecho ();
  keypad (stdscr, TRUE);
  curs_set (0);
  set_escdelay (25);

  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gint ch;

      if (now >= next_fetch)
        {
          fetch (top);
          follow_selection (top);
          next_fetch = now + (gint64) top->interval_ms * 1000;
        }
      draw (top);
      timeout ((gint) MAX ((next_fetch - g_get_monotonic_time ()) / 1000, 1));
      ch = getch ();
      if (ch == ERR)
        continue;
      {
        g_autofree gchar *asked = request_key (top);
        g_autofree gchar *now_asked = NULL;

        if (!handle_key (top, ch))
          break;
        /* A key that changes what is asked is answered at once. */
        now_asked = request_key (top);
        if (!g_str_equal (asked, now_asked))
          next_fetch = 0;
      }
    }

  endwin ();
  g_clear_object (&top->proxy);
  g_clear_pointer (&top->rows, vnm_link_rows_free);
  g_clear_pointer (&top->flows, g_variant_unref);
  g_free (top->problem);
  g_free (top->message);
  g_free (top->selected_iface);
  g_free (top->flows_vm);
  g_free (top->flows_vm_name);
  return 0;
}

int
vnm_cmd_top (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autofree gchar *sort = NULL;
  g_autofree gchar *filter = NULL;
  g_autofree gchar *interval_text = NULL;
  gdouble interval = 1.0;
  gboolean all = FALSE, asc = FALSE, json = opts->json;
  const GOptionEntry entries[] = {
    { "interval", 'i', 0, G_OPTION_ARG_STRING, &interval_text, N_("Refresh every SEC seconds (default: 1)"), N_("SEC") },
    { "sort", 's', 0, G_OPTION_ARG_STRING, &sort, N_("Sort by 'rx' or 'tx' bit rate (default: tx)"), N_("rx|tx") },
    { "asc", 0, 0, G_OPTION_ARG_NONE, &asc, N_("Sort ascending (default: descending)"), NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("Also show lo and Proxmox firewall devices (fw*)"), NULL },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter, N_("Keep rows whose interface, VM name or VM id contains TEXT"), N_("TEXT") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the rows once as one JSON document, as ifstat --json does, and exit"), NULL },
    { NULL }
  };
  Top top = { .opts = opts };
  int status = 0;

  g_option_context_set_summary (octx,
    _("A full-screen, live view of every host interface with the ifstat columns.\n"
      "Keys: 1 sort by RX, 2 sort by TX (the same key again reverses the order),\n"
      "/ filter by VM id, VM name or interface, a show hidden devices (lo, fw*),\n"
      "Enter or f the flows of the selected VM, l its latency, arrows, PgUp/PgDn,\n"
      "Home/End to move, q quit. Stays up while the daemon restarts. Needs a\n"
      "terminal, except with --json, which prints the rows of one refresh."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    {
      g_printerr (_("virtnetmon: top: unexpected argument '%s'.\n"), argv[1]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_link_options (sort, filter, FILTER_MAX))
    return VNM_EXIT_USAGE;
  if (interval_text)
    {
      gchar *end = NULL;

      interval = g_ascii_strtod (interval_text, &end);
      if (end == interval_text || *end || !(interval >= 0.1 && interval <= 3600))
        {
          vnm_cli_bad_value ("interval", interval_text, _("seconds from 0.1 to 3600"));
          return VNM_EXIT_USAGE;
        }
    }
  if (json)
    {
      g_autoptr(VnmLinkRows) rows = NULL;
      g_autofree gchar *text = NULL;

      /* One snapshot of the screen's rows: nothing refreshes. */
      if (vnm_cli_given ("interval"))
        return vnm_cli_usage_error (_("%s does not go with %s (one snapshot)."),
                                    vnm_cli_option ("interval"), vnm_cli_option ("json"));
      if (!(rows = vnm_cli_get_link_stats (opts, "top", sort, asc, 0, all, filter, NULL, &status)))
        return status;
      text = vnm_link_rows_to_json (rows);
      fputs (text, stdout);
      return 0;
    }
  if (!isatty (STDIN_FILENO) || !isatty (STDOUT_FILENO))
    {
      g_printerr (_("virtnetmon: top needs a terminal; for scripts use 'virtnetmon top --json' or 'virtnetmon ifstat --json'.\n"));
      return VNM_EXIT_USAGE;
    }
  top.interval_ms = (gint) (interval * 1000);
  top.sort_rx = sort && g_str_equal (sort, "rx");
  top.ascending = asc;
  top.show_hidden = all;
  g_strlcpy (top.filter, filter ? filter : "", sizeof top.filter);

  return run_screen (&top);
}
