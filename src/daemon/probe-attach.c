/* probe-attach.c */
#include "config.h"

#include "probe-attach.h"

gboolean
vnm_probe_attach_from_string (const gchar *s, VnmProbeAttach *out)
{
  if (g_str_equal (s, "auto"))
    *out = VNM_PROBE_ATTACH_AUTO;
  else if (g_str_equal (s, "tcx"))
    *out = VNM_PROBE_ATTACH_TCX;
  else if (g_str_equal (s, "tc-clsact") || g_str_equal (s, "clsact"))
    *out = VNM_PROBE_ATTACH_CLSACT;
  else
    return FALSE;
  return TRUE;
}

const gchar *
vnm_probe_attach_to_string (VnmProbeAttach a)
{
  switch (a)
    {
    case VNM_PROBE_ATTACH_TCX:
      return "tcx";
    case VNM_PROBE_ATTACH_CLSACT:
      return "tc-clsact";
    default:
      return "auto";
    }
}
