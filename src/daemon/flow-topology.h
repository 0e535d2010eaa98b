/* flow-topology.h: who talks to whom, from flow records: VMs and remote
 * addresses as nodes, their traffic as edges. Pure. */
#pragma once

#include <glib.h>

#include "flow-aggregate.h"
#include "peer-names.h"

/* The id of the node that stands for the host itself. */
#define VNM_TOPO_HOST_ID "host"

typedef struct {
  gchar *id;      /* domain uuid, VNM_TOPO_HOST_ID, or the remote address */
  gchar *label;   /* domain name, the host's name, the name a VM looked up
                   * (remote), or the address */
  const gchar *label_source;    /* "vm", "host", "dns", "" (the address) */
  VnmPeerKind kind;             /* VM, HOST or REMOTE */
  guint64 rx_bytes, tx_bytes;   /* the node's view (unicast) */
  /* A VM's flows that are no conversation (multicast, broadcast or the
   * unspecified address on either side): counted here, never edges. */
  guint64 nonunicast_tx_bytes, nonunicast_rx_bytes;
  guint nonunicast_flows;
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
 * @names uuid to name. @peers says what each remote address is: another
 * VM of this host (a VM-to-VM edge, counted once), the host (one node), or
 * a remote; flows to or from multicast, broadcast or unspecified addresses
 * are counted on the VM's node, never edges. */
VnmTopology *vnm_flow_topology (GPtrArray *records, GHashTable *owner, GHashTable *names,
                                VnmPeerNames *peers);
void vnm_topology_free (VnmTopology *topo);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmTopology, vnm_topology_free)
