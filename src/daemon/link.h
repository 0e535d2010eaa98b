/* link.h: one host network interface as the kernel reports it. Plain data,
 * shared by the rtnetlink reader (linkstats), the link table and whoever
 * reads the table. */
#pragma once

#include <glib.h>

/* Counters in the host's view (what the kernel reports for the device). */
typedef struct {
  guint64 rx_bytes, rx_packets, rx_errors, rx_dropped;
  guint64 tx_bytes, tx_packets, tx_errors, tx_dropped;
} VnmCounters;

typedef struct {
  gint ifindex;
  gchar name[16];
  const gchar *kind;    /* interned: tap, tun, veth, bridge, macvtap, macvlan,
                           vlan, bond, dummy, ovs, vxlan, loopback, physical,
                           other, ... */
  const gchar *state;   /* interned: up, down, unknown, dormant, ... */
  guint mtu;
  gint master_ifindex;  /* 0 when none */
  gint lower_ifindex;   /* IFLA_LINK in the same namespace (a macvtap's or
                           vlan's lower device); 0 when none */
  gchar mac[18];        /* "" when none */
  gint64 speed_mbps;    /* -1 when unknown */
  VnmCounters counters;
} VnmLink;
