/* dbus-records-links.c: every host link with its counters, rates and VM, as
 * GetLinkStats' records (aa{sv}) and as GetLinkStatsColumns' columns (one
 * array of each field for all rows, text as NUL-ended strings in an ay). One table of columns names both, so
 * that a key, its type and its place are the same in either form. */
#include "config.h"

#include <string.h>

#include "dbus-records.h"
#include "vnm-error.h"
#include "vnm-format.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"

/* One row: the link and what it shows, worked out once. */
typedef struct {
  const VnmLink *link;
  VnmLinkView s;
  VnmLinkOwner owner;
  const gchar *master;  /* the master's name, "" when none */
  gint32 vm_id;         /* -1 when none */
} Row;

typedef enum {
  COL_IFACE, COL_IFINDEX, COL_STATE, COL_KIND, COL_MTU, COL_SPEED_MBPS, COL_MAC, COL_MASTER,
  COL_VIEW,
  COL_RX_BYTES, COL_RX_PACKETS, COL_RX_ERRORS, COL_RX_DROPS,
  COL_TX_BYTES, COL_TX_PACKETS, COL_TX_ERRORS, COL_TX_DROPS,
  COL_RX_MBPS, COL_TX_MBPS, COL_RX_PPS, COL_TX_PPS,
  COL_RX_ERRORS_PS, COL_TX_ERRORS_PS, COL_RX_DROPS_PS, COL_TX_DROPS_PS,
  COL_VM_ID, COL_VM_NAME, COL_VM_UUID, COL_MAPPED_BY,
  N_COLUMNS
} Column;

/* The keys of a GetLinkStats record, in its order, with their D-Bus types
 * (dbus/org.virtnetmon.Monitor1.xml). */
static const struct {
  const gchar *name;
  gchar type;
} columns[N_COLUMNS] = {
  [COL_IFACE] = { "iface", 's' },
  [COL_IFINDEX] = { "ifindex", 'i' },
  [COL_STATE] = { "state", 's' },
  [COL_KIND] = { "kind", 's' },
  [COL_MTU] = { "mtu", 'u' },
  [COL_SPEED_MBPS] = { "speed_mbps", 'x' },
  [COL_MAC] = { "mac", 's' },
  [COL_MASTER] = { "master", 's' },
  [COL_VIEW] = { "view", 's' },
  [COL_RX_BYTES] = { "rx_bytes", 't' },
  [COL_RX_PACKETS] = { "rx_packets", 't' },
  [COL_RX_ERRORS] = { "rx_errors", 't' },
  [COL_RX_DROPS] = { "rx_drops", 't' },
  [COL_TX_BYTES] = { "tx_bytes", 't' },
  [COL_TX_PACKETS] = { "tx_packets", 't' },
  [COL_TX_ERRORS] = { "tx_errors", 't' },
  [COL_TX_DROPS] = { "tx_drops", 't' },
  [COL_RX_MBPS] = { "rx_mbps", 'd' },
  [COL_TX_MBPS] = { "tx_mbps", 'd' },
  [COL_RX_PPS] = { "rx_pps", 'd' },
  [COL_TX_PPS] = { "tx_pps", 'd' },
  [COL_RX_ERRORS_PS] = { "rx_errors_ps", 'd' },
  [COL_TX_ERRORS_PS] = { "tx_errors_ps", 'd' },
  [COL_RX_DROPS_PS] = { "rx_drops_ps", 'd' },
  [COL_TX_DROPS_PS] = { "tx_drops_ps", 'd' },
  [COL_VM_ID] = { "vm_id", 'i' },
  [COL_VM_NAME] = { "vm_name", 's' },
  [COL_VM_UUID] = { "vm_uuid", 's' },
  [COL_MAPPED_BY] = { "mapped_by", 's' },
};

const gchar *const *
vnm_record_link_column_names (void)
{
  static const gchar *names[N_COLUMNS + 1];

  if (!names[0])
    for (guint i = 0; i < N_COLUMNS; i++)
      names[i] = columns[i].name;
  return names;
}

