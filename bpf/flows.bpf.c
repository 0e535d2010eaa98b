// SPDX-License-Identifier: GPL-2.0-or-later
/* flows.bpf.c: the per-VM flow and TCP health probe. Two tc (clsact)
 * programs on each host netdev of a VM: vnm_tc_from_vm sees what the VM
 * sent (on tc ingress of a tap, egress of a macvtap), vnm_tc_to_vm what is
 * sent to it. Each packet updates its flow (5-tuple, VM's
 * view) in an LRU table and the interface's exact totals. Passive TCP RTT
 * from the handshake and from TCP timestamps both ways. Never changes a
 * packet and never decides its fate: TC_ACT_UNSPEC lets the next filter run.
 * The totals are per-CPU, so their counters need no atomic operations; a
 * flow's counters do (its two directions may run on two CPUs). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vnm-addr.bpf.h"
#include "vnm-flows.h"

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_ARP_ 0x0806
#define IPPROTO_ICMPV6_ 58
#define TCP_OPTIONS_MAX 40

char LICENSE[] SEC ("license") = "GPL";

struct {
  __uint (type, BPF_MAP_TYPE_LRU_HASH);
  __uint (max_entries, 65536);  /* the daemon sets the size before loading */
  __type (key, struct vnm_flow_key);
  __type (value, struct vnm_flow);
} vnm_flows SEC (".maps");

/* Per-device totals, set up by the daemon before it attaches (see
 * VNM_TOTALS_SLOTS). */
struct {
  __uint (type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint (max_entries, VNM_TOTALS_SLOTS);
  __type (key, __u32);          /* ifindex % VNM_TOTALS_SLOTS */
  __type (value, struct vnm_totals_slot);
} vnm_totals SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint (max_entries, 4096);
  __uint (map_flags, BPF_F_NO_PREALLOC);  /* only the daemon inserts */
  __type (key, __u32);          /* ifindex */
  __type (value, struct vnm_iface_totals);
} vnm_totals_spill SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint (max_entries, VNM_FLOW_CACHE_SLOTS);
  __type (key, __u32);
  __type (value, struct vnm_flow_slot);
} vnm_flow_cache SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_LRU_HASH);
  __uint (max_entries, VNM_LEARNED_SLOTS);
  __type (key, struct vnm_learned_key);
  __type (value, struct vnm_learned);
} vnm_learned SEC (".maps");

struct {
  __uint (type, BPF_MAP_TYPE_RINGBUF);
  __uint (max_entries, VNM_DNS_RING_BYTES);
} vnm_dns_events SEC (".maps");

/* DNS messages the ring buffer had no room for; and those on a flow the
 * VM had sent nothing on (no answer to a query of its own). */
__u64 dns_lost = 0;
__u64 dns_unasked = 0;

/* 0 where the kernel lacks what the cache's flush needs (bpf_loop, Linux
 * 5.17; compare-and-exchange, 5.12): every packet takes the table. */
const volatile __u8 use_cache = 1;

static const struct vnm_flow zero_flow;

