/* Unit tests: when the sampler attaches the latency programs, for how
 * long, and what it does when the kernel refuses them. The switch is a
 * recorder; time is the main loop's. */
#include "config.h"

#include <glib.h>

#include "latency-sampler.h"

typedef struct {
  gboolean on;
  guint attaches, detaches;
  gboolean refuse;
  gint64 on_since_us, on_total_us;   /* the recorder's own clock */
} Switch;

static gboolean
record_switch (gboolean on, gpointer user_data, GError **error)
{
  Switch *sw = user_data;
  gint64 now = g_get_monotonic_time ();

  if (on && sw->refuse)
    {
      g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_PERM, "refused by the test");
      return FALSE;
    }
  g_assert_cmpint (on, !=, sw->on);  /* never switched to what it is */
  if (on)
    {
      sw->attaches++;
      sw->on_since_us = now;
    }
  else
    {
      sw->detaches++;
      sw->on_total_us += now - sw->on_since_us;
    }
  sw->on = on;
  return TRUE;
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit, loop);
  g_main_loop_run (loop);
}

/* Sampled: a window of 20 ms every 100 ms, for 1 s: ten windows, the
 * programs attached about a fifth of the time, and the sampler's count
 * of attached time equals the switch's. */
static void
test_sampled_windows (void)
{
  Switch sw = { 0 };
  g_autoptr(VnmLatencySampler) s = vnm_latency_sampler_new (20, 100, record_switch, &sw);
  gint64 t0 = g_get_monotonic_time (), elapsed;
  gdouble share;

  g_assert_cmpstr (vnm_latency_mode_name (vnm_latency_sampler_mode (s)), ==, "off");
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_SAMPLED, NULL));
  g_assert_true (sw.on);                      /* the first window opens at once */
  g_assert_true (vnm_latency_sampler_attached (s));
  run_for (1010);
  vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_OFF, NULL);
  elapsed = g_get_monotonic_time () - t0;
  g_assert_false (sw.on);
  g_assert_cmpuint (sw.attaches, ==, sw.detaches);
  /* Ten windows on an idle machine; a loaded one delays timers. */
  g_assert_cmpuint (sw.attaches, >=, 5);
  g_assert_cmpuint (sw.attaches, <=, 11);
  g_assert_cmpuint (vnm_latency_sampler_windows (s), ==, sw.attaches);
  g_assert_cmpuint (vnm_latency_sampler_failed_windows (s), ==, 0);
  /* The same to well under a millisecond a window (each reads the clock). */
  g_assert_cmpint (ABS (vnm_latency_sampler_attached_us (s) - sw.on_total_us), <=, 1000 * sw.attaches);
  share = (gdouble) sw.on_total_us / elapsed;
  g_assert_cmpfloat (share, >, 0.08);
  g_assert_cmpfloat (share, <, 0.5);
  /* Off: nothing more happens. */
  run_for (250);
  g_assert_cmpuint (sw.attaches, ==, vnm_latency_sampler_windows (s));
  g_assert_false (sw.on);
}

/* Full: attached for good (no window ends it); back to sampled, the open
 * attachment ends as a window would; the attached time goes on counting. */
static void
test_full_and_back (void)
{
  Switch sw = { 0 };
  g_autoptr(VnmLatencySampler) s = vnm_latency_sampler_new (20, 100, record_switch, &sw);
  gint64 before;

  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_SAMPLED, NULL));
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_FULL, NULL));
  g_assert_cmpuint (sw.attaches, ==, 1);      /* already attached: not again */
  run_for (300);
  g_assert_true (sw.on);
  g_assert_cmpuint (sw.detaches, ==, 0);
  g_assert_cmpint (vnm_latency_sampler_attached_us (s), >=, 300 * 1000);
  /* Full again while full: nothing changes. */
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_FULL, NULL));
  g_assert_cmpuint (sw.attaches, ==, 1);
  before = vnm_latency_sampler_attached_us (s);
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_SAMPLED, NULL));
  run_for (50);
  g_assert_cmpuint (sw.detaches, ==, 1);      /* the window in progress ended */
  g_assert_false (sw.on);
  g_assert_cmpint (vnm_latency_sampler_attached_us (s) - before, <, 50 * 1000);
  g_assert_cmpint (ABS (vnm_latency_sampler_attached_us (s) - sw.on_total_us), <=, 1000);
}

/* Refused: sampled mode counts the failed windows and keeps trying each
 * period; full mode reports the error and tries again when asked. */
static void
test_refused (void)
{
  Switch sw = { .refuse = TRUE };
  g_autoptr(VnmLatencySampler) s = vnm_latency_sampler_new (20, 100, record_switch, &sw);
  g_autoptr(GError) error = NULL;

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*could not attach*refused by the test*");
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_SAMPLED, NULL));
  g_test_assert_expected_messages ();
  run_for (450);                              /* logged once, not each period */
  g_assert_cmpuint (vnm_latency_sampler_failed_windows (s), >=, 2);
  g_assert_cmpuint (vnm_latency_sampler_failed_windows (s), ==, vnm_latency_sampler_windows (s));
  g_assert_cmpint (vnm_latency_sampler_attached_us (s), ==, 0);

  g_assert_false (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_FULL, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM);
  g_assert_false (vnm_latency_sampler_attached (s));
  sw.refuse = FALSE;
  g_assert_true (vnm_latency_sampler_set_mode (s, VNM_LATENCY_MODE_FULL, NULL));
  g_assert_true (sw.on);
  /* Freeing detaches. */
  g_clear_pointer (&s, vnm_latency_sampler_free);
  g_assert_false (sw.on);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/latency-sampler/sampled-windows", test_sampled_windows);
  g_test_add_func ("/latency-sampler/full-and-back", test_full_and_back);
  g_test_add_func ("/latency-sampler/refused", test_refused);
  return g_test_run ();
}
