/* test-address-book.c: the VMs' addresses: sources, age, bounds, owners. */
#include "config.h"

#include <string.h>

#include "address-book.h"
#include "peer-names.h"

static void
parse (const gchar *text, guint8 *family, guint8 addr[16])
{
  g_assert_true (vnm_addr_parse (text, family, addr));
}

static gboolean
note (VnmAddressBook *b, const gchar *uuid, const gchar *text, VnmAddrSource source, gint64 t)
{
  guint8 family, addr[16];

  parse (text, &family, addr);
  return vnm_address_book_note (b, uuid, "vnet0", "52:54:00:36:4d:55", family, addr, -1, source,
                                "traffic", t);
}

static void
test_kinds (void)
{
  static const struct { const gchar *text; VnmAddrKind kind; } cases[] = {
    { "10.0.0.1", VNM_ADDR_UNICAST }, { "0.0.0.0", VNM_ADDR_UNSPECIFIED },
    { "255.255.255.255", VNM_ADDR_BROADCAST }, { "224.0.0.251", VNM_ADDR_MULTICAST },
    { "239.255.255.250", VNM_ADDR_MULTICAST }, { "127.0.0.1", VNM_ADDR_LOOPBACK },
    { "fe80::1", VNM_ADDR_UNICAST }, { "::", VNM_ADDR_UNSPECIFIED }, { "ff02::2", VNM_ADDR_MULTICAST },
    { "ff02::1:ff36:4d55", VNM_ADDR_MULTICAST }, { "::1", VNM_ADDR_LOOPBACK },
    { "2001:db8::1", VNM_ADDR_UNICAST },
  };
  guint8 family, addr[16];
  gchar text[64];

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      parse (cases[i].text, &family, addr);
      g_assert_cmpint (vnm_addr_kind (family, addr), ==, cases[i].kind);
      vnm_addr_to_string (family, addr, text, sizeof text);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
  g_assert_false (vnm_addr_parse ("10.0.0.256", &family, addr));
  g_assert_false (vnm_addr_parse ("", &family, addr));
  /* The issue's own example: fe80::5054:ff:fe36:4d55 is 52:54:00:36:4d:55's. */
  g_assert_true (vnm_addr_link_local_of_mac ("52:54:00:36:4d:55", addr));
  vnm_addr_to_string (6, addr, text, sizeof text);
  g_assert_cmpstr (text, ==, "fe80::5054:ff:fe36:4d55");
  g_assert_false (vnm_addr_link_local_of_mac ("52:54:00", addr));
}