/* One parsed packet, in wire order (src -> dst). */
struct packet {
  __u8 family, proto, tcp_flags, has_ts;
  __u16 sport, dport;
  __u32 seq, tsval, tsecr;
  __u32 payload;
  __u8 saddr[16], daddr[16];
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* TCP timestamps option, if present: NOP/EOL/other options skipped with
 * bounded steps. */
static __always_inline void
parse_tcp_ts (struct packet *p, void *opt, void *opt_end, void *data_end)
{
  for (int i = 0; i < 12; i++)
    {
      __u8 *o = opt;
      if ((void *) (o + 1) > data_end || opt >= opt_end)
        return;
      if (o[0] == 0)
        return;
      if (o[0] == 1)
        {
          opt += 1;
          continue;
        }
      if ((void *) (o + 2) > data_end)
        return;
      if (o[0] == 8 && o[1] == 10)
        {
          if ((void *) (o + 10) > data_end)
            return;
          p->tsval = bpf_ntohl (*(__be32 *) (o + 2));
          p->tsecr = bpf_ntohl (*(__be32 *) (o + 6));
          p->has_ts = 1;
          return;
        }
      if (o[1] < 2)
        return;
      opt += o[1];
    }
}

/* Returns 0 when @p is a tracked IP packet. A function of its own (a BPF
 * call): so the verifier's work on each program stays at 540K of its 1M
 * instructions; inlined twice (before and after a pull) it passes 1M. */
static __noinline int
parse (struct __sk_buff *skb, struct packet *p)
{
  void *data = (void *) (long) skb->data;
  void *data_end = (void *) (long) skb->data_end;
  struct ethhdr *eth = data;
  void *l4;
  __u32 l4_off;
  __u16 proto;

  if ((void *) (eth + 1) > data_end)
    return -1;
  proto = eth->h_proto;
  l4 = eth + 1;
  if (proto == bpf_htons (ETH_P_8021Q_) || proto == bpf_htons (ETH_P_8021AD_))
    {
      if (l4 + 4 > data_end)
        return -1;
      proto = *(__be16 *) (l4 + 2);
      l4 += 4;
    }

  if (proto == bpf_htons (ETH_P_IP))
    {
      struct iphdr *ip = l4;
      if ((void *) (ip + 1) > data_end || ip->ihl < 5)
        return -1;
      /* Fragments after the first carry no ports: count them in totals. */
      if (ip->frag_off & bpf_htons (0x1fff))
        return -1;
      p->family = 4;
      p->proto = ip->protocol;
      v4_mapped (p->saddr, ip->saddr);
      v4_mapped (p->daddr, ip->daddr);
      l4 = (void *) ip + ip->ihl * 4;
    }
  else if (proto == bpf_htons (ETH_P_IPV6))
    {
      struct ipv6hdr *ip6 = l4;
      if ((void *) (ip6 + 1) > data_end)
        return -1;
      p->family = 6;
      p->proto = ip6->nexthdr;  /* extension headers: not tracked */
      __builtin_memcpy (p->saddr, &ip6->saddr, 16);
      __builtin_memcpy (p->daddr, &ip6->daddr, 16);
      l4 = ip6 + 1;
    }
  else
    return -1;

  l4_off = l4 - data;
  if (p->proto == IPPROTO_TCP)
    {
      struct tcphdr *th = l4;
      __u32 hlen;
      if ((void *) (th + 1) > data_end)
        return -1;
      hlen = th->doff * 4;
      if (hlen < sizeof *th)
        return -1;
      p->sport = bpf_ntohs (th->source);
      p->dport = bpf_ntohs (th->dest);
      p->seq = bpf_ntohl (th->seq);
      p->tcp_flags = ((__u8 *) th)[13];
      if (hlen > sizeof *th)
        parse_tcp_ts (p, th + 1, l4 + hlen, data_end);
      l4_off += hlen;
    }
  else if (p->proto == IPPROTO_UDP)
    {
      struct udphdr *uh = l4;
      if ((void *) (uh + 1) > data_end)
        return -1;
      p->sport = bpf_ntohs (uh->source);
      p->dport = bpf_ntohs (uh->dest);
      l4_off += sizeof *uh;
    }
  else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_)
    {
      __u8 *ic = l4;
      if ((void *) (ic + 8) > data_end)
        return -1;
      /* Echo request/reply: the identifier names the flow. */
      if (ic[0] == 8 || ic[0] == 0 || ic[0] == 128 || ic[0] == 129)
        p->sport = p->dport = bpf_ntohs (*(__be16 *) (ic + 4));
      p->tcp_flags = ic[0];  /* the ICMP type, for the opener */
      l4_off += 8;
    }
  else
    return -1;

  p->payload = skb->len > l4_off ? skb->len - l4_off : 0;
  return 0;
}

static __always_inline void
rtt_add (struct vnm_rtt *r, __u64 ns)
{
  __u32 us = ns / 1000;

  if (r->count)
    r->jitter_sum_us += us > r->last_us ? us - r->last_us : r->last_us - us;
  r->sum_us += us;
  if (r->count == 0 || us < r->min_us)
    r->min_us = us;
  if (us > r->max_us)
    r->max_us = us;
  r->last_us = us;
  r->count++;
}

static __always_inline int
seq_before (__u32 a, __u32 b)
{
  return (__s32) (a - b) < 0;
}

/* The bytes of [s, e) that fall in @dir's not-yet-seen range, taken out
 * of it: a late segment that fills the gap is new, not a retransmission.
 * Filling the middle keeps the lower part of the range. */
