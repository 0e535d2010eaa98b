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

/* virtnetmon's settings for one domain, from its <metadata> (see
 * xml/virtnetmon-settings.rng). -1 in a field: not set, the daemon's
 * default applies. */
typedef struct {
  gint monitoring;          /* 1: probes on this domain's interfaces, 0: none */
  gint latency;             /* 1: latency tracing on, 0: off */
  gint64 latency_threshold_us;
  gint64 flow_table_size;   /* most flows kept for this domain at once */
  gint64 usage_quota_bytes; /* rx + tx a UTC month before the quota event; 0: none */
} VnmDomainSettings;

/* The namespace of virtnetmon's element in a domain's <metadata>, and the
 * prefix libvirt is given for it. */
#define VNM_METADATA_NS "http://virtnetmon.org/xmlns/domain/1.0"
#define VNM_METADATA_PREFIX "virtnetmon"

/* What a domain is called beyond its name, and whose it is: libvirt's
 * <title> and <description>, and what OpenStack Nova writes into its
 * <metadata> (<nova:instance>, namespaces
 * http://openstack.org/xmlns/libvirt/nova/1.0 to 1.2). Strings are never
 * NULL ("" when absent), valid UTF-8, cut at 4096 bytes. */
typedef struct {
  gchar *title;              /* <title> */
  gchar *description;        /* <description> */
  gchar *nova_instance_name; /* <nova:name>: the instance's name in Nova */
  gchar *nova_project_name;  /* <nova:owner><nova:project> */
  gchar *nova_project_uuid;
  gchar *nova_user_name;     /* <nova:owner><nova:user> */
  gchar *nova_user_uuid;
  gchar *nova_flavor;        /* <nova:flavor name=> */
} VnmDomainLabels;

/* The namespace of Nova's <instance> element without its version ("1.1");
 * any version is read. */
#define VNM_NOVA_NS_PREFIX "http://openstack.org/xmlns/libvirt/nova/"

VnmDomainLabels *vnm_domain_labels_new (void);
void vnm_domain_labels_free (VnmDomainLabels *labels);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDomainLabels, vnm_domain_labels_free)

typedef struct {
  gchar *name;
  gchar *uuid;             /* lower-case canonical form */
  gint id;                 /* domain id, -1 when not running */
  GPtrArray *interfaces;   /* of VnmDomainInterface*, owned */
  VnmDomainSettings settings; /* from <metadata>; all -1 when absent */
  gchar *settings_error;   /* why <metadata>'s settings were ignored, or NULL */
  VnmDomainLabels *labels; /* never NULL */
} VnmDomainDef;

/* Longest domain XML accepted (libvirt's own limit is 10 MiB). */
#define VNM_DOMAIN_XML_MAX_BYTES (16 * 1024 * 1024)

/* Parses @xml (@len bytes, or -1 for NUL-terminated). Fails with
 * VNM_ERROR_PARSE on malformed XML, a DTD (entities are never loaded or
 * expanded), a root other than <domain>, or a missing name or uuid.
 * Problems inside one <interface> never fail the domain: the interface is
 * kept with no_stats_reason set. */
VnmDomainDef *vnm_domain_xml_parse (const gchar *xml, gssize len, GError **error);

/* Parses virtnetmon's <settings> element on its own. With @ns_implied, an
 * element without a namespace counts as VNM_METADATA_NS: what
 * virDomainGetMetadata returns, having picked it by namespace and dropped
 * the declaration. Fails with VNM_ERROR_PARSE naming the element or value
 * that is wrong; @out is set only on success. */
gboolean vnm_domain_settings_parse (const gchar *xml, gssize len, gboolean ns_implied,
                                    VnmDomainSettings *out, GError **error);
/* Every field unset (-1). */
void vnm_domain_settings_init (VnmDomainSettings *settings);
/* A change of settings: a field is -1 to keep it, VNM_SETTING_UNSET to
 * remove it, else its new value. */
#define VNM_SETTING_UNSET (-2)
/* @current with @change applied. */
void vnm_domain_settings_apply_change (VnmDomainSettings *current,
                                       const VnmDomainSettings *change);
/* The <settings> element for @settings (unset fields left out), for
 * virDomainSetMetadata with VNM_METADATA_NS. */
gchar *vnm_domain_settings_to_xml (const VnmDomainSettings *settings);

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
