/* vnm-error.h: the error domain shared by daemon and CLI; each code travels
 * over D-Bus as org.virtnetmon.Error.<Name>. */
#pragma once

#include <glib.h>

#define VNM_ERROR (vnm_error_quark ())

typedef enum {
  VNM_ERROR_FAILED,
  VNM_ERROR_INVALID_ARGUMENT,
  VNM_ERROR_UNKNOWN_DOMAIN,
  VNM_ERROR_UNKNOWN_INTERFACE,
  VNM_ERROR_LIBVIRT_DISCONNECTED,
  VNM_ERROR_PARSE,
  VNM_ERROR_NOT_SUPPORTED,
  VNM_ERROR_PERMISSION_DENIED,
} VnmError;

GQuark vnm_error_quark (void);
