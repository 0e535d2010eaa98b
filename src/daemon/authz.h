/* authz.h: who may change what virtnetmond does. Root always; anyone else
 * when polkit authorizes the action for them (org.virtnetmon.configure,
 * dbus/org.virtnetmon.policy); some methods are root's alone. The caller
 * is asked of the bus (GetConnectionUnixUser) and of polkit over D-Bus
 * (org.freedesktop.PolicyKit1), never taken from the message. */
#pragma once

#include <gio/gio.h>

#define VNM_POLKIT_ACTION_CONFIGURE "org.virtnetmon.configure"

/* Called once with the verdict; on refusal @error says why (PermissionDenied). */
typedef void (*VnmAuthzFunc) (GDBusMethodInvocation *invocation, gboolean allowed,
                              const GError *error, gpointer user_data);

/* Decides whether the sender of @invocation may do @what (a phrase for
 * messages: "switch latency tracing on or off"): root yes; with @action_id
 * NULL nobody else; otherwise whoever polkit authorizes for @action_id,
 * with interaction when the caller allowed it. */
void vnm_authz_check (GDBusConnection *bus, GDBusMethodInvocation *invocation,
                      const gchar *what, const gchar *action_id, VnmAuthzFunc func,
                      gpointer user_data);
