/* vnm-addr.bpf.h: address helpers both BPF programs use. */
#pragma once

/* An IPv4 address as IPv6 ::ffff:a.b.c.d, the form every map key and
 * record of virtnetmon uses for both families. */
static __always_inline void
v4_mapped (__u8 *dst, __u32 addr)
{
  __builtin_memset (dst, 0, 10);
  dst[10] = 0xff;
  dst[11] = 0xff;
  __builtin_memcpy (dst + 12, &addr, 4);
}
