/* test-dns-answer.c: DNS answers as a VM receives them, and the names cache. */
#include "config.h"

#include <string.h>

#include "address-book.h"
#include "dns-answer.h"
#include "dns-names.h"
#include "peer-names.h"
#include "vnm-error.h"

/* Captured from dnsmasq 2.89 (--host-record=svc.example.test,10.1.2.3,fd00::3
 * --cname=www.example.test,svc.example.test), asked for www.example.test:
 * a CNAME to svc.example.test and its address, both names compressed. */
static const guint8 real_a[] = {
  0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77, 0x77,
  0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01,
  0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x03, 0x73,
  0x76, 0x63, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
  0xc0, 0x2e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x01, 0x02, 0x03,
};
static const guint8 real_aaaa[] = {
  0x12, 0x35, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77, 0x77,
  0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c,
  0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x03, 0x73,
  0x76, 0x63, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
  0xc0, 0x2e, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xfd, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
};
/* dnsmasq's REFUSED for nx.example.test (no upstream server). */
static const guint8 real_nx[] = {
  0x12, 0x36, 0x81, 0x85, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x6e, 0x78, 0x07,
  0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00,
  0x01,
};

static gboolean
parse (const guint8 *msg, gsize len, gboolean cut, gchar **name, GArray **addrs, GError **error)
{
  *addrs = g_array_new (FALSE, TRUE, sizeof (VnmDnsAddress));
  return vnm_dns_answer_parse (msg, len, cut, name, *addrs, error);
}

static void
assert_addr (const VnmDnsAddress *a, const gchar *text, guint32 ttl)
{
  guint8 family, addr[16];

  g_assert_true (vnm_addr_parse (text, &family, addr));
  g_assert_cmpuint (a->family, ==, family);
  g_assert_cmpmem (a->addr, 16, addr, 16);
  g_assert_cmpuint (a->ttl, ==, ttl);
}

static void
test_real (void)
{
  g_autofree gchar *name = NULL, *name6 = NULL, *name_nx = NULL;
  g_autoptr(GArray) addrs = NULL, addrs6 = NULL, addrs_nx = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (parse (real_a, sizeof real_a, FALSE, &name, &addrs, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "www.example.test");
  g_assert_cmpuint (addrs->len, ==, 1);
  assert_addr (&g_array_index (addrs, VnmDnsAddress, 0), "10.1.2.3", 0);

  g_assert_true (parse (real_aaaa, sizeof real_aaaa, FALSE, &name6, &addrs6, &error));
  g_assert_cmpstr (name6, ==, "www.example.test");
  g_assert_cmpuint (addrs6->len, ==, 1);
  assert_addr (&g_array_index (addrs6, VnmDnsAddress, 0), "fd00::3", 0);

  g_assert_false (parse (real_nx, sizeof real_nx, FALSE, &name_nx, &addrs_nx, &error));
  g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "response code 5"));
}

/* A message built by hand: header, question, records. */
typedef struct {
  GByteArray *b;
} Msg;

static void
put (Msg *m, const void *p, gsize n)
{
  g_byte_array_append (m->b, p, n);
}

static void
put16 (Msg *m, guint v)
{
  guint8 b[2] = { v >> 8, v & 0xff };
  put (m, b, 2);
}

static void
put32 (Msg *m, guint32 v)
{
  put16 (m, v >> 16);
  put16 (m, v & 0xffff);
}

static void
put_name (Msg *m, const gchar *name)
{
  g_auto(GStrv) labels = g_strsplit (name, ".", -1);
  for (guint i = 0; labels[i]; i++)
    {
      guint8 l = strlen (labels[i]);
      put (m, &l, 1);
      put (m, labels[i], l);
    }
  put (m, "", 1);
}

static Msg
msg_new (guint flags, guint qd, guint an, const gchar *qname, guint qtype)
{
  Msg m = { g_byte_array_new () };
  put16 (&m, 0xbeef);
  put16 (&m, flags);
  put16 (&m, qd);
  put16 (&m, an);
  put16 (&m, 0);
  put16 (&m, 0);
  put_name (&m, qname);
  put16 (&m, qtype);
  put16 (&m, 1);
  return m;
}

static void
put_a (Msg *m, const gchar *owner, guint32 ttl, const guint8 v4[4])
{
  put_name (m, owner);
  put16 (m, 1);
  put16 (m, 1);
  put32 (m, ttl);
  put16 (m, 4);
  put (m, v4, 4);
}

static void
put_cname (Msg *m, const gchar *owner, const gchar *target)
{
  put_name (m, owner);
  put16 (m, 5);
  put16 (m, 1);
  put32 (m, 60);
  put16 (m, strlen (target) + 2);
  put_name (m, target);
}

