/* linkstats.h: host network interfaces and their counters, from rtnetlink
 * (libmnl): one RTM_GETLINK dump per refresh, plus a link monitor
 * (RTNLGRP_LINK) so that interfaces appear and vanish at once. */
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
  gchar mac[18];        /* "" when none */
  gint64 speed_mbps;    /* -1 when unknown */
  VnmCounters counters;
} VnmLink;

typedef struct _VnmLinkStats VnmLinkStats;

typedef enum {
  VNM_LINK_EVENT_NEW,     /* added, or changed (state, name, master, ...) */
  VNM_LINK_EVENT_DEL,
  VNM_LINK_EVENT_RESYNC,  /* events were lost: do a full dump */
} VnmLinkEvent;

typedef void (*VnmLinkEventFunc) (VnmLinkEvent event, const VnmLink *link,
                                  gpointer user_data);

VnmLinkStats *vnm_linkstats_new (GError **error);
void vnm_linkstats_free (VnmLinkStats *ls);

/* Dumps every link of the current network namespace into @out (cleared
 * first). */
gboolean vnm_linkstats_dump (VnmLinkStats *ls, GArray *out, GError **error);

/* The number of tc filters under clsact ingress (or @egress) of @ifindex,
 * or -1 when they cannot be listed. */
gint vnm_linkstats_count_tc_filters (VnmLinkStats *ls, gint ifindex, gboolean egress);

/* Starts the link monitor on the default main context; @func is called
 * from the main loop for each change. */
gboolean vnm_linkstats_monitor (VnmLinkStats *ls, VnmLinkEventFunc func,
                                gpointer user_data, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLinkStats, vnm_linkstats_free)