/* A cell of @row: its text for 's' columns, else its number. */
static const gchar *
cell_str (const Row *row, Column c)
{
  switch (c)
    {
    case COL_IFACE: return row->link->name;
    case COL_STATE: return row->link->state;
    case COL_KIND: return row->link->kind;
    case COL_MAC: return row->link->mac;
    case COL_MASTER: return row->master;
    case COL_VIEW: return row->owner.guest_view ? "guest" : "host";
    case COL_VM_NAME: return row->owner.vm_name;
    case COL_VM_UUID: return row->owner.vm_uuid;
    case COL_MAPPED_BY: return row->owner.mapped_by;
    default: g_assert_not_reached ();
    }
}

static gint64
cell_int (const Row *row, Column c)
{
  switch (c)
    {
    case COL_IFINDEX: return row->link->ifindex;
    case COL_MTU: return row->link->mtu;
    case COL_SPEED_MBPS: return row->link->speed_mbps;
    case COL_VM_ID: return row->vm_id;
    default: g_assert_not_reached ();
    }
}

static guint64
cell_counter (const Row *row, Column c)
{
  const VnmCounters *k = &row->s.counters;

  switch (c)
    {
    case COL_RX_BYTES: return k->rx_bytes;
    case COL_RX_PACKETS: return k->rx_packets;
    case COL_RX_ERRORS: return k->rx_errors;
    case COL_RX_DROPS: return k->rx_dropped;
    case COL_TX_BYTES: return k->tx_bytes;
    case COL_TX_PACKETS: return k->tx_packets;
    case COL_TX_ERRORS: return k->tx_errors;
    case COL_TX_DROPS: return k->tx_dropped;
    default: g_assert_not_reached ();
    }
}

static gdouble
cell_rate (const Row *row, Column c)
{
  const VnmRates *r = &row->s.rates;

  switch (c)
    {
    case COL_RX_MBPS: return vnm_bytes_ps_to_mbps (r->rx_bytes_ps);
    case COL_TX_MBPS: return vnm_bytes_ps_to_mbps (r->tx_bytes_ps);
    case COL_RX_PPS: return r->rx_pps;
    case COL_TX_PPS: return r->tx_pps;
    case COL_RX_ERRORS_PS: return r->rx_errors_ps;
    case COL_TX_ERRORS_PS: return r->tx_errors_ps;
    case COL_RX_DROPS_PS: return r->rx_drops_ps;
    case COL_TX_DROPS_PS: return r->tx_drops_ps;
    default: g_assert_not_reached ();
    }
}

/* A cell as a GVariant of its column's type (floating). */
static GVariant *
cell_value (const Row *row, Column c)
{
  switch (columns[c].type)
    {
    case 's': return g_variant_new_string (cell_str (row, c));
    case 'i': return g_variant_new_int32 ((gint32) cell_int (row, c));
    case 'u': return g_variant_new_uint32 ((guint32) cell_int (row, c));
    case 'x': return g_variant_new_int64 (cell_int (row, c));
    case 't': return g_variant_new_uint64 (cell_counter (row, c));
    case 'd': return g_variant_new_double (cell_rate (row, c));
    default: g_assert_not_reached ();
    }
}

typedef struct {
  gboolean by_rx;
  gboolean ascending;
} SortOrder;

static gint
compare_rows (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const SortOrder *order = user_data;
  const Row *ra = a, *rb = b;
  gdouble va = order->by_rx ? ra->s.rates.rx_bytes_ps : ra->s.rates.tx_bytes_ps;
  gdouble vb = order->by_rx ? rb->s.rates.rx_bytes_ps : rb->s.rates.tx_bytes_ps;
  gint c = va < vb ? -1 : va > vb ? 1 : 0;

  if (!order->ascending)
    c = -c;
  /* Ties, most often idle interfaces: by name, always ascending. */
  return c ? c : strcmp (ra->link->name, rb->link->name);
}

