/* peer-names.h: what the other end of a VM's flow is: another VM of this
 * host (by the address book: every address it was seen to use, link-local
 * included), the host itself (its own addresses: bridges, taps), a remote
 * address, or no peer at all: multicast, broadcast (255.255.255.255 and
 * the broadcast addresses of the host's and the VMs' subnets) and the
 * unspecified address are never one end of a conversation. Pure. */
#pragma once

#include <glib.h>

#include "address-book.h"
#include "dns-names.h"
#include "vnm-flows.h"

typedef enum {
  VNM_PEER_REMOTE,
  VNM_PEER_VM,
  VNM_PEER_HOST,
  VNM_PEER_MULTICAST,
  VNM_PEER_BROADCAST,
  VNM_PEER_UNSPECIFIED,
} VnmPeerKind;

/* "remote", "vm", "host", "multicast", "broadcast", "unspecified". */
const gchar *vnm_peer_kind_name (VnmPeerKind kind);

typedef struct {
  VnmPeerKind kind;
  const gchar *vm_uuid;   /* VNM_PEER_VM: the VM; else "" */
  const gchar *name;      /* the VM's name, the host's interface, the name
                           * the VM looked up (remote); else "" */
  const gchar *name_source; /* where the name is from: "vm" (libvirt's name of
                           * the VM), "host" (the host's interface), "dns"
                           * (the VM's own lookup); "" when unnamed */
} VnmPeer;

typedef struct _VnmPeerNames VnmPeerNames;

VnmPeerNames *vnm_peer_names_new (void);
void vnm_peer_names_free (VnmPeerNames *names);

/* @addr (key form, IPv4 mapped) is VM @vm_uuid's, called @vm_name. */
void vnm_peer_names_add_vm (VnmPeerNames *names, guint8 family, const guint8 addr[16],
                            const gchar *vm_uuid, const gchar *vm_name);
/* @addr is the host's, on its interface @ifname. */
void vnm_peer_names_add_host (VnmPeerNames *names, guint8 family, const guint8 addr[16],
                              const gchar *ifname);
/* @addr is a subnet's broadcast address. */
void vnm_peer_names_add_broadcast (VnmPeerNames *names, guint8 family, const guint8 addr[16]);
/* Every address in @book as its VM's (@vm_names: uuid -> name), and the
 * broadcast address of each IPv4 subnet whose prefix it knows. */
void vnm_peer_names_add_book (VnmPeerNames *names, VnmAddressBook *book, GHashTable *vm_names);
/* The host's own addresses and IPv4 broadcast addresses (getifaddrs). */
void vnm_peer_names_add_host_interfaces (VnmPeerNames *names);

void vnm_peer_names_classify (VnmPeerNames *names, guint8 family, const guint8 addr[16],
                              VnmPeer *out);
/* The names VMs looked up, as of @now_us (borrowed: @dns must outlive
 * @names). */
void vnm_peer_names_set_dns (VnmPeerNames *names, VnmDnsNames *dns, gint64 now_us);
/* As vnm_peer_names_classify, in VM @vm_uuid's view: a remote address the
 * VM resolved has the name it looked up (other VMs and the host keep
 * theirs). */
void vnm_peer_names_classify_for (VnmPeerNames *names, const gchar *vm_uuid, guint8 family,
                                  const guint8 addr[16], VnmPeer *out);
/* Whether a flow is a unicast conversation: its local side is an address
 * a VM can have and its remote side one too (not multicast, broadcast or
 * unspecified). */
gboolean vnm_peer_names_is_unicast_flow (VnmPeerNames *names, const struct vnm_flow_key *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmPeerNames, vnm_peer_names_free)
