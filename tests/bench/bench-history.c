/* bench-history.c: what 48 hours of rate history cost, in memory and CPU,
 * for a host of N VMs with one interface each, as virtnetmond keeps them:
 * an interface series and a VM series each, the VM's fed the same values
 * as its interface's (history-recorder.c: a VM's rates are the sum of its
 * interfaces').
 *
 * The layout before issue 24 (history-v1.c: two rings of floats per
 * series) and the daemon's history module (compressed, shared blocks) are
 * fed 48 h of 1-second samples on a simulated clock, every series every
 * second, each layout and feed in a process of its own (forked), so that
 * the RSS each one adds is its own. Feeds:
 *   sawtooth  every metric changing every second, (7 s + 13 vm + metric)
 *             mod 1000 (the feed of this benchmark before issue 24);
 *   host      a host's mix: 6 VMs in 10 idle (a packet or two a second of
 *             chatter), 3 moderate (10 to 1000 pps around a daily cycle,
 *             30 % noise a second), 1 busy (1000 to 50000 pps, 20 % noise,
 *             a burst of drops an hour); no errors;
 *   noise     every value drawn at random from 0 to 10^6 every second: no
 *             structure at all, the codec's worst case.
 * Then the 48 h query of one series is timed, and, in one more process,
 * both layouts are fed the host feed for 20 VMs and every point of their
 * 48 h and 15 min queries compared, against the codec's bound.
 *
 *   bench-history [--interfaces N] [--hours H] [--base-rss MIB] [--base-uss MIB] [--goal MIB]
 * Prints Markdown. With --base-rss (virtnetmond's RSS at start with N VM
 * interfaces, from tests/bench/bench_base_rss.py, which runs this with
 * the figure it measured), a column adds it to each RSS growth and a line
 * says which feeds keep the total under the goal. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history.h"
#include "history-codec.h"
#include "history-v1.h"

#define M VNM_N_METRICS
#define START 1700000000    /* a whole hour */

typedef enum { FEED_SAWTOOTH, FEED_HOST, FEED_NOISE, N_FEEDS } Feed;
static const gchar *const feed_names[] = { "sawtooth", "host", "noise" };

/* ---- feeds ---- */

