/* authz.c: root, or polkit's word, for methods that change the daemon. */
#include "config.h"

#include "authz.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

/* polkit's CheckAuthorization flag. */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct {
  GDBusConnection *bus;
  GDBusMethodInvocation *invocation;
  gchar *what;
  gchar *action_id;
  guint32 uid;
  VnmAuthzFunc func;
  gpointer user_data;
} Check;

static void
finish (Check *c, gboolean allowed, GError *error)
{
  c->func (c->invocation, allowed, error, c->user_data);
  g_object_unref (c->invocation);
  g_object_unref (c->bus);
  g_free (c->what);
  g_free (c->action_id);
  g_free (c);
}

static void
polkit_answered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Check *c = user_data;
  g_autoptr(GError) local = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &local);
  gboolean authorized = FALSE, challenge = FALSE;

  if (!reply)
    {
      g_dbus_error_strip_remote_error (local);
      g_message (_("polkit could not decide whether uid %u may %s: %s"), c->uid, c->what,
                 local->message);
      g_set_error (&error, VNM_ERROR, VNM_ERROR_PERMISSION_DENIED,
                   _("Only root may %s unless polkit authorizes it (action %s), and polkit did not answer for uid %u: %s"),
                   c->what, c->action_id, c->uid, local->message);
      finish (c, FALSE, error);
      return;
    }
  g_variant_get (reply, "((bb@a{ss}))", &authorized, &challenge, NULL);
  if (authorized)
    {
      g_message (_("polkit authorized uid %u to %s."), c->uid, c->what);
      finish (c, TRUE, NULL);
      return;
    }
  g_set_error (&error, VNM_ERROR, VNM_ERROR_PERMISSION_DENIED,
               challenge
               ? _("Not authorized to %s: polkit action %s needs authentication, and the caller (uid %u) did not allow interactive authorization.")
               : _("Not authorized to %s: polkit refuses action %s to the caller (uid %u)."),
               c->what, c->action_id, c->uid);
  finish (c, FALSE, error);
}

static void
ask_polkit (Check *c)
{
  GDBusMessage *msg = g_dbus_method_invocation_get_message (c->invocation);
  gboolean interactive =
    (g_dbus_message_get_flags (msg) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
  GVariantBuilder subject, details;

  g_variant_builder_init (&subject, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&subject, "{sv}", "name",
                         g_variant_new_string (g_dbus_method_invocation_get_sender (c->invocation)));
  g_variant_builder_init (&details, G_VARIANT_TYPE ("a{ss}"));
  g_dbus_connection_call (c->bus, "org.freedesktop.PolicyKit1",
                          "/org/freedesktop/PolicyKit1/Authority",
                          "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
                          g_variant_new ("((sa{sv})sa{ss}us)", "system-bus-name", &subject,
                                         c->action_id, &details,
                                         interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, ""),
                          G_VARIANT_TYPE ("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE,
                          /* A person may be typing a password. */
                          interactive ? 300 * 1000 : 25 * 1000, NULL, polkit_answered, c);
}

static void
got_uid (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Check *c = user_data;
  g_autoptr(GError) local = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &local);

  if (!reply)
    {
      g_set_error (&error, VNM_ERROR, VNM_ERROR_PERMISSION_DENIED,
                   _("Cannot tell who asks to %s: %s"), c->what, local->message);
      finish (c, FALSE, error);
      return;
    }
  g_variant_get (reply, "(u)", &c->uid);
  if (c->uid == 0)
    {
      finish (c, TRUE, NULL);
      return;
    }
  if (!c->action_id)
    {
      g_set_error (&error, VNM_ERROR, VNM_ERROR_PERMISSION_DENIED,
                   _("Only root may %s (the caller is uid %u)."), c->what, c->uid);
      finish (c, FALSE, error);
      return;
    }
  ask_polkit (c);
}

void
vnm_authz_check (GDBusConnection *bus, GDBusMethodInvocation *invocation, const gchar *what,
                 const gchar *action_id, VnmAuthzFunc func, gpointer user_data)
{
  Check *c = g_new0 (Check, 1);

  c->bus = g_object_ref (bus);
  c->invocation = g_object_ref (invocation);
  c->what = g_strdup (what);
  c->action_id = g_strdup (action_id);
  c->func = func;
  c->user_data = user_data;
  g_dbus_connection_call (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", g_dbus_method_invocation_get_sender (invocation)),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, got_uid, c);
}
