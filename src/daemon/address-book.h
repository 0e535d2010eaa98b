/* address-book.h: the IPv4 and IPv6 addresses each VM interface uses, and
 * where they come from: learned by the flow probe (the source addresses of
 * unicast packets the VM sent, ARP from its MAC, DHCP ACKs to its MAC), or
 * libvirt's (DHCP leases of its networks, the host's ARP table, the guest
 * agent), each with when it was first and last seen. An address not seen
 * for the book's age is dropped. Bounded: in all and per interface; what
 * does not fit is refused and counted. Pure: plain values in, the caller
 * gives the time. */
#pragma once

#include <glib.h>

typedef enum {
  VNM_ADDR_SOURCE_LEARNED,   /* what the flow probe saw */
  VNM_ADDR_SOURCE_LEASE,     /* libvirt: dnsmasq's DHCP leases */
  VNM_ADDR_SOURCE_ARP,       /* libvirt: the host's ARP table */
  VNM_ADDR_SOURCE_AGENT,     /* libvirt: the QEMU guest agent */
  VNM_ADDR_SOURCES,
} VnmAddrSource;

/* "learned", "lease", "arp", "agent". */
const gchar *vnm_addr_source_name (VnmAddrSource source);
/* FALSE for an unknown name. */
gboolean vnm_addr_source_parse (const gchar *name, VnmAddrSource *out);

/* What an address is, by its value alone. */
typedef enum {
  VNM_ADDR_UNICAST,
  VNM_ADDR_MULTICAST,     /* 224.0.0.0/4, ff00::/8 */
  VNM_ADDR_BROADCAST,     /* 255.255.255.255 */
  VNM_ADDR_UNSPECIFIED,   /* 0.0.0.0, :: */
  VNM_ADDR_LOOPBACK,      /* 127.0.0.0/8, ::1 */
} VnmAddrKind;

/* @addr as the probe keys have it: 16 bytes, IPv4 mapped (::ffff:a.b.c.d). */
VnmAddrKind vnm_addr_kind (guint8 family, const guint8 addr[16]);
/* Text of @addr (IPv4 as a.b.c.d). */
void vnm_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len);
/* (family, @addr) as a hash table key (g_bytes_hash, g_bytes_equal). */
GBytes *vnm_addr_key (guint8 family, const guint8 addr[16]);
/* Parses a.b.c.d or an IPv6 address into the key form; FALSE if neither. */
gboolean vnm_addr_parse (const gchar *text, guint8 *family, guint8 addr[16]);
/* fe80::/64 with the modified EUI-64 of @mac ("aa:bb:cc:dd:ee:ff"); FALSE
 * when @mac is not one. */
gboolean vnm_addr_link_local_of_mac (const gchar *mac, guint8 addr[16]);

typedef struct {
  gchar *vm_uuid;
  gchar *iface;         /* the host netdev (<target dev>) */
  gchar *mac;           /* the interface's MAC, lower case */
  guint8 family;        /* 4 or 6 */
  guint8 addr[16];      /* IPv4 mapped */
  gint prefix;          /* -1 when the source does not say */
  VnmAddrSource source;
  gchar *via;           /* learned: how, of "traffic", "arp" and "dhcp",
                         * comma-separated ("traffic,arp"); agent: the
                         * guest's name of the interface; else "" */
  gint64 first_seen_us, last_seen_us;   /* real time */
} VnmAddress;

typedef struct _VnmAddressBook VnmAddressBook;

/* At most @max_entries addresses, @max_per_iface of one interface and
 * source; dropped when not seen for @max_age_us. */
VnmAddressBook *vnm_address_book_new (guint max_entries, guint max_per_iface, gint64 max_age_us);
void vnm_address_book_free (VnmAddressBook *book);

/* Adds the address or makes it seen at @seen_us (never earlier than it
 * was). Unicast addresses only: anything else is ignored (FALSE). FALSE
 * too, counted, when there is no room. */
gboolean vnm_address_book_note (VnmAddressBook *book, const gchar *vm_uuid, const gchar *iface,
                                const gchar *mac, guint8 family, const guint8 addr[16],
                                gint prefix, VnmAddrSource source, const gchar *via,
                                gint64 seen_us);
/* Drops what was not seen for the book's age before @now_us; how many. */
guint vnm_address_book_expire (VnmAddressBook *book, gint64 now_us);
/* Drops the addresses of @vm_uuid (it stopped). */
void vnm_address_book_forget_vm (VnmAddressBook *book, const gchar *vm_uuid);

/* The addresses of @vm_uuid (NULL: all), borrowed, sorted by interface,
 * source, family and address. */
GPtrArray *vnm_address_book_list (VnmAddressBook *book, const gchar *vm_uuid);
/* The entry of @addr seen last, of any VM and source; NULL if none. */
const VnmAddress *vnm_address_book_owner (VnmAddressBook *book, guint8 family,
                                          const guint8 addr[16]);

guint vnm_address_book_size (VnmAddressBook *book);
guint vnm_address_book_capacity (VnmAddressBook *book);
guint vnm_address_book_per_iface (VnmAddressBook *book);
gint64 vnm_address_book_max_age_us (VnmAddressBook *book);
/* Addresses refused for want of room since start. */
guint64 vnm_address_book_overflow (VnmAddressBook *book);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmAddressBook, vnm_address_book_free)