static void
test_chain (void)
{
  /* CNAMEs out of order, a record for an unrelated name (not taken), a
   * TTL with the top bit set (0), upper case in the question. */
  Msg m = msg_new (0x8180, 1, 5, "Api.Example.TEST", 1);
  g_autoptr(GByteArray) b = m.b;
  g_autofree gchar *name = NULL;
  g_autoptr(GArray) addrs = NULL;
  g_autoptr(GError) error = NULL;

  put_cname (&m, "b.cdn.test", "c.cdn.test");
  put_cname (&m, "api.example.test", "b.cdn.test");
  put_a (&m, "c.cdn.test", 300, (guint8[]) { 192, 0, 2, 7 });
  put_a (&m, "evil.test", 300, (guint8[]) { 192, 0, 2, 66 });
  put_a (&m, "C.CDN.test", 0x80000001u, (guint8[]) { 192, 0, 2, 8 });
  g_assert_true (parse (b->data, b->len, FALSE, &name, &addrs, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "api.example.test");
  g_assert_cmpuint (addrs->len, ==, 2);
  assert_addr (&g_array_index (addrs, VnmDnsAddress, 0), "192.0.2.7", 300);
  assert_addr (&g_array_index (addrs, VnmDnsAddress, 1), "192.0.2.8", 0);
}

static void
test_cut (void)
{
  /* Captured short: the second record is cut off; with @cut the first
   * counts, without it the message is refused. */
  Msg m = msg_new (0x8180, 1, 2, "svc.test", 1);
  g_autoptr(GByteArray) b = m.b;
  g_autofree gchar *name = NULL, *name2 = NULL;
  g_autoptr(GArray) addrs = NULL, addrs2 = NULL;
  g_autoptr(GError) error = NULL;

  put_a (&m, "svc.test", 30, (guint8[]) { 10, 0, 0, 1 });
  put_a (&m, "svc.test", 30, (guint8[]) { 10, 0, 0, 2 });
  g_assert_true (parse (b->data, b->len - 3, TRUE, &name, &addrs, &error));
  g_assert_cmpuint (addrs->len, ==, 1);
  assert_addr (&g_array_index (addrs, VnmDnsAddress, 0), "10.0.0.1", 30);
  g_assert_false (parse (b->data, b->len - 3, FALSE, &name2, &addrs2, &error));
  g_assert_nonnull (strstr (error->message, "past the end"));
}

static void
test_refused (void)
{
  static const struct { const gchar *why; guint8 bytes[64]; gsize len; } cases[] = {
    { "shorter than a header", { 0x12, 0x34, 0x81 }, 3 },
    { "a query", { 0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1 }, 19 },
    { "not one", { 0, 1, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0 }, 12 },
    { "not a standard query", { 0, 1, 0x91, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 }, 12 },
    /* A pointer to itself, and one forward. */
    { "does not point backwards", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 }, 18 },
    { "does not point backwards", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1 }, 19 },
    { "label runs past", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a', 'b' }, 15 },
    { "byte 0x2e", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1 }, 21 },
    { "label type", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1 }, 19 },
    { "question runs past", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1 }, 17 },
    { "answer 1 runs past", { 0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1 }, 23 },
    /* An A record of 5 bytes. */
    { "A record of 5 bytes", { 0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
                               0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 5, 1, 2, 3, 4, 5 }, 36 },
    { "not IN", { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 3 }, 19 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *name = NULL;
      g_autoptr(GArray) addrs = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u: %s", i, cases[i].why);
      g_assert_false (parse (cases[i].bytes, cases[i].len, FALSE, &name, &addrs, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cases[i].why));
      g_assert_null (name);
      g_assert_cmpuint (addrs->len, ==, 0);
    }

  /* Every prefix of the real answer is refused or gives a subset, never
   * more; the same with every byte flipped. */
  for (gsize len = 0; len < sizeof real_a; len++)
    {
      g_autofree gchar *name = NULL;
      g_autoptr(GArray) addrs = NULL;
      g_autoptr(GError) error = NULL;
      g_assert_false (parse (real_a, len, FALSE, &name, &addrs, &error));
    }
  for (gsize i = 0; i < sizeof real_a; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        guint8 copy[sizeof real_a];
        g_autofree gchar *name = NULL;
        g_autoptr(GArray) addrs = NULL;
        g_autoptr(GError) error = NULL;

        memcpy (copy, real_a, sizeof copy);
        copy[i] ^= 1 << bit;
        if (parse (copy, sizeof copy, FALSE, &name, &addrs, &error))
          g_assert_cmpuint (addrs->len, <=, 1);
      }
}

