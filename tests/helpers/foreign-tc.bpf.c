// SPDX-License-Identifier: GPL-2.0-or-later
/* A tc program that is not virtnetmon's: tests check that virtnetmon never
 * removes or replaces it. It lets every packet through. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC ("license") = "GPL";

SEC ("tc")
int
foreign_pass (struct __sk_buff *skb)
{
  return TC_ACT_UNSPEC;
}
