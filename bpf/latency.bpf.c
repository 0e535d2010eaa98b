// SPDX-License-Identifier: GPL-2.0-or-later
/* latency.bpf.c: datapath latency and drops of VMs, from tracepoints only
 * (no kprobes, no fentry), so it runs on kernels that refuse those.
 *
 * A packet's path is followed by its skb address through
 *   net:netif_receive_skb  (received: from the VM's netdev, or on a port
 *                           that feeds a traced VM)
 *   net:net_dev_queue      (queued on the next device)
 *   net:net_dev_start_xmit (handed to that device's driver)
 *   skb:consume_skb, or netif_receive_skb on the far end of a veth
 *                          (taken by the guest)
 * and forgotten when the skb is freed. A macvtap's paths run otherwise:
 * the guest's packet is queued on the macvtap (its start), then on the
 * lower device, then handed to the lower device's driver; a packet to the
 * guest is received on the lower device (its start, the guest found by
 * the destination MAC), demultiplexed to the macvtap's queue without a
 * tracepoint, and consumed when the guest's reader takes it. Each stage pair adds to a histogram
 * of its VM, direction and stage; a packet at or above the VM's threshold
 * goes to the ring buffer while someone listens. skb:kfree_skb counts
 * drops by reason per VM and direction, traced or not.
 *
 * Every program comes twice: tp_btf (BTF-typed, Linux 5.5+) and raw_tp;
 * the daemon loads the kind the kernel allows. Kernel structures are read
 * with CO-RE (field offsets from the running kernel's BTF). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vnm-addr.bpf.h"
#include "vnm-latency.h"

char LICENSE[] SEC ("license") = "GPL";

/* The few kernel types read here; CO-RE finds the fields by name in the
 * running kernel, wherever they are. */
struct ns_common { unsigned int inum; } __attribute__ ((preserve_access_index));
struct net { struct ns_common ns; } __attribute__ ((preserve_access_index));
typedef struct { struct net *net; } possible_net_t;
struct net_device {
  int ifindex;
  possible_net_t nd_net;
} __attribute__ ((preserve_access_index));
struct sk_buff {
  struct net_device *dev;
  unsigned int len;
  __u16 protocol;
  __u16 network_header, mac_header;
  unsigned char *head, *data;
} __attribute__ ((preserve_access_index));

/* A field of a kernel object: a direct load in tp_btf programs (the
 * verifier knows the pointer's type), a probe read in raw_tp ones. Every
 * handler takes a constant @btf; after inlining, the compiler keeps one
 * side only. */
#define RD(btf, obj, ...) ((btf) ? (obj)->__VA_ARGS__ : BPF_CORE_READ (obj, __VA_ARGS__))

#define IPPROTO_ICMPV6_ 58
#define HEADER_UNSET 0xffff
/* A path untouched this long belongs to an skb whose free was not seen. */
#define PATH_MAX_AGE_NS (10ull * 1000000000ull)
#define NO_EVENTS (~0ull)

/* Set by the daemon before loading. */
const volatile __u32 host_netns_ino = 0;
const volatile __u32 paths_mask = 0;  /* entries of vnm_lat_paths - 1 (a power of two) */
/* The kernel lets tp_btf programs load from the packet data an skb points
 * to (Linux 6.17 and later: untrusted read-only memory); else the headers
 * are copied with a probe read. The verifier skips the branch not taken. */
const volatile __u8 direct_reads = 0;

/* The packets in flight, by skb address. A direct-mapped table, not a
 * hash map: finding a packet's slot is one multiplication and an inlined
 * array access, and starting or ending a path is a few stores, where a
 * hash map's insert and delete took hundreds of nanoseconds a packet.
 * Two packets in flight whose addresses share a slot: the later one takes
 * it (counted as VNM_LAT_PATHS_REPLACED). Slots are shared by all CPUs,
 * because a path can end on another CPU than it began (the guest's
 * reader); one packet's stages run one after the other. */
