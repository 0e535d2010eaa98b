/* domain-xml.h: libvirt domain XML -> plain structs. Pure: no libvirt calls,
 * no network, no entity loading; tested on fixture files alone. */
#pragma once

#include <glib.h>

/* One <interface> of a domain. Strings are never NULL ("" when absent). */
typedef struct {
  gchar *type;             /* network, bridge, ethernet, direct, vhostuser,
                              hostdev, user, vdpa, ... */
  gchar *target_dev;       /* host netdev (<target dev>), "" when none */
  gchar *mac;              /* lower-case aa:bb:cc:dd:ee:ff */
  gchar *model;            /* virtio, e1000, ... */
  gchar *alias;            /* <alias name> */
  gchar *source_network;   /* <source network> */
  gchar *source_bridge;    /* <source bridge> */
  gchar *source_dev;       /* <source dev> (direct/macvtap) */
  gchar *source_mode;      /* direct mode: vepa, bridge, private, passthrough */
  gchar *source_path;      /* vhostuser socket, ... */
  gchar *virtualport_type; /* openvswitch, 802.1Qbh, ... */
  /* Why no host-side statistics exist for this interface, or "" when they
   * do (a host netdev is named). */
  gchar *no_stats_reason;
} VnmDomainInterface;

typedef struct {
  gchar *name;
  gchar *uuid;             /* lower-case canonical form */
  gint id;                 /* domain id, -1 when not running */
  GPtrArray *interfaces;   /* of VnmDomainInterface*, owned */
} VnmDomainDef;

/* Longest domain XML accepted (libvirt's own limit is 10 MiB). */
#define VNM_DOMAIN_XML_MAX_BYTES (16 * 1024 * 1024)

/* Parses @xml (@len bytes, or -1 for NUL-terminated). Fails with
 * VNM_ERROR_PARSE on malformed XML, a DTD (entities are never loaded or
 * expanded), a root other than <domain>, or a missing name or uuid.
 * Problems inside one <interface> never fail the domain: the interface is
 * kept with no_stats_reason set. */
VnmDomainDef *vnm_domain_xml_parse (const gchar *xml, gssize len, GError **error);

/* The display form of an interface's source, as `virsh domiflist` prints. */
const gchar *vnm_domain_interface_source (const VnmDomainInterface *iface);

/* An interface with only a type and a host netdev; other fields "". */
VnmDomainInterface *vnm_domain_interface_new (const gchar *type, const gchar *target_dev);
VnmDomainInterface *vnm_domain_interface_copy (const VnmDomainInterface *iface);
void vnm_domain_interface_free (VnmDomainInterface *iface);
VnmDomainDef *vnm_domain_def_new (void);
void vnm_domain_def_free (VnmDomainDef *def);

/* Whether @name can be a Linux network interface name. */
gboolean vnm_is_valid_ifname (const gchar *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDomainInterface, vnm_domain_interface_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDomainDef, vnm_domain_def_free)