static __always_inline __u32
fill_hole (struct vnm_flow *f, int dir, __u32 s, __u32 e)
{
  __u32 lo = f->hole_lo[dir], hi = f->hole_hi[dir];
  __u32 a, b;

  if (lo == hi)
    return 0;
  a = seq_before (s, lo) ? lo : s;
  b = seq_before (hi, e) ? hi : e;
  if (!seq_before (a, b))
    return 0;
  if (a == lo)
    f->hole_lo[dir] = b;
  else
    f->hole_hi[dir] = a;
  return b - a;
}

/* A response travelling in @dir closes a round trip to the side it came
 * from: to the VM and back is the vm leg, to the remote and back the remote
 * leg. */
static __always_inline struct vnm_rtt *
leg_of_response (struct vnm_flow *f, int dir)
{
  return dir == VNM_DIR_IN ? &f->rtt_remote : &f->rtt_vm;
}

/* Returns the payload bytes of @p that are new: a retransmission's repeated
 * bytes are not counted again, so a flow's bytes are what the application
 * sent (the transfer), while the interface totals keep the wire bytes. */
static __always_inline __u32
track_tcp (struct vnm_flow *f, struct vnm_iface_totals *t, const struct packet *p,
           int dir, __u32 segs)
{
  __u64 now;
  __u32 new_bytes = p->payload;
  int other = !dir;
  __u8 fl = p->tcp_flags;
  __u32 seq_valid = dir == VNM_DIR_OUT ? VNM_TCP_SEQ_OUT : VNM_TCP_SEQ_IN;
  __u32 syn_mine = dir == VNM_DIR_OUT ? VNM_TCP_SYN_OUT : VNM_TCP_SYN_IN;
  __u32 syn_other = dir == VNM_DIR_OUT ? VNM_TCP_SYN_IN : VNM_TCP_SYN_OUT;
  __u32 fin_mine = dir == VNM_DIR_OUT ? VNM_TCP_FIN_OUT : VNM_TCP_FIN_IN;
  __u32 seg_len = p->payload + ((fl & TH_SYN) ? 1 : 0) + ((fl & TH_FIN) ? 1 : 0);

  if ((fl & TH_SYN) && !(fl & TH_ACK))
    {
      if ((f->tcp_state & syn_mine) && f->seq_end[dir] == p->seq + 1 &&
          !(f->tcp_state & (VNM_TCP_CLOSED | VNM_TCP_RESET)))
        {
          f->retrans[dir] += segs;       /* the same SYN again */
          if (t)
            t->retrans[dir] += segs;
          if (!(f->tcp_state & VNM_TCP_ESTAB))
            {
              /* Unanswered: the opener's handshake timer ran out. */
              if (f->syn_retrans < 255)
                f->syn_retrans++;
              if (!(f->tcp_state & VNM_TCP_SYN_TIMEOUT))
                {
                  f->tcp_state |= VNM_TCP_SYN_TIMEOUT;
                  if (t)
                    t->handshake_timeouts[dir]++;
                }
            }
          return new_bytes;
        }
      /* A new connection on this 5-tuple (first, or after a close). */
      f->tcp_state = syn_mine | seq_valid;
      f->seq_end[dir] = p->seq + 1;
      f->hole_lo[0] = f->hole_hi[0] = f->hole_lo[1] = f->hole_hi[1] = 0;
      f->syn_ns = bpf_ktime_get_ns ();
      f->synack_ns = 0;
      f->tsval_ns[0] = f->tsval_ns[1] = 0;
      f->syn_retrans = 0;
      f->opener = dir == VNM_DIR_OUT ? VNM_OPENER_VM : VNM_OPENER_REMOTE;
      return new_bytes;
    }

  if ((fl & TH_SYN) && (fl & TH_ACK))
    {
      if ((f->tcp_state & syn_other) && !(f->tcp_state & VNM_TCP_ESTAB))
        {
          now = bpf_ktime_get_ns ();
          if (f->syn_ns)
            rtt_add (leg_of_response (f, dir), now - f->syn_ns);
          f->synack_ns = now;
          f->tcp_state |= VNM_TCP_ESTAB | syn_mine | seq_valid;
          f->seq_end[dir] = p->seq + 1;
          f->conns_opened++;
          if (t)
            t->conns_opened++;
        }
      else if (f->tcp_state & syn_mine)
        {
          f->retrans[dir] += segs;       /* SYN-ACK again */
          if (t)
            t->retrans[dir] += segs;
        }
      return new_bytes;
    }

  /* The ACK that completes the handshake measures the opener's leg. */
  if (f->synack_ns && (fl & TH_ACK) && (f->tcp_state & syn_mine))
    {
      rtt_add (leg_of_response (f, dir), bpf_ktime_get_ns () - f->synack_ns);
      f->synack_ns = 0;
    }

  if (fl & TH_RST)
    {
      if (!(f->tcp_state & (VNM_TCP_RESET | VNM_TCP_CLOSED)))
        {
          f->tcp_state |= VNM_TCP_RESET;
          f->resets++;
          if (t)
            t->resets++;
          /* A RST that answers the other side's SYN: refused. */
          if ((f->tcp_state & (syn_other | VNM_TCP_ESTAB)) == syn_other)
            {
              f->tcp_state |= VNM_TCP_REFUSED;
              if (t)
                t->handshake_refused[other]++;
            }
        }
      return new_bytes;
    }

  /* Repeated sequence ranges are retransmissions. Segments can pass here
   * out of order (the sender's CPUs feed different backlogs): a jump
   * ahead leaves a not-yet-seen range, and a late segment that fills it is
   * new bytes, not a retransmission. */
  if (seg_len)
    {
      __u32 end = p->seq + seg_len;
      __u32 high = f->seq_end[dir];
      if (f->tcp_state & seq_valid)
        {
          __u32 data_end = p->seq + p->payload;
          int repeated;
          if (seq_before (high, p->seq))
            {
              if (f->hole_lo[dir] == f->hole_hi[dir])
                f->hole_lo[dir] = high;
              f->hole_hi[dir] = p->seq;
              repeated = 0;
            }
          else
            {
              __u32 below_end = seq_before (high, data_end) ? high : data_end;
              __u32 below = below_end - p->seq;
              __u32 filled = fill_hole (f, dir, p->seq, below_end);
              new_bytes = p->payload - below + filled;
              repeated = p->payload ? below > filled : seq_before (p->seq, high);
            }
          if (repeated)
            {
              f->retrans[dir] += segs;
              if (t)
                t->retrans[dir] += segs;
            }
          if (seq_before (high, end))
            f->seq_end[dir] = end;
        }
      else
        {
          f->seq_end[dir] = end;
          f->hole_lo[dir] = f->hole_hi[dir] = 0;
          f->tcp_state |= seq_valid;
        }
    }

  if (fl & TH_FIN)
    {
      f->tcp_state |= fin_mine;
      if ((f->tcp_state & VNM_TCP_FIN_OUT) && (f->tcp_state & VNM_TCP_FIN_IN) &&
          !(f->tcp_state & (VNM_TCP_CLOSED | VNM_TCP_RESET)))
        {
          f->tcp_state |= VNM_TCP_CLOSED;
          f->conns_closed++;
          if (t)
            t->conns_closed++;
        }
    }

  /* Timestamps: one TSval per direction is pending at a time, from when it
   * first passed. The TSecr that echoes it ends a round trip; a TSecr past
   * it (its segment was lost, or acknowledged together with later ones)
   * drops it without a sample. Then the next new TSval is pending. The
   * precise clock is read only for those two events, not for every
   * segment that repeats the pending TSval. */
  if (p->has_ts)
    {
      if (p->tsecr && f->tsval_ns[other])
        {
          if (p->tsecr == f->tsval[other])
            {
              rtt_add (leg_of_response (f, dir), bpf_ktime_get_ns () - f->tsval_ns[other]);
              f->tsval_ns[other] = 0;
            }
          else if ((__s32) (p->tsecr - f->tsval[other]) > 0)
            f->tsval_ns[other] = 0;
        }
      if (!f->tsval_ns[dir] && p->tsval != f->tsval[dir])
        {
          f->tsval[dir] = p->tsval;
          f->tsval_ns[dir] = bpf_ktime_get_ns ();
        }
    }
  return new_bytes;
}

