/* test-ipfix-encoder.c: IPFIX messages byte for byte (RFC 7011 header,
 * template set, data sets, variable-length strings), biflow reverse
 * elements (RFC 5103), splitting into messages of a maximum size and the
 * sequence numbers; the collector address parser. */
#include "config.h"

#include <string.h>

#include "ipfix-encoder.h"
#include "vnm-error.h"

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint64
get64 (const guint8 *p)
{
  return (guint64) get32 (p) << 32 | get32 (p + 4);
}

static void
flow_v4 (VnmIpfixFlow *f, guint i)
{
  static const guint8 src[4] = { 192, 0, 2, 10 }, dst[4] = { 198, 51, 100, 7 };

  memset (f, 0, sizeof *f);
  f->family = 4;
  memcpy (f->src_addr, src, 4);
  memcpy (f->dst_addr, dst, 4);
  f->src_addr[3] += i;
  f->src_port = 40000 + i;
  f->dst_port = 443;
  f->protocol = 6;
  f->octets = 1000000 + i;
  f->packets = 700;
  f->reverse_octets = 300000;
  f->reverse_packets = 250;
  f->tcp_flags = VNM_TCP_FLAG_SYN | VNM_TCP_FLAG_ACK | VNM_TCP_FLAG_FIN;
  f->reverse_tcp_flags = VNM_TCP_FLAG_SYN | VNM_TCP_FLAG_ACK;
  f->start_ms = 1700000000123ull;
  f->end_ms = 1700000060456ull;
  f->end_reason = VNM_IPFIX_END_IDLE;
  f->biflow_direction = VNM_IPFIX_BIFLOW_INITIATOR;
  f->ingress_interface = 17;
  g_assert_true (vnm_ipfix_parse_uuid ("6695eb01-f6a4-8304-79aa-97f2502e193f", f->vm_uuid));
  f->vm_name = "web1";
  f->vm_iface = "vnet3";
}

/* The fields of both templates, as (id | enterprise bit, length, PEN). */
static const guint32 expected_fields[][3] = {
  { 8, 4, 0 }, { 12, 4, 0 }, { 7, 2, 0 }, { 11, 2, 0 }, { 4, 1, 0 },
  { 1, 8, 0 }, { 2, 8, 0 }, { 0x8001, 8, 29305 }, { 0x8002, 8, 29305 },
  { 6, 1, 0 }, { 0x8006, 1, 29305 }, { 152, 8, 0 }, { 153, 8, 0 }, { 136, 1, 0 }, { 239, 1, 0 },
  { 10, 4, 0 }, { 14, 4, 0 }, { 349, 16, 0 }, { 350, 65535, 0 }, { 348, 65535, 0 },
};

/* Checks one template record at @p; returns its length. */
static gsize
check_template (const guint8 *p, guint16 id, gboolean v6)
{
  const guint8 *start = p;

  g_assert_cmpuint (get16 (p), ==, id);
  g_assert_cmpuint (get16 (p + 2), ==, G_N_ELEMENTS (expected_fields));
  p += 4;
  for (guint i = 0; i < G_N_ELEMENTS (expected_fields); i++)
    {
      guint32 want_id = expected_fields[i][0], want_len = expected_fields[i][1];
      if (v6 && (want_id == 8 || want_id == 12))
        {
          want_id = want_id == 8 ? 27 : 28;
          want_len = 16;
        }
      g_assert_cmpuint (get16 (p), ==, want_id);
      g_assert_cmpuint (get16 (p + 2), ==, want_len);
      p += 4;
      if (want_id & 0x8000)
        {
          g_assert_cmpuint (get32 (p), ==, expected_fields[i][2]);
          p += 4;
        }
    }
  return p - start;
}

static void
test_templates (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (42, 1400);
  g_autoptr(GBytes) msg = vnm_ipfix_encode_templates (e, 1700000100);
  gsize len;
  const guint8 *p = g_bytes_get_data (msg, &len);
  /* 20 fields of 4 octets, 3 of them with a PEN: 92 + 4 a template. */
  const gsize template_len = 4 + 20 * 4 + 3 * 4;

  g_assert_cmpuint (len, ==, 16 + 4 + 2 * template_len);
  /* Header: version 10, length, export time, sequence 0, domain. */
  static const guint8 header[16] = { 0, 10, 0, 16 + 4 + 2 * 96, 0x65, 0x53, 0xf1, 0x64,
                                     0, 0, 0, 0, 0, 0, 0, 42 };
  g_assert_cmpmem (p, 16, header, 16);
  g_assert_cmpuint (get16 (p + 16), ==, 2);                 /* template set */
  g_assert_cmpuint (get16 (p + 18), ==, 4 + 2 * template_len);
  g_assert_cmpuint (check_template (p + 20, 256, FALSE), ==, template_len);
  g_assert_cmpuint (check_template (p + 20 + template_len, 257, TRUE), ==, template_len);
  /* Templates are not data records: the sequence stays. */
  g_assert_cmpuint (vnm_ipfix_encoder_sequence (e), ==, 0);
}