struct path {
  __u64 skb;                     /* the slot's skb; 0 = free */
  __u64 head;                    /* skb->head when made: a reused address has another */
  __u64 t_rcv, t_queue, t_xmit;  /* 0 = not seen */
  __u64 tx_threshold, rx_threshold;  /* slow-packet events at or above; NO_EVENTS */
  __u32 rcv_if, queue_if;
  __u32 tx_if, rx_if;            /* traced VM netdevs: from, to; 0 = none */
  __u32 tx_hists, rx_hists;      /* their histogram blocks */
  __u32 len;
  __u8 family, proto, parsed;
  __u8 macvtap;                  /* an rx path from a macvtap's lower device */
  __u16 sport, dport;
  __u8 saddr[16], daddr[16];
};

struct {
  __uint (type, BPF_MAP_TYPE_ARRAY);
  __uint (max_entries, 16384);     /* the daemon sets the size before loading */
  __type (key, __u32);             /* slot_of (skb address) */
  __type (value, struct path);
} vnm_lat_paths SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_HASH);
  __uint (max_entries, 4096);
  __type (key, __u32);             /* ifindex in the host's network namespace */
  __type (value, struct vnm_lat_dev);
} vnm_lat_devs SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_HASH);
  __uint (max_entries, 4096);
  __type (key, __u64);             /* a guest's MAC, bytes 0-5 */
  __type (value, __u32);           /* its VM netdev */
} vnm_lat_macs SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_ARRAY);
  __uint (max_entries, VNM_LAT_BLOCK);  /* the daemon sets the size before loading */
  __type (key, __u32);             /* vnm_lat_hist_index () */
  __type (value, struct vnm_lat_hist);
} vnm_lat_hists SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_HASH);
  __uint (max_entries, 16384);
  __type (key, struct vnm_lat_drop_key);
  __type (value, __u64);
} vnm_lat_drops SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_RINGBUF);
  __uint (max_entries, 1 << 20);
} vnm_lat_events SEC (".maps");

__u64 vnm_lat_counters[VNM_LAT_COUNTERS];
/* When the path programs were last attached or detached
 * (bpf_ktime_get_ns, CLOCK_MONOTONIC), set by the daemon: a path whose
 * last stage is older was left half-done by an earlier tracing window
 * (sampled mode detaches between windows) and never ends; while detached,
 * no path is current. */
volatile __u64 window_start_ns = 0;

/* A bit per ifindex modulo VNM_LAT_DEV_BITS, set by the daemon for every
 * device in vnm_lat_devs: most devices a packet passes are not ours, and
 * this answers "not ours" without a hash lookup. */
__u64 vnm_lat_dev_bits[VNM_LAT_DEV_BITS / 64];

static __always_inline int
maybe_ours (__u32 ifindex)
{
  __u32 bit = ifindex & (VNM_LAT_DEV_BITS - 1);

  return (vnm_lat_dev_bits[bit / 64] >> (bit % 64)) & 1;
}

static __always_inline int
in_host_netns (const int btf, struct net_device *dev)
{
  if (btf)
    return dev->nd_net.net->ns.inum == host_netns_ino;
  return BPF_CORE_READ (dev, nd_net.net, ns.inum) == host_netns_ino;
}

/* The configuration of the device with @ifindex when it is one of ours. */
static __always_inline struct vnm_lat_dev *
dev_config (const int btf, struct net_device *dev, __u32 ifindex)
{
  struct vnm_lat_dev *cfg;

  if (!dev || !maybe_ours (ifindex))
    return 0;
  cfg = bpf_map_lookup_elem (&vnm_lat_devs, &ifindex);
  if (cfg && !in_host_netns (btf, dev))
    return 0;
  return cfg;
}

/* The slot of the skb at @addr. */
static __always_inline struct path *
slot_of (__u64 addr)
{
  __u32 i = (__u32) ((addr * 0x9E3779B97F4A7C15ull) >> 32) & paths_mask;

  return bpf_map_lookup_elem (&vnm_lat_paths, &i);
}

static __always_inline __u64
last_stage (const struct path *p)
{
  return p->t_xmit ? p->t_xmit : p->t_queue ? p->t_queue : p->t_rcv;
}

/* @slot's path when it is @skb's and still current (sets *@now); else
 * NULL, and a stale path of @skb is freed. */