static __always_inline void
learned_put (__u32 ifindex, __u8 how, __u32 addr, const __u8 *mac)
{
  struct vnm_learned_key k = { .ifindex = ifindex, .family = 4, .how = how };
  struct vnm_learned v = { .last_ns = bpf_ktime_get_coarse_ns () };

  v4_mapped (k.addr, addr);
  __builtin_memcpy (v.mac, mac, 6);
  bpf_map_update_elem (&vnm_learned, &k, &v, BPF_ANY);
}

/* ARP the VM sent (its sender hardware address its own source MAC): the
 * sender protocol address is the VM's. A probe (sender 0.0.0.0) says
 * nothing. Only for packets that are not IP, so off the flows' path. */
static __noinline void
learn_arp (struct __sk_buff *skb)
{
  struct {
    __u8 dst[6], src[6];
    __be16 proto;
    __be16 htype, ptype;
    __u8 hlen, plen;
    __be16 op;
    __u8 sha[6];
    __u8 spa[4];
  } __attribute__ ((packed)) a;
  __u32 spa;

  if (bpf_skb_load_bytes (skb, 0, &a, sizeof a) < 0)
    return;
  if (a.proto != bpf_htons (ETH_P_ARP_) || a.htype != bpf_htons (1) ||
      a.ptype != bpf_htons (ETH_P_IP) || a.hlen != 6 || a.plen != 4)
    return;
  if (*(__u32 *) a.sha != *(__u32 *) a.src || *(__u16 *) (a.sha + 4) != *(__u16 *) (a.src + 4))
    return;
  __builtin_memcpy (&spa, a.spa, 4);
  /* Not 0.0.0.0, broadcast or multicast: a unicast sender. */
  if (spa == 0 || spa == 0xffffffff || (bpf_ntohl (spa) >> 28) == 0xe)
    return;
  learned_put (skb->ifindex, VNM_LEARNED_ARP, spa, a.sha);
}

