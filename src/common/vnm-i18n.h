/* vnm-i18n.h: gettext macros shared by the daemon and the CLI. */
#pragma once

#include <glib/gi18n.h>

/* Binds the text domain and the locale; call once at the top of main(). */
void vnm_i18n_init (void);
