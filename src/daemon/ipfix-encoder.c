/* ipfix-encoder.c: IPFIX template and data sets, in network byte order. */
#include "config.h"

#include <string.h>

#include "ipfix-encoder.h"
#include "listen-address.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define SET_ID_TEMPLATE 2
#define VARLEN 65535

struct _VnmIpfixEncoder {
  guint32 domain;
  gsize max_message;
  guint32 sequence;
};

typedef struct {
  guint16 id;
  guint16 length;      /* VARLEN: variable length */
  gboolean reverse;    /* enterprise bit set, PEN 29305 */
} Field;

/* The order of the fields in a record; the address fields take the
 * family's element and length. */
enum { F_SRC_ADDR, F_DST_ADDR };

static const Field fields[] = {
  { F_SRC_ADDR, 0, FALSE },
  { F_DST_ADDR, 0, FALSE },
  { VNM_IE_SOURCE_TRANSPORT_PORT, 2, FALSE },
  { VNM_IE_DESTINATION_TRANSPORT_PORT, 2, FALSE },
  { VNM_IE_PROTOCOL_IDENTIFIER, 1, FALSE },
  { VNM_IE_OCTET_DELTA_COUNT, 8, FALSE },
  { VNM_IE_PACKET_DELTA_COUNT, 8, FALSE },
  { VNM_IE_OCTET_DELTA_COUNT, 8, TRUE },
  { VNM_IE_PACKET_DELTA_COUNT, 8, TRUE },
  { VNM_IE_TCP_CONTROL_BITS, 1, FALSE },
  { VNM_IE_TCP_CONTROL_BITS, 1, TRUE },
  { VNM_IE_FLOW_START_MILLISECONDS, 8, FALSE },
  { VNM_IE_FLOW_END_MILLISECONDS, 8, FALSE },
  { VNM_IE_FLOW_END_REASON, 1, FALSE },
  { VNM_IE_BIFLOW_DIRECTION, 1, FALSE },
  { VNM_IE_INGRESS_INTERFACE, 4, FALSE },
  { VNM_IE_EGRESS_INTERFACE, 4, FALSE },
  { VNM_IE_VIRTUAL_STATION_UUID, 16, FALSE },
  { VNM_IE_VIRTUAL_STATION_NAME, VARLEN, FALSE },
  { VNM_IE_VIRTUAL_STATION_INTERFACE_NAME, VARLEN, FALSE },
};

VnmIpfixEncoder *
vnm_ipfix_encoder_new (guint32 observation_domain, gsize max_message)
{
  VnmIpfixEncoder *e = g_new0 (VnmIpfixEncoder, 1);

  e->domain = observation_domain;
  e->max_message = CLAMP (max_message, 1024, 65535);
  return e;
}

void
vnm_ipfix_encoder_free (VnmIpfixEncoder *e)
{
  g_free (e);
}

guint32
vnm_ipfix_encoder_sequence (VnmIpfixEncoder *e)
{
  return e->sequence;
}

void
vnm_ipfix_encoder_reset_sequence (VnmIpfixEncoder *e)
{
  e->sequence = 0;
}

static void
put8 (GByteArray *b, guint8 v)
{
  g_byte_array_append (b, &v, 1);
}

static void
put16 (GByteArray *b, guint16 v)
{
  guint8 x[2] = { v >> 8, v };
  g_byte_array_append (b, x, 2);
}

static void
put32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (b, x, 4);
}

static void
put64 (GByteArray *b, guint64 v)
{
  put32 (b, (guint32) (v >> 32));
  put32 (b, (guint32) v);
}

static void
set16 (GByteArray *b, gsize at, guint16 v)
{
  b->data[at] = v >> 8;
  b->data[at + 1] = v;
}

/* The message header; its length is set when the message is done. */
static GByteArray *
start_message (VnmIpfixEncoder *e, guint32 export_time_s)
{
  GByteArray *b = g_byte_array_sized_new (e->max_message);

  put16 (b, VNM_IPFIX_VERSION);
  put16 (b, 0);
  put32 (b, export_time_s);
  put32 (b, e->sequence);
  put32 (b, e->domain);
  return b;
}