static void
test_data_record (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (7, 1400);
  g_autoptr(GPtrArray) msgs = NULL;
  g_autoptr(GArray) counts = NULL;
  VnmIpfixFlow f;
  gsize len;
  const guint8 *p;
  static const guint8 record[] = {
    192, 0, 2, 10, 198, 51, 100, 7,           /* addresses */
    0x9c, 0x40, 0x01, 0xbb,                   /* ports 40000, 443 */
    6,                                        /* TCP */
    0, 0, 0, 0, 0, 0x0f, 0x42, 0x40,          /* octets 1000000 */
    0, 0, 0, 0, 0, 0, 0x02, 0xbc,             /* packets 700 */
    0, 0, 0, 0, 0, 0x04, 0x93, 0xe0,          /* reverse octets 300000 */
    0, 0, 0, 0, 0, 0, 0, 250,                 /* reverse packets */
    0x13, 0x12,                               /* SYN ACK FIN; SYN ACK */
    0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, /* start 1700000000123 */
    0, 0, 0x01, 0x8b, 0xcf, 0xe6, 0x54, 0x28, /* end 1700000060456 */
    1, 1,                                     /* idle timeout, initiator */
    0, 0, 0, 17, 0, 0, 0, 0,                  /* ingress 17, egress 0 */
    0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f,
    4, 'w', 'e', 'b', '1',                    /* variable length, RFC 7011 §7 */
    5, 'v', 'n', 'e', 't', '3',
  };

  flow_v4 (&f, 0);
  msgs = vnm_ipfix_encode_flows (e, &f, 1, FALSE, 1700000100, &counts);
  g_assert_cmpuint (msgs->len, ==, 1);
  g_assert_cmpuint (g_array_index (counts, guint, 0), ==, 1);
  p = g_bytes_get_data (msgs->pdata[0], &len);
  g_assert_cmpuint (len, ==, 16 + 4 + sizeof record);
  g_assert_cmpuint (get16 (p + 2), ==, len);
  g_assert_cmpuint (get32 (p + 8), ==, 0);                  /* first message: sequence 0 */
  g_assert_cmpuint (get32 (p + 12), ==, 7);
  g_assert_cmpuint (get16 (p + 16), ==, 256);               /* data set of the IPv4 template */
  g_assert_cmpuint (get16 (p + 18), ==, 4 + sizeof record);
  g_assert_cmpmem (p + 20, sizeof record, record, sizeof record);
  g_assert_cmpuint (get64 (p + 20 + 13), ==, 1000000);
  g_assert_cmpuint (vnm_ipfix_encoder_sequence (e), ==, 1);
}

static void
test_ipv6_and_sets (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (1, 1400);
  g_autoptr(GPtrArray) msgs = NULL;
  VnmIpfixFlow f[3];
  gsize len;
  const guint8 *p;

  flow_v4 (&f[0], 0);
  flow_v4 (&f[1], 1);
  f[1].family = 6;
  memset (f[1].src_addr, 0, 16);
  f[1].src_addr[0] = 0x20, f[1].src_addr[1] = 0x01, f[1].src_addr[2] = 0x0d, f[1].src_addr[3] = 0xb8;
  f[1].src_addr[15] = 1;
  memcpy (f[1].dst_addr, f[1].src_addr, 16);
  f[1].dst_addr[15] = 2;
  f[1].vm_name = NULL;                       /* an empty string: length 0 */
  flow_v4 (&f[2], 2);
  msgs = vnm_ipfix_encode_flows (e, f, 3, TRUE, 1, NULL);
  g_assert_cmpuint (msgs->len, ==, 1);
  p = g_bytes_get_data (msgs->pdata[0], &len);
  /* Templates first, then three data sets: v4, v6, v4. */
  p += 16;
  g_assert_cmpuint (get16 (p), ==, 2);
  p += get16 (p + 2);
  g_assert_cmpuint (get16 (p), ==, 256);
  p += get16 (p + 2);
  g_assert_cmpuint (get16 (p), ==, 257);
  g_assert_cmpmem (p + 4, 16, f[1].src_addr, 16);
  g_assert_cmpmem (p + 20, 16, f[1].dst_addr, 16);
  /* The record ends in the empty name (0) and "vnet3". */
  g_assert_cmpuint (p[get16 (p + 2) - 7], ==, 0);
  g_assert_cmpuint (p[get16 (p + 2) - 6], ==, 5);
  p += get16 (p + 2);
  g_assert_cmpuint (get16 (p), ==, 256);
  p += get16 (p + 2);
  g_assert_true (p == (const guint8 *) g_bytes_get_data (msgs->pdata[0], NULL) + len);
}

