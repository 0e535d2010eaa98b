/* Unit tests of conn-states.c and service-table.c: TCP states from the
 * probe's state bits, handshake failures per remote, and the services a
 * VM exposes (counted once as flows grow, bounded, forgotten with the
 * domain). */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "conn-states.h"
#include "service-table.h"

static VnmFlowRecord
rec (guint8 proto, guint16 lport, guint8 remote_last, guint16 rport, guint8 opener, guint32 state)
{
  VnmFlowRecord r;

  memset (&r, 0, sizeof r);
  r.key.ifindex = 7;
  r.key.family = 4;
  r.key.proto = proto;
  r.key.local_port = lport;
  r.key.remote_port = rport;
  r.key.local_addr[10] = r.key.local_addr[11] = 0xff;
  r.key.local_addr[12] = 10, r.key.local_addr[15] = 11;
  r.key.remote_addr[10] = r.key.remote_addr[11] = 0xff;
  r.key.remote_addr[12] = 10, r.key.remote_addr[15] = remote_last;
  r.flow.opener = opener;
  r.flow.tcp_state = state;
  r.flow.first_ns = 1000;
  r.flow.last_ns = 2000;
  r.flow.packets[0] = r.flow.packets[1] = 1;
  return r;
}

static void
test_states (void)
{
  VnmFlowRecord r = rec (IPPROTO_TCP, 40000, 2, 80, VNM_OPENER_VM, VNM_TCP_SYN_OUT);
  VnmConnStates s = { 0 };

  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_SYN_SENT);
  vnm_conn_states_add (&s, &r);
  r.flow.tcp_state |= VNM_TCP_SYN_IN | VNM_TCP_ESTAB;
  r.flow.synack_ns = 5;        /* the final ACK has not passed */
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_SYN_RECEIVED);
  r.flow.synack_ns = 0;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_ESTABLISHED);
  r.flow.tcp_state |= VNM_TCP_FIN_IN;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_CLOSING);
  r.flow.tcp_state |= VNM_TCP_FIN_OUT | VNM_TCP_CLOSED;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_CLOSED);
  r.flow.tcp_state |= VNM_TCP_RESET;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_RESET);
  /* Running before the probe: no SYN, packets seen. */
  r.flow.tcp_state = VNM_TCP_SEQ_OUT;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, VNM_CONN_ESTABLISHED);
  r.key.proto = IPPROTO_UDP;
  g_assert_cmpint (vnm_conn_state_of (&r), ==, -1);
  /* Ended flows are not counted. */
  r = rec (IPPROTO_TCP, 40001, 2, 80, VNM_OPENER_REMOTE, VNM_TCP_SYN_IN);
  r.ended = TRUE;
  vnm_conn_states_add (&s, &r);
  g_assert_cmpuint (s.count[VNM_OPENER_VM][VNM_CONN_SYN_SENT], ==, 1);
  g_assert_cmpuint (s.count[VNM_OPENER_REMOTE][VNM_CONN_SYN_SENT], ==, 0);
  g_assert_cmpint (vnm_conn_state_parse ("closing"), ==, VNM_CONN_CLOSING);
  g_assert_cmpint (vnm_conn_state_parse ("half-open"), ==, -1);
}

static void
test_failures (void)
{
  VnmFlowRecord r[4] = {
    rec (IPPROTO_TCP, 40000, 2, 9009, VNM_OPENER_VM, VNM_TCP_SYN_OUT | VNM_TCP_RESET | VNM_TCP_REFUSED),
    rec (IPPROTO_TCP, 40001, 2, 9009, VNM_OPENER_VM, VNM_TCP_SYN_OUT | VNM_TCP_RESET | VNM_TCP_REFUSED),
    rec (IPPROTO_TCP, 8099, 3, 51000, VNM_OPENER_REMOTE, VNM_TCP_SYN_IN | VNM_TCP_SYN_TIMEOUT),
    rec (IPPROTO_TCP, 40002, 2, 80, VNM_OPENER_VM, VNM_TCP_SYN_OUT | VNM_TCP_ESTAB),
  };
  g_autoptr(GPtrArray) records = g_ptr_array_new ();
  g_autoptr(GArray) f = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    g_ptr_array_add (records, &r[i]);
  f = vnm_handshake_failures (records);
  g_assert_cmpuint (f->len, ==, 2);
  g_assert_cmpstr (g_array_index (f, VnmHandshakeFailure, 0).remote_ip, ==, "10.0.0.2");
  g_assert_cmpint (g_array_index (f, VnmHandshakeFailure, 0).remote_port, ==, 9009);
  g_assert_cmpint (g_array_index (f, VnmHandshakeFailure, 0).local_port, ==, -1);
  g_assert_cmpuint (g_array_index (f, VnmHandshakeFailure, 0).refused, ==, 2);
  g_assert_cmpint (g_array_index (f, VnmHandshakeFailure, 1).local_port, ==, 8099);
  g_assert_cmpint (g_array_index (f, VnmHandshakeFailure, 1).remote_port, ==, -1);
  g_assert_cmpuint (g_array_index (f, VnmHandshakeFailure, 1).timed_out, ==, 1);
}

