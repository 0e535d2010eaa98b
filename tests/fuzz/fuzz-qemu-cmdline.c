/* fuzz-qemu-cmdline.c: libFuzzer target for the QEMU command-line parser,
 * fed what /proc/PID/cmdline holds (NUL-separated arguments), which any
 * local user controls for their own processes. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "domain-xml.h"
#include "qemu-scan.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmQemuProcess) proc = NULL;
  guint vmid, nic;

  proc = vnm_qemu_cmdline_parse_raw ((const gchar *) data, size, 1, &error);
  g_assert ((proc == NULL) != (error == NULL));
  if (proc)
    for (guint i = 0; i < proc->ifnames->len; i++)
      g_assert (vnm_is_valid_ifname (g_ptr_array_index (proc->ifnames, i)));
  /* The name-pattern fallback sees interface names; any bytes will do. */
  if (size < 64)
    {
      g_autofree gchar *name = g_strndup ((const gchar *) data, size);
      (void) vnm_name_pattern_match (name, &vmid, &nic);
    }
  return 0;
}
