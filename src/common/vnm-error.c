/* vnm-error.c: the VNM_ERROR domain, registered with GDBus so that an error
 * raised in the daemon arrives in a client with the same domain and code. */
#include "config.h"

#include <gio/gio.h>

#include "vnm-error.h"

static const GDBusErrorEntry vnm_error_entries[] = {
  { VNM_ERROR_FAILED, "org.virtnetmon.Error.Failed" },
  { VNM_ERROR_INVALID_ARGUMENT, "org.virtnetmon.Error.InvalidArgument" },
  { VNM_ERROR_UNKNOWN_DOMAIN, "org.virtnetmon.Error.UnknownDomain" },
  { VNM_ERROR_UNKNOWN_INTERFACE, "org.virtnetmon.Error.UnknownInterface" },
  { VNM_ERROR_LIBVIRT_DISCONNECTED, "org.virtnetmon.Error.LibvirtDisconnected" },
  { VNM_ERROR_PARSE, "org.virtnetmon.Error.Parse" },
  { VNM_ERROR_NOT_SUPPORTED, "org.virtnetmon.Error.NotSupported" },
  { VNM_ERROR_PERMISSION_DENIED, "org.virtnetmon.Error.PermissionDenied" },
};

GQuark
vnm_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("vnm-error-quark", &quark,
                                      vnm_error_entries,
                                      G_N_ELEMENTS (vnm_error_entries));
  return (GQuark) quark;
}
