/* Unit tests of flows.c: the flow store (idle flows end, evicted flows are
 * kept as summaries, retention), aggregation and the topology. */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "flow-topology.h"

#define SEC (G_GINT64_CONSTANT (1000000))

static VnmFlowEntry
entry (guint32 ifindex, guint8 proto, const gchar *local, guint16 lport, const gchar *remote,
       guint16 rport, guint64 tx, guint64 rx, guint8 opener, guint64 last_ns)
{
  VnmFlowEntry e;
  guint32 l[4] = { 0 }, r[4] = { 0 };

  memset (&e, 0, sizeof e);
  e.key.ifindex = ifindex;
  e.key.family = 4;
  e.key.proto = proto;
  e.key.local_port = lport;
  e.key.remote_port = rport;
  /* IPv4-mapped */
  e.key.local_addr[10] = e.key.local_addr[11] = 0xff;
  e.key.remote_addr[10] = e.key.remote_addr[11] = 0xff;
  g_assert_cmpint (sscanf (local, "%u.%u.%u.%u", &l[0], &l[1], &l[2], &l[3]), ==, 4);
  g_assert_cmpint (sscanf (remote, "%u.%u.%u.%u", &r[0], &r[1], &r[2], &r[3]), ==, 4);
  for (int i = 0; i < 4; i++)
    {
      e.key.local_addr[12 + i] = l[i];
      e.key.remote_addr[12 + i] = r[i];
    }
  e.flow.bytes[VNM_DIR_OUT] = tx;
  e.flow.bytes[VNM_DIR_IN] = rx;
  e.flow.packets[VNM_DIR_OUT] = tx ? 1 : 0;
  e.flow.packets[VNM_DIR_IN] = rx ? 1 : 0;
  e.flow.opener = opener;
  e.flow.first_ns = last_ns;
  e.flow.last_ns = last_ns;
  return e;
}

static void
test_store_idle_and_evicted (void)
{
  g_autoptr(VnmFlowStore) s = vnm_flow_store_new (60 * SEC, 900 * SEC, 100);
  g_autoptr(GArray) read = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GArray) del = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  g_autoptr(GPtrArray) recs = NULL;
  VnmFlowEntry a = entry (5, IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, 100, 200,
                          VNM_OPENER_VM, 1000 * SEC * 1000);
  VnmFlowEntry b = entry (5, IPPROTO_UDP, "10.0.0.1", 5353, "10.0.0.9", 53, 10, 20,
                          VNM_OPENER_VM, 1000 * SEC * 1000);

  /* t = 1000 s: both active. */
  g_array_append_val (read, a);
  g_array_append_val (read, b);
  vnm_flow_store_update (s, read, 1000 * SEC, del);
  g_assert_cmpuint (del->len, ==, 0);
  g_assert_cmpuint (vnm_flow_store_active (s, 5), ==, 2);

  /* t = 1030 s: b vanished from the kernel table (LRU eviction): kept as a
   * summary, not counted as removed by the daemon. */
  g_array_set_size (read, 0);
  g_array_append_val (read, a);
  vnm_flow_store_update (s, read, 1030 * SEC, del);
  g_assert_cmpuint (vnm_flow_store_active (s, 5), ==, 1);
  g_assert_cmpuint (vnm_flow_store_removed (s, 5), ==, 0);
  recs = vnm_flow_store_records (s, NULL);
  g_assert_cmpuint (recs->len, ==, 2);
  g_clear_pointer (&recs, g_ptr_array_unref);

  /* t = 1061 s: a idle for 61 s: ends, to be deleted from the kernel. */
  vnm_flow_store_update (s, read, 1061 * SEC, del);
  g_assert_cmpuint (del->len, ==, 1);
  g_assert_cmpint (memcmp (&g_array_index (del, struct vnm_flow_key, 0), &a.key, sizeof a.key), ==, 0);
  g_assert_cmpuint (vnm_flow_store_removed (s, 5), ==, 1);
  g_assert_cmpuint (vnm_flow_store_active (s, 5), ==, 0);
  /* The summaries say which ended for want of room (IPFIX: flowEndReason 5). */
  recs = vnm_flow_store_records (s, NULL);
  g_assert_cmpuint (recs->len, ==, 2);
  for (guint i = 0; i < recs->len; i++)
    {
      const VnmFlowRecord *r = g_ptr_array_index (recs, i);
      g_assert_true (r->ended);
      g_assert_cmpint (r->evicted, ==, r->key.proto == IPPROTO_UDP);
    }
  g_clear_pointer (&recs, g_ptr_array_unref);

  /* t = 2000 s: past retention, the summaries are gone. */
  g_array_set_size (read, 0);
  vnm_flow_store_update (s, read, 2000 * SEC, del);
  recs = vnm_flow_store_records (s, NULL);
  g_assert_cmpuint (recs->len, ==, 0);
}