static __always_inline struct path *
path_of (const int btf, struct path *slot, struct sk_buff *skb, __u64 addr, __u64 *now)
{
  __u64 last;

  if (slot->skb != addr)
    return 0;
  *now = bpf_ktime_get_ns ();
  last = last_stage (slot);
  if (slot->head != (__u64) RD (btf, skb, head) || *now - last > PATH_MAX_AGE_NS ||
      last < window_start_ns)
    {
      __sync_fetch_and_add (&vnm_lat_counters[VNM_LAT_PATHS_STALE], 1);
      slot->skb = 0;
      return 0;
    }
  return slot;
}

/* Starts @skb's path in @slot. */
static __always_inline struct path *
path_start (const int btf, struct path *slot, struct sk_buff *skb, __u64 addr, __u64 now)
{
  __u64 last = last_stage (slot);

  if (slot->skb && slot->skb != addr && now - last <= PATH_MAX_AGE_NS && last >= window_start_ns)
    __sync_fetch_and_add (&vnm_lat_counters[VNM_LAT_PATHS_REPLACED], 1);
  __builtin_memset (slot, 0, sizeof *slot);
  slot->skb = addr;
  slot->head = (__u64) RD (btf, skb, head);
  slot->tx_threshold = slot->rx_threshold = NO_EVENTS;
  slot->tx_hists = slot->rx_hists = VNM_LAT_NO_HISTS;
  return slot;
}

/* The start of an IP packet: an IPv4 header without options or an IPv6
 * header, then the ports. */
struct l3_head {
  union {
    struct { __u8 vihl, tos; __u16 tot_len, id, frag; __u8 ttl, protocol;
             __u16 check; __u32 saddr, daddr; __u16 ports[2]; } ip;
    struct { __u32 vtf; __u16 plen; __u8 nexthdr, hop; __u8 saddr[16], daddr[16];
             __u16 ports[2]; } ip6;
  };
};

/* Fills @p from the headers at @h: a copy on the stack, or (@direct) the
 * packet itself. */
static __always_inline void
parse_head (struct path *p, const struct l3_head *h, unsigned char *l3, __u16 proto, const int direct)
{
  __u16 ports[2] = {};
  __u32 ihl;

  if (proto == bpf_htons (ETH_P_IP))
    {
      if ((h->ip.vihl & 0xf) < 5)
        return;
      p->family = 4;
      p->proto = h->ip.protocol;
      v4_mapped (p->saddr, h->ip.saddr);
      v4_mapped (p->daddr, h->ip.daddr);
      if (h->ip.frag & bpf_htons (0x1fff))
        return;
      ihl = (h->ip.vihl & 0xf) * 4;
      if (ihl == 20)
        {
          ports[0] = h->ip.ports[0];
          ports[1] = h->ip.ports[1];
        }
      else if (direct)
        {
          ports[0] = *(__u16 *) (l3 + ihl);
          ports[1] = *(__u16 *) (l3 + ihl + 2);
        }
      else if (bpf_probe_read_kernel (ports, sizeof ports, l3 + ihl) < 0)
        return;
    }
  else
    {
      p->family = 6;
      p->proto = h->ip6.nexthdr;
      __builtin_memcpy (p->saddr, h->ip6.saddr, 16);
      __builtin_memcpy (p->daddr, h->ip6.daddr, 16);
      ports[0] = h->ip6.ports[0];
      ports[1] = h->ip6.ports[1];
    }
  if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
    {
      p->sport = bpf_ntohs (ports[0]);
      p->dport = bpf_ntohs (ports[1]);
    }
}

/* The 5-tuple of the IP packet at @l3 (ethertype @proto, network order),
 * read in place or with one copy of its struct l3_head. */
static __always_inline void
parse_l3 (const int btf, struct path *p, unsigned char *l3, __u16 proto)
{
  struct l3_head h;

  p->parsed = 1;
  if (proto != bpf_htons (ETH_P_IP) && proto != bpf_htons (ETH_P_IPV6))
    return;
  if (btf && direct_reads)
    {
      parse_head (p, (const struct l3_head *) l3, l3, proto, 1);
      return;
    }
  if (bpf_probe_read_kernel (&h, proto == bpf_htons (ETH_P_IP) ? sizeof h.ip : sizeof h.ip6, l3) < 0)
    return;
  parse_head (p, &h, l3, proto, 0);
}