static void
test_split (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (1, 1400);
  g_autoptr(GPtrArray) msgs = NULL;
  g_autoptr(GArray) counts = NULL;
  VnmIpfixFlow f[100];
  guint total = 0;
  guint32 want_seq = 0;

  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    flow_v4 (&f[i], i);
  msgs = vnm_ipfix_encode_flows (e, f, G_N_ELEMENTS (f), TRUE, 1, &counts);
  g_assert_cmpuint (msgs->len, >, 1);
  g_assert_cmpuint (counts->len, ==, msgs->len);
  for (guint m = 0; m < msgs->len; m++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (msgs->pdata[m], &len);
      const guint8 *end = p + len;
      guint records = 0;

      g_assert_cmpuint (len, <=, 1400);
      g_assert_cmpuint (get16 (p + 2), ==, len);
      g_assert_cmpuint (get32 (p + 8), ==, want_seq);
      /* Only the first message carries the templates; sets tile the message. */
      for (p += 16; p < end; p += get16 (p + 2))
        {
          g_assert_cmpuint (get16 (p + 2), >=, 4);
          if (get16 (p) == 2)
            g_assert_cmpuint (m, ==, 0);
          else
            records += (get16 (p + 2) - 4) / (4 + 4 + 2 + 2 + 1 + 32 + 2 + 16 + 2 + 8 + 16 + 5 + 6);
        }
      g_assert_true (p == end);
      g_assert_cmpuint (records, ==, g_array_index (counts, guint, m));
      total += records;
      want_seq += records;
      /* Full messages: the next record would not have fit. */
      if (m + 1 < msgs->len)
        g_assert_cmpuint (len + 96 + 4, >, 1400);
    }
  g_assert_cmpuint (total, ==, G_N_ELEMENTS (f));
  g_assert_cmpuint (vnm_ipfix_encoder_sequence (e), ==, 100);
  vnm_ipfix_encoder_reset_sequence (e);
  g_assert_cmpuint (vnm_ipfix_encoder_sequence (e), ==, 0);
}

static void
test_long_strings (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (1, 1400);
  g_autoptr(GPtrArray) msgs = NULL;
  g_autoptr(GString) name = g_string_new (NULL);
  VnmIpfixFlow f;
  const guint8 *p;
  gsize len;

  /* 300 octets of two-octet characters: cut to 254, not inside one. */
  for (guint i = 0; i < 150; i++)
    g_string_append (name, "\xc3\xa4");
  flow_v4 (&f, 0);
  f.vm_name = name->str;
  msgs = vnm_ipfix_encode_flows (e, &f, 1, FALSE, 1, NULL);
  p = g_bytes_get_data (msgs->pdata[0], &len);
  /* 89 octets of fixed fields, then the name and "vnet3". */
  g_assert_cmpuint (len, ==, 16 + 4 + 89 + 1 + 254 + 1 + 5);
  g_assert_cmpuint (p[16 + 4 + 89], ==, 254);
  g_assert_true (g_utf8_validate ((const gchar *) p + 16 + 4 + 90, 254, NULL));
}

