/* vnm-i18n.h: gettext macros shared by the daemon and the CLI. */
#pragma once

#include <glib/gi18n.h>

/* Binds the text domain and the locale; call once at the top of main().
 * Messages follow LANGUAGE, LC_ALL, LC_MESSAGES and LANG; the catalogues are
 * in LOCALEDIR, or in $VIRTNETMON_LOCALEDIR when set (for tests). */
void vnm_i18n_init (void);
