/* libvirt-watch.h: follows libvirt's running domains into the registry:
 * initial listing, lifecycle and device events, reconnect with backoff and
 * reconciliation when libvirtd comes back. The only module using libvirt. */
#pragma once

#include <glib.h>

#include "address-book.h"
#include "registry.h"

typedef struct _VnmLibvirtWatch VnmLibvirtWatch;

typedef void (*VnmLibvirtStateFunc) (gboolean connected, gpointer user_data);

VnmLibvirtWatch *vnm_libvirt_watch_new (const gchar *uri, VnmRegistry *registry,
                                        VnmLibvirtStateFunc func, gpointer user_data);
void vnm_libvirt_watch_free (VnmLibvirtWatch *watch);

/* Connects now, or keeps retrying with backoff from the main loop. */
void vnm_libvirt_watch_start (VnmLibvirtWatch *watch);

gboolean vnm_libvirt_watch_is_connected (VnmLibvirtWatch *watch);
const gchar *vnm_libvirt_watch_get_uri (VnmLibvirtWatch *watch);
/* The last connection error, or NULL. */
const gchar *vnm_libvirt_watch_get_last_error (VnmLibvirtWatch *watch);

/* The virtnetmon settings in the <metadata> of running domain @uuid, as
 * libvirt has them now (every field unset when there are none). */
gboolean vnm_libvirt_watch_read_settings (VnmLibvirtWatch *watch, const gchar *uuid,
                                          VnmDomainSettings *out, GError **error);
/* Writes @settings into the domain's <metadata>, live and, for a persistent
 * domain, in its config; all fields unset removes the element. libvirt
 * then tells every listener (and this watch) through a metadata event. */
gboolean vnm_libvirt_watch_write_settings (VnmLibvirtWatch *watch, const gchar *uuid,
                                           const VnmDomainSettings *settings, GError **error);

/* One address libvirt gave for a domain's interface. */
typedef struct {
  gchar *vm_uuid;
  VnmAddrSource source;    /* LEASE, ARP or AGENT */
  gchar *name;             /* libvirt's name of the interface: the host netdev
                            * (lease, arp), the guest's (agent) */
  gchar *mac;              /* lower case; "" when libvirt gives none */
  guint8 family;
  guint8 addr[16];         /* IPv4 mapped */
  gint prefix;
} VnmLibvirtAddress;

/* How a source answered for a domain: why it failed, or "" when it
 * answered (with or without addresses). */
typedef struct {
  gchar *vm_uuid;
  VnmAddrSource source;
  gchar *message;
} VnmLibvirtAddressError;

/* Called on the main loop with the answers (VnmLibvirtAddress*) and how
 * each source did (VnmLibvirtAddressError*), both owned by the callee; not called
 * when the watch was freed meanwhile. */
typedef void (*VnmLibvirtAddressFunc) (GPtrArray *addresses, GPtrArray *errors, gpointer user_data);

/* Asks libvirt (virDomainInterfaceAddresses) for the addresses of the
 * running domains @uuids: DHCP leases of libvirt's networks and the host's
 * ARP table, and with @agent the guest agent's (which may take seconds to
 * time out). In a worker thread, so that the main loop never waits; one
 * query at a time: FALSE (nothing done) while one runs or without a
 * connection. */
gboolean vnm_libvirt_watch_query_addresses (VnmLibvirtWatch *watch, const gchar *const *uuids,
                                            gboolean agent, VnmLibvirtAddressFunc func,
                                            gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLibvirtWatch, vnm_libvirt_watch_free)