/* Whether @haystack contains @needle_folded (already case-folded). */
static gboolean
contains_casefold (const gchar *haystack, const gchar *needle_folded)
{
  g_autofree gchar *h = g_utf8_casefold (haystack, -1);

  return strstr (h, needle_folded) != NULL;
}

/* The rows GetLinkStats returns, in its order, at most @top (0: all);
 * NULL with @error for a bad argument. */
static GArray *
link_rows (VnmEngine *engine, const gchar *sort, gboolean ascending, guint top,
           gboolean include_hidden, const gchar *filter, GError **error)
{
  g_autoptr(GArray) rows = NULL;
  g_autofree gchar *needle = NULL;
  VnmLinkTable *links = vnm_engine_get_link_table (engine);

  if (!*sort)
    sort = "tx";
  if (!g_str_equal (sort, "rx") && !g_str_equal (sort, "tx"))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("Unknown sort key '%.32s': use 'rx' or 'tx'."), sort);
      return NULL;
    }
  if (strlen (filter) > VNM_ARG_MAX_LEN)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("The filter is %zu characters long; at most %d are accepted."),
                   strlen (filter), VNM_ARG_MAX_LEN);
      return NULL;
    }

  rows = g_array_sized_new (FALSE, TRUE, sizeof (Row), vnm_link_table_size (links));
  if (*filter)
    needle = g_utf8_casefold (filter, -1);
  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      Row row = { .link = link };

      if (!include_hidden && vnm_is_hidden_interface (link->name))
        continue;
      vnm_link_table_owner (links, link, &row.owner);
      if (needle && !contains_casefold (link->name, needle) &&
          !contains_casefold (row.owner.vm_name, needle) &&
          !contains_casefold (row.owner.vm_id, needle))
        continue;
      vnm_link_table_view (links, link, row.owner.guest_view, &row.s);
      g_array_append_val (rows, row);
    }

  {
    SortOrder order = { g_str_equal (sort, "rx"), ascending };
    g_array_sort_with_data (rows, compare_rows, &order);
  }
  if (top && rows->len > top)
    g_array_set_size (rows, top);

  /* What the kept rows show beyond the link and its owner. */
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = &g_array_index (rows, Row, i);
      const VnmLink *master = row->link->master_ifindex
        ? vnm_link_table_lookup_ifindex (links, row->link->master_ifindex) : NULL;

      row->master = master ? master->name : "";
      row->vm_id = *row->owner.vm_id ? (gint32) g_ascii_strtoll (row->owner.vm_id, NULL, 10) : -1;
    }
  return g_steal_pointer (&rows);
}

GVariant *
vnm_record_link_stats (VnmEngine *engine, const gchar *sort, gboolean ascending, guint top,
                      gboolean include_hidden, const gchar *filter, GError **error)
{
  g_autoptr(GArray) rows = link_rows (engine, sort, ascending, top, include_hidden, filter, error);
  GVariantBuilder b;

  if (!rows)
    return NULL;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = &g_array_index (rows, Row, i);
      GVariantBuilder rb;

      g_variant_builder_init (&rb, G_VARIANT_TYPE_VARDICT);
      for (Column c = 0; c < N_COLUMNS; c++)
        g_variant_builder_add (&rb, "{sv}", columns[c].name, cell_value (row, c));
      g_variant_builder_add_value (&b, g_variant_builder_end (&rb));
    }
  return g_variant_builder_end (&b);
}

/* Column @c of every row (floating): numbers as an array of their type,
 * text as strings that each end in a NUL, in one ay. Either is one block of
 * memory, copied once into the GVariant and once into the message. */