static GBytes *
finish_message (GByteArray *b)
{
  set16 (b, 2, (guint16) b->len);
  return g_byte_array_free_to_bytes (b);
}

static void
put_template (GByteArray *b, guint16 template_id, gboolean v6)
{
  put16 (b, template_id);
  put16 (b, G_N_ELEMENTS (fields));
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const Field *f = &fields[i];
      guint16 id = f->id, len = f->length;

      if (i == F_SRC_ADDR || i == F_DST_ADDR)
        {
          id = i == F_SRC_ADDR ? (v6 ? VNM_IE_SOURCE_IPV6_ADDRESS : VNM_IE_SOURCE_IPV4_ADDRESS)
                               : (v6 ? VNM_IE_DESTINATION_IPV6_ADDRESS : VNM_IE_DESTINATION_IPV4_ADDRESS);
          len = v6 ? 16 : 4;
        }
      put16 (b, id | (f->reverse ? 0x8000 : 0));
      put16 (b, len);
      if (f->reverse)
        put32 (b, VNM_IPFIX_REVERSE_PEN);
    }
}

static void
put_template_set (GByteArray *b)
{
  gsize start = b->len;

  put16 (b, SET_ID_TEMPLATE);
  put16 (b, 0);
  put_template (b, VNM_IPFIX_TEMPLATE_IPV4, FALSE);
  put_template (b, VNM_IPFIX_TEMPLATE_IPV6, TRUE);
  set16 (b, start + 2, (guint16) (b->len - start));
}

GBytes *
vnm_ipfix_encode_templates (VnmIpfixEncoder *e, guint32 export_time_s)
{
  GByteArray *b = start_message (e, export_time_s);

  put_template_set (b);
  return finish_message (b);
}

/* @s cut to at most VNM_IPFIX_MAX_STRING octets at a character boundary. */
static gsize
string_length (const gchar *s)
{
  gsize len = s ? strlen (s) : 0;
  const gchar *end;

  if (len <= VNM_IPFIX_MAX_STRING)
    return len;
  /* Back off to the start of the character the limit falls in. */
  end = s + VNM_IPFIX_MAX_STRING;
  while (end > s && (((guchar) *end) & 0xc0) == 0x80)
    end--;
  return end - s;
}

/* The length of a variable-length field before its value: one octet below
 * 255, else 255 and two octets of length (RFC 7011 §7). */
static gsize
string_prefix (gsize len)
{
  return len < 255 ? 1 : 3;
}

static gsize
record_length (const VnmIpfixFlow *f)
{
  gsize len = 0;

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    len += (i == F_SRC_ADDR || i == F_DST_ADDR) ? (f->family == 6 ? 16 : 4)
           : fields[i].length == VARLEN ? 0 : fields[i].length;
  len += string_prefix (string_length (f->vm_name)) + string_length (f->vm_name);
  len += string_prefix (string_length (f->vm_iface)) + string_length (f->vm_iface);
  return len;
}

static void
put_string (GByteArray *b, const gchar *s)
{
  gsize len = string_length (s);

  if (len < 255)
    put8 (b, (guint8) len);
  else
    {
      put8 (b, 255);
      put16 (b, (guint16) len);
    }
  if (len)
    g_byte_array_append (b, (const guint8 *) s, len);
}

static void
put_record (GByteArray *b, const VnmIpfixFlow *f)
{
  gsize alen = f->family == 6 ? 16 : 4;

  g_byte_array_append (b, f->src_addr, alen);
  g_byte_array_append (b, f->dst_addr, alen);
  put16 (b, f->src_port);
  put16 (b, f->dst_port);
  put8 (b, f->protocol);
  put64 (b, f->octets);
  put64 (b, f->packets);
  put64 (b, f->reverse_octets);
  put64 (b, f->reverse_packets);
  put8 (b, f->tcp_flags);
  put8 (b, f->reverse_tcp_flags);
  put64 (b, f->start_ms);
  put64 (b, f->end_ms);
  put8 (b, f->end_reason);
  put8 (b, f->biflow_direction);
  put32 (b, f->ingress_interface);
  put32 (b, f->egress_interface);
  g_byte_array_append (b, f->vm_uuid, 16);
  put_string (b, f->vm_name);
  put_string (b, f->vm_iface);
}