static void
test_store_end_ifindex (void)
{
  g_autoptr(VnmFlowStore) s = vnm_flow_store_new (60 * SEC, 900 * SEC, 1);
  g_autoptr(GArray) read = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GArray) del = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  g_autoptr(GPtrArray) recs = NULL;
  g_autoptr(GHashTable) only7 = g_hash_table_new (NULL, NULL);
  VnmFlowEntry a = entry (7, IPPROTO_TCP, "10.0.0.1", 1, "10.0.0.2", 2, 1, 1, 1, SEC * 1000);
  VnmFlowEntry b = entry (7, IPPROTO_TCP, "10.0.0.1", 3, "10.0.0.2", 4, 1, 1, 1, SEC * 1000);
  VnmFlowEntry c = entry (8, IPPROTO_TCP, "10.0.0.5", 3, "10.0.0.2", 4, 1, 1, 1, SEC * 1000);

  g_array_append_val (read, a);
  g_array_append_val (read, b);
  g_array_append_val (read, c);
  vnm_flow_store_update (s, read, SEC, del);
  vnm_flow_store_end_ifindex (s, 7, 2 * SEC, del);
  g_assert_cmpuint (del->len, ==, 2);
  /* At most one summary is kept: the oldest goes, and is counted. */
  g_assert_cmpuint (vnm_flow_store_summaries_dropped (s), ==, 1);
  g_hash_table_add (only7, GINT_TO_POINTER (7));
  recs = vnm_flow_store_records (s, only7);
  g_assert_cmpuint (recs->len, ==, 1);
  g_assert_true (((VnmFlowRecord *) recs->pdata[0])->ended);
}

/* A domain's flow table size: the least recently seen flows of its
 * interfaces beyond the limit end; other domains' flows are untouched. */
static void
test_store_limit (void)
{
  g_autoptr(VnmFlowStore) s = vnm_flow_store_new (60 * SEC, 900 * SEC, 100);
  g_autoptr(GArray) read = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GArray) del = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  g_autoptr(GHashTable) dom = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) recs = NULL;
  guint ended_ports = 0;

  /* Domain with ifindexes 3 and 4: five flows seen at 10..14 s; another
   * domain's ifindex 9 has one old flow. */
  for (guint i = 0; i < 5; i++)
    {
      VnmFlowEntry e = entry (i < 3 ? 3 : 4, IPPROTO_UDP, "10.0.0.1", 1000 + i, "10.0.0.2", 53,
                              1, 1, VNM_OPENER_VM, (10 + i) * SEC * 1000);
      g_array_append_val (read, e);
    }
  {
    VnmFlowEntry other = entry (9, IPPROTO_UDP, "10.0.0.7", 1, "10.0.0.2", 53, 1, 1,
                                VNM_OPENER_VM, SEC * 1000);
    g_array_append_val (read, other);
  }
  vnm_flow_store_update (s, read, 20 * SEC, del);
  g_assert_cmpuint (del->len, ==, 0);
  g_hash_table_add (dom, GINT_TO_POINTER (3));
  g_hash_table_add (dom, GINT_TO_POINTER (4));

  g_assert_cmpuint (vnm_flow_store_limit (s, dom, 5, 20 * SEC, del), ==, 0);
  g_assert_cmpuint (vnm_flow_store_limit (s, dom, 2, 20 * SEC, del), ==, 3);
  g_assert_cmpuint (del->len, ==, 3);
  for (guint i = 0; i < del->len; i++)
    ended_ports |= 1u << (g_array_index (del, struct vnm_flow_key, i).local_port - 1000);
  /* The three least recently seen: ports 1000..1002, all on ifindex 3. */
  g_assert_cmpuint (ended_ports, ==, 0x7);
  g_assert_cmpuint (vnm_flow_store_active (s, 3), ==, 0);
  g_assert_cmpuint (vnm_flow_store_active (s, 4), ==, 2);
  g_assert_cmpuint (vnm_flow_store_active (s, 9), ==, 1);
  /* Not removed by the daemon's idle rule: they count as evicted. */
  g_assert_cmpuint (vnm_flow_store_removed (s, 3), ==, 0);
  g_hash_table_add (dom, GINT_TO_POINTER (9));
  recs = vnm_flow_store_records (s, dom);
  g_assert_cmpuint (recs->len, ==, 6);
}

