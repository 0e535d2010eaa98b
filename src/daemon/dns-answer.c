/* dns-answer.c: a DNS response's question and the addresses it gives. */
#include "config.h"

#include <string.h>

#include "vnm-error.h"
#include "dns-answer.h"

#define T_A     1
#define T_CNAME 5
#define T_AAAA  28
#define C_IN    1
#define MAX_POINTERS 32
#define MAX_CHAIN 16

G_GNUC_PRINTF (2, 3) static gboolean
fail (GError **error, const gchar *fmt, ...)
{
  va_list ap;
  g_autofree gchar *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, "DNS message: %s", msg);
  return FALSE;
}

/* The name at *@pos: its text into @out (VNM_DNS_NAME_MAX bytes), *@pos
 * past it in the message (past the first pointer, if any). */
static gboolean
read_name (const guint8 *msg, gsize len, gsize *pos, gchar out[VNM_DNS_NAME_MAX], GError **error)
{
  gsize p = *pos, o = 0, end = 0;
  guint pointers = 0;

  for (;;)
    {
      guint8 l;

      if (p >= len)
        return fail (error, "a name runs past the end at offset %" G_GSIZE_FORMAT, p);
      l = msg[p];
      if ((l & 0xc0) == 0xc0)
        {
          gsize target;

          if (p + 1 >= len)
            return fail (error, "a compression pointer runs past the end at offset %" G_GSIZE_FORMAT, p);
          target = ((gsize) (l & 0x3f) << 8) | msg[p + 1];
          /* Backwards only: so no loop, and at most one per label. */
          if (target >= p || ++pointers > MAX_POINTERS)
            return fail (error, "compression pointer at offset %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
                         " does not point backwards", p, target);
          if (!end)
            end = p + 2;
          p = target;
          continue;
        }
      if (l & 0xc0)
        return fail (error, "label type 0x%02x at offset %" G_GSIZE_FORMAT " is not supported", l, p);
      if (l == 0)
        {
          if (!end)
            end = p + 1;
          break;
        }
      if (p + 1 + l > len)
        return fail (error, "a label runs past the end at offset %" G_GSIZE_FORMAT, p);
      if (o + l + 1 >= VNM_DNS_NAME_MAX)
        return fail (error, "a name is longer than 253 characters");
      if (o)
        out[o++] = '.';
      for (guint i = 0; i < l; i++)
        {
          guint8 c = msg[p + 1 + i];
          if (!g_ascii_isalnum (c) && c != '-' && c != '_')
            return fail (error, "byte 0x%02x at offset %" G_GSIZE_FORMAT " in a name", c, p + 1 + i);
          out[o++] = g_ascii_tolower (c);
        }
      p += 1 + l;
    }
  out[o] = '\0';
  *pos = end;
  return TRUE;
}

static guint16
u16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

typedef struct {
  gchar owner[VNM_DNS_NAME_MAX];
  gchar target[VNM_DNS_NAME_MAX];  /* CNAME */
  VnmDnsAddress a;                  /* A, AAAA: family != 0 */
} Record;

