/* test-sampler.c: rate math, counter wrap and reset, recreated devices. */
#include "config.h"

#include <string.h>

#include "sampler.h"

static void
test_delta (void)
{
  gboolean reset;

  g_assert_cmpuint (vnm_counter_delta (100, 150, &reset), ==, 50);
  g_assert_false (reset);
  /* 32-bit wrap: 0xfffffff0 -> 0x10 is 0x20 more. */
  g_assert_cmpuint (vnm_counter_delta (0xfffffff0u, 0x10, &reset), ==, 0x20);
  g_assert_false (reset);
  /* A 64-bit counter that went down was reset: no spike. */
  g_assert_cmpuint (vnm_counter_delta (G_GUINT64_CONSTANT (50000000000), 1000, &reset), ==, 0);
  g_assert_true (reset);
  /* A small counter that went down: a wrap would be implausibly large, so reset. */
  g_assert_cmpuint (vnm_counter_delta (1000000, 5, &reset), ==, 0);
  g_assert_true (reset);
}

static void
test_rates (void)
{
  VnmCounters a = { .rx_bytes = 1000, .tx_bytes = 0, .rx_packets = 10, .tx_errors = 1 };
  VnmCounters b = { .rx_bytes = 126000, .tx_bytes = 250000, .rx_packets = 110, .tx_errors = 3 };
  VnmRates r;

  vnm_rates_compute (&a, &b, 2 * G_USEC_PER_SEC, &r);
  g_assert_cmpfloat_with_epsilon (r.rx_bytes_ps, 62500.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.tx_bytes_ps, 125000.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.rx_pps, 50.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.tx_errors_ps, 1.0, 1e-9);
  vnm_rates_compute (&a, &b, 0, &r);
  g_assert_cmpfloat (r.rx_bytes_ps, ==, 0.0);
}

static VnmLink
make_link (gint ifindex, const gchar *name, guint64 rx_bytes)
{
  VnmLink l;

  memset (&l, 0, sizeof l);
  l.ifindex = ifindex;
  g_strlcpy (l.name, name, sizeof l.name);
  l.counters.rx_bytes = rx_bytes;
  return l;
}

static void
test_sampler_recreated_device (void)
{
  g_autoptr(VnmSampler) s = vnm_sampler_new ();
  g_autoptr(GArray) links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  VnmLink l;
  VnmRates r;

  l = make_link (5, "tap1", 1000000);
  g_array_append_val (links, l);
  vnm_sampler_update (s, links, 0);
  vnm_sampler_get (s, 5, &r);
  g_assert_cmpfloat (r.rx_bytes_ps, ==, 0.0);   /* first sight: no rate */

  g_array_index (links, VnmLink, 0).counters.rx_bytes = 3000000;
  vnm_sampler_update (s, links, G_USEC_PER_SEC);
  vnm_sampler_get (s, 5, &r);
  g_assert_cmpfloat_with_epsilon (r.rx_bytes_ps, 2000000.0, 1e-6);

  /* Same name, new ifindex, counters from zero: a new device, no spike
   * and no negative rate. */
  g_array_set_size (links, 0);
  l = make_link (9, "tap1", 500);
  g_array_append_val (links, l);
  vnm_sampler_update (s, links, 2 * G_USEC_PER_SEC);
  vnm_sampler_get (s, 9, &r);
  g_assert_cmpfloat (r.rx_bytes_ps, ==, 0.0);
  vnm_sampler_get (s, 5, &r);                   /* forgotten */
  g_assert_cmpfloat (r.rx_bytes_ps, ==, 0.0);

  /* Same ifindex, counters reset by the driver: no spike. */
  g_array_index (links, VnmLink, 0).counters.rx_bytes = 100;
  vnm_sampler_update (s, links, 3 * G_USEC_PER_SEC);
  vnm_sampler_get (s, 9, &r);
  g_assert_cmpfloat (r.rx_bytes_ps, ==, 0.0);
}

static void
test_sampler_observe (void)
{
  g_autoptr(VnmSampler) s = vnm_sampler_new ();
  g_autoptr(GArray) links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  VnmLink l = make_link (3, "veth0", 0);
  VnmRates r;

  /* A link that appeared between refreshes gets a rate at the next one. */
  vnm_sampler_observe (s, &l, G_USEC_PER_SEC / 2);
  l.counters.rx_bytes = 1000;
  g_array_append_val (links, l);
  vnm_sampler_update (s, links, G_USEC_PER_SEC);
  vnm_sampler_get (s, 3, &r);
  g_assert_cmpfloat_with_epsilon (r.rx_bytes_ps, 2000.0, 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/delta", test_delta);
  g_test_add_func ("/sampler/rates", test_rates);
  g_test_add_func ("/sampler/recreated-device", test_sampler_recreated_device);
  g_test_add_func ("/sampler/observe", test_sampler_observe);
  return g_test_run ();
}
