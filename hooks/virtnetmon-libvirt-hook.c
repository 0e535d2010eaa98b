/* virtnetmon-libvirt-hook.c: libvirt's qemu hook for virtnetmond, installed
 * as /etc/libvirt/hooks/qemu.d/virtnetmon.
 *
 * libvirtd runs it as `virtnetmon DOMAIN OPERATION SUB-OPERATION EXTRA` with
 * the domain XML on standard input, and waits for it. On "start" (the host
 * devices exist, QEMU has not started) and "started" it hands the XML to
 * virtnetmond, which attaches the domain's probes before replying; on
 * "stopped" and "release" the daemon forgets the domain.
 *
 * Rules: it never calls libvirt (libvirtd waits on it: a deadlock); it gives
 * up within a second when the daemon is down or does not answer; and it
 * always exits 0, because a failing start hook makes the VM fail to start.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "vnm-bus.h"
#include "vnm-names.h"

/* The whole hook, connect and call included, ends by then. */
#define HOOK_DEADLINE_S  1
#define CALL_TIMEOUT_MS  900
/* libvirt's own limit on domain XML. */
#define MAX_XML_BYTES    (10 * 1024 * 1024)

static void
give_up (int sig)
{
  static const char msg[] = "virtnetmon hook: virtnetmond did not answer in time; going on without it.\n";
  ssize_t unused = write (STDERR_FILENO, msg, sizeof msg - 1);
  (void) unused;
  _exit (0);
}

static gchar *
read_stdin (gsize *len)
{
  GString *s = g_string_new (NULL);
  gchar buf[65536];
  gssize n;

  while ((n = read (STDIN_FILENO, buf, sizeof buf)) > 0 && s->len < MAX_XML_BYTES)
    g_string_append_len (s, buf, n);
  *len = s->len;
  return g_string_free (s, FALSE);
}

static GDBusConnection *
open_bus (GError **error)
{
  g_autofree gchar *address = NULL;
  g_autofree gchar *path = g_build_filename (VNM_DEFAULT_STATE_DIR, VNM_BUS_ADDRESS_FILE, NULL);

  /* A daemon on another bus (tests, a second instance) says where it is. */
  if (g_file_get_contents (path, &address, NULL, NULL) && !*g_strstrip (address))
    g_clear_pointer (&address, g_free);
  return vnm_bus_open (address, FALSE, error);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree gchar *xml = NULL;
  const gchar *domain, *operation;
  gsize len = 0;

  if (argc < 3)
    {
      g_printerr ("usage: %s DOMAIN OPERATION [SUB-OPERATION EXTRA] < domain.xml\n"
                  "The libvirt qemu hook of virtnetmond; libvirtd runs it.\n", argv[0]);
      return 0;
    }
  domain = argv[1];
  operation = argv[2];
  if (!g_str_equal (operation, "start") && !g_str_equal (operation, "started") &&
      !g_str_equal (operation, "stopped") && !g_str_equal (operation, "release"))
    return 0;      /* prepare, migrate, restore, reconnect, attach: nothing to tell */

  signal (SIGALRM, give_up);
  signal (SIGPIPE, SIG_IGN);
  alarm (HOOK_DEADLINE_S);

  xml = read_stdin (&len);
  if (len == 0 || len >= MAX_XML_BYTES || !g_utf8_validate (xml, len, NULL))
    {
      g_printerr ("virtnetmon hook: no usable domain XML for %s on standard input.\n", domain);
      return 0;
    }
  bus = open_bus (&error);
  if (!bus)
    {
      g_printerr ("virtnetmon hook: %s; %s goes on without virtnetmond.\n",
                  error->message, domain);
      return 0;
    }
  /* NO_AUTO_START: starting the daemon takes longer than libvirt should
   * wait; a daemon that is not running learns of the domain from libvirt. */
  reply = g_dbus_connection_call_sync (bus, VNM_DBUS_NAME, VNM_DBUS_PATH, VNM_DBUS_NAME,
                                       "DomainHook", g_variant_new ("(ss)", operation, xml),
                                       G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       CALL_TIMEOUT_MS, NULL, &error);
  if (!reply)
    {
      g_dbus_error_strip_remote_error (error);
      g_printerr ("virtnetmon hook: virtnetmond was not told that %s is %s: %s\n",
                  domain, operation, error->message);
    }
  return 0;
}
