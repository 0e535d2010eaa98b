/* ipfix-exporter.h: a transport that sends the engine's flows to an IPFIX
 * collector (RFC 7011 over UDP or TCP, biflow records per RFC 5103).
 *
 * It follows the engine's interval signal: a flow that ended (idle past
 * --flow-idle-timeout, its TCP connection closed, its VM stopped, evicted)
 * is exported once with what it counted since its last export and its end
 * reason; a flow that goes on is exported every active timeout with its
 * counts since the last export (delta counters). When the exporter stops
 * (vnm_ipfix_exporter_free), the flows going on are exported a last time
 * with flowEndReason forced end, without waiting for the socket, and what
 * was exported of them is kept in the state directory (ipfix-baselines): a
 * next daemon that adopts the pinned flow table counts those flows on from
 * there, not from zero, so that nothing is exported twice. Without that
 * file (the daemon was killed) it counts them on from what they have when
 * it first sees them. Sending never blocks the
 * main loop: the socket is non-blocking, a TCP connection is made (and
 * made again, with backoff) asynchronously, and what cannot be sent now
 * (no connection, the collector refuses, the socket buffer is full) is
 * dropped and counted. Templates go with the first message and again
 * every VNM_IPFIX_TEMPLATE_REFRESH_S seconds or _MESSAGES messages over UDP,
 * once per connection over TCP (RFC 7011 §8). */
#pragma once

#include <glib.h>

#include "engine.h"
#include "options.h"

typedef struct _VnmIpfixExporter VnmIpfixExporter;

typedef struct {
  const gchar *collector;     /* HOST:PORT as given */
  const gchar *transport;     /* "udp" or "tcp" */
  gboolean connected;         /* TCP: a session is up; UDP: the last send went out */
  guint64 messages_sent, records_sent, bytes_sent;
  guint64 messages_dropped, records_dropped;
  guint64 template_sends;     /* messages that carried the templates */
  guint64 connections;        /* sessions opened (TCP), sockets connected (UDP) */
  guint flows_tracked;        /* flows whose exported counts are remembered */
  guint active_timeout_s, idle_timeout_s;
  guint32 observation_domain;
  const gchar *last_error;    /* "" when none yet */
} VnmIpfixStats;

/* Starts connecting to @options->ipfix_collector (which must be set and
 * valid: vnm_options_parse checked it) and follows @engine. */
VnmIpfixExporter *vnm_ipfix_exporter_new (VnmEngine *engine, const VnmOptions *options);
void vnm_ipfix_exporter_free (VnmIpfixExporter *x);

/* Borrowed strings, valid until the next main loop iteration. */
void vnm_ipfix_exporter_stats (VnmIpfixExporter *x, VnmIpfixStats *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmIpfixExporter, vnm_ipfix_exporter_free)
