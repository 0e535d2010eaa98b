/* vnm-bus.h: opening the message bus, the same way for the daemon, the CLI
 * and the libvirt hook. */
#pragma once

#include <gio/gio.h>

/* Connects to the message bus at @address when given, else to the session
 * bus (@session) or the system bus (which honours DBUS_SYSTEM_BUS_ADDRESS).
 * The error names the bus that could not be reached. */
GDBusConnection *vnm_bus_open (const gchar *address, gboolean session, GError **error);
