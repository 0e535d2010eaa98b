/* service-table.h: the services each VM exposes, learned passively from
 * its flows: TCP ports on which it accepted a connection (its SYN-ACK
 * passed) and UDP ports on which it answered a datagram from a remote.
 * Kept while the domain is known, beyond the flows they came from. Pure:
 * fed with flow records each interval; tested without a kernel.
 *
 * Bounded: at most max_services per domain (the flows of ports beyond are
 * counted, not kept) and max_clients distinct client addresses per service
 * (connections from addresses beyond are counted). */
#pragma once

#include <glib.h>

#include "flow-store.h"

#define VNM_SERVICES_MAX 256
#define VNM_SERVICE_CLIENTS_MAX 1024

typedef struct {
  guint8 proto;             /* IPPROTO_TCP or IPPROTO_UDP */
  guint16 port;             /* the VM's port */
  guint64 first_ns, last_ns;  /* monotonic: its flows' first and last packet */
  guint clients;            /* distinct client addresses (at most max_clients) */
  guint64 clients_untracked;  /* flows from addresses beyond max_clients */
  guint64 connections;      /* TCP connections accepted, UDP flows answered */
  guint64 rx_bytes;         /* L4 payload to the VM (requests) */
  guint64 tx_bytes;         /* and from it (answers) */
} VnmService;

typedef struct _VnmServiceTable VnmServiceTable;

VnmServiceTable *vnm_service_table_new (guint max_services, guint max_clients);
void vnm_service_table_free (VnmServiceTable *t);

/* One round: begin, add every flow record (active and ended) with the
 * uuid of its domain, end. A flow's counts are added once, as they grow.
 * vnm_service_table_add() returns the service when this record made it
 * appear (a new service of that domain), else NULL. */
void vnm_service_table_begin (VnmServiceTable *t);
const VnmService *vnm_service_table_add (VnmServiceTable *t, const gchar *uuid,
                                         const VnmFlowRecord *rec);
void vnm_service_table_end (VnmServiceTable *t);

/* The domain is gone: its services are forgotten. */
void vnm_service_table_forget (VnmServiceTable *t, const gchar *uuid);

/* @uuid's services (VnmService*, borrowed), by protocol and port. */
GPtrArray *vnm_service_table_list (VnmServiceTable *t, const gchar *uuid);
/* Flows to @uuid's ports beyond max_services, not kept as services. */
guint64 vnm_service_table_untracked (VnmServiceTable *t, const gchar *uuid);
guint vnm_service_table_max_services (VnmServiceTable *t);
guint vnm_service_table_max_clients (VnmServiceTable *t);

/* "tcp" or "udp". */
const gchar *vnm_service_proto_name (const VnmService *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmServiceTable, vnm_service_table_free)
