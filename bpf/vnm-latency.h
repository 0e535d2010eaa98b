/* vnm-latency.h: what bpf/latency.bpf.c and the daemon share: the
 * per-device configuration the daemon writes, the histogram and drop
 * counters the program fills, the slow-packet event, and the log-linear
 * bucket arithmetic (one definition for both sides). Plain C types only, so
 * that it compiles for the BPF target and for the host. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Directions in the guest's view, as everywhere in virtnetmon. */
#define VNM_LAT_TX 0   /* sent by the VM */
#define VNM_LAT_RX 1   /* sent to the VM */

/* Stage pairs. From the VM (tx): received from the VM's netdev ->
 * queued on the next device -> handed to that device's driver. To the VM
 * (rx): received on a port that feeds it (uplink, bridge port, another
 * VM) -> queued on the VM's netdev -> handed to its driver -> taken by the
 * guest (tap: read from the queue; veth: received by the peer). */
enum vnm_lat_stage {
  VNM_STAGE_RCV_QUEUE = 0,   /* receive -> queue */
  VNM_STAGE_QUEUE_XMIT,      /* queue -> driver (qdisc wait) */
  VNM_STAGE_XMIT_GUEST,      /* driver -> guest (rx only) */
  VNM_STAGE_TOTAL,           /* first to last stage seen, when all were */
  VNM_STAGE_COUNT,
};

/* Log-linear buckets of nanoseconds: values below 2^SUB_BITS have a bucket
 * each; above, every power of two is split into 2^SUB_BITS equal buckets,
 * so a bucket is at most 1/32 (3.1 %) of its lower bound wide. The last
 * bucket takes everything from 2^36 ns (68.7 s) on. */
#define VNM_LAT_SUB_BITS 5
#define VNM_LAT_SUB (1u << VNM_LAT_SUB_BITS)
#define VNM_LAT_MAX_LOG2 36
#define VNM_LAT_BUCKETS ((VNM_LAT_MAX_LOG2 - VNM_LAT_SUB_BITS) * VNM_LAT_SUB + VNM_LAT_SUB)

static inline __u32
vnm_lat_log2 (__u64 v)
{
  __u32 r = 0;
  if (v >> 32) { v >>= 32; r += 32; }
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) { r += 1; }
  return r;
}

static inline __u32
vnm_lat_bucket (__u64 ns)
{
  __u32 k, shift;

  if (ns < VNM_LAT_SUB)
    return (__u32) ns;
  k = vnm_lat_log2 (ns);
  if (k >= VNM_LAT_MAX_LOG2)
    return VNM_LAT_BUCKETS - 1;
  shift = k - VNM_LAT_SUB_BITS;
  return shift * VNM_LAT_SUB + (__u32) (ns >> shift);
}

/* The smallest value of bucket @b, and its width. */
static inline __u64
vnm_lat_bucket_low (__u32 b)
{
  __u32 shift;

  if (b < 2 * VNM_LAT_SUB)
    return b;
  shift = b / VNM_LAT_SUB - 1;
  return (__u64) (b - shift * VNM_LAT_SUB) << shift;
}

static inline __u64
vnm_lat_bucket_width (__u32 b)
{
  if (b < 2 * VNM_LAT_SUB)
    return 1;
  return (__u64) 1 << (b / VNM_LAT_SUB - 1);
}

/* The key of the guest-MAC table: the six bytes in a u64's first six. */
static inline __u64
vnm_lat_mac_key (const __u8 *mac)
{
  __u64 k = 0;
  __builtin_memcpy (&k, mac, 6);
  return k;
}

/* vnm_lat_devs: one entry per host netdev of a monitored VM (key: its
 * ifindex in the host's network namespace), and per port that feeds a
 * traced VM. */
