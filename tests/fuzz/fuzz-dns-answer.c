/* fuzz-dns-answer.c: libFuzzer target for the DNS answer parser (the
 * messages from UDP port 53 to a VM, which whoever answers the VM, or
 * forges an answer, writes). Whatever it returns must be sane: a name of
 * at most 253 characters of [a-z0-9._-], addresses of family 4 or 6; on
 * refusal an error and nothing else. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "dns-answer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *name = NULL;
  g_autoptr(GArray) addrs = g_array_new (FALSE, FALSE, sizeof (VnmDnsAddress));
  gboolean cut;

  if (size < 1)
    return 0;
  /* The first byte: whether the capture was cut. */
  cut = data[0] & 1;
  if (!vnm_dns_answer_parse (data + 1, size - 1, cut, &name, addrs, &error))
    {
      g_assert (error != NULL && name == NULL && addrs->len == 0);
      return 0;
    }
  g_assert (name && *name && strlen (name) <= 253);
  for (const gchar *c = name; *c; c++)
    g_assert (g_ascii_isdigit (*c) || g_ascii_islower (*c) || *c == '.' || *c == '-' || *c == '_');
  for (guint i = 0; i < addrs->len; i++)
    {
      const VnmDnsAddress *a = &g_array_index (addrs, VnmDnsAddress, i);
      g_assert (a->family == 4 || a->family == 6);
      g_assert (a->ttl < 0x80000000u);
    }
  return 0;
}
