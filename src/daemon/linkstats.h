/* linkstats.h: host network interfaces and their counters, from rtnetlink
 * (libmnl): one RTM_GETLINK dump per refresh, plus a link monitor
 * (RTNLGRP_LINK) so that interfaces appear and vanish at once. */
#pragma once

#include <glib.h>

#include "link.h"

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
 * first). When the kernel flags the dump as interrupted (the link list
 * changed while it was read: NLM_F_DUMP_INTR), returns TRUE with
 * *@interrupted set: @out may then miss links or hold stale ones, and the
 * caller dumps again (see vnm_link_table_refresh). Matches
 * VnmLinkDumpFunc. */
gboolean vnm_linkstats_dump (gpointer ls, GArray *out, gboolean *interrupted, GError **error);

/* The number of tc filters under clsact ingress (or @egress) of @ifindex,
 * or -1 when they cannot be listed. */
gint vnm_linkstats_count_tc_filters (VnmLinkStats *ls, gint ifindex, gboolean egress);

/* Starts the link monitor on the default main context; @func is called
 * from the main loop for each change. */
gboolean vnm_linkstats_monitor (VnmLinkStats *ls, VnmLinkEventFunc func,
                                gpointer user_data, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLinkStats, vnm_linkstats_free)