static __always_inline int
addr_set (const __u8 *a)
{
  __u64 w[2];
  __builtin_memcpy (w, a, 16);
  return w[0] | w[1];
}

static __always_inline int
addr_eq (const __u8 *a, const __u8 *b)
{
  __u64 x[2], y[2];
  __builtin_memcpy (x, a, 16);
  __builtin_memcpy (y, b, 16);
  return x[0] == y[0] && x[1] == y[1];
}

static __always_inline int
filter_ok (const struct vnm_lat_filter *f, const struct path *p)
{
  if (f->proto)
    {
      __u8 proto = p->proto == IPPROTO_ICMPV6_ ? IPPROTO_ICMP : p->proto;
      if (!p->family || proto != f->proto)
        return 0;
    }
  if (f->src_port && p->sport != f->src_port)
    return 0;
  if (f->dst_port && p->dport != f->dst_port)
    return 0;
  if (f->family && p->family != f->family)
    return 0;
  if (addr_set (f->src_ip) && !addr_eq (f->src_ip, p->saddr))
    return 0;
  if (addr_set (f->dst_ip) && !addr_eq (f->dst_ip, p->daddr))
    return 0;
  return 1;
}

/* Adds @ns to a histogram. Its count is the sum of its buckets, which the
 * daemon adds up: one atomic operation less a packet and stage. */
static __always_inline void
record (__u32 block, __u8 dir, __u8 stage, __u64 ns)
{
  __u32 i = vnm_lat_hist_index (block, dir, stage);
  struct vnm_lat_hist *h;
  __u32 b;

  if (block == VNM_LAT_NO_HISTS || !(h = bpf_map_lookup_elem (&vnm_lat_hists, &i)))
    return;
  b = vnm_lat_bucket (ns) & (VNM_LAT_BUCKETS - 1);
  __sync_fetch_and_add (&h->buckets[b], 1);
  __sync_fetch_and_add (&h->sum_ns, ns);
  for (int i = 0; i < 4; i++)
    {
      __u64 old = h->max_ns;
      if (ns <= old || __sync_val_compare_and_swap (&h->max_ns, old, ns) == old)
        break;
    }
  for (int i = 0; i < 4; i++)
    {
      __u64 old = h->min_ns;
      if (ns >= old || __sync_val_compare_and_swap (&h->min_ns, old, ns) == old)
        break;
    }
}

/* A slow packet to the ring buffer, when its VM asked for them
 * (@threshold, from the VM's configuration when the path began). */
static __always_inline void
emit (const struct path *p, __u32 ifindex, __u8 dir, __u64 threshold, __u64 now,
      const __u64 *stage)
{
  struct vnm_lat_event *ev;
  __u64 worst = stage[VNM_STAGE_TOTAL];

  if (threshold == NO_EVENTS)
    return;
  for (int i = 0; i < VNM_STAGE_TOTAL; i++)
    if (stage[i] > worst)
      worst = stage[i];
  if (worst < threshold)
    return;
  ev = bpf_ringbuf_reserve (&vnm_lat_events, sizeof *ev, 0);
  if (!ev)
    {
      __sync_fetch_and_add (&vnm_lat_counters[VNM_LAT_EVENTS_LOST], 1);
      return;
    }
  ev->time_ns = now;
  for (int i = 0; i < VNM_STAGE_COUNT; i++)
    ev->stage_ns[i] = stage[i];
  ev->ifindex = ifindex;
  ev->len = p->len;
  ev->dir = dir;
  ev->family = p->family;
  ev->proto = p->proto;
  ev->pad = 0;
  ev->sport = p->sport;
  ev->dport = p->dport;
  __builtin_memcpy (ev->saddr, p->saddr, 16);
  __builtin_memcpy (ev->daddr, p->daddr, 16);
  bpf_ringbuf_submit (ev, 0);
  __sync_fetch_and_add (&vnm_lat_counters[VNM_LAT_EVENTS_SENT], 1);
}

