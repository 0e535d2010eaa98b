/* bench-libvirt-client: the floor under virtnetmond's memory. A bare
 * libvirt client as any monitoring tool is one: it opens the connection
 * given, subscribes to lifecycle events, reads every domain's XML once,
 * connects to the D-Bus bus given (GIO), prints "ready" and runs
 * libvirt's event loop until killed. bench_base_rss.py reads its RSS next to the
 * daemon's in the same run: what libvirt, its libraries and GLib take in
 * any process, before anything virtnetmond keeps. */
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  (void) conn; (void) dom; (void) event; (void) detail; (void) opaque;
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: %s LIBVIRT-URI DBUS-ADDRESS\n", argv[0]);
      return 2;
    }
  virEventRegisterDefaultImpl ();
  virConnectPtr conn = virConnectOpen (argv[1]);
  if (!conn)
    {
      fprintf (stderr, "bench-libvirt-client: cannot open %s\n", argv[1]);
      return 1;
    }
  if (virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle),
                                        NULL, NULL) < 0)
    return 1;
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);
  size_t xml_bytes = 0;
  for (int i = 0; i < n; i++)
    {
      char *xml = virDomainGetXMLDesc (doms[i], 0);
      xml_bytes += xml ? strlen (xml) : 0;
      free (xml);
      virDomainFree (doms[i]);
    }
  free (doms);
  GError *error = NULL;
  GDBusConnection *bus = g_dbus_connection_new_for_address_sync (
      argv[2], G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  if (!bus)
    {
      fprintf (stderr, "bench-libvirt-client: %s\n", error->message);
      return 1;
    }
  printf ("ready %d domains, %zu bytes of XML\n", n, xml_bytes);
  fflush (stdout);
  for (;;)
    virEventRunDefaultImpl ();
}
