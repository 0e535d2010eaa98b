/* vnm-bus.c: opening the message bus. */
#include "config.h"

#include "vnm-bus.h"
#include "vnm-i18n.h"

GDBusConnection *
vnm_bus_open (const gchar *address, gboolean session, GError **error)
{
  GDBusConnection *conn;

  if (address)
    {
      conn = g_dbus_connection_new_for_address_sync (address,
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, error);
      if (!conn)
        g_prefix_error (error, _("Cannot connect to the D-Bus bus at '%s': "), address);
      return conn;
    }
  conn = g_bus_get_sync (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
  if (!conn)
    g_prefix_error (error, session ? _("Cannot connect to the session bus: ")
                                   : _("Cannot connect to the system bus: "));
  return conn;
}