/* What the daemon keeps of its own (summaries, removed counts) survives a
 * restart through save/load; a file of another layout is refused. */
static void
test_store_save_load (void)
{
  g_autoptr(VnmFlowStore) s = vnm_flow_store_new (60 * SEC, 900 * SEC, 100);
  g_autoptr(VnmFlowStore) again = vnm_flow_store_new (60 * SEC, 900 * SEC, 100);
  g_autoptr(GArray) read = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GArray) del = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  g_autoptr(GPtrArray) recs = NULL;
  g_autoptr(GBytes) saved = NULL;
  g_autoptr(GBytes) cut = NULL;
  VnmFlowEntry a = entry (5, IPPROTO_TCP, "10.0.0.1", 1, "10.0.0.2", 2, 111, 222, 1, 10 * SEC * 1000);
  VnmFlowEntry b = entry (5, IPPROTO_TCP, "10.0.0.1", 3, "10.0.0.2", 4, 5, 6, 1, 10 * SEC * 1000);

  g_array_append_val (read, a);
  g_array_append_val (read, b);
  vnm_flow_store_update (s, read, 20 * SEC, del);
  /* a seen again at 70 s; b idle past the timeout at 71 s: removed. */
  g_array_index (read, VnmFlowEntry, 0).flow.last_ns = 70 * SEC * 1000;
  vnm_flow_store_update (s, read, 71 * SEC, del);
  g_assert_cmpuint (vnm_flow_store_removed (s, 5), ==, 1);

  saved = vnm_flow_store_save (s);
  g_assert_true (vnm_flow_store_load (again, saved, 72 * SEC));
  g_assert_cmpuint (vnm_flow_store_removed (again, 5), ==, 1);
  recs = vnm_flow_store_records (again, NULL);
  g_assert_cmpuint (recs->len, ==, 1);   /* the summary; active ones are the kernel's */
  g_assert_true (((VnmFlowRecord *) recs->pdata[0])->ended);
  g_assert_cmpuint (((VnmFlowRecord *) recs->pdata[0])->flow.bytes[VNM_DIR_OUT], ==, 5);

  cut = g_bytes_new_from_bytes (saved, 0, g_bytes_get_size (saved) - 1);
  g_assert_false (vnm_flow_store_load (again, cut, 72 * SEC));
}

static VnmFlowClassTotals
class_totals (VnmFlowStore *s, gint ifindex)
{
  g_autoptr(GHashTable) all = vnm_flow_store_class_totals (s);
  VnmFlowClassTotals *t = g_hash_table_lookup (all, GINT_TO_POINTER (ifindex));
  VnmFlowClassTotals out = { 0 };

  if (t)
    out = *t;
  return out;
}

/* The per-protocol totals /metrics exports only grow, whatever ends the
 * flows: idleness, the LRU table (also when the same 5-tuple starts again
 * between two reads), the domain's limit, the device going; they start
 * again only when the probe does. */