static void
test_book (void)
{
  g_autoptr(VnmAddressBook) b = vnm_address_book_new (5, 3, 100);
  g_autoptr(GPtrArray) list = NULL;
  guint8 family, addr[16];
  const VnmAddress *a;

  /* Only unicast addresses are a VM's. */
  g_assert_false (note (b, "u1", "ff02::1:ff36:4d55", VNM_ADDR_SOURCE_LEARNED, 10));
  g_assert_false (note (b, "u1", "::", VNM_ADDR_SOURCE_LEARNED, 10));
  g_assert_false (note (b, "u1", "0.0.0.0", VNM_ADDR_SOURCE_LEARNED, 10));
  g_assert_false (note (b, "u1", "255.255.255.255", VNM_ADDR_SOURCE_LEARNED, 10));
  g_assert_cmpuint (vnm_address_book_size (b), ==, 0);
  g_assert_cmpuint (vnm_address_book_overflow (b), ==, 0);

  g_assert_true (note (b, "u1", "192.168.122.10", VNM_ADDR_SOURCE_LEARNED, 10));
  g_assert_true (note (b, "u1", "192.168.122.10", VNM_ADDR_SOURCE_LEARNED, 50));
  g_assert_true (note (b, "u1", "192.168.122.10", VNM_ADDR_SOURCE_LEARNED, 30));  /* late */
  g_assert_true (note (b, "u1", "192.168.122.10", VNM_ADDR_SOURCE_LEASE, 40));
  g_assert_cmpuint (vnm_address_book_size (b), ==, 2);
  list = vnm_address_book_list (b, "u1");
  g_assert_cmpuint (list->len, ==, 2);
  a = list->pdata[0];
  g_assert_cmpint (a->source, ==, VNM_ADDR_SOURCE_LEARNED);
  g_assert_cmpint (a->first_seen_us, ==, 10);
  g_assert_cmpint (a->last_seen_us, ==, 50);
  g_assert_cmpstr (((VnmAddress *) list->pdata[1])->iface, ==, "vnet0");
  g_assert_cmpstr (a->via, ==, "traffic");
  {
    guint8 f, x[16];
    parse ("192.168.122.10", &f, x);
    vnm_address_book_note (b, "u1", "vnet0", "52:54:00:36:4d:55", f, x, -1, VNM_ADDR_SOURCE_LEARNED,
                           "arp", 20);
    vnm_address_book_note (b, "u1", "vnet0", "52:54:00:36:4d:55", f, x, -1, VNM_ADDR_SOURCE_LEARNED,
                           "traffic", 20);
    g_assert_cmpstr (a->via, ==, "traffic,arp");
  }
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Owner: the entry seen last. */
  parse ("192.168.122.10", &family, addr);
  a = vnm_address_book_owner (b, family, addr);
  g_assert_nonnull (a);
  g_assert_cmpint (a->last_seen_us, ==, 50);
  parse ("192.168.122.11", &family, addr);
  g_assert_null (vnm_address_book_owner (b, family, addr));

  /* Per interface and source: 3; in all: 5. The rest is counted. */
  g_assert_true (note (b, "u1", "fe80::1", VNM_ADDR_SOURCE_LEARNED, 60));
  g_assert_true (note (b, "u1", "fe80::2", VNM_ADDR_SOURCE_LEARNED, 60));
  g_assert_false (note (b, "u1", "fe80::3", VNM_ADDR_SOURCE_LEARNED, 60));
  g_assert_cmpuint (vnm_address_book_overflow (b), ==, 1);
  g_assert_true (note (b, "u2", "10.1.0.1", VNM_ADDR_SOURCE_LEARNED, 60));
  g_assert_false (note (b, "u2", "10.1.0.2", VNM_ADDR_SOURCE_LEARNED, 60));
  g_assert_cmpuint (vnm_address_book_overflow (b), ==, 2);
  g_assert_cmpuint (vnm_address_book_size (b), ==, 5);

  /* Unseen for the age (100): gone; the owner index follows. */
  g_assert_cmpuint (vnm_address_book_expire (b, 145), ==, 1);  /* the lease, seen at 40 */
  g_assert_cmpuint (vnm_address_book_expire (b, 155), ==, 1);  /* learned, seen at 50 */
  parse ("192.168.122.10", &family, addr);
  g_assert_null (vnm_address_book_owner (b, family, addr));
  parse ("10.1.0.1", &family, addr);
  g_assert_cmpstr (vnm_address_book_owner (b, family, addr)->vm_uuid, ==, "u2");
  vnm_address_book_forget_vm (b, "u2");
  g_assert_null (vnm_address_book_owner (b, family, addr));
  g_assert_cmpuint (vnm_address_book_size (b), ==, 2);
}

static void
test_peer_names (void)
{
  g_autoptr(VnmAddressBook) b = vnm_address_book_new (100, 10, 1000);
  g_autoptr(VnmPeerNames) n = vnm_peer_names_new ();
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  guint8 family, addr[16];
  VnmPeer p;

  g_hash_table_insert (names, "u1", "vnm-demo-a");
  parse ("192.168.122.10", &family, addr);
  vnm_address_book_note (b, "u1", "vnet0", "52:54:00:36:4d:55", family, addr, 24,
                         VNM_ADDR_SOURCE_LEASE, "", 1);
  g_assert_true (note (b, "u1", "fe80::5054:ff:fe36:4d55", VNM_ADDR_SOURCE_LEARNED, 1));
  vnm_peer_names_add_book (n, b, names);
  parse ("192.168.122.1", &family, addr);
  vnm_peer_names_add_host (n, family, addr, "virbr0");

  parse ("fe80::5054:ff:fe36:4d55", &family, addr);
  vnm_peer_names_classify (n, family, addr, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_VM);
  g_assert_cmpstr (p.vm_uuid, ==, "u1");
  g_assert_cmpstr (p.name, ==, "vnm-demo-a");
  parse ("192.168.122.1", &family, addr);
  vnm_peer_names_classify (n, family, addr, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_HOST);
  g_assert_cmpstr (p.name, ==, "virbr0");
  /* The lease's /24 gives the subnet's broadcast address. */
  parse ("192.168.122.255", &family, addr);
  vnm_peer_names_classify (n, family, addr, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_BROADCAST);
  parse ("ff02::2", &family, addr);
  vnm_peer_names_classify (n, family, addr, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_MULTICAST);
  g_assert_cmpstr (vnm_peer_kind_name (p.kind), ==, "multicast");
  parse ("8.8.8.8", &family, addr);
  vnm_peer_names_classify (n, family, addr, &p);
  g_assert_cmpint (p.kind, ==, VNM_PEER_REMOTE);
  g_assert_cmpstr (p.name, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/address-book/kinds", test_kinds);
  g_test_add_func ("/address-book/book", test_book);
  g_test_add_func ("/address-book/peer-names", test_peer_names);
  return g_test_run ();
}
