/* vnm-flows.h: what flows.bpf.c and virtnetmond share — map keys and values
 * of the per-VM flow probe. Included by BPF C (with vmlinux-free uapi types)
 * and by the daemon; keep it plain fixed-size types. */
#ifndef VNM_FLOWS_H
#define VNM_FLOWS_H

#include <linux/types.h>

/* Directions, in the VM's view. On a VM's host netdev (tap, veth), tc
 * ingress sees what the VM sent and tc egress what is sent to the VM; on a
 * macvtap the other way round (the daemon hooks the programs so). */
#define VNM_DIR_OUT 0   /* from the VM: its tx */
#define VNM_DIR_IN  1   /* to the VM: its rx */

/* Who opened a flow. */
#define VNM_OPENER_UNKNOWN 0  /* already running when the probe attached */
#define VNM_OPENER_VM      1  /* outgoing for the VM */
#define VNM_OPENER_REMOTE  2  /* incoming for the VM */

/* A flow as the VM sees it: local = the VM's side. Addresses are 16 bytes;
 * IPv4 in the IPv4-mapped form ::ffff:a.b.c.d. Ports in host byte order;
 * for ICMP, local_port is the echo identifier and remote_port 0. */
struct vnm_flow_key {
  __u32 ifindex;
  __u8 family;          /* 4 or 6 */
  __u8 proto;           /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
  __u16 local_port;
  __u16 remote_port;
  __u16 pad;
  __u8 local_addr[16];
  __u8 remote_addr[16];
};

/* Passive RTT samples of one leg, in microseconds. */
struct vnm_rtt {
  __u64 sum_us;
  __u64 jitter_sum_us;  /* sum of |sample - previous sample| */
  __u32 count;
  __u32 min_us;
  __u32 max_us;
  __u32 last_us;
};

/* TCP state bits of the connection now on this 5-tuple. */
#define VNM_TCP_SYN_OUT   0x01
#define VNM_TCP_SYN_IN    0x02
#define VNM_TCP_ESTAB     0x04
#define VNM_TCP_FIN_OUT   0x08
#define VNM_TCP_FIN_IN    0x10
#define VNM_TCP_CLOSED    0x20   /* counted as closed (both FINs) */
#define VNM_TCP_RESET     0x40   /* counted as reset */
#define VNM_TCP_REFUSED   0x80   /* a RST answered the SYN (no SYN-ACK) */
#define VNM_TCP_SEQ_OUT   0x100  /* seq_end[OUT] valid */
#define VNM_TCP_SEQ_IN    0x200
#define VNM_TCP_SYN_TIMEOUT 0x400 /* the SYN was sent again, unanswered */

struct vnm_flow {
  __u64 first_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  __u64 last_ns;
  __u64 bytes[2];       /* L4 payload bytes, [VNM_DIR_*] */
  __u64 packets[2];     /* packets (a GSO packet counts once) */
  __u64 retrans[2];     /* TCP segments carrying repeated sequence ranges */
  __u32 conns_opened;   /* TCP handshakes seen (SYN, SYN-ACK) */
  __u32 conns_closed;   /* FIN both ways */
  __u32 resets;         /* RST */
  __u32 tcp_state;      /* VNM_TCP_* */
  __u8 opener;          /* VNM_OPENER_* */
  __u8 syn_retrans;     /* SYNs sent again with no answer (saturates) */
  __u8 pad[2];
  __u32 seq_end[2];     /* highest sequence end seen per direction */
  __u32 hole_lo[2];     /* a range below seq_end not seen yet (segments */
  __u32 hole_hi[2];     /* reordered on the way here); empty when lo == hi */
  __u64 syn_ns;         /* when the opening SYN passed */
  __u64 synack_ns;      /* when its SYN-ACK passed */
  __u32 tsval[2];       /* the pending TSval per direction */
  __u64 tsval_ns[2];    /* when it first passed; 0 when none is pending */
  /* remote leg: host -> remote -> host (what the VM's own TCP sees as RTT,
   * less the host<->VM hop); vm leg: host -> VM -> host. */
  struct vnm_rtt rtt_remote;
  struct vnm_rtt rtt_vm;
};

