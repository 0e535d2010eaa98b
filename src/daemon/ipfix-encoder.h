/* ipfix-encoder.h: IPFIX messages (RFC 7011) of biflow records (RFC 5103)
 * from plain structs. Pure: GLib only, no sockets; the exporter sends what
 * this builds.
 *
 * Two templates, one per address family (VNM_IPFIX_TEMPLATE_IPV4 and
 * _IPV6), each with these Information Elements (IANA numbers; "r" marks a
 * reverse element, enterprise number 29305, RFC 5103 §6.1):
 *
 *   sourceIPv4Address 8 / sourceIPv6Address 27
 *   destinationIPv4Address 12 / destinationIPv6Address 28
 *   sourceTransportPort 7, destinationTransportPort 11   (ICMP: 0, 0)
 *   protocolIdentifier 4
 *   octetDeltaCount 1, packetDeltaCount 2                 source -> destination
 *   r octetDeltaCount 1, r packetDeltaCount 2             destination -> source
 *   tcpControlBits 6 (1 octet), r tcpControlBits 6
 *   flowStartMilliseconds 152, flowEndMilliseconds 153
 *   flowEndReason 136, biflowDirection 239
 *   ingressInterface 10, egressInterface 14               the VM's host netdev
 *   virtualStationUUID 349 (16 octets)                   the libvirt domain
 *   virtualStationName 350 (variable length)             the domain's name
 *   virtualStationInterfaceName 348 (variable length)    the host netdev's name
 *
 * Strings longer than VNM_IPFIX_MAX_STRING octets are cut at a character
 * boundary, so that every record fits one message. A string shorter than
 * 255 octets has a one-octet length, a longer one the octet 255 and a
 * two-octet length (RFC 7011 §7). */
#pragma once

#include <glib.h>

#define VNM_IPFIX_VERSION 10
#define VNM_IPFIX_TEMPLATE_IPV4 256
#define VNM_IPFIX_TEMPLATE_IPV6 257
#define VNM_IPFIX_REVERSE_PEN 29305u
#define VNM_IPFIX_HEADER_LEN 16
#define VNM_IPFIX_MAX_STRING 255

/* IANA Information Element identifiers used here. */
enum {
  VNM_IE_OCTET_DELTA_COUNT = 1,
  VNM_IE_PACKET_DELTA_COUNT = 2,
  VNM_IE_PROTOCOL_IDENTIFIER = 4,
  VNM_IE_TCP_CONTROL_BITS = 6,
  VNM_IE_SOURCE_TRANSPORT_PORT = 7,
  VNM_IE_SOURCE_IPV4_ADDRESS = 8,
  VNM_IE_INGRESS_INTERFACE = 10,
  VNM_IE_DESTINATION_TRANSPORT_PORT = 11,
  VNM_IE_DESTINATION_IPV4_ADDRESS = 12,
  VNM_IE_EGRESS_INTERFACE = 14,
  VNM_IE_SOURCE_IPV6_ADDRESS = 27,
  VNM_IE_DESTINATION_IPV6_ADDRESS = 28,
  VNM_IE_FLOW_END_REASON = 136,
  VNM_IE_FLOW_START_MILLISECONDS = 152,
  VNM_IE_FLOW_END_MILLISECONDS = 153,
  VNM_IE_BIFLOW_DIRECTION = 239,
  VNM_IE_VIRTUAL_STATION_INTERFACE_NAME = 348,
  VNM_IE_VIRTUAL_STATION_UUID = 349,
  VNM_IE_VIRTUAL_STATION_NAME = 350,
};

/* flowEndReason values (RFC 7012 / IANA). */
enum {
  VNM_IPFIX_END_IDLE = 1,
  VNM_IPFIX_END_ACTIVE = 2,
  VNM_IPFIX_END_OF_FLOW = 3,
  VNM_IPFIX_END_FORCED = 4,
  VNM_IPFIX_END_LACK_OF_RESOURCES = 5,
};

/* biflowDirection values (RFC 5103 §6.3). */
enum {
  VNM_IPFIX_BIFLOW_ARBITRARY = 0,
  VNM_IPFIX_BIFLOW_INITIATOR = 1,
};

/* TCP flags as in the TCP header. */
#define VNM_TCP_FLAG_FIN 0x01
#define VNM_TCP_FLAG_SYN 0x02
#define VNM_TCP_FLAG_RST 0x04
#define VNM_TCP_FLAG_ACK 0x10

typedef struct {
  guint8 family;               /* 4 or 6 */
  guint8 src_addr[16];         /* IPv4: the first 4 octets */
  guint8 dst_addr[16];
  guint16 src_port, dst_port;
  guint8 protocol;
  guint8 tcp_flags, reverse_tcp_flags;
  guint64 octets, packets;                  /* source -> destination */
  guint64 reverse_octets, reverse_packets;  /* destination -> source */
  guint64 start_ms, end_ms;    /* milliseconds since the Unix epoch */
  guint8 end_reason;           /* VNM_IPFIX_END_* */
  guint8 biflow_direction;     /* VNM_IPFIX_BIFLOW_* */
  guint32 ingress_interface, egress_interface;
  guint8 vm_uuid[16];          /* zeros when unknown */
  const gchar *vm_name;        /* NULL: "" */
  const gchar *vm_iface;       /* NULL: "" */
} VnmIpfixFlow;

typedef struct _VnmIpfixEncoder VnmIpfixEncoder;

/* Messages of at most @max_message octets (at least 1024) from Observation
 * Domain @observation_domain. */
VnmIpfixEncoder *vnm_ipfix_encoder_new (guint32 observation_domain, gsize max_message);
void vnm_ipfix_encoder_free (VnmIpfixEncoder *e);

/* The sequence number the next message carries: data records encoded so
 * far, modulo 2^32 (RFC 7011 §3.1). */
guint32 vnm_ipfix_encoder_sequence (VnmIpfixEncoder *e);
/* A new transport session (TCP reconnect) starts counting at 0. */
void vnm_ipfix_encoder_reset_sequence (VnmIpfixEncoder *e);

/* A message holding the template set of both templates only. */
GBytes *vnm_ipfix_encode_templates (VnmIpfixEncoder *e, guint32 export_time_s);

/* Messages (GBytes) holding @flows in data sets, as few as fit the maximum
 * size, in order; with @templates, the first one starts with the template
 * set. *@records_out (optional) gets the data records each message holds
 * (guint per message). An empty @flows gives no message (or the templates
 * alone, with @templates). */
GPtrArray *vnm_ipfix_encode_flows (VnmIpfixEncoder *e, const VnmIpfixFlow *flows, guint n_flows,
                                   gboolean templates, guint32 export_time_s, GArray **records_out);

/* "HOST:PORT[,udp|tcp]" -> host, port and whether TCP (default UDP). An
 * IPv6 host is written in brackets. FALSE with a sentence on what is wrong. */
gboolean vnm_ipfix_parse_collector (const gchar *text, gchar **host, guint16 *port,
                                    gboolean *tcp, GError **error);

/* Parses "8-4-4-4-12" hex into 16 octets; FALSE (and zeros) when it is not one. */
gboolean vnm_ipfix_parse_uuid (const gchar *text, guint8 out[16]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmIpfixEncoder, vnm_ipfix_encoder_free)
