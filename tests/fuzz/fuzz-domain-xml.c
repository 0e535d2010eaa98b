/* fuzz-domain-xml.c: libFuzzer target for the domain XML parser, the input
 * libvirtd and the libvirt hook hand the daemon. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "domain-xml.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmDomainDef) def = NULL;

  if (size == 0)
    return 0;
  def = vnm_domain_xml_parse ((const gchar *) data, (gssize) size, &error);
  /* Exactly one of a result and an error, and what is kept is printable. */
  g_assert ((def == NULL) != (error == NULL));
  if (def)
    {
      g_assert (g_utf8_validate (def->name, -1, NULL));
      g_assert (strlen (def->uuid) == 36);
      for (guint i = 0; i < def->interfaces->len; i++)
        {
          const VnmDomainInterface *iface = g_ptr_array_index (def->interfaces, i);
          g_assert (g_utf8_validate (iface->target_dev, -1, NULL));
          g_assert (*iface->no_stats_reason || vnm_is_valid_ifname (iface->target_dev));
        }
    }
  return 0;
}
