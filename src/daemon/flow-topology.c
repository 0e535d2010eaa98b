/* flow-topology.c: the traffic graph of the host's VMs. */
#include "config.h"

#include <string.h>

#include "flow-topology.h"

typedef struct {
  VnmTopoEdge edge;
  /* Both VMs of a VM-to-VM edge see its traffic: keep each view and take
   * the larger, so nothing is counted twice. */
  guint64 view_to_target[2], view_to_source[2];
} EdgeAcc;

static void
node_free (VnmTopoNode *n)
{
  g_free (n->id);
  g_free (n->label);
  g_free (n);
}

static void
edge_free (VnmTopoEdge *e)
{
  g_free (e->source);
  g_free (e->target);
  g_free (e);
}

void
vnm_topology_free (VnmTopology *t)
{
  if (!t)
    return;
  g_ptr_array_unref (t->nodes);
  g_ptr_array_unref (t->edges);
  g_free (t);
}

static VnmTopoNode *
get_node (GHashTable *nodes, const gchar *id, const gchar *label, VnmPeerKind kind)
{
  VnmTopoNode *n = g_hash_table_lookup (nodes, id);

  if (!n)
    {
      n = g_new0 (VnmTopoNode, 1);
      n->id = g_strdup (id);
      n->label = g_strdup (label && *label ? label : id);
      n->label_source = !(label && *label) ? ""
                        : kind == VNM_PEER_VM ? "vm" : kind == VNM_PEER_HOST ? "host" : "dns";
      n->kind = kind;
      g_hash_table_insert (nodes, n->id, n);
    }
  return n;
}

VnmTopology *
vnm_flow_topology (GPtrArray *records, GHashTable *owner, GHashTable *names, VnmPeerNames *peers)
{
  g_autoptr(GHashTable) nodes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) edges = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  VnmTopology *topo = g_new0 (VnmTopology, 1);
  GHashTableIter it;
  gpointer value;

  topo->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  topo->edges = g_ptr_array_new_with_free_func ((GDestroyNotify) edge_free);

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      const struct vnm_flow *f = &rec->flow;
      const gchar *uuid = g_hash_table_lookup (owner, GINT_TO_POINTER (rec->key.ifindex));
      const gchar *source, *target;
      gchar remote[48];
      g_autofree gchar *edge_key = NULL;
      VnmTopoNode *self;
      VnmPeer peer;
      EdgeAcc *acc;
      gint view;
      guint64 out = f->bytes[VNM_DIR_OUT], in = f->bytes[VNM_DIR_IN];

      if (!uuid)
        continue;
      self = get_node (nodes, uuid, g_hash_table_lookup (names, uuid), VNM_PEER_VM);
      if (!vnm_peer_names_is_unicast_flow (peers, &rec->key))
        {
          self->nonunicast_tx_bytes += out;
          self->nonunicast_rx_bytes += in;
          self->nonunicast_flows++;
          continue;
        }
      self->tx_bytes += out;
      self->rx_bytes += in;
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, remote, sizeof remote);
      vnm_peer_names_classify_for (peers, uuid, rec->key.family, rec->key.remote_addr, &peer);
      if (peer.kind == VNM_PEER_VM && !g_str_equal (peer.vm_uuid, uuid))
        {
          const gchar *peer_vm = peer.vm_uuid;
          const gchar *peer_name = g_hash_table_lookup (names, peer_vm);
          get_node (nodes, peer_vm, peer_name ? peer_name : peer.name, VNM_PEER_VM);
          /* One edge per pair, source the smaller uuid. */
          gboolean self_first = g_strcmp0 (uuid, peer_vm) < 0;
          source = self_first ? uuid : peer_vm;
          target = self_first ? peer_vm : uuid;
          view = self_first ? 0 : 1;
          if (!self_first)
            {
              guint64 tmp = out;
              out = in;
              in = tmp;
            }
        }
      else
        {
          gboolean host = peer.kind == VNM_PEER_HOST;
          VnmTopoNode *r = get_node (nodes, host ? VNM_TOPO_HOST_ID : remote,
                                     host ? g_get_host_name () : peer.name,
                                     host ? VNM_PEER_HOST : VNM_PEER_REMOTE);
          /* A remote another VM reached first without a name: this VM
           * looked it up. */
          if (!host && !*r->label_source && *peer.name)
            {
              g_free (r->label);
              r->label = g_strdup (peer.name);
              r->label_source = "dns";
            }
          r->rx_bytes += out;
          r->tx_bytes += in;
          source = uuid;
          target = r->id;
          view = 0;
        }
      edge_key = g_strdup_printf ("%s>%s", source, target);
      acc = g_hash_table_lookup (edges, edge_key);
      if (!acc)
        {
          acc = g_new0 (EdgeAcc, 1);
          acc->edge.source = g_strdup (source);
          acc->edge.target = g_strdup (target);
          g_hash_table_insert (edges, g_steal_pointer (&edge_key), acc);
        }
      acc->view_to_target[view] += out;
      acc->view_to_source[view] += in;
      if (view == 0)
        {
          acc->edge.conns += f->conns_opened;
          acc->edge.retrans += f->retrans[0] + f->retrans[1];
          vnm_rtt_agg_merge (&acc->edge.rtt, &f->rtt_remote);
        }
    }

  g_hash_table_iter_init (&it, nodes);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (topo->nodes, value);
  g_hash_table_iter_init (&it, edges);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      EdgeAcc *acc = value;
      VnmTopoEdge *e = g_new0 (VnmTopoEdge, 1);

      *e = acc->edge;
      e->bytes_to_target = MAX (acc->view_to_target[0], acc->view_to_target[1]);
      e->bytes_to_source = MAX (acc->view_to_source[0], acc->view_to_source[1]);
      g_ptr_array_add (topo->edges, e);
      g_free (acc);
    }
  return topo;
}