static void
test_names (void)
{
  g_autoptr(VnmDnsNames) n = vnm_dns_names_new (2);
  guint8 family, a[16], b[16], c[16];
  const gint64 s = G_USEC_PER_SEC;

  vnm_addr_parse ("192.0.2.1", &family, a);
  vnm_addr_parse ("192.0.2.2", &family, b);
  vnm_addr_parse ("192.0.2.3", &family, c);
  vnm_dns_names_add (n, "vm1", 4, a, "a.test", 30, 0);
  vnm_dns_names_add (n, "vm1", 4, b, "b.test", 3600, 0);
  /* Only vm1 looked these up. */
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, a, 1), ==, "a.test");
  g_assert_null (vnm_dns_names_lookup (n, "vm2", 4, a, 1));
  g_assert_null (vnm_dns_names_lookup (n, "vm1", 4, c, 1));
  /* Full: a third is counted, not kept. */
  vnm_dns_names_add (n, "vm1", 4, c, "c.test", 30, 10 * s);
  g_assert_null (vnm_dns_names_lookup (n, "vm1", 4, c, 11 * s));
  g_assert_cmpuint (vnm_dns_names_overflow (n), ==, 1);
  /* A TTL below the minimum lives the minimum; a flow extends it. */
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, a, (VNM_DNS_NAMES_MIN_S - 1) * s), ==, "a.test");
  vnm_dns_names_touch (n, "vm1", 4, a, (VNM_DNS_NAMES_MIN_S - 1) * s);
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, a, (VNM_DNS_NAMES_MIN_S + 10) * s), ==, "a.test");
  g_assert_null (vnm_dns_names_lookup (n, "vm1", 4, a, (2 * VNM_DNS_NAMES_MIN_S) * s));
  /* An expired entry makes room. */
  vnm_dns_names_add (n, "vm1", 4, c, "c.test", 30, 2 * VNM_DNS_NAMES_MIN_S * s);
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, c, 2 * VNM_DNS_NAMES_MIN_S * s), ==, "c.test");
  g_assert_cmpuint (vnm_dns_names_overflow (n), ==, 1);
  /* The TTL beyond the minimum counts; a newer answer renames. */
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, b, 3599 * s), ==, "b.test");
  vnm_dns_names_add (n, "vm1", 4, b, "b2.test", 30, 3599 * s);
  g_assert_cmpstr (vnm_dns_names_lookup (n, "vm1", 4, b, 3600 * s), ==, "b2.test");
  vnm_dns_names_expire (n, 100000 * s);
  g_assert_cmpuint (vnm_dns_names_count (n), ==, 0);
}

static void
test_peer_names (void)
{
  g_autoptr(VnmDnsNames) dns = vnm_dns_names_new (0);
  g_autoptr(VnmPeerNames) peers = vnm_peer_names_new ();
  guint8 family, vm2[16], host[16], remote[16];
  VnmPeer p;

  vnm_addr_parse ("10.0.0.12", &family, vm2);
  vnm_addr_parse ("10.0.0.1", &family, host);
  vnm_addr_parse ("192.0.2.9", &family, remote);
  vnm_peer_names_add_vm (peers, 4, vm2, "uuid2", "vm2");
  vnm_peer_names_add_host (peers, 4, host, "br0");
  /* vm1 was told all three have names. */
  vnm_dns_names_add (dns, "uuid1", 4, vm2, "impostor.test", 60, 0);
  vnm_dns_names_add (dns, "uuid1", 4, host, "gw.test", 60, 0);
  vnm_dns_names_add (dns, "uuid1", 4, remote, "svc.test", 60, 0);
  vnm_peer_names_set_dns (peers, dns, 1);

  vnm_peer_names_classify_for (peers, "uuid1", 4, vm2, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_VM);
  g_assert_cmpstr (p.name, ==, "vm2");
  g_assert_cmpstr (p.name_source, ==, "vm");
  vnm_peer_names_classify_for (peers, "uuid1", 4, host, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_HOST);
  g_assert_cmpstr (p.name, ==, "br0");
  g_assert_cmpstr (p.name_source, ==, "host");
  vnm_peer_names_classify_for (peers, "uuid1", 4, remote, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_REMOTE);
  g_assert_cmpstr (p.name, ==, "svc.test");
  g_assert_cmpstr (p.name_source, ==, "dns");
  /* Another VM did not look it up; nor does the VM-less view name it. */
  vnm_peer_names_classify_for (peers, "uuid3", 4, remote, &p);
  g_assert_cmpstr (p.name, ==, "");
  g_assert_cmpstr (p.name_source, ==, "");
  vnm_peer_names_classify (peers, 4, remote, &p);
  g_assert_cmpstr (p.name, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dns-answer/real", test_real);
  g_test_add_func ("/dns-answer/chain", test_chain);
  g_test_add_func ("/dns-answer/cut", test_cut);
  g_test_add_func ("/dns-answer/refused", test_refused);
  g_test_add_func ("/dns-answer/names", test_names);
  g_test_add_func ("/dns-answer/peer-names", test_peer_names);
  return g_test_run ();
}
