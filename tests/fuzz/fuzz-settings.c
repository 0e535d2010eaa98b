/* fuzz-settings.c: libFuzzer target for virtnetmon's <metadata> settings
 * parser (what virDomainGetMetadata returns, which anyone allowed to
 * change the domain's XML writes). A parsed result must survive a round
 * trip through the writer unchanged. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "domain-xml.h"
#include "vnm-limits.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *xml = NULL;
  VnmDomainSettings s, again;

  if (size < 2)
    return 0;
  /* The first byte picks how the element is read: from a domain's XML, or
   * as virDomainGetMetadata returns it (namespace implied). */
  gboolean implied = data[0] & 1;

  if (!vnm_domain_settings_parse ((const gchar *) data + 1, (gssize) size - 1, implied, &s, &error))
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (s.monitoring >= -1 && s.monitoring <= 1);
  g_assert (s.latency_threshold_us <= VNM_LATENCY_THRESHOLD_MAX_US);
  g_assert (s.flow_table_size == -1 || s.flow_table_size >= VNM_FLOW_TABLE_MIN);
  xml = vnm_domain_settings_to_xml (&s);
  g_assert (vnm_domain_settings_parse (xml, -1, FALSE, &again, NULL));
  g_assert (memcmp (&s, &again, sizeof s) == 0);
  return 0;
}
