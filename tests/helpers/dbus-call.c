/* dbus-call.c: one method call to virtnetmond with arguments of any type,
 * for tests of bad input: wrong types, huge values. Prints "OK <reply>" or
 * "ERROR <D-Bus error name> <message>" and exits 0 either way (1 when the
 * call could not be made at all).
 *
 *   dbus-call ADDRESS METHOD ARGS [BIG_BYTES]
 *
 * ARGS is a GVariant text tuple, e.g. "('web1', {'latency': <true>}, @as [])";
 * each @BIG@ in it becomes a string of BIG_BYTES 'x' characters (sent as
 * a string argument, so its size is not limited by the command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) args = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree gchar *text = NULL;

  if (argc < 4)
    {
      fprintf (stderr, "usage: dbus-call ADDRESS METHOD ARGS [BIG_BYTES]\n");
      return 2;
    }
  text = g_strdup (argv[3]);
  if (argc > 4 && strstr (text, "@BIG@"))
    {
      gsize n = strtoull (argv[4], NULL, 10);
      g_autofree gchar *big = g_malloc (n + 3);
      g_auto(GStrv) parts = g_strsplit (text, "@BIG@", -1);
      big[0] = '\'';
      memset (big + 1, 'x', n);
      big[n + 1] = '\'';
      big[n + 2] = '\0';
      g_free (text);
      text = g_strjoinv (big, parts);
    }
  args = g_variant_parse (NULL, text, NULL, NULL, &error);
  if (!args)
    {
      fprintf (stderr, "dbus-call: bad ARGS: %s\n", error->message);
      return 1;
    }
  bus = g_dbus_connection_new_for_address_sync (argv[1],
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  if (!bus)
    {
      fprintf (stderr, "dbus-call: %s\n", error->message);
      return 1;
    }
  reply = g_dbus_connection_call_sync (bus, "org.virtnetmon.Monitor1", "/org/virtnetmon/Monitor1",
                                       "org.virtnetmon.Monitor1", argv[2], args,
                                       NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, 60000, NULL, &error);
  if (reply)
    {
      g_autofree gchar *out = g_variant_print (reply, TRUE);
      printf ("OK %.2000s\n", out);
    }
  else
    {
      g_autofree gchar *name = g_dbus_error_get_remote_error (error);
      g_dbus_error_strip_remote_error (error);
      printf ("ERROR %s %.2000s\n", name ? name : "(local)", error->message);
    }
  return 0;
}