static void
test_store_class_totals (void)
{
  g_autoptr(VnmFlowStore) s = vnm_flow_store_new (60 * SEC, 900 * SEC, 1);
  g_autoptr(GArray) read = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GArray) del = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  g_autoptr(GHashTable) dom = g_hash_table_new (NULL, NULL);
  VnmFlowEntry tcp = entry (5, IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, 100, 200,
                            VNM_OPENER_VM, 10 * SEC * 1000);
  VnmFlowEntry udp = entry (5, IPPROTO_UDP, "10.0.0.1", 5353, "10.0.0.9", 53, 10, 20,
                            VNM_OPENER_REMOTE, 10 * SEC * 1000);
  VnmFlowEntry icmp6 = entry (5, IPPROTO_ICMPV6, "10.0.0.1", 7, "10.0.0.9", 0, 64, 64,
                              VNM_OPENER_VM, 10 * SEC * 1000);
  VnmFlowEntry other = entry (6, IPPROTO_TCP, "10.0.0.3", 1, "10.0.0.2", 2, 1, 1, VNM_OPENER_VM,
                              10 * SEC * 1000);
  VnmFlowClassTotals t;

  g_assert_cmpint (vnm_flow_class (IPPROTO_ICMPV6), ==, VNM_FLOW_CLASS_ICMP);
  g_assert_cmpstr (vnm_flow_class_name (vnm_flow_class (IPPROTO_SCTP)), ==, "other");

  g_array_append_val (read, tcp);
  g_array_append_val (read, udp);
  g_array_append_val (read, icmp6);
  g_array_append_val (read, other);
  vnm_flow_store_update (s, read, 20 * SEC, del);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 100);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_IN], ==, 200);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_ICMP][VNM_DIR_OUT], ==, 64);
  g_assert_cmpuint (t.packets[VNM_FLOW_CLASS_UDP][VNM_DIR_IN], ==, 1);
  g_assert_cmpuint (t.started[VNM_FLOW_CLASS_UDP][VNM_OPENER_REMOTE], ==, 1);
  g_assert_cmpuint (t.active[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 1);
  g_assert_cmpuint (class_totals (s, 6).bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 1);

  /* The TCP flow grows; the UDP flow is evicted by the LRU table. */
  g_array_set_size (read, 0);
  tcp.flow.bytes[VNM_DIR_OUT] = 1000;
  tcp.flow.last_ns = 30 * SEC * 1000;
  g_array_append_val (read, tcp);
  g_array_append_val (read, icmp6);
  other.flow.last_ns = 30 * SEC * 1000;
  g_array_append_val (read, other);
  vnm_flow_store_update (s, read, 31 * SEC, del);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 1000);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_UDP][VNM_DIR_OUT], ==, 10);
  g_assert_cmpuint (t.evicted[VNM_FLOW_CLASS_UDP][VNM_OPENER_REMOTE], ==, 1);
  g_assert_cmpuint (t.active[VNM_FLOW_CLASS_UDP][VNM_OPENER_REMOTE], ==, 0);
  g_assert_cmpuint (t.started[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 1);

  /* The TCP 5-tuple was evicted and started again between two reads: the
   * first flow's bytes stay, the new one's add. */
  g_array_set_size (read, 0);
  tcp.flow.bytes[VNM_DIR_OUT] = 7;
  tcp.flow.first_ns = tcp.flow.last_ns = 40 * SEC * 1000;
  g_array_append_val (read, tcp);
  g_array_append_val (read, icmp6);
  g_array_append_val (read, other);
  vnm_flow_store_update (s, read, 41 * SEC, del);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 1007);
  g_assert_cmpuint (t.started[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 2);
  g_assert_cmpuint (t.evicted[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 1);
  g_assert_cmpuint (t.active[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 1);

  /* ICMP idle past the timeout (and the summaries are capped at one, so
   * summaries are dropped): ended, not evicted, its bytes stay. */
  g_array_set_size (read, 0);
  g_array_append_val (read, tcp);
  g_array_append_val (read, icmp6);
  g_array_append_val (read, other);
  vnm_flow_store_update (s, read, 75 * SEC, del);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_ICMP][VNM_DIR_IN], ==, 64);
  g_assert_cmpuint (t.evicted[VNM_FLOW_CLASS_ICMP][VNM_OPENER_VM], ==, 0);
  g_assert_cmpuint (t.active[VNM_FLOW_CLASS_ICMP][VNM_OPENER_VM], ==, 0);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 1007);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_UDP][VNM_DIR_OUT], ==, 10);

  /* The domain's limit and the device going end flows: counts stay. */
  g_hash_table_add (dom, GINT_TO_POINTER (5));
  g_assert_cmpuint (vnm_flow_store_limit (s, dom, 0, 75 * SEC, del), ==, 1);
  g_assert_cmpuint (class_totals (s, 5).evicted[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 2);
  vnm_flow_store_end_ifindex (s, 6, 76 * SEC, del);
  g_assert_cmpuint (class_totals (s, 6).bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_IN], ==, 1);
  g_assert_cmpuint (class_totals (s, 6).evicted[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 0);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 1007);

  /* The probe attaches afresh: the device's totals start again. */
  vnm_flow_store_reset_ifindex (s, 5);
  t = class_totals (s, 5);
  g_assert_cmpuint (t.bytes[VNM_FLOW_CLASS_TCP][VNM_DIR_OUT], ==, 0);
  g_assert_cmpuint (t.started[VNM_FLOW_CLASS_TCP][VNM_OPENER_VM], ==, 0);
}