#define VNM_DEV_VM       0x01  /* a VM's netdev: drops are counted */
#define VNM_DEV_TRACE_TX 0x02  /* latency traced from the VM */
#define VNM_DEV_TRACE_RX 0x04  /* latency traced to the VM */
#define VNM_DEV_FEEDER   0x08  /* a port whose receive starts an rx path */
#define VNM_DEV_EVENTS   0x10  /* slow packets go to the ring buffer */
/* A macvtap (with VNM_DEV_VM): its TRACE_TX path starts where the guest's
 * packet is queued on it and ends at its lower device's driver; its
 * TRACE_RX path starts at the lower device's receive (VNM_DEV_MV_LOWER)
 * and ends when the guest's reader takes the packet. */
#define VNM_DEV_MACVTAP  0x20
#define VNM_DEV_MV_LOWER 0x40  /* the lower device of a macvtap traced for rx */

/* vnm_lat_dev_bits: a bit per ifindex modulo this, set for every device
 * in vnm_lat_devs (a filter that answers "not ours" without a lookup). */
#define VNM_LAT_DEV_BITS 65536

/* Filters: 0 / all-zero address = any. */
struct vnm_lat_filter {
  __u8 proto;            /* IPPROTO_TCP, _UDP, _ICMP (also ICMPv6) */
  __u8 family;           /* 4 or 6 when an address is given */
  __u16 src_port, dst_port;   /* host order */
  __u8 src_ip[16], dst_ip[16];  /* IPv4 as ::ffff:a.b.c.d */
};

struct vnm_lat_dev {
  __u32 flags;
  __u8 mac[6];           /* the guest's MAC (VNM_DEV_VM) */
  __u16 pad;
  __u64 threshold_ns;    /* slow-packet events at or above this */
  struct vnm_lat_filter filter;
  __u32 hist_block;      /* its histograms in vnm_lat_hists; VNM_LAT_NO_HISTS */
  __u32 pad2;
};

/* vnm_lat_hists: an array of blocks, one per traced VM netdev, of one
 * histogram per direction and stage: entry hist_block * VNM_LAT_BLOCK +
 * dir * VNM_STAGE_COUNT + stage. The daemon hands out the blocks and empties
 * them when tracing is switched on; the program only adds to them
 * (atomically: one histogram is shared by all CPUs). */
#define VNM_LAT_BLOCK (2 * VNM_STAGE_COUNT)
#define VNM_LAT_NO_HISTS 0xffffffffu

static inline __u32
vnm_lat_hist_index (__u32 block, __u32 dir, __u32 stage)
{
  return block * VNM_LAT_BLOCK + dir * VNM_STAGE_COUNT + stage;
}

struct vnm_lat_hist {
  __u64 count;           /* the sum of the buckets: filled by the daemon */
  __u64 sum_ns, min_ns, max_ns;
  __u64 buckets[VNM_LAT_BUCKETS];
};

/* vnm_lat_drops: freed-with-a-reason skbs of a VM. */
struct vnm_lat_drop_key {
  __u32 ifindex;
  __u32 reason;          /* enum skb_drop_reason of the running kernel */
  __u8 dir;
  __u8 pad[3];
};

/* One slow packet, through the ring buffer. Stages that were not seen
 * are 0. Addresses in wire order (src -> dst), IPv4 as ::ffff:a.b.c.d. */
struct vnm_lat_event {
  __u64 time_ns;         /* CLOCK_MONOTONIC (bpf_ktime_get_ns) at the end */
  __u64 stage_ns[VNM_STAGE_COUNT];
  __u32 ifindex;         /* the VM's netdev */
  __u32 len;             /* skb->len */
  __u8 dir, family, proto, pad;
  __u16 sport, dport;    /* host order */
  __u8 saddr[16], daddr[16];
};

/* The program's own counters (a global array the daemon reads). */
enum vnm_lat_counter {
  VNM_LAT_EVENTS_SENT = 0,
  VNM_LAT_EVENTS_LOST,     /* ring buffer full */
  VNM_LAT_PATHS_STALE,     /* skb seen again after its entry expired */
  VNM_LAT_PATHS_REPLACED,  /* a packet in flight lost its slot to another */
  VNM_LAT_COUNTERS,
};