static const VnmService *
find (VnmServiceTable *t, const gchar *uuid, guint16 port)
{
  g_autoptr(GPtrArray) l = vnm_service_table_list (t, uuid);

  for (guint i = 0; i < l->len; i++)
    if (((const VnmService *) g_ptr_array_index (l, i))->port == port)
      return g_ptr_array_index (l, i);
  return NULL;
}

static void
test_services (void)
{
  g_autoptr(VnmServiceTable) t = vnm_service_table_new (2, 2);
  VnmFlowRecord a = rec (IPPROTO_TCP, 80, 2, 50000, VNM_OPENER_REMOTE,
                         VNM_TCP_SYN_IN | VNM_TCP_SYN_OUT | VNM_TCP_ESTAB);
  VnmFlowRecord b = rec (IPPROTO_TCP, 80, 3, 50001, VNM_OPENER_REMOTE,
                         VNM_TCP_SYN_IN | VNM_TCP_SYN_OUT | VNM_TCP_ESTAB);
  VnmFlowRecord c = rec (IPPROTO_TCP, 80, 4, 50002, VNM_OPENER_REMOTE,
                         VNM_TCP_SYN_IN | VNM_TCP_SYN_OUT | VNM_TCP_ESTAB);
  VnmFlowRecord refused = rec (IPPROTO_TCP, 81, 2, 50003, VNM_OPENER_REMOTE,
                               VNM_TCP_SYN_IN | VNM_TCP_RESET | VNM_TCP_REFUSED);
  VnmFlowRecord out = rec (IPPROTO_TCP, 40000, 2, 443, VNM_OPENER_VM,
                           VNM_TCP_SYN_IN | VNM_TCP_SYN_OUT | VNM_TCP_ESTAB);
  VnmFlowRecord dns = rec (IPPROTO_UDP, 53, 2, 40000, VNM_OPENER_REMOTE, 0);
  VnmFlowRecord noanswer = rec (IPPROTO_UDP, 54, 2, 40000, VNM_OPENER_REMOTE, 0);
  VnmFlowRecord third = rec (IPPROTO_UDP, 123, 2, 40000, VNM_OPENER_REMOTE, 0);
  const VnmService *s;

  a.flow.conns_opened = 1, a.flow.bytes[VNM_DIR_IN] = 100, a.flow.bytes[VNM_DIR_OUT] = 1000;
  b.flow.conns_opened = 1, b.flow.bytes[VNM_DIR_IN] = 10;
  c.flow.conns_opened = 1;
  noanswer.flow.packets[VNM_DIR_OUT] = 0;

  vnm_service_table_begin (t);
  g_assert_nonnull (vnm_service_table_add (t, "u1", &a));     /* appears */
  g_assert_null (vnm_service_table_add (t, "u1", &b));        /* known */
  g_assert_null (vnm_service_table_add (t, "u1", &refused));  /* refused: no service */
  g_assert_null (vnm_service_table_add (t, "u1", &out));      /* the VM's own connection */
  g_assert_null (vnm_service_table_add (t, "u1", &noanswer)); /* UDP without answer */
  g_assert_nonnull (vnm_service_table_add (t, "u1", &dns));
  vnm_service_table_end (t);
  s = find (t, "u1", 80);
  g_assert_nonnull (s);
  g_assert_cmpuint (s->clients, ==, 2);
  g_assert_cmpuint (s->connections, ==, 2);
  g_assert_cmpuint (s->rx_bytes, ==, 110);
  g_assert_cmpuint (s->tx_bytes, ==, 1000);

  /* The next round: a grew, b ended, c is a third client beyond the cap
   * of 2, a third port is beyond the cap of 2 services. */
  a.flow.bytes[VNM_DIR_IN] = 150;
  vnm_service_table_begin (t);
  g_assert_null (vnm_service_table_add (t, "u1", &a));
  g_assert_null (vnm_service_table_add (t, "u1", &c));
  g_assert_null (vnm_service_table_add (t, "u1", &dns));
  g_assert_null (vnm_service_table_add (t, "u1", &third));
  vnm_service_table_end (t);
  g_assert_cmpuint (s->rx_bytes, ==, 160);
  g_assert_cmpuint (s->connections, ==, 3);
  g_assert_cmpuint (s->clients, ==, 2);
  g_assert_cmpuint (s->clients_untracked, ==, 1);
  g_assert_cmpuint (find (t, "u1", 53)->connections, ==, 1);
  g_assert_null (find (t, "u1", 123));
  g_assert_cmpuint (vnm_service_table_untracked (t, "u1"), ==, 1);

  /* Again: nothing is counted twice. A new connection on a's 5-tuple
   * (another first_ns) is a new flow. */
  vnm_service_table_begin (t);
  vnm_service_table_add (t, "u1", &third);
  a.flow.first_ns = 5000, a.flow.bytes[VNM_DIR_IN] = 7;
  vnm_service_table_add (t, "u1", &a);
  vnm_service_table_end (t);
  g_assert_cmpuint (vnm_service_table_untracked (t, "u1"), ==, 1);
  g_assert_cmpuint (s->connections, ==, 4);
  g_assert_cmpuint (s->rx_bytes, ==, 167);

  vnm_service_table_forget (t, "u1");
  g_assert_null (find (t, "u1", 80));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conns/states", test_states);
  g_test_add_func ("/conns/handshake-failures", test_failures);
  g_test_add_func ("/conns/services", test_services);
  return g_test_run ();
}