static GPtrArray *
records_of (GArray *entries, GPtrArray *keep)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < entries->len; i++)
    {
      VnmFlowRecord *r = g_new0 (VnmFlowRecord, 1);
      r->key = g_array_index (entries, VnmFlowEntry, i).key;
      r->flow = g_array_index (entries, VnmFlowEntry, i).flow;
      g_ptr_array_add (keep, r);
      g_ptr_array_add (out, r);
    }
  return out;
}

static void
test_aggregate (void)
{
  g_autoptr(GArray) es = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) recs = NULL;
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  VnmFlowQuery q;
  VnmFlowEntry e;
  const VnmFlowRow *r;

  e = entry (1, IPPROTO_TCP, "10.0.0.1", 40001, "192.0.2.7", 443, 100, 5000, VNM_OPENER_VM, 1);
  e.flow.conns_opened = e.flow.conns_closed = 1;
  e.flow.rtt_remote = (struct vnm_rtt) { .sum_us = 3000, .jitter_sum_us = 200, .count = 3,
                                         .min_us = 900, .max_us = 1100, .last_us = 1000 };
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 40002, "192.0.2.7", 443, 50, 7000, VNM_OPENER_VM, 2);
  e.flow.conns_opened = 1;
  e.flow.retrans[VNM_DIR_OUT] = 4;
  e.flow.rtt_remote = (struct vnm_rtt) { .sum_us = 3000, .jitter_sum_us = 100, .count = 1,
                                         .min_us = 3000, .max_us = 3000, .last_us = 3000 };
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 22, "198.51.100.1", 51000, 9000, 300, VNM_OPENER_REMOTE, 3);
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_UDP, "10.0.0.1", 5000, "192.0.2.7", 53, 10, 10, VNM_OPENER_VM, 4);
  g_array_append_val (es, e);
  recs = records_of (es, keep);

  /* Default: by remote address and port; sorted by bytes. */
  g_assert_true (vnm_flow_query_parse (&q, NULL, NULL, NULL, NULL, &error));
  rows = vnm_flow_aggregate (recs, &q);
  g_assert_cmpuint (rows->len, ==, 3);
  r = &g_array_index (rows, VnmFlowRow, 0);
  g_assert_cmpstr (r->remote_ip, ==, "192.0.2.7");
  g_assert_cmpint (r->remote_port, ==, 443);
  g_assert_cmpint (r->local_port, ==, -1);           /* two local ports: aggregated away */
  g_assert_cmpstr (r->local_ip, ==, "10.0.0.1");
  g_assert_cmpuint (r->tx_bytes, ==, 150);
  g_assert_cmpuint (r->rx_bytes, ==, 12000);
  g_assert_cmpuint (r->conns_opened, ==, 2);
  g_assert_cmpuint (r->conns_closed, ==, 1);
  g_assert_cmpuint (r->retrans_tx, ==, 4);
  g_assert_cmpuint (r->rtt.count, ==, 4);
  g_assert_cmpuint (r->rtt.sum_us, ==, 6000);         /* avg 1500 us, weighted by samples */
  g_assert_cmpuint (r->rtt.min_us, ==, 900);
  g_assert_cmpuint (r->rtt.max_us, ==, 3000);
  g_assert_cmpuint (r->rtt.jitter_count, ==, 2);      /* (3-1) + (1-1) differences */
  g_assert_cmpint (r->direction, ==, VNM_OPENER_VM);
  g_assert_cmpuint (r->flows, ==, 2);
  g_clear_pointer (&rows, g_array_unref);

  /* Incoming TCP only. */
  g_assert_true (vnm_flow_query_parse (&q, "flow", "remote", "tcp", "conns", &error));
  rows = vnm_flow_aggregate (recs, &q);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpint (g_array_index (rows, VnmFlowRow, 0).local_port, ==, 22);
  g_clear_pointer (&rows, g_array_unref);

  /* By remote: protocols mix; top 1 by retransmissions. */
  g_assert_true (vnm_flow_query_parse (&q, "remote", NULL, NULL, "retrans", &error));
  q.top = 1;
  rows = vnm_flow_aggregate (recs, &q);
  g_assert_cmpuint (rows->len, ==, 1);
  r = &g_array_index (rows, VnmFlowRow, 0);
  g_assert_cmpstr (r->remote_ip, ==, "192.0.2.7");
  g_assert_cmpint (r->proto, ==, -1);
  g_assert_cmpint (r->remote_port, ==, -1);
  g_clear_pointer (&rows, g_array_unref);

  /* Bad words are refused with the word in the message. */
  g_assert_false (vnm_flow_query_parse (&q, "sideways", NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "sideways"));
  g_clear_error (&error);
  g_assert_false (vnm_flow_query_parse (&q, NULL, "up", NULL, NULL, &error));
  g_clear_error (&error);
  g_assert_false (vnm_flow_query_parse (&q, NULL, NULL, "sctp", NULL, &error));
  g_clear_error (&error);
  g_assert_false (vnm_flow_query_parse (&q, NULL, NULL, NULL, "speed", &error));
}

