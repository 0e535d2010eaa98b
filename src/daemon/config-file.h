/* config-file.h: defaults from a key file (the command line wins):
 *
 *   [daemon]
 *   connect=qemu:///system
 *   interval=1
 *   metrics-listen=127.0.0.1:9477
 */
#pragma once

#include <glib.h>

/* Fills *uri and *metrics_listen (when still NULL) and *interval (when
 * still the built-in default) from @path. Fails naming the file and the key
 * on bad input. */
gboolean vnm_config_load (const gchar *path, gchar **uri, gdouble *interval,
                          gchar **metrics_listen, GError **error);