/* A DHCP server's reply to a client (UDP 67 -> 68) at @off, the BOOTP
 * header: an ACK (option 53 = 5) gives yiaddr to chaddr. */
static __noinline void
learn_dhcp (struct __sk_buff *skb, __u32 off)
{
  struct {
    __u8 op, htype, hlen, hops;
    __u32 xid;
    __u16 secs, flags;
    __u32 ciaddr, yiaddr, siaddr, giaddr;
    __u8 chaddr[16];
  } b;
  __u32 cookie, opt = off + 240;

  if (bpf_skb_load_bytes (skb, off, &b, sizeof b) < 0)
    return;
  if (b.op != 2 || b.htype != 1 || b.hlen != 6 || b.yiaddr == 0)
    return;
  if (bpf_skb_load_bytes (skb, off + 236, &cookie, 4) < 0 || cookie != bpf_htonl (0x63825363))
    return;
  for (int i = 0; i < 16; i++)
    {
      __u8 o[3];
      if (bpf_skb_load_bytes (skb, opt & 0xffff, o, 3) < 0)
        return;
      if (o[0] == 255)
        return;
      if (o[0] == 0)
        {
          opt++;
          continue;
        }
      if (o[0] == 53)
        {
          if (o[1] == 1 && o[2] == 5)
            learned_put (skb->ifindex, VNM_LEARNED_DHCP, b.yiaddr, b.chaddr);
          return;
        }
      opt += 2 + o[1];
    }
}

#define READ_ONCE(x) (*(volatile typeof (x) *) &(x))
#define WRITE_ONCE(x, v) (*(volatile typeof (x) *) &(x) = (v))
#ifndef barrier
#define barrier() asm volatile ("" ::: "memory")
#endif

/* A DNS message to the VM (UDP from port 53) at @off, @len bytes, on flow
 * @key: its start to the daemon, when the VM sent on that flow before (its
 * query). Only for such packets, off the flows' path. */