static __always_inline __u64
threshold_of (const struct vnm_lat_dev *cfg)
{
  return (cfg->flags & VNM_DEV_EVENTS) ? cfg->threshold_ns : NO_EVENTS;
}

/* The guest took a packet sent to it; its path ends. */
static __always_inline void
finish_rx (struct path *p, __u64 now)
{
  __u64 stage[VNM_STAGE_COUNT] = {};

  stage[VNM_STAGE_XMIT_GUEST] = now - p->t_xmit;
  record (p->rx_hists, VNM_LAT_RX, VNM_STAGE_XMIT_GUEST, stage[VNM_STAGE_XMIT_GUEST]);
  if (p->t_rcv)
    {
      stage[VNM_STAGE_RCV_QUEUE] = p->t_queue - p->t_rcv;
      stage[VNM_STAGE_TOTAL] = now - p->t_rcv;
      record (p->rx_hists, VNM_LAT_RX, VNM_STAGE_TOTAL, stage[VNM_STAGE_TOTAL]);
    }
  stage[VNM_STAGE_QUEUE_XMIT] = p->t_xmit - p->t_queue;
  emit (p, p->rx_if, VNM_LAT_RX, p->rx_threshold, now, stage);
  p->skb = 0;
}

/* The guest behind a macvtap took a packet sent to it: the time since its
 * lower device received it is all that is known (no tracepoint marks the
 * macvtap's queueing). */
static __always_inline void
finish_mv_rx (struct path *p, __u64 now)
{
  __u64 stage[VNM_STAGE_COUNT] = {};

  stage[VNM_STAGE_TOTAL] = now - p->t_rcv;
  record (p->rx_hists, VNM_LAT_RX, VNM_STAGE_TOTAL, stage[VNM_STAGE_TOTAL]);
  emit (p, p->rx_if, VNM_LAT_RX, p->rx_threshold, now, stage);
  p->skb = 0;
}

/* Received on a macvtap's lower device: the start of the rx path of the
 * traced macvtap the destination MAC names, if any. */
static __always_inline void
on_mv_lower_receive (const int btf, struct sk_buff *skb, __u64 addr, struct path *slot,
                     __u32 lower)
{
  struct vnm_lat_dev *cfg;
  __u32 *mv, mvif;
  __u8 eth[6];
  __u16 mh;
  __u64 k, now;
  struct path *p;

  mh = RD (btf, skb, mac_header);
  if (mh == HEADER_UNSET ||
      bpf_probe_read_kernel (eth, sizeof eth, (unsigned char *) RD (btf, skb, head) + mh) < 0)
    return;
  k = vnm_lat_mac_key (eth);
  if (!(mv = bpf_map_lookup_elem (&vnm_lat_macs, &k)))
    return;
  mvif = *mv;
  cfg = bpf_map_lookup_elem (&vnm_lat_devs, &mvif);
  if (!cfg || (cfg->flags & (VNM_DEV_MACVTAP | VNM_DEV_TRACE_RX)) !=
              (VNM_DEV_MACVTAP | VNM_DEV_TRACE_RX))
    return;
  now = bpf_ktime_get_ns ();
  p = path_start (btf, slot, skb, addr, now);
  p->t_rcv = now;
  p->rcv_if = lower;
  p->len = RD (btf, skb, len);
  /* skb->data is the network header here. */
  parse_l3 (btf, p, (unsigned char *) RD (btf, skb, data), RD (btf, skb, protocol));
  if (!filter_ok (&cfg->filter, p))
    {
      p->skb = 0;
      return;
    }
  p->macvtap = 1;
  p->rx_if = mvif;
  p->rx_hists = cfg->hist_block;
  p->rx_threshold = threshold_of (cfg);
}

