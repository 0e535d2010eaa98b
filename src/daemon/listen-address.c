/* listen-address.c */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "listen-address.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"

gboolean
vnm_listen_address_parse (const gchar *text, gchar **host, guint16 *port, GError **error)
{
  const gchar *colon, *port_text;
  g_autofree gchar *h = NULL;
  guint64 p;
  gchar *end;

  if (text[0] == '[')
    {
      const gchar *close = strchr (text, ']');
      if (!close || close[1] != ':')
        goto bad;
      h = g_strndup (text + 1, close - text - 1);
      port_text = close + 2;
      if (!g_hostname_is_ip_address (h) || !strchr (h, ':'))
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("'%s' in '%s' is not an IPv6 address."), h, text);
          return FALSE;
        }
    }
  else
    {
      if (!(colon = strrchr (text, ':')) || strchr (text, ':') != colon)
        goto bad;
      h = g_strndup (text, colon - text);
      port_text = colon + 1;
    }
  p = g_ascii_strtoull (port_text, &end, 10);
  if (!*port_text || *end || p < 1 || p > VNM_PORT_MAX)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("'%s' in '%s' is not a port number (1-65535)."), port_text, text);
      return FALSE;
    }
  *host = g_steal_pointer (&h);
  *port = (guint16) p;
  return TRUE;

bad:
  g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
               _("Cannot parse the listen address '%s': give HOST:PORT, [IPV6]:PORT or :PORT "
                 "(every address)."), text);
  return FALSE;
}