/* Per probed interface, exact whatever happens to single flows; a per-CPU
 * map, summed by the daemon. Bytes here are wire bytes, like the device's
 * own counters. */
struct vnm_iface_totals {
  __u64 packets[2];
  __u64 bytes[2];
  __u64 payload_bytes[2];  /* L4 payload of tracked IP flows */
  __u64 flows_created;     /* flow entries the probe inserted */
  __u64 conns_opened;
  __u64 conns_closed;
  __u64 resets;
  __u64 retrans[2];
  __u64 untracked;         /* packets that are not IPv4/IPv6 TCP/UDP/ICMP */
  /* TCP handshake failures, [direction of the SYN]: VNM_DIR_OUT = the VM
   * opened. Refused: a RST answered the SYN; timed out: the SYN was sent
   * again without an answer (once a connection). */
  __u64 handshake_refused[2];
  __u64 handshake_timeouts[2];
};

/* Where the probe finds a device's totals: slot ifindex % VNM_TOTALS_SLOTS
 * of a per-CPU array (an inlined lookup, no hashing), which names the
 * device it holds; a device whose slot another attached device holds
 * spills to a per-CPU hash keyed by ifindex. Ifindexes are handed out in
 * sequence, so the devices attached at one time rarely share a slot. */
#define VNM_TOTALS_SLOTS 4096  /* a power of two */

struct vnm_totals_slot {
  __u32 ifindex;           /* the device whose totals these are; 0: free */
  __u32 pad;
  struct vnm_iface_totals totals;
};

/* Per-CPU cache of the counters of recent UDP and ICMP flows: a packet of
 * a flow that holds its slot (a hash of key and direction) adds to the slot
 * and skips the flow table. The counts reach the table when the daemon
 * runs vnm_flush_cache on each CPU (before every read of the table, and at
 * stop). A slot changes hands only when its counts are zero. TCP packets
 * always take the table (their state spans both directions). */
#define VNM_FLOW_CACHE_BITS 12
#define VNM_FLOW_CACHE_SLOTS 4096  /* 1 << VNM_FLOW_CACHE_BITS */
#define VNM_SLOT_COUNT_MASK ((1ULL << 48) - 1)

struct vnm_flow_slot {
  __u64 packets;            /* tenant << 48 | packets not yet in the table */
  __u64 bytes;              /* tenant << 48 | payload bytes, the same */
  struct vnm_flow_key key;  /* key.pad = direction + 1; ifindex 0: empty */
  __u32 tenant;             /* the tenant the key is, written after it */
};

/* Addresses the probe learned from what a VM sent or was told, beyond the
 * source addresses of its flows (which the daemon reads from the flow
 * table): the sender address of ARP the VM sent from its own MAC, and the
 * address a DHCP server's ACK gave to a client MAC. Only such packets
 * write here (never the per-packet path of TCP/UDP flows). */
#define VNM_LEARNED_ARP  1
#define VNM_LEARNED_DHCP 2
#define VNM_LEARNED_SLOTS 4096

struct vnm_learned_key {
  __u32 ifindex;
  __u8 family;          /* 4 */
  __u8 how;             /* VNM_LEARNED_* */
  __u16 pad;
  __u8 addr[16];        /* IPv4-mapped */
};

struct vnm_learned {
  __u64 last_ns;        /* CLOCK_MONOTONIC */
  __u8 mac[6];          /* ARP: sender; DHCP: client hardware address */
  __u8 pad[2];
};

/* A DNS message sent to a VM (UDP from port 53), its first
 * VNM_DNS_CAPTURE bytes, for the daemon to learn the names the VM looked
 * up; through the ring buffer vnm_dns_events. What the ring has no room
 * for is counted in the probe's global dns_lost. */
#define VNM_DNS_CAPTURE 512
#define VNM_DNS_RING_BYTES (256 * 1024)

struct vnm_dns_event {
  __u32 ifindex;
  __u16 len;            /* bytes in data */
  __u16 orig_len;       /* the message's length (up to 65535) */
  __u8 data[VNM_DNS_CAPTURE];
};

#endif