/* Queued on a traced macvtap: the guest sent it; its tx path starts. */
static __always_inline void
on_mv_queue (const int btf, struct sk_buff *skb, __u64 addr, struct path *slot,
             const struct vnm_lat_dev *cfg, __u32 ifindex)
{
  __u64 now = bpf_ktime_get_ns ();
  struct path *p = path_start (btf, slot, skb, addr, now);
  __u16 nh = RD (btf, skb, network_header);

  p->t_rcv = now;
  p->rcv_if = ifindex;
  p->len = RD (btf, skb, len);
  if (nh != HEADER_UNSET)
    parse_l3 (btf, p, (unsigned char *) RD (btf, skb, head) + nh, RD (btf, skb, protocol));
  else
    p->parsed = 1;
  if (!filter_ok (&cfg->filter, p))
    {
      p->skb = 0;
      return;
    }
  p->tx_if = ifindex;
  p->tx_hists = cfg->hist_block;
  p->tx_threshold = threshold_of (cfg);
}

/* The clock is read only once a packet turns out to be one of ours. */
static __always_inline int
on_receive (const int btf, struct sk_buff *skb, __u64 addr)
{
  struct path *slot = slot_of (addr), *p;
  struct net_device *dev;
  struct vnm_lat_dev *cfg;
  __u32 ifindex;
  __u64 now;

  if (!slot)
    return 0;
  p = path_of (btf, slot, skb, addr, &now);
  if (p && p->rx_if && p->t_xmit)
    {
      /* The far end of the VM's veth: the guest has it. */
      finish_rx (p, now);
      return 0;
    }
  dev = RD (btf, skb, dev);
  if (!dev)
    return 0;
  ifindex = RD (btf, dev, ifindex);
  cfg = dev_config (btf, dev, ifindex);
  if (!cfg)
    return 0;  /* a path that goes on (bridge to host), or not ours */
  if (cfg->flags & (VNM_DEV_MACVTAP | VNM_DEV_MV_LOWER))
    {
      /* A macvtap's own receive (a broadcast, a frame from another
       * macvlan) is no send of its guest. */
      if (cfg->flags & VNM_DEV_MV_LOWER)
        on_mv_lower_receive (btf, skb, addr, slot, ifindex);
      return 0;
    }
  if (!(cfg->flags & (VNM_DEV_TRACE_TX | VNM_DEV_FEEDER)))
    return 0;

  now = bpf_ktime_get_ns ();
  p = path_start (btf, slot, skb, addr, now);
  p->t_rcv = now;
  p->rcv_if = ifindex;
  p->len = RD (btf, skb, len);
  if (cfg->flags & VNM_DEV_TRACE_TX)
    {
      /* skb->data is the network header here. */
      parse_l3 (btf, p, (unsigned char *) RD (btf, skb, data), RD (btf, skb, protocol));
      if (filter_ok (&cfg->filter, p))
        {
          p->tx_if = ifindex;
          p->tx_hists = cfg->hist_block;
          p->tx_threshold = threshold_of (cfg);
        }
      else if (!(cfg->flags & VNM_DEV_FEEDER))
        p->skb = 0;
    }
  return 0;
}

static __always_inline int
on_queue (const int btf, struct sk_buff *skb, __u64 addr)
{
  struct path *slot = slot_of (addr), *p;
  struct net_device *dev;
  struct vnm_lat_dev *cfg;
  __u32 ifindex;
  __u64 now = 0;

  if (!slot)
    return 0;
  dev = RD (btf, skb, dev);
  ifindex = dev ? RD (btf, dev, ifindex) : 0;
  p = path_of (btf, slot, skb, addr, &now);
  if (p && p->tx_if && !p->t_queue)
    {
      record (p->tx_hists, VNM_LAT_TX, VNM_STAGE_RCV_QUEUE, now - p->t_rcv);
      p->t_queue = now;
      p->queue_if = ifindex;
    }
  cfg = dev_config (btf, dev, ifindex);
  if (!cfg)
    return 0;
  if (cfg->flags & VNM_DEV_MACVTAP)
    {
      if (!p && (cfg->flags & VNM_DEV_TRACE_TX))
        on_mv_queue (btf, skb, addr, slot, cfg, ifindex);
      return 0;
    }
  if (!(cfg->flags & VNM_DEV_TRACE_RX))
    return 0;

  /* Queued on a traced VM's netdev: its rx path. */
  if (!p)
    {
      now = bpf_ktime_get_ns ();
      p = path_start (btf, slot, skb, addr, now);
    }
  if (!p->parsed)
    {
      __u16 nh = RD (btf, skb, network_header);
      if (nh != HEADER_UNSET)
        parse_l3 (btf, p, (unsigned char *) RD (btf, skb, head) + nh, RD (btf, skb, protocol));
      p->len = RD (btf, skb, len);
    }
  if (!filter_ok (&cfg->filter, p))
    {
      if (!p->tx_if)
        p->skb = 0;
      return 0;
    }
  p->rx_if = ifindex;
  p->rx_hists = cfg->hist_block;
  p->rx_threshold = threshold_of (cfg);
  if (p->t_rcv)
    record (p->rx_hists, VNM_LAT_RX, VNM_STAGE_RCV_QUEUE, now - p->t_rcv);
  p->t_queue = now;
  p->queue_if = ifindex;
  return 0;
}

