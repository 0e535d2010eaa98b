/* dbus-service.h: org.virtnetmon.Monitor1 on the bus: the manager object,
 * one object per domain through an ObjectManager, named errors. The only
 * module that uses GDBus in the daemon. */
#pragma once

#include <gio/gio.h>

#include "engine.h"
#include "ipfix-exporter.h"

typedef struct _VnmDbusService VnmDbusService;

/* Exports the objects on @connection, follows @engine's signals and
 * requests the well-known name. @on_name_lost is called if the name cannot
 * be had or is lost. */
VnmDbusService *vnm_dbus_service_new (VnmEngine *engine, GDBusConnection *connection,
                                      GCallback on_name_lost, gpointer user_data,
                                      GError **error);
void vnm_dbus_service_free (VnmDbusService *service);

/* Publishes @ipfix's statistics (NULL: none) in the Ipfix property, from
 * now on at every interval. @ipfix must outlive the service. */
void vnm_dbus_service_set_ipfix (VnmDbusService *service, VnmIpfixExporter *ipfix);
/* Refreshes the Latency property (settings, subscribers, counters). */
void vnm_dbus_service_publish_latency (VnmDbusService *service);
/* Refreshes every property that follows the samples (rates, counts). */
void vnm_dbus_service_publish (VnmDbusService *service);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDbusService, vnm_dbus_service_free)