static GVariant *
column_values (GArray *rows, Column c)
{
  const Row *r = (const Row *) rows->data;
  guint n = rows->len;

  switch (columns[c].type)
    {
    case 's':
      {
        /* Text: each row's string and a NUL, in one byte array (an array
         * of strings would cost a GVariant per row on both sides). */
        g_autoptr(GByteArray) text = g_byte_array_sized_new (n * 16);

        for (guint i = 0; i < n; i++)
          {
            const gchar *str = cell_str (&r[i], c);

            if (g_utf8_validate (str, -1, NULL))
              g_byte_array_append (text, (const guint8 *) str, strlen (str) + 1);
            else
              {
                g_autofree gchar *valid = g_utf8_make_valid (str, -1);
                g_byte_array_append (text, (const guint8 *) valid, strlen (valid) + 1);
              }
          }
        return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, text->data, text->len, 1);
      }
    case 'i':
      {
        g_autofree gint32 *v = g_new (gint32, MAX (n, 1));

        for (guint i = 0; i < n; i++)
          v[i] = (gint32) cell_int (&r[i], c);
        return g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, v, n, sizeof *v);
      }
    case 'u':
      {
        g_autofree guint32 *v = g_new (guint32, MAX (n, 1));

        for (guint i = 0; i < n; i++)
          v[i] = (guint32) cell_int (&r[i], c);
        return g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, v, n, sizeof *v);
      }
    case 'x':
      {
        g_autofree gint64 *v = g_new (gint64, MAX (n, 1));

        for (guint i = 0; i < n; i++)
          v[i] = cell_int (&r[i], c);
        return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, v, n, sizeof *v);
      }
    case 't':
      {
        g_autofree guint64 *v = g_new (guint64, MAX (n, 1));

        for (guint i = 0; i < n; i++)
          v[i] = cell_counter (&r[i], c);
        return g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, v, n, sizeof *v);
      }
    case 'd':
      {
        g_autofree gdouble *v = g_new (gdouble, MAX (n, 1));

        for (guint i = 0; i < n; i++)
          v[i] = cell_rate (&r[i], c);
        return g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, v, n, sizeof *v);
      }
    default:
      g_assert_not_reached ();
    }
}

static gint
column_by_name (const gchar *name)
{
  for (guint c = 0; c < N_COLUMNS; c++)
    if (g_str_equal (columns[c].name, name))
      return (gint) c;
  return -1;
}

GVariant *
vnm_record_link_columns (VnmEngine *engine, const gchar *sort, gboolean ascending, guint top,
                        gboolean include_hidden, const gchar *filter,
                        const gchar *const *wanted, GError **error)
{
  g_autoptr(GArray) rows = NULL;
  g_autofree Column *chosen = g_new (Column, N_COLUMNS);
  guint n_chosen = 0;
  GVariantBuilder names, values;

  /* The columns asked for, in the order asked, each once; none: all. */
  for (const gchar *const *w = wanted; w && *w; w++)
    {
      gint c = column_by_name (*w);
      gboolean again = FALSE;

      if (c < 0)
        {
          g_autofree gchar *known = g_strjoinv (", ", (gchar **) vnm_record_link_column_names ());
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown column '%.32s': use some of %s, or none for all."), *w, known);
          return NULL;
        }
      for (guint i = 0; i < n_chosen; i++)
        again |= chosen[i] == (Column) c;
      if (again)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Column '%s' is asked for twice."), *w);
          return NULL;
        }
      chosen[n_chosen++] = (Column) c;
    }
  if (n_chosen == 0)
    for (Column c = 0; c < N_COLUMNS; c++)
      chosen[n_chosen++] = c;

  rows = link_rows (engine, sort, ascending, top, include_hidden, filter, error);
  if (!rows)
    return NULL;
  g_variant_builder_init (&names, G_VARIANT_TYPE_STRING_ARRAY);
  g_variant_builder_init (&values, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < n_chosen; i++)
    {
      g_variant_builder_add (&names, "s", columns[chosen[i]].name);
      g_variant_builder_add (&values, "v", column_values (rows, chosen[i]));
    }
  return g_variant_new ("(asav)", &names, &values);
}