gboolean
vnm_dns_answer_parse (const guint8 *msg, gsize len, gboolean cut, gchar **qname, GArray *addrs,
                      GError **error)
{
  gchar q[VNM_DNS_NAME_MAX], chain[MAX_CHAIN][VNM_DNS_NAME_MAX];
  guint nchain = 1, qdcount, ancount;
  gsize pos = 12;
  g_autoptr(GArray) records = NULL;

  if (len < 12)
    return fail (error, "%" G_GSIZE_FORMAT " bytes, shorter than a header", len);
  if (!(msg[2] & 0x80))
    return fail (error, "a query, not a response");
  if ((msg[2] >> 3) & 0xf)
    return fail (error, "opcode %u, not a standard query", (msg[2] >> 3) & 0xf);
  if (msg[3] & 0xf)
    return fail (error, "response code %u, not NOERROR", msg[3] & 0xf);
  qdcount = u16 (msg + 4);
  ancount = u16 (msg + 6);
  if (qdcount != 1)
    return fail (error, "%u questions, not one", qdcount);
  if (!read_name (msg, len, &pos, q, error))
    return FALSE;
  if (pos + 4 > len)
    return fail (error, "the question runs past the end");
  if (u16 (msg + pos + 2) != C_IN)
    return fail (error, "question class %u, not IN", u16 (msg + pos + 2));
  if (!*q)
    return fail (error, "the question is for the root");
  pos += 4;

  records = g_array_new (FALSE, TRUE, sizeof (Record));
  for (guint i = 0; i < ancount; i++)
    {
      Record r = { 0 };
      guint16 type, class, rdlen;
      guint32 ttl;
      g_autoptr(GError) local = NULL;

      if (!read_name (msg, len, &pos, r.owner, &local) || pos + 10 > len)
        {
          if (cut)
            break;
          if (local)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          return fail (error, "answer %u runs past the end", i + 1);
        }
      type = u16 (msg + pos);
      class = u16 (msg + pos + 2);
      ttl = (guint32) msg[pos + 4] << 24 | (guint32) msg[pos + 5] << 16 | (guint32) msg[pos + 6] << 8 |
            msg[pos + 7];
      rdlen = u16 (msg + pos + 8);
      pos += 10;
      if (pos + rdlen > len)
        {
          if (cut)
            break;
          return fail (error, "the data of answer %u runs past the end", i + 1);
        }
      /* RFC 2181 8: a TTL with the top bit set is 0. */
      if (ttl & 0x80000000u)
        ttl = 0;
      if (class == C_IN && type == T_A)
        {
          if (rdlen != 4)
            return fail (error, "an A record of %u bytes", rdlen);
          r.a.family = 4;
          r.a.addr[10] = r.a.addr[11] = 0xff;
          memcpy (r.a.addr + 12, msg + pos, 4);
          r.a.ttl = ttl;
        }
      else if (class == C_IN && type == T_AAAA)
        {
          if (rdlen != 16)
            return fail (error, "an AAAA record of %u bytes", rdlen);
          r.a.family = 6;
          memcpy (r.a.addr, msg + pos, 16);
          r.a.ttl = ttl;
        }
      else if (class == C_IN && type == T_CNAME)
        {
          gsize t = pos;
          if (!read_name (msg, pos + rdlen, &t, r.target, error))
            return FALSE;
          if (t != pos + rdlen)
            return fail (error, "a CNAME record with %" G_GSIZE_FORMAT " bytes after its name",
                         pos + rdlen - t);
        }
      else
        {
          pos += rdlen;
          continue;
        }
      pos += rdlen;
      g_array_append_val (records, r);
    }

  /* The chain of CNAMEs from the question's name, in any order. */
  g_strlcpy (chain[0], q, sizeof chain[0]);
  for (gboolean grew = TRUE; grew && nchain < MAX_CHAIN;)
    {
      grew = FALSE;
      for (guint i = 0; i < records->len && nchain < MAX_CHAIN; i++)
        {
          const Record *r = &g_array_index (records, Record, i);
          gboolean from = FALSE, known = FALSE;

          if (!*r->target)
            continue;
          for (guint c = 0; c < nchain; c++)
            {
              from |= g_str_equal (r->owner, chain[c]);
              known |= g_str_equal (r->target, chain[c]);
            }
          if (from && !known)
            {
              g_strlcpy (chain[nchain++], r->target, sizeof chain[0]);
              grew = TRUE;
            }
        }
    }
  for (guint i = 0; i < records->len; i++)
    {
      const Record *r = &g_array_index (records, Record, i);

      if (!r->a.family)
        continue;
      for (guint c = 0; c < nchain; c++)
        if (g_str_equal (r->owner, chain[c]))
          {
            g_array_append_val (addrs, r->a);
            break;
          }
    }
  *qname = g_strdup (q);
  return TRUE;
}