static void
test_string_three_octet_length (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (1, 1400);
  g_autoptr(GPtrArray) msgs = NULL;
  g_autofree gchar *name = g_strnfill (300, 'x');
  VnmIpfixFlow f;
  const guint8 *p;
  gsize len;

  /* 300 ASCII octets, cut to 255: a length of 255 is written as the octet
   * 255 and two octets of length (RFC 7011 §7), not as one octet. */
  flow_v4 (&f, 0);
  f.vm_name = name;
  msgs = vnm_ipfix_encode_flows (e, &f, 1, FALSE, 1, NULL);
  p = g_bytes_get_data (msgs->pdata[0], &len);
  g_assert_cmpuint (len, ==, 16 + 4 + 89 + 3 + 255 + 1 + 5);
  g_assert_cmpuint (get16 (p + 2), ==, len);
  g_assert_cmpuint (get16 (p + 18), ==, len - 16);
  g_assert_cmpuint (p[16 + 4 + 89], ==, 255);
  g_assert_cmpuint (get16 (p + 16 + 4 + 90), ==, 255);
  for (guint i = 0; i < 255; i++)
    g_assert_cmpuint (p[16 + 4 + 92 + i], ==, 'x');
  g_assert_cmpuint (p[16 + 4 + 92 + 255], ==, 5);
  g_assert_cmpmem (p + 16 + 4 + 92 + 256, 5, "vnet3", 5);
}

static void
test_empty (void)
{
  g_autoptr(VnmIpfixEncoder) e = vnm_ipfix_encoder_new (1, 1400);
  g_autoptr(GPtrArray) none = vnm_ipfix_encode_flows (e, NULL, 0, FALSE, 1, NULL);
  g_autoptr(GPtrArray) templates = vnm_ipfix_encode_flows (e, NULL, 0, TRUE, 1, NULL);

  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (templates->len, ==, 1);
  g_assert_cmpuint (get16 ((const guint8 *) g_bytes_get_data (templates->pdata[0], NULL) + 16), ==, 2);
}

static void
test_parse_collector (void)
{
  static const struct { const gchar *text, *host; guint16 port; gboolean tcp; } good[] = {
    { "collector.example:4739", "collector.example", 4739, FALSE },
    { "192.0.2.1:2055,udp", "192.0.2.1", 2055, FALSE },
    { "192.0.2.1:4739,tcp", "192.0.2.1", 4739, TRUE },
    { "[2001:db8::1]:4739,TCP", "2001:db8::1", 4739, TRUE },
  };
  static const gchar *bad[] = { "collector", ":4739", "host:0", "host:70000", "host:4739,sctp",
                                "host:4739,", "2001:db8::1:4739", "" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree gchar *host = NULL;
      g_autoptr(GError) error = NULL;
      guint16 port;
      gboolean tcp;

      g_assert_true (vnm_ipfix_parse_collector (good[i].text, &host, &port, &tcp, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpuint (port, ==, good[i].port);
      g_assert_cmpint (tcp, ==, good[i].tcp);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *host = NULL;
      g_autoptr(GError) error = NULL;
      guint16 port;
      gboolean tcp;

      g_assert_false (vnm_ipfix_parse_collector (bad[i], &host, &port, &tcp, &error));
      g_assert_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_null (host);
    }
}

static void
test_parse_uuid (void)
{
  guint8 u[16];
  static const guint8 want[16] = { 0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04,
                                   0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f };
  static const guint8 zero[16] = { 0 };

  g_assert_true (vnm_ipfix_parse_uuid ("6695EB01-f6a4-8304-79aa-97f2502e193f", u));
  g_assert_cmpmem (u, 16, want, 16);
  g_assert_false (vnm_ipfix_parse_uuid ("6695eb01-f6a4-8304-79aa", u));
  g_assert_cmpmem (u, 16, zero, 16);
  g_assert_false (vnm_ipfix_parse_uuid ("6695eb01-f6a4-8304-79aa-97f2502e193f00", u));
  g_assert_false (vnm_ipfix_parse_uuid ("x695eb01-f6a4-8304-79aa-97f2502e193f", u));
  g_assert_false (vnm_ipfix_parse_uuid ("", u));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ipfix/templates", test_templates);
  g_test_add_func ("/ipfix/data-record", test_data_record);
  g_test_add_func ("/ipfix/ipv6-and-sets", test_ipv6_and_sets);
  g_test_add_func ("/ipfix/split", test_split);
  g_test_add_func ("/ipfix/long-strings", test_long_strings);
  g_test_add_func ("/ipfix/string-three-octet-length", test_string_three_octet_length);
  g_test_add_func ("/ipfix/empty", test_empty);
  g_test_add_func ("/ipfix/parse-collector", test_parse_collector);
  g_test_add_func ("/ipfix/parse-uuid", test_parse_uuid);
  return g_test_run ();
}
