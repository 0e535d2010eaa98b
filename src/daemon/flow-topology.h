/* flow-topology.h: who talks to whom, from flow records: VMs and remote
 * addresses as nodes, their traffic as edges. Pure. */
#pragma once

#include <glib.h>

#include "flow-aggregate.h"

typedef struct {
  gchar *id;      /* domain uuid, or the remote address */
  gchar *label;   /* domain name, or the address */
  gboolean is_vm;
  guint64 rx_bytes, tx_bytes;   /* the node's view */
} VnmTopoNode;

typedef struct {
  gchar *source, *target;       /* node ids; source is a VM */
  guint64 bytes_to_target, bytes_to_source;
  guint64 conns, retrans;
  VnmRttAgg rtt;
} VnmTopoEdge;

typedef struct {
  GPtrArray *nodes;   /* VnmTopoNode*, owned */
  GPtrArray *edges;   /* VnmTopoEdge*, owned */
} VnmTopology;

/* @owner maps GINT_TO_POINTER (ifindex) to the owning domain's uuid and
 * @names uuid to name. A remote address that is some VM's own address on
 * this host (seen as a local address of its flows) becomes a VM-to-VM edge,
 * counted once. */
VnmTopology *vnm_flow_topology (GPtrArray *records, GHashTable *owner, GHashTable *names);
void vnm_topology_free (VnmTopology *topo);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmTopology, vnm_topology_free)
