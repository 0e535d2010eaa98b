/* dns-answer.h: the names a VM looked up, from the DNS answers sent to it.
 * Parses one DNS message in wire format (RFC 1035) as it passed the flow
 * probe: a response (QR set, standard query, NOERROR) to exactly one
 * question; follows the CNAME chain from the question's name through the
 * answer section and returns the A and AAAA records at its end, each with
 * its TTL. Compression pointers must point backwards (no loops); names
 * are at most 255 bytes, of labels of letters, digits, '-' and '_'.
 * Anything else is refused with an error naming the problem. Pure. */
#pragma once

#include <glib.h>

typedef struct {
  guint8 family;      /* 4 or 6 */
  guint8 addr[16];    /* IPv4 in the IPv4-mapped form, as in vnm-flows.h */
  guint32 ttl;        /* seconds */
} VnmDnsAddress;

/* The longest name in text form: 253 characters. */
#define VNM_DNS_NAME_MAX 254

/* Parses @msg (@len bytes). @cut: the message was longer than @len bytes
 * (only its start was captured): answer records cut off at the end are
 * skipped, not an error. On success, *@qname (lower case, without the
 * final dot) is the name the question asked for and @addrs (of
 * VnmDnsAddress) holds its addresses, possibly none. */
gboolean vnm_dns_answer_parse (const guint8 *msg, gsize len, gboolean cut, gchar **qname,
                               GArray *addrs, GError **error);
