/* conn-states.h: TCP connections by state as the host sees them, and
 * handshake failures per remote, from the flow probe's records. Pure:
 * plain structs in, plain structs out; tested without a kernel. */
#pragma once

#include <glib.h>

#include "flow-store.h"

/* The state of the connection on a TCP flow, as its packets passed the
 * host (not the guest's own TCP state: a segment dropped after the probe
 * saw it still counts). */
typedef enum {
  VNM_CONN_SYN_SENT,       /* SYN seen, no answer: half-open, not answered */
  VNM_CONN_SYN_RECEIVED,   /* SYN-ACK seen, the final ACK not yet */
  VNM_CONN_ESTABLISHED,
  VNM_CONN_CLOSING,        /* FIN seen one way */
  VNM_CONN_CLOSED,         /* FIN both ways */
  VNM_CONN_RESET,          /* RST */
  VNM_CONN_STATES,
} VnmConnState;

/* "syn_sent", "syn_received", "established", "closing", "closed", "reset". */
const gchar *vnm_conn_state_name (VnmConnState s);
/* The state named @name, or -1. */
gint vnm_conn_state_parse (const gchar *name);
/* @rec's state, or -1 when it is not TCP or nothing stateful passed. A flow
 * already running when the probe attached (no SYN seen) is established
 * until it closes or resets. */
gint vnm_conn_state_of (const VnmFlowRecord *rec);

/* Active TCP flows per initiator (VNM_OPENER_*: unknown, vm, remote) and
 * state. */
typedef struct {
  guint64 count[3][VNM_CONN_STATES];
} VnmConnStates;

/* Adds @rec to @s when it is an active TCP flow. */
void vnm_conn_states_add (VnmConnStates *s, const VnmFlowRecord *rec);

/* Handshake failures of one remote and service port, from the flows kept
 * now (active and ended): the probe's totals count every failure, these
 * say with whom. */
typedef struct {
  gchar remote_ip[48];
  gint opener;             /* VNM_OPENER_VM: the VM's SYN failed; _REMOTE: the remote's */
  gint local_port;         /* the VM's port when the remote opened, else -1 */
  gint remote_port;        /* the remote's port when the VM opened, else -1 */
  guint64 refused;         /* a RST answered the SYN */
  guint64 timed_out;       /* the SYN was sent again, unanswered */
  guint64 last_ns;         /* monotonic */
} VnmHandshakeFailure;

/* Failures in @records (VnmFlowRecord*), most first. */
GArray *vnm_handshake_failures (GPtrArray *records);
