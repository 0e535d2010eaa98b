// SPDX-License-Identifier: GPL-2.0-or-later
/* Programs that do nothing on the four tracepoints of the latency probe's
 * path: what any tracepoint program costs there (the benchmark's floor). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC ("license") = "GPL";

SEC ("tp_btf/netif_receive_skb")
int empty_receive (unsigned long long *ctx) { return 0; }
SEC ("tp_btf/net_dev_queue")
int empty_queue (unsigned long long *ctx) { return 0; }
SEC ("tp_btf/net_dev_start_xmit")
int empty_xmit (unsigned long long *ctx) { return 0; }
SEC ("tp_btf/consume_skb")
int empty_consume (unsigned long long *ctx) { return 0; }