static guint64
mix (guint64 x)
{
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

typedef struct {
  guint64 state;
  gint kind;                /* 0 idle, 1 moderate, 2 busy */
  gdouble level, noise, phase, rx_size, tx_size;
} Vm;

static gdouble
uniform (Vm *vm)
{
  vm->state = mix (vm->state);
  return (vm->state >> 11) * (1.0 / 9007199254740992.0);
}

static gdouble
gauss (Vm *vm)
{
  gdouble u = MAX (uniform (vm), 1e-300), v = uniform (vm);

  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

static gdouble
poisson (Vm *vm, gdouble lambda)
{
  gdouble l = exp (-lambda), p = 1;
  gint k = 0;

  do
    {
      k++;
      p *= uniform (vm);
    }
  while (p > l);
  return k - 1;
}

static void
vm_init (Vm *vm, guint i)
{
  vm->state = mix (i + 1);
  vm->kind = i % 10 < 6 ? 0 : i % 10 < 9 ? 1 : 2;
  vm->level = vm->kind == 1 ? pow (10, 1 + 2 * uniform (vm)) : pow (10, 3 + 1.7 * uniform (vm));
  vm->noise = vm->kind == 1 ? 0.3 : 0.2;
  vm->phase = uniform (vm);
  vm->rx_size = 300 + 1100 * uniform (vm);
  vm->tx_size = 100 + 400 * uniform (vm);
}

static void
feed_values (Feed feed, Vm *vm, guint i, gint64 s, gdouble v[M])
{
  switch (feed)
    {
    case FEED_SAWTOOTH:
      for (guint m = 0; m < M; m++)
        v[m] = (gdouble) ((s * 7 + i * 13 + m) % 1000);
      break;
    case FEED_NOISE:
      for (guint m = 0; m < M; m++)
        v[m] = floor (uniform (vm) * 1e6);
      break;
    default:
      for (guint m = 0; m < M; m++)
        v[m] = 0;
      if (vm->kind == 0)
        {
          v[VNM_METRIC_RX_PPS] = poisson (vm, 0.7);
          v[VNM_METRIC_TX_PPS] = poisson (vm, 0.4);
          v[VNM_METRIC_RX_BYTES_PS] = v[VNM_METRIC_RX_PPS] * 90;
          v[VNM_METRIC_TX_BYTES_PS] = v[VNM_METRIC_TX_PPS] * 110;
        }
      else
        {
          gdouble day = 1 + 0.5 * sin (2 * G_PI * ((gdouble) s / 86400 + vm->phase));
          gdouble rx = round (vm->level * day * exp (vm->noise * gauss (vm)));
          gdouble tx = round (0.6 * rx * exp (0.2 * gauss (vm)));

          v[VNM_METRIC_RX_PPS] = rx;
          v[VNM_METRIC_TX_PPS] = tx;
          v[VNM_METRIC_RX_BYTES_PS] = round (rx * vm->rx_size * (1 + 0.05 * gauss (vm)));
          v[VNM_METRIC_TX_BYTES_PS] = round (tx * vm->tx_size * (1 + 0.05 * gauss (vm)));
          if (vm->kind == 2 && uniform (vm) < 1.0 / 3600)
            v[VNM_METRIC_RX_DROPS_PS] = floor (1 + 500 * uniform (vm));
        }
      break;
    }
}

/* ---- one layout behind one set of calls ---- */

typedef struct {
  gboolean v1;
  VnmHistory *h;
  VnmHistoryV1 *h1;
} Store;

static void
store_record (Store *st, const gchar *name, gdouble now, const gdouble *v)
{
  if (st->v1)
    vnm_history_v1_record (st->h1, name, now, 1.0, v);
  else
    vnm_history_record (st->h, name, now, 1.0, v);
}

static void
store_expire (Store *st, gint64 now)
{
  if (st->v1)
    vnm_history_v1_expire (st->h1, now);
  else
    vnm_history_expire (st->h, now);
}

static GArray *
store_query (Store *st, const gchar *name, VnmMetric m, gint64 since, gint64 now)
{
  guint res;

  return st->v1 ? vnm_history_v1_query (st->h1, name, m, since, now, &res)
                : vnm_history_query (st->h, name, m, since, now, &res);
}

static gsize
store_memory (Store *st)
{
  return st->v1 ? vnm_history_v1_memory (st->h1) : vnm_history_memory (st->h);
}

/* ---- a run ---- */

static gsize
rss_bytes (void)
{
  g_autofree gchar *text = NULL;
  gulong size = 0, resident = 0;

  if (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    sscanf (text, "%lu %lu", &size, &resident);
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

typedef struct {
  gsize module, rss;
  gdouble record_ns, query_ms, query_worst_ms;
  guint points;
} Result;

static void
names_for (guint vms, GPtrArray *ifaces, GPtrArray *domains)
{
  for (guint i = 0; i < vms; i++)
    {
      g_ptr_array_add (ifaces, g_strdup_printf ("iface:tap%ui0", 100 + i));
      g_ptr_array_add (domains, g_strdup_printf ("vm:00000000-0000-4000-8000-%012u", i));
    }
}

/* Feeds @seconds of @feed for @vms VMs into @st (both series of each VM). */
static void
feed_store (Store *st, Feed feed, guint vms, gint64 seconds, GPtrArray *ifaces, GPtrArray *domains)
{
  g_autofree Vm *state = g_new0 (Vm, vms);

  for (guint i = 0; i < vms; i++)
    vm_init (&state[i], i);
  for (gint64 s = 1; s <= seconds; s++)
    {
      for (guint i = 0; i < vms; i++)
        {
          gdouble v[M];

          feed_values (feed, &state[i], i, s, v);
          store_record (st, g_ptr_array_index (ifaces, i), START + s, v);
          store_record (st, g_ptr_array_index (domains, i), START + s, v);
        }
      if (s % 3600 == 0)
        store_expire (st, START + s);
    }
}

static Result
run (gboolean v1, Feed feed, guint vms, gint64 seconds)
{
  g_autoptr(GPtrArray) ifaces = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
  Store st = { v1, NULL, NULL };
  Result r = { 0 };
  gsize rss0;
  gint64 t0;
  const gint reps = 400;

  names_for (vms, ifaces, domains);
  rss0 = rss_bytes ();
  if (v1)
    st.h1 = vnm_history_v1_new ();
  else
    st.h = vnm_history_new ();
  t0 = g_get_monotonic_time ();
  feed_store (&st, feed, vms, seconds, ifaces, domains);
  r.record_ns = (gdouble) (g_get_monotonic_time () - t0) * 1000.0 / ((gdouble) seconds * vms * 2);
  r.rss = rss_bytes () - rss0;
  r.module = store_memory (&st);

  t0 = g_get_monotonic_time ();
  for (gint k = 0; k < reps; k++)
    {
      GPtrArray *names = k % 2 ? domains : ifaces;
      gint64 q0 = g_get_monotonic_time ();
      g_autoptr(GArray) pts = store_query (&st, g_ptr_array_index (names, (k / 2) % vms),
                                           VNM_METRIC_TX_BYTES_PS, seconds, START + seconds);
      g_assert (pts && pts->len > 0);
      r.query_worst_ms = MAX (r.query_worst_ms, (g_get_monotonic_time () - q0) / 1000.0);
      r.points = pts->len;
    }
  r.query_ms = (gdouble) (g_get_monotonic_time () - t0) / 1000.0 / reps;
  /* Freeing is not timed, and the process ends anyway. */
  return r;
}

/* Runs @v1/@feed in a child, so that its RSS is its own. */
static Result
run_forked (gboolean v1, Feed feed, guint vms, gint64 seconds)
{
  gint fds[2];
  pid_t pid;
  Result r = { 0 };
  gint status;

  if (pipe (fds) != 0)
    g_error ("pipe: %s", g_strerror (errno));
  pid = fork ();
  if (pid == 0)
    {
      Result mine = run (v1, feed, vms, seconds);
      close (fds[0]);
      if (write (fds[1], &mine, sizeof mine) != sizeof mine)
        _exit (1);
      _exit (0);
    }
  close (fds[1]);
  if (read (fds[0], &r, sizeof r) != sizeof r)
    g_error ("bench-history: a run failed");
  close (fds[0]);
  waitpid (pid, &status, 0);
  return r;
}

/* ---- accuracy: the host feed in both layouts, every point compared ---- */

typedef struct {
  gdouble worst;          /* the largest error, in units of the codec's bound */
  gdouble mean_rel;       /* mean |error| / value over nonzero values */
  guint64 points, exact;
} Accuracy;

/* Compares @a (new) with @b (old) point by point; the bound of a point is
 * 1/2000 of the largest value of its block (@block_s seconds) in @b, so
 * blocks that begin before @from (partly outside the query) are left out. */
static void
compare (Accuracy *acc, GArray *a, GArray *b, gint64 block_s, gint64 from)
{
  g_autofree gdouble *tops = g_new0 (gdouble, b->len + 1);

  g_assert_cmpuint (a->len, ==, b->len);
  /* The points are in time order: a block's are together. */
  for (guint i = 0, j; i < b->len; i = j)
    {
      gint64 block = g_array_index (b, VnmHistoryPoint, i).time_s / block_s;
      gdouble top = 0;

      for (j = i; j < b->len && g_array_index (b, VnmHistoryPoint, j).time_s / block_s == block; j++)
        top = MAX (top, fabs (g_array_index (b, VnmHistoryPoint, j).max));
      for (guint k = i; k < j; k++)
        tops[k] = top;
    }
  for (guint i = 0; i < a->len; i++)
    {
      const VnmHistoryPoint *p = &g_array_index (a, VnmHistoryPoint, i);
      const VnmHistoryPoint *q = &g_array_index (b, VnmHistoryPoint, i);
      gdouble bound;
      gdouble err[3] = { fabs (p->min - q->min), fabs (p->avg - q->avg), fabs (p->max - q->max) };
      gdouble val[3] = { q->min, q->avg, q->max };

      g_assert_cmpint (p->time_s, ==, q->time_s);
      if (q->time_s / block_s * block_s < from)
        continue;
      bound = tops[i] / (2.0 * VNM_HISTORY_CODEC_LEVELS);
      for (guint f = 0; f < 3; f++)
        {
          if (bound > 0)
            acc->worst = MAX (acc->worst, err[f] / bound);
          else if (err[f] > 0)
            acc->worst = G_MAXDOUBLE;
          if (val[f] != 0)
            acc->mean_rel += err[f] / fabs (val[f]);
          acc->exact += err[f] == 0;
          acc->points++;
        }
    }
}

static Accuracy
accuracy (gint64 seconds)
{
  const guint vms = 20;
  g_autoptr(GPtrArray) ifaces = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
  Store now = { FALSE, vnm_history_new (), NULL }, then = { TRUE, NULL, vnm_history_v1_new () };
  Accuracy acc = { 0 };

  names_for (vms, ifaces, domains);
  feed_store (&now, FEED_HOST, vms, seconds, ifaces, domains);
  feed_store (&then, FEED_HOST, vms, seconds, ifaces, domains);
  for (guint i = 0; i < vms; i++)
    for (guint m = 0; m < M; m++)
      {
        const gchar *name = g_ptr_array_index (ifaces, i);
        g_autoptr(GArray) a = store_query (&now, name, m, seconds, START + seconds);
        g_autoptr(GArray) b = store_query (&then, name, m, seconds, START + seconds);
        g_autoptr(GArray) fa = store_query (&now, name, m, 900, START + seconds);
        g_autoptr(GArray) fb = store_query (&then, name, m, 900, START + seconds);

        compare (&acc, a, b, 30 * 60, START);
        compare (&acc, fa, fb, 60, START + seconds - 900);
      }
  acc.mean_rel /= MAX (acc.points - acc.exact, 1);
  vnm_history_free (now.h);
  vnm_history_v1_free (then.h1);
  return acc;
}

int
main (int argc, char **argv)
{
  gint interfaces = 200, hours = 48;
  gdouble base_mib = 0, base_uss_mib = 0, goal_mib = 30;
  const GOptionEntry entries[] = {
    { "base-rss", 0, 0, G_OPTION_ARG_DOUBLE, &base_mib,
      "virtnetmond's RSS at start with as many VM interfaces, in MiB, as tests/bench/bench_base_rss.py measures it: adds a column of totals", "MIB" },
    { "base-uss", 0, 0, G_OPTION_ARG_DOUBLE, &base_uss_mib,
      "virtnetmond's USS at start (the pages no other process maps), as bench_base_rss.py measures it: adds totals counted that way", "MIB" },
    { "goal", 0, 0, G_OPTION_ARG_DOUBLE, &goal_mib, "The goal for the total, in MiB (default 30)", "MIB" },
    { "interfaces", 0, 0, G_OPTION_ARG_INT, &interfaces, "VMs of one interface each (default 200)", "N" },
    { "hours", 0, 0, G_OPTION_ARG_INT, &hours, "Hours of history to feed (default 48)", "H" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  gint64 seconds;
  /* Values a series holds once full: 15 min of 8 metrics, 48 h of 8
   * metrics' min, avg and max. */
  const gdouble values = VNM_HISTORY_FINE_SECONDS * M + VNM_HISTORY_COARSE_MINUTES * 3.0 * M;
  Result old, now[N_FEEDS];
  Accuracy acc;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error) || interfaces < 1 || hours < 1)
    {
      g_printerr ("bench-history: %s\n", error ? error->message : "bad arguments");
      return 2;
    }
  seconds = (gint64) hours * 3600;

  old = run_forked (TRUE, FEED_SAWTOOTH, interfaces, seconds);
  for (guint f = 0; f < N_FEEDS; f++)
    now[f] = run_forked (FALSE, f, interfaces, seconds);
  acc = accuracy (seconds);

  printf ("%d VMs of one interface each: %d series (an interface's and a VM's, fed the same "
          "values, as virtnetmond records them), %d h at 1-second steps on a simulated clock "
          "(%.1f M records). One run; each layout and feed in a process of its own.\n\n",
          interfaces, 2 * interfaces, hours, seconds * 2.0 * interfaces / 1e6);
  printf ("| layout | feed | module's count | RSS growth |%s RSS per VM interface | bytes a value "
          "| record | %d h query of one series: mean (worst) |\n|---|---|---:|---:|%s---:|---:|---:|---:|\n",
          base_mib > 0 ? " total: base + growth |" : "", hours, base_mib > 0 ? "---:|" : "");
  printf ("| before (issue 5): floats, every series its own | any (fixed size) | %.1f MiB | %.1f MiB "
          "|%s%.1f%s%s %.1f KiB | %.2f | %.0f ns | %.3f ms (%.3f) |\n",
          old.module / 1048576.0, old.rss / 1048576.0, base_mib > 0 ? " " : "",
          base_mib > 0 ? base_mib + old.rss / 1048576.0 : 0, base_mib > 0 ? " MiB" : "",
          base_mib > 0 ? " |" : "", old.rss / 1024.0 / interfaces,
          old.module / (values * 2 * interfaces), old.record_ns, old.query_ms, old.query_worst_ms);
  for (guint f = 0; f < N_FEEDS; f++)
    {
      gdouble total = base_mib + now[f].rss / 1048576.0;
      g_autofree gchar *col = base_mib > 0
        ? g_strdup_printf (" **%.1f MiB** (%s) |", total, total < goal_mib ? "under the goal" : "over")
        : g_strdup ("");

      printf ("| compressed, shared blocks | %s | %.1f MiB | %.1f MiB |%s %.1f KiB | %.2f | %.0f ns "
              "| %.3f ms (%.3f) |\n",
              feed_names[f], now[f].module / 1048576.0, now[f].rss / 1048576.0, col,
              now[f].rss / 1024.0 / interfaces, now[f].module / (values * 2 * interfaces),
              now[f].record_ns, now[f].query_ms, now[f].query_worst_ms);
    }
  printf ("\nBytes a value: the module's count over the values %d series hold once full "
          "(15 min x 8 metrics + 48 h x 8 metrics x min/avg/max = %.0f a series). Record: CPU "
          "per series per sample. Query: %d-hour points of one metric (%u points), alternately "
          "an interface's and a VM's series.\n\n",
          2 * interfaces, values, hours, now[FEED_HOST].points);
  if (base_mib > 0)
    {
      GString *met = g_string_new (NULL), *over = g_string_new (NULL);

      for (guint f = 0; f < N_FEEDS; f++)
        g_string_append_printf (base_mib + now[f].rss / 1048576.0 < goal_mib ? met : over, "%s%s",
                                (base_mib + now[f].rss / 1048576.0 < goal_mib ? met : over)->len ? ", " : "",
                                feed_names[f]);
      printf ("Total: virtnetmond's RSS at start with %d VM interfaces (%.1f MiB, measured by "
              "`tests/bench/bench_base_rss.py`) plus the history's RSS growth after %d hours. "
              "Goal, under %.0f MiB in all: %s%s%s%s%s%s%s.\n\n",
              interfaces, base_mib, hours, goal_mib,
              met->len ? "**met** with the " : "", met->str, met->len ? " feed(s)" : "",
              met->len && over->len ? "; " : "",
              over->len ? "**not met** with the " : "", over->str, over->len ? " feed(s)" : "");
      g_string_free (met, TRUE);
      g_string_free (over, TRUE);
    }
  if (base_uss_mib > 0)
    {
      /* The history's growth is private memory: it adds to USS as it
       * adds to RSS. */
      printf ("Counted in USS (the pages no other process maps, what the host gets back when "
              "virtnetmond exits; %.1f MiB at start), the totals after %d hours are",
              base_uss_mib, hours);
      for (guint f = 0; f < N_FEEDS; f++)
        printf ("%s %s %.1f MiB", f ? (f + 1 == N_FEEDS ? " and" : ",") : "", feed_names[f],
                base_uss_mib + now[f].rss / 1048576.0);
      printf (".\n\n");
    }
  printf ("Precision, host feed, 20 VMs, every metric's %d h and 15 min points against the layout "
          "before: %" G_GUINT64_FORMAT " values, %.1f %% identical, mean error %.4f %% of the "
          "value where it differs, largest error %.2f of the bound (1/%d of the block's largest "
          "value).\n",
          hours, acc.points, 100.0 * acc.exact / acc.points, 100.0 * acc.mean_rel, acc.worst,
          2 * VNM_HISTORY_CODEC_LEVELS);
  return 0;
}