static __always_inline int
on_xmit (const int btf, struct sk_buff *skb, __u64 addr, struct net_device *dev)
{
  struct path *slot = slot_of (addr), *p;
  __u32 ifindex;
  __u64 now;

  if (!slot || !(p = path_of (btf, slot, skb, addr, &now)) || !p->t_queue)
    return 0;
  ifindex = RD (btf, dev, ifindex);
  if (ifindex != p->queue_if)
    return 0;
  if (p->tx_if)
    {
      __u64 stage[VNM_STAGE_COUNT] = {};
      stage[VNM_STAGE_RCV_QUEUE] = p->t_queue - p->t_rcv;
      stage[VNM_STAGE_QUEUE_XMIT] = now - p->t_queue;
      stage[VNM_STAGE_TOTAL] = now - p->t_rcv;
      record (p->tx_hists, VNM_LAT_TX, VNM_STAGE_QUEUE_XMIT, stage[VNM_STAGE_QUEUE_XMIT]);
      record (p->tx_hists, VNM_LAT_TX, VNM_STAGE_TOTAL, stage[VNM_STAGE_TOTAL]);
      emit (p, p->tx_if, VNM_LAT_TX, p->tx_threshold, now, stage);
      p->tx_if = 0;
    }
  if (p->rx_if == ifindex)
    {
      record (p->rx_hists, VNM_LAT_RX, VNM_STAGE_QUEUE_XMIT, now - p->t_queue);
      p->t_xmit = now;
    }
  else
    p->skb = 0;
  return 0;
}

static __always_inline int
on_consume (const int btf, struct sk_buff *skb, __u64 addr)
{
  struct path *slot = slot_of (addr), *p;
  __u64 now;

  if (!slot || !(p = path_of (btf, slot, skb, addr, &now)))
    return 0;
  if (p->rx_if && p->t_xmit)
    finish_rx (p, now);
  else if (p->macvtap)
    finish_mv_rx (p, now);
  p->skb = 0;
  return 0;
}

/* Which VM netdev and direction a dropped skb belongs to; 0 when none. */
static __always_inline __u32
drop_owner (const int btf, struct sk_buff *skb, __u64 addr, __u8 *dir)
{
  struct path *p = slot_of (addr);
  struct net_device *dev = RD (btf, skb, dev);
  struct vnm_lat_dev *cfg;
  __u8 eth[12];
  __u16 mh;
  __u32 ifindex = 0, *owner;
  __u64 k;

  if (p && p->skb == addr && p->head == (__u64) RD (btf, skb, head) &&
      last_stage (p) >= window_start_ns)
    {
      if (p->rx_if && p->t_queue)
        {
          *dir = VNM_LAT_RX;
          return p->rx_if;
        }
      if (p->tx_if)
        {
          *dir = VNM_LAT_TX;
          return p->tx_if;
        }
    }
  mh = RD (btf, skb, mac_header);
  if (mh == HEADER_UNSET ||
      bpf_probe_read_kernel (eth, sizeof eth, (unsigned char *) RD (btf, skb, head) + mh) < 0)
    return 0;
  /* Addressed to a guest: that VM's, wherever it was dropped (a flooded
   * copy on another VM's port too); sent by a guest: that VM's. */
  k = vnm_lat_mac_key (eth);
  if ((owner = bpf_map_lookup_elem (&vnm_lat_macs, &k)))
    {
      *dir = VNM_LAT_RX;
      return *owner;
    }
  k = vnm_lat_mac_key (eth + 6);
  if ((owner = bpf_map_lookup_elem (&vnm_lat_macs, &k)))
    {
      *dir = VNM_LAT_TX;
      return *owner;
    }
  /* Broadcast, multicast, or a guest MAC we do not know: on its way to
   * the VM whose netdev it is on. */
  if (dev)
    ifindex = RD (btf, dev, ifindex);
  cfg = dev_config (btf, dev, ifindex);
  if (cfg && (cfg->flags & VNM_DEV_VM))
    {
      *dir = VNM_LAT_RX;
      return ifindex;
    }
  return 0;
}

