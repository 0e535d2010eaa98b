/* vnm-i18n.c: gettext set-up. */
#include "config.h"

#include <locale.h>

#include "vnm-i18n.h"

void
vnm_i18n_init (void)
{
  /* Tests point this at translations compiled from the source tree's po/. */
  const gchar *dir = g_getenv ("VIRTNETMON_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, dir && *dir ? dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
