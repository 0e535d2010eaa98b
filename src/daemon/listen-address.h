/* listen-address.h: HOST:PORT as an operator writes it. Pure. */
#pragma once

#include <glib.h>

/* Parses HOST:PORT, [IPV6]:PORT or :PORT (every address). HOST may be a
 * name. Fails naming the problem. */
gboolean vnm_listen_address_parse (const gchar *text, gchar **host, guint16 *port, GError **error);