static __always_inline int
on_drop (const int btf, struct sk_buff *skb, __u64 addr, __u32 reason)
{
  struct vnm_lat_drop_key k = {};
  struct path *slot;
  __u64 one = 1, *n;

  k.ifindex = drop_owner (btf, skb, addr, &k.dir);
  slot = slot_of (addr);
  if (slot && slot->skb == addr)
    slot->skb = 0;
  if (!k.ifindex)
    return 0;
  k.reason = reason;
  n = bpf_map_lookup_elem (&vnm_lat_drops, &k);
  if (n)
    __sync_fetch_and_add (n, 1);
  else if (bpf_map_update_elem (&vnm_lat_drops, &k, &one, BPF_NOEXIST) != 0 &&
           (n = bpf_map_lookup_elem (&vnm_lat_drops, &k)))
    __sync_fetch_and_add (n, 1);
  return 0;
}

/* The skb's address as a number, for slot_of(). A raw_tp program's
 * argument is one. The verifier allows no arithmetic on a tp_btf program's
 * typed skb pointer, but the difference of two pointers is a number (for a
 * loader allowed to see addresses, as virtnetmond is): the skb's address
 * relative to one that never changes, with no helper call (a probe read
 * of the argument cost 30 ns a program run). */
static __always_inline __u64
address (const int btf, unsigned long long *ctx)
{
  if (!btf)
    return ctx[0];
  return (__u64) ctx[0] - (__u64) vnm_lat_counters;
}

/* Entry points: the same handlers behind tp_btf and raw_tp. The first
 * arguments of these tracepoints are the same in both: (skb), (skb),
 * (skb, dev), (skb, location), (skb, location, reason). */
#define ARG(n) ((void *) ctx[n])
#define SKB(btf) ARG (0), address (btf, ctx)

SEC ("tp_btf/netif_receive_skb")
int vnm_btf_receive (unsigned long long *ctx) { return on_receive (1, SKB (1)); }
SEC ("tp_btf/net_dev_queue")
int vnm_btf_queue (unsigned long long *ctx) { return on_queue (1, SKB (1)); }
SEC ("tp_btf/net_dev_start_xmit")
int vnm_btf_xmit (unsigned long long *ctx) { return on_xmit (1, SKB (1), ARG (1)); }
SEC ("tp_btf/consume_skb")
int vnm_btf_consume (unsigned long long *ctx) { return on_consume (1, SKB (1)); }
SEC ("tp_btf/kfree_skb")
int vnm_btf_drop (unsigned long long *ctx) { return on_drop (1, SKB (1), (__u32) ctx[2]); }

SEC ("raw_tp/netif_receive_skb")
int vnm_raw_receive (unsigned long long *ctx) { return on_receive (0, SKB (0)); }
SEC ("raw_tp/net_dev_queue")
int vnm_raw_queue (unsigned long long *ctx) { return on_queue (0, SKB (0)); }
SEC ("raw_tp/net_dev_start_xmit")
int vnm_raw_xmit (unsigned long long *ctx) { return on_xmit (0, SKB (0), ARG (1)); }
SEC ("raw_tp/consume_skb")
int vnm_raw_consume (unsigned long long *ctx) { return on_consume (0, SKB (0)); }
SEC ("raw_tp/kfree_skb")
int vnm_raw_drop (unsigned long long *ctx) { return on_drop (0, SKB (0), (__u32) ctx[2]); }