static __noinline void
capture_dns (struct __sk_buff *skb, const struct vnm_flow_key *key, __u32 off, __u32 len)
{
  struct vnm_dns_event *ev;
  struct vnm_flow *f;
  __u32 n = len;

  /* The first packet of a UDP flow always reaches the table (the cache
   * holds the next ones): a query the VM sent on it counts there. */
  f = bpf_map_lookup_elem (&vnm_flows, key);
  if (!f || !READ_ONCE (f->packets[VNM_DIR_OUT]))
    {
      __sync_fetch_and_add (&dns_unasked, 1);
      return;
    }

  if (n > VNM_DNS_CAPTURE)
    n = VNM_DNS_CAPTURE;
  if (n < 12)
    return;
  ev = bpf_ringbuf_reserve (&vnm_dns_events, sizeof *ev, 0);
  if (!ev)
    {
      __sync_fetch_and_add (&dns_lost, 1);
      return;
    }
  ev->ifindex = skb->ifindex;
  ev->len = n;
  ev->orig_len = len > 0xffff ? 0xffff : len;
  if (bpf_skb_load_bytes (skb, off & 0xffff, ev->data, n) < 0)
    {
      bpf_ringbuf_discard (ev, 0);
      return;
    }
  bpf_ringbuf_submit (ev, 0);
}


/* The cache slot of a flow and direction: a multiplicative hash of the
 * key's words. */
_Static_assert (VNM_FLOW_CACHE_SLOTS == 1 << VNM_FLOW_CACHE_BITS, "slots");
static __always_inline __u32
slot_of (const struct vnm_flow_key *k, int dir)
{
  const __u32 *w = (const __u32 *) k;
  __u64 a = ((__u64) w[1] << 32 | w[2]) ^ ((__u64) w[3] << 32 | w[4]) ^ ((__u64) w[5] << 32 | w[6]);
  __u64 b = ((__u64) w[7] << 32 | w[8]) ^ ((__u64) w[9] << 32 | w[10]) ^ w[0] ^ ((__u64) dir << 40);
  __u64 h = a * 0x9E3779B97F4A7C15ULL + b * 0xC2B2AE3D27D4EB4FULL;

  /* The top bits: a product's low bits ignore its factors' high ones. */
  return h >> (64 - VNM_FLOW_CACHE_BITS);
}

/* Whether @c holds @k (whose pad is 0, 8-byte aligned) in @dir: one
 * branch for the 44 bytes. */
static __always_inline int
slot_holds (const struct vnm_flow_slot *c, const struct vnm_flow_key *k, int dir)
{
  const __u64 *a = (const __u64 *) &c->key, *b = (const __u64 *) k;
  __u64 tag = (__u64) (dir + 1) << 16;  /* key.pad, bytes 10-11 */

  return ((a[0] ^ b[0]) | (a[1] ^ (b[1] | tag)) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
          (__u64) (((const __u32 *) a)[10] ^ ((const __u32 *) b)[10])) == 0;
}

/* Gives @c to @k in @dir; its counts are zero. The counts' tenant changes
 * first and the slot's tenant last, so that a flush that interrupts this
 * finds them unequal and leaves the slot alone. A function of its own (a
 * BPF call, once a flow): inlined, it doubles what the verifier follows in
 * vnm_tc_to_vm (800K of its 1M instructions instead of 400K). */
static __noinline void
slot_take (struct vnm_flow_slot *c, const struct vnm_flow_key *k, int dir)
{
  __u32 tenant = (c->tenant + 1) & 0xffff;

  if (!tenant)
    tenant = 1;
  WRITE_ONCE (c->packets, (__u64) tenant << 48);
  WRITE_ONCE (c->bytes, (__u64) tenant << 48);
  barrier ();
  __builtin_memcpy (&c->key, k, sizeof *k);
  c->key.pad = dir + 1;
  barrier ();
  WRITE_ONCE (c->tenant, tenant);
}

static __always_inline struct vnm_iface_totals *
totals_of (__u32 ifindex)
{
  __u32 slot = ifindex & (VNM_TOTALS_SLOTS - 1);
  struct vnm_totals_slot *s = bpf_map_lookup_elem (&vnm_totals, &slot);

  if (s && s->ifindex == ifindex)
    return &s->totals;
  return bpf_map_lookup_elem (&vnm_totals_spill, &ifindex);
}

/* The flow table's entry of @key, made when it is new; NULL when the
 * table refuses. */
