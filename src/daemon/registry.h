/* registry.h: the running domains and which host netdevs belong to them. */
#pragma once

#include <glib.h>

#include "domain-xml.h"

typedef struct {
  gchar *uuid;            /* key; lower-case canonical form */
  gchar *name;
  gint id;                /* libvirt domain id or Proxmox VM id; -1 when none */
  gchar *state;           /* running, paused, ... */
  const gchar *mapped_by; /* VNM_MAPPED_BY_* */
  GPtrArray *interfaces;  /* of VnmDomainInterface*, owned */
  gchar *object_path;     /* D-Bus object path */
  VnmDomainSettings settings; /* from the domain's <metadata>; -1: unset */
  gchar *settings_error;  /* why its <metadata> settings were ignored, or NULL */
  VnmDomainLabels *labels; /* title, description, Nova's tenant; never NULL */
} VnmDomain;

typedef struct _VnmRegistry VnmRegistry;

typedef enum {
  VNM_REGISTRY_ADDED,
  VNM_REGISTRY_CHANGED,
  VNM_REGISTRY_REMOVED,
} VnmRegistryChange;

/* Called after a domain was added or changed, or just before it is freed. */
typedef void (*VnmRegistryFunc) (VnmRegistryChange change, const VnmDomain *domain,
                                 gpointer user_data);

VnmRegistry *vnm_registry_new (void);
void vnm_registry_free (VnmRegistry *reg);
void vnm_registry_set_observer (VnmRegistry *reg, VnmRegistryFunc func, gpointer user_data);

/* Adds or replaces the domain @def->uuid (takes @def). */
const VnmDomain *vnm_registry_update (VnmRegistry *reg, VnmDomainDef *def,
                                      const gchar *state, const gchar *mapped_by);
gboolean vnm_registry_remove (VnmRegistry *reg, const gchar *uuid);

/* Removes every domain mapped by @mapped_by whose uuid is not in @keep
 * (a set of uuid strings). For reconciling after a reconnect or a scan. */
void vnm_registry_retain (VnmRegistry *reg, const gchar *mapped_by, GHashTable *keep);

/* Finds a domain by uuid, name or id, in that order (as virsh does). */
const VnmDomain *vnm_registry_lookup (VnmRegistry *reg, const gchar *text);
const VnmDomain *vnm_registry_lookup_uuid (VnmRegistry *reg, const gchar *uuid);

/* The domain and interface that own host netdev @ifname, or NULL. */
const VnmDomain *vnm_registry_lookup_ifname (VnmRegistry *reg, const gchar *ifname,
                                             const VnmDomainInterface **iface);

/* All domains, sorted by id then name. Free the array only. */
GPtrArray *vnm_registry_list (VnmRegistry *reg);

/* @domain's settings with every unset field taken from @defaults. */
void vnm_domain_effective_settings (const VnmDomain *domain, const VnmDomainSettings *defaults,
                                    VnmDomainSettings *out);

/* /org/virtnetmon/Monitor1/domain/<uuid with _ for ->. */
gchar *vnm_domain_object_path (const gchar *uuid);

/* A stable name-based UUID (version 5 layout) for VMs that carry none. */
gchar *vnm_uuid_for_name (const gchar *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmRegistry, vnm_registry_free)
