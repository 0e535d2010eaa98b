/* config-file.h: defaults from a key file (the command line wins):
 *
 *   [daemon]
 *   connect=qemu:///system
 *   interval=1
 */
#pragma once

#include <glib.h>

/* Fills *uri (when still NULL) and *interval (when still @default) from
 * @path. Fails naming the file and the key on bad input. */
gboolean vnm_config_load (const gchar *path, gchar **uri, gdouble *interval, GError **error);