static __always_inline struct vnm_flow *
flow_of (const struct vnm_flow_key *key, struct vnm_iface_totals *t, const struct packet *p,
         int dir)
{
  /* first/last seen need no more than the tick clock (same base as
   * CLOCK_MONOTONIC, a few ms coarse); RTT reads the precise one. */
  __u64 now = bpf_ktime_get_coarse_ns ();
  struct vnm_flow *f = bpf_map_lookup_elem (&vnm_flows, key);

  if (!f)
    {
      if (bpf_map_update_elem (&vnm_flows, key, &zero_flow, BPF_NOEXIST) == 0 && t)
        t->flows_created++;
      f = bpf_map_lookup_elem (&vnm_flows, key);
      if (!f)
        return NULL;
      f->first_ns = now;
      if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_)
        {
          /* An echo reply answers the other side. */
          int reply = p->tcp_flags == 0 || p->tcp_flags == 129;
          f->opener = (dir == VNM_DIR_OUT) != reply ? VNM_OPENER_VM : VNM_OPENER_REMOTE;
        }
      else if (p->proto == IPPROTO_UDP)
        f->opener = dir == VNM_DIR_OUT ? VNM_OPENER_VM : VNM_OPENER_REMOTE;
    }
  f->last_ns = now;
  return f;
}

static __always_inline int
handle (struct __sk_buff *skb, int dir)
{
  __u32 ifindex = skb->ifindex;
  struct vnm_iface_totals *t = totals_of (ifindex);
  struct packet p = {};
  struct vnm_flow_key key __attribute__ ((aligned (8))) = {};
  struct vnm_flow_slot *cache = NULL;
  struct vnm_flow *f;
  __u32 segs = skb->gso_segs ? skb->gso_segs : 1;
  __u32 payload;

  if (t)
    {
      t->packets[dir]++;
      t->bytes[dir] += skb->len;
    }

  if (parse (skb, &p) < 0)
    {
      /* Headers may sit outside the linear part: pull them in once. */
      if (skb->data_end - skb->data < 128 && skb->len > skb->data_end - skb->data)
        {
          bpf_skb_pull_data (skb, skb->len < 128 ? skb->len : 128);
          __builtin_memset (&p, 0, sizeof p);
          if (parse (skb, &p) < 0)
            goto untracked;
        }
      else
        goto untracked;
    }

  key.ifindex = ifindex;
  key.family = p.family;
  key.proto = p.proto;
  if (dir == VNM_DIR_OUT)
    {
      key.local_port = p.sport;
      key.remote_port = p.dport;
      __builtin_memcpy (key.local_addr, p.saddr, 16);
      __builtin_memcpy (key.remote_addr, p.daddr, 16);
    }
  else
    {
      key.local_port = p.dport;
      key.remote_port = p.sport;
      __builtin_memcpy (key.local_addr, p.daddr, 16);
      __builtin_memcpy (key.remote_addr, p.saddr, 16);
    }
  if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6_)
    key.remote_port = 0;
  else if (dir == VNM_DIR_IN && p.proto == IPPROTO_UDP && p.sport == 67 && p.dport == 68 &&
           p.family == 4)
    learn_dhcp (skb, skb->len - p.payload);
  else if (dir == VNM_DIR_IN && p.sport == 53 && p.proto == IPPROTO_UDP)
    capture_dns (skb, &key, skb->len - p.payload, p.payload);

  /* TCP and the others apart: the verifier then follows each once. */
  if (p.proto == IPPROTO_TCP)
    {
      if (!(f = flow_of (&key, t, &p, dir)))
        return TC_ACT_UNSPEC;
      payload = track_tcp (f, t, &p, dir, segs);
      __sync_fetch_and_add (&f->packets[dir], 1);
      __sync_fetch_and_add (&f->bytes[dir], payload);
    }
  else
    {
      __u32 idx = slot_of (&key, dir);

      payload = p.payload;
      if (use_cache)
        cache = bpf_map_lookup_elem (&vnm_flow_cache, &idx);
      if (cache && slot_holds (cache, &key, dir))
        {
          /* Atomic: a flush may interrupt this on the same CPU. */
          __sync_fetch_and_add (&cache->packets, 1);
          __sync_fetch_and_add (&cache->bytes, payload);
        }
      else
        {
          if (!(f = flow_of (&key, t, &p, dir)))
            return TC_ACT_UNSPEC;
          __sync_fetch_and_add (&f->packets[dir], 1);
          __sync_fetch_and_add (&f->bytes[dir], payload);
          /* The next packets of this flow go to the cache, if its slot
           * is free or its tenant has had no packet since the last
           * flush. */
          if (cache && !(READ_ONCE (cache->packets) & VNM_SLOT_COUNT_MASK) &&
              !(READ_ONCE (cache->bytes) & VNM_SLOT_COUNT_MASK))
            slot_take (cache, &key, dir);
        }
    }
  if (t)
    t->payload_bytes[dir] += payload;
  return TC_ACT_UNSPEC;

