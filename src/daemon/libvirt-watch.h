/* libvirt-watch.h: follows libvirt's running domains into the registry:
 * initial listing, lifecycle and device events, reconnect with backoff and
 * reconciliation when libvirtd comes back. The only module using libvirt. */
#pragma once

#include <glib.h>

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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLibvirtWatch, vnm_libvirt_watch_free)