/* An IPv6 flow: addresses as text. */
static VnmFlowEntry
entry6 (guint32 ifindex, guint8 proto, const gchar *local, const gchar *remote, guint64 tx,
        guint64 rx)
{
  VnmFlowEntry e;
  guint8 family;

  memset (&e, 0, sizeof e);
  e.key.ifindex = ifindex;
  e.key.family = 6;
  e.key.proto = proto;
  g_assert_true (vnm_addr_parse (local, &family, e.key.local_addr));
  g_assert_true (vnm_addr_parse (remote, &family, e.key.remote_addr));
  e.flow.bytes[VNM_DIR_OUT] = tx;
  e.flow.bytes[VNM_DIR_IN] = rx;
  e.flow.packets[VNM_DIR_OUT] = tx ? 1 : 0;
  e.flow.packets[VNM_DIR_IN] = rx ? 1 : 0;
  e.flow.last_ns = e.flow.first_ns = 1;
  return e;
}

static void
add_vm_addr (VnmPeerNames *peers, const gchar *text, const gchar *uuid, const gchar *name)
{
  guint8 family, addr[16];

  g_assert_true (vnm_addr_parse (text, &family, addr));
  vnm_peer_names_add_vm (peers, family, addr, uuid, name);
}

static void
test_topology (void)
{
  g_autoptr(GArray) es = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) recs = NULL;
  g_autoptr(GHashTable) owner = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(VnmTopology) topo = NULL;
  g_autoptr(VnmPeerNames) peers = vnm_peer_names_new ();
  VnmFlowEntry e;
  guint vm_edges = 0, remote_edges = 0, host_edges = 0;
  guint8 family, addr[16];

  /* VM a (ifindex 1, 10.0.0.1) sends 1000 to VM b (ifindex 2, 10.0.0.2);
   * both taps see it. a also talks to 192.0.2.9. */
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 1000, "10.0.0.2", 80, 1000, 50, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  e = entry (2, IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 1000, 50, 1000, VNM_OPENER_REMOTE, 1);
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_UDP, "10.0.0.1", 5, "192.0.2.9", 53, 30, 70, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  /* IPv6 link-local both ways between a and b: the same edge. */
  e = entry6 (1, IPPROTO_ICMPV6, "fe80::5054:ff:fe00:1", "fe80::5054:ff:fe00:2", 64, 64);
  g_array_append_val (es, e);
  /* Noise that is no conversation: a's router solicitation, neighbour
   * solicitations to a solicited-node group, b receiving them through the
   * bridge (its local side multicast), DAD from ::, DHCP discover from
   * 0.0.0.0 to 255.255.255.255, a directed broadcast. */
  e = entry6 (1, IPPROTO_ICMPV6, "fe80::5054:ff:fe00:1", "ff02::2", 16, 0);
  g_array_append_val (es, e);
  e = entry6 (2, IPPROTO_ICMPV6, "ff02::1:ff00:2", "fe80::5054:ff:fe00:1", 0, 32);
  g_array_append_val (es, e);
  e = entry6 (2, IPPROTO_ICMPV6, "::", "ff02::1:ff00:2", 24, 0);
  g_array_append_val (es, e);
  e = entry (2, IPPROTO_UDP, "0.0.0.0", 68, "255.255.255.255", 67, 300, 0, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_UDP, "10.0.0.1", 137, "10.0.0.255", 137, 50, 0, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  /* The host's bridge address. */
  e = entry (2, IPPROTO_UDP, "10.0.0.2", 40000, "10.0.0.254", 53, 40, 80, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  recs = records_of (es, keep);
  g_hash_table_insert (owner, GINT_TO_POINTER (1), "uuid-a");
  g_hash_table_insert (owner, GINT_TO_POINTER (2), "uuid-b");
  g_hash_table_insert (names, "uuid-a", "vm-a");
  g_hash_table_insert (names, "uuid-b", "vm-b");
  add_vm_addr (peers, "10.0.0.1", "uuid-a", "vm-a");
  add_vm_addr (peers, "fe80::5054:ff:fe00:1", "uuid-a", "vm-a");
  add_vm_addr (peers, "10.0.0.2", "uuid-b", "vm-b");
  add_vm_addr (peers, "fe80::5054:ff:fe00:2", "uuid-b", "vm-b");
  g_assert_true (vnm_addr_parse ("10.0.0.254", &family, addr));
  vnm_peer_names_add_host (peers, family, addr, "br0");
  g_assert_true (vnm_addr_parse ("10.0.0.255", &family, addr));
  vnm_peer_names_add_broadcast (peers, family, addr);

  topo = vnm_flow_topology (recs, owner, names, peers);
  g_assert_cmpuint (topo->nodes->len, ==, 4);   /* a, b, 192.0.2.9, the host */
  for (guint i = 0; i < topo->nodes->len; i++)
    {
      const VnmTopoNode *n = g_ptr_array_index (topo->nodes, i);
      if (g_str_equal (n->id, "uuid-a"))
        {
          g_assert_cmpstr (n->label, ==, "vm-a");
          g_assert_cmpuint (n->nonunicast_flows, ==, 2);
          g_assert_cmpuint (n->nonunicast_tx_bytes, ==, 66);
        }
      else if (g_str_equal (n->id, "uuid-b"))
        {
          g_assert_cmpuint (n->nonunicast_flows, ==, 3);
          g_assert_cmpuint (n->nonunicast_rx_bytes, ==, 32);
        }
      else if (g_str_equal (n->id, VNM_TOPO_HOST_ID))
        g_assert_cmpint (n->kind, ==, VNM_PEER_HOST);
      else
        {
          g_assert_cmpstr (n->id, ==, "192.0.2.9");
          g_assert_cmpint (n->kind, ==, VNM_PEER_REMOTE);
        }
    }
  for (guint i = 0; i < topo->edges->len; i++)
    {
      const VnmTopoEdge *edge = g_ptr_array_index (topo->edges, i);
      if (g_str_equal (edge->target, "uuid-b"))
        {
          vm_edges++;
          g_assert_cmpstr (edge->source, ==, "uuid-a");
          g_assert_cmpuint (edge->bytes_to_target, ==, 1000 + 64);  /* once, not twice */
          g_assert_cmpuint (edge->bytes_to_source, ==, 50 + 64);
        }
      else if (g_str_equal (edge->target, VNM_TOPO_HOST_ID))
        {
          host_edges++;
          g_assert_cmpstr (edge->source, ==, "uuid-b");
          g_assert_cmpuint (edge->bytes_to_target, ==, 40);
        }
      else
        {
          remote_edges++;
          g_assert_cmpstr (edge->target, ==, "192.0.2.9");
          g_assert_cmpuint (edge->bytes_to_target, ==, 30);
        }
    }
  g_assert_cmpuint (vm_edges, ==, 1);
  g_assert_cmpuint (remote_edges, ==, 1);
  g_assert_cmpuint (host_edges, ==, 1);
}

static void
test_active_closed (void)
{
  g_autoptr(GArray) es = g_array_new (FALSE, FALSE, sizeof (VnmFlowEntry));
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) recs = NULL;
  g_autoptr(GArray) rows = NULL;
  VnmFlowQuery q;
  VnmFlowEntry e;

  /* One closed TCP connection, one reset, one open, one UDP flow. */
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 1000, "192.0.2.1", 80, 10, 10, VNM_OPENER_VM, 1);
  e.flow.conns_opened = e.flow.conns_closed = 1;
  e.flow.tcp_state = VNM_TCP_ESTAB | VNM_TCP_FIN_IN | VNM_TCP_FIN_OUT | VNM_TCP_CLOSED;
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 1001, "192.0.2.1", 80, 10, 10, VNM_OPENER_VM, 1);
  e.flow.tcp_state = VNM_TCP_ESTAB | VNM_TCP_RESET;
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_TCP, "10.0.0.1", 1002, "192.0.2.1", 80, 10, 10, VNM_OPENER_VM, 1);
  e.flow.tcp_state = VNM_TCP_ESTAB;
  g_array_append_val (es, e);
  e = entry (1, IPPROTO_UDP, "10.0.0.1", 1003, "192.0.2.1", 53, 10, 10, VNM_OPENER_VM, 1);
  g_array_append_val (es, e);
  recs = records_of (es, keep);
  g_assert_true (vnm_flow_query_parse (&q, "flow", NULL, NULL, NULL, NULL));
  rows = vnm_flow_aggregate (recs, &q);
  g_assert_cmpuint (rows->len, ==, 4);
  for (guint i = 0; i < rows->len; i++)
    {
      const VnmFlowRow *r = &g_array_index (rows, VnmFlowRow, i);
      g_assert_cmpuint (r->active, ==, r->local_port >= 1002 ? 1 : 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flows/store/idle-and-evicted", test_store_idle_and_evicted);
  g_test_add_func ("/flows/store/end-ifindex", test_store_end_ifindex);
  g_test_add_func ("/flows/store/limit", test_store_limit);
  g_test_add_func ("/flows/store/save-load", test_store_save_load);
  g_test_add_func ("/flows/store/class-totals", test_store_class_totals);
  g_test_add_func ("/flows/aggregate", test_aggregate);
  g_test_add_func ("/flows/topology", test_topology);
  g_test_add_func ("/flows/aggregate/active-closed", test_active_closed);
  return g_test_run ();
}