untracked:
  if (t)
    t->untracked++;
  if (dir == VNM_DIR_OUT)
    learn_arp (skb);
  return TC_ACT_UNSPEC;
}

SEC ("tc")
int
vnm_tc_from_vm (struct __sk_buff *skb)
{
  return handle (skb, VNM_DIR_OUT);
}

SEC ("tc")
int
vnm_tc_to_vm (struct __sk_buff *skb)
{
  return handle (skb, VNM_DIR_IN);
}

/* --- the cache's flush, run by the daemon on each CPU in turn --------------- */

/* The daemon runs vnm_flush_cache on a CPU with BPF_PROG_TEST_RUN: as an
 * interrupt (IPI) there, which may fall between any two steps of the probe
 * on that CPU, or, on the daemon's own CPU, as a task that the probe (in a
 * softirq) may interrupt. Neither loses or doubles a count: the probe adds
 * atomically; a slot changes hands only when its counts are zero, and then
 * first the counts' tenant (the top 16 bits), then the key, then the slot's
 * tenant; the flush copies the key between two reads of the slot's tenant
 * and takes the counts with a compare-and-exchange that expects that
 * tenant, so it leaves a slot alone that is changing hands. */

struct flush_ctx {
  __u64 now;
};

/* Takes the counts of @w if they are still @tag's; 0 when there are none
 * or the slot changed hands meanwhile. */
static __always_inline __u64
take (__u64 *w, __u64 tag)
{
  for (int i = 0; i < 3; i++)
    {
      __u64 old = READ_ONCE (*w);
      if ((old & ~VNM_SLOT_COUNT_MASK) != tag || !(old & VNM_SLOT_COUNT_MASK))
        return 0;
      if (__sync_val_compare_and_swap (w, old, tag) == old)
        return old & VNM_SLOT_COUNT_MASK;
    }
  return 0;
}

static long
flush_slot (__u32 i, struct flush_ctx *ctx)
{
  struct vnm_flow_slot *c = bpf_map_lookup_elem (&vnm_flow_cache, &i);
  struct vnm_flow_key key;
  struct vnm_flow *f;
  __u32 t1, t2;
  __u64 tag, packets, bytes;
  int dir;

  if (!c || !READ_ONCE (c->key.ifindex))
    return 0;
  t1 = READ_ONCE (c->tenant);
  barrier ();
  __builtin_memcpy (&key, &c->key, sizeof key);
  barrier ();
  t2 = READ_ONCE (c->tenant);
  if (t1 != t2 || !t1)
    return 0;
  tag = (__u64) t1 << 48;
  packets = take (&c->packets, tag);
  bytes = take (&c->bytes, tag);
  if (!packets && !bytes)
    return 0;
  dir = key.pad == VNM_DIR_IN + 1 ? VNM_DIR_IN : VNM_DIR_OUT;
  key.pad = 0;
  f = bpf_map_lookup_elem (&vnm_flows, &key);
  if (!f)
    {
      /* The daemon ended the flow (idle) or the table evicted it: the
       * packets since then are a new flow. */
      struct vnm_iface_totals *t = totals_of (key.ifindex);
      if (bpf_map_update_elem (&vnm_flows, &key, &zero_flow, BPF_NOEXIST) == 0 && t)
        t->flows_created++;
      f = bpf_map_lookup_elem (&vnm_flows, &key);
      if (!f)
        return 0;
      f->first_ns = ctx->now;
      if (key.proto == IPPROTO_UDP)
        f->opener = dir == VNM_DIR_OUT ? VNM_OPENER_VM : VNM_OPENER_REMOTE;
    }
  f->last_ns = ctx->now;
  __sync_fetch_and_add (&f->packets[dir], packets);
  __sync_fetch_and_add (&f->bytes[dir], bytes);
  return 0;
}

SEC ("raw_tp")
int
vnm_flush_cache (void *ctx)
{
  struct flush_ctx c = { .now = bpf_ktime_get_ns () };

  bpf_loop (VNM_FLOW_CACHE_SLOTS, flush_slot, &c, 0);
  return 0;
}