GPtrArray *
vnm_ipfix_encode_flows (VnmIpfixEncoder *e, const VnmIpfixFlow *flows, guint n_flows,
                        gboolean templates, guint32 export_time_s, GArray **records_out)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GArray *counts = g_array_new (FALSE, FALSE, sizeof (guint));
  GByteArray *b = NULL;
  guint in_message = 0;
  gsize set_start = 0;
  guint16 set_id = 0;   /* the data set open now; 0: none */

  for (guint i = 0; i <= n_flows; i++)
    {
      const VnmIpfixFlow *f = i < n_flows ? &flows[i] : NULL;
      guint16 id = f && f->family == 6 ? VNM_IPFIX_TEMPLATE_IPV6 : VNM_IPFIX_TEMPLATE_IPV4;
      gsize need = f ? record_length (f) : 0;

      /* Close the open set when the record goes to another set or message. */
      if (set_id && (!f || id != set_id || b->len + need > e->max_message))
        {
          set16 (b, set_start + 2, (guint16) (b->len - set_start));
          set_id = 0;
        }
      if (b && (!f || b->len + need + (id != set_id ? 4 : 0) > e->max_message))
        {
          e->sequence += in_message;
          g_ptr_array_add (out, finish_message (b));
          g_array_append_val (counts, in_message);
          b = NULL;
        }
      if (!f)
        break;
      if (!b)
        {
          b = start_message (e, export_time_s);
          in_message = 0;
          if (templates && out->len == 0)
            put_template_set (b);
        }
      if (!set_id)
        {
          set_start = b->len;
          set_id = id;
          put16 (b, id);
          put16 (b, 0);
        }
      put_record (b, f);
      in_message++;
    }
  if (templates && out->len == 0)
    {
      guint zero = 0;
      g_ptr_array_add (out, vnm_ipfix_encode_templates (e, export_time_s));
      g_array_append_val (counts, zero);
    }
  if (records_out)
    *records_out = counts;
  else
    g_array_unref (counts);
  return out;
}

gboolean
vnm_ipfix_parse_collector (const gchar *text, gchar **host, guint16 *port, gboolean *tcp,
                           GError **error)
{
  g_autofree gchar *address = NULL;
  g_autoptr(GError) local = NULL;
  const gchar *comma = strrchr (text, ',');

  *host = NULL;
  *tcp = FALSE;
  if (comma)
    {
      if (g_ascii_strcasecmp (comma + 1, "tcp") == 0)
        *tcp = TRUE;
      else if (g_ascii_strcasecmp (comma + 1, "udp") != 0)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("unknown transport '%s' in '%s' (use udp or tcp)."), comma + 1, text);
          return FALSE;
        }
      address = g_strndup (text, comma - text);
    }
  else
    address = g_strdup (text);
  if (!vnm_listen_address_parse (address, host, port, &local) || !**host)
    {
      g_clear_pointer (host, g_free);
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("Cannot parse the collector address '%s': give HOST:PORT or [IPV6]:PORT, "
                     "optionally followed by ,udp or ,tcp."), text);
      return FALSE;
    }
  return TRUE;
}

gboolean
vnm_ipfix_parse_uuid (const gchar *text, guint8 out[16])
{
  guint n = 0;

  memset (out, 0, 16);
  for (const gchar *p = text; p && *p; p++)
    {
      if (*p == '-')
        continue;
      if (!g_ascii_isxdigit (*p) || n >= 32)
        goto bad;
      out[n / 2] |= g_ascii_xdigit_value (*p) << ((n % 2) ? 0 : 4);
      n++;
    }
  if (n == 32)
    return TRUE;
bad:
  memset (out, 0, 16);
  return FALSE;
}
