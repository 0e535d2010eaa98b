/* cmd-set.c: `virtnetmon set DOMAIN ...`: a domain's virtnetmon settings,
 * kept by libvirt in the domain's <metadata> (SetDomainSettings), and shown
 * as the daemon applies them. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"

/* The ListDomains record of @text (name, id or uuid), or NULL. */
static GVariant *
find_domain (VnmMonitor1 *proxy, const gchar *text, GError **error)
{
  g_autoptr(GVariant) domains = NULL;
  GVariantIter it;
  GVariant *rec;

  if (!vnm_monitor1_call_list_domains_sync (proxy, &domains, NULL, error))
    return NULL;
  g_variant_iter_init (&it, domains);
  while ((rec = g_variant_iter_next_value (&it)))
    {
      g_autofree gchar *id = g_strdup_printf ("%" G_GINT64_FORMAT, vnm_rec_int (rec, "vm_id"));
      if (g_str_equal (vnm_rec_str (rec, "vm_name"), text) ||
          g_ascii_strcasecmp (vnm_rec_str (rec, "vm_uuid"), text) == 0 ||
          (vnm_rec_int (rec, "vm_id") >= 0 && g_str_equal (id, text)))
        return rec;
      g_variant_unref (rec);
    }
  return NULL;
}

static gboolean
from_metadata (GVariant *settings, const gchar *key)
{
  g_autofree const gchar **keys = NULL;

  if (!g_variant_lookup (settings, "from_metadata", "^a&s", &keys))
    return FALSE;
  return g_strv_contains (keys, key);
}

static void
print_settings (const gchar *name, GVariant *s)
{
  const gchar *own = _("domain's metadata"), *dflt = _("default");
  const gchar *err = vnm_rec_str (s, "error");

  g_print (_("Settings of %s:\n"), name);
  g_print ("  %-20s %-6s (%s)\n", "monitoring", vnm_rec_bool (s, "monitoring") ? "on" : "off",
           from_metadata (s, "monitoring") ? own : dflt);
  g_print ("  %-20s %-6s (%s)\n", "latency", vnm_rec_bool (s, "latency") ? "on" : "off",
           from_metadata (s, "latency") ? own : dflt);
  g_print ("  %-20s %-6" G_GUINT64_FORMAT " (%s)\n", "latency-threshold",
           vnm_rec_u64 (s, "latency_threshold_us"),
           from_metadata (s, "latency_threshold_us") ? own : dflt);
  g_print ("  %-20s %-6" G_GUINT64_FORMAT " (%s)\n", "flow-table-size",
           vnm_rec_u64 (s, "flow_table_size"), from_metadata (s, "flow_table_size") ? own : dflt);
  {
    guint64 quota = vnm_rec_u64 (s, "usage_quota_bytes");
    g_autofree gchar *human = vnm_format_bytes (quota);
    g_autofree gchar *text = quota ? g_strdup_printf ("%s (%" G_GUINT64_FORMAT " B)", human, quota)
                                   : g_strdup (_("none"));
    g_print ("  %-20s %-6s (%s)\n", "usage-quota", text,
             from_metadata (s, "usage_quota_bytes") ? own : dflt);
  }
  {
    /* What the daemon does now: a command may have switched tracing
     * regardless of the setting. */
    gboolean tracing;
    const gchar *source;

    if (g_variant_lookup (s, "latency_tracing", "b", &tracing)
        && g_variant_lookup (s, "latency_source", "&s", &source))
      g_print ("  %-20s %-6s (%s)\n", "latency-tracing", tracing ? "on" : "off",
               !g_strcmp0 (source, "command") ? _("switched by 'virtnetmon latency DOMAIN'")
               : !g_strcmp0 (source, "all") ? _("switched by 'virtnetmon latency --all'")
               : !g_strcmp0 (source, "settings") ? own : dflt);
  }
  if (*err)
    g_print (_("  The settings in its metadata are ignored: %s\n"), err);
}

static gboolean
parse_switch (const gchar *option, const gchar *value, gboolean *out)
{
  if (!g_strcmp0 (value, "on") || !g_strcmp0 (value, "yes"))
    *out = TRUE;
  else if (!g_strcmp0 (value, "off") || !g_strcmp0 (value, "no"))
    *out = FALSE;
  else
    return vnm_cli_bad_value (option, value, "on|off");
  return TRUE;
}

/* A size in bytes: digits, then optionally k, M, G, T, P (powers of 1000)
 * or Ki, Mi, Gi, Ti, Pi (powers of 1024), each with or without a B. */
static gboolean
parse_size (const gchar *option, const gchar *value, guint64 max, guint64 *out)
{
  static const gchar units[] = "kmgtp";
  gchar *end = NULL;
  guint64 n, mult = 1;
  const gchar *u;

  if (!g_ascii_isdigit (value[0]))
    return vnm_cli_bad_value (option, value, _("a size such as 500G, 1.5T or 10GiB"));
  {
    gdouble d = g_ascii_strtod (value, &end);
    const gchar *p = end;
    guint base = 1000;

    if (*p && (u = strchr (units, g_ascii_tolower (*p))))
      {
        p++;
        if (*p == 'i' || *p == 'I')
          base = 1024, p++;
        for (guint k = 0; k <= (guint) (u - units); k++)
          mult *= base;
      }
    if (*p == 'b' || *p == 'B')
      p++;
    if (*p || d < 0 || d * (gdouble) mult > (gdouble) max)
      return vnm_cli_bad_value (option, value, _("a size such as 500G, 1.5T or 10GiB (at most 10^18 bytes)"));
    n = (guint64) (d * (gdouble) mult + 0.5);
  }
  *out = n;
  return TRUE;
}

/* Whether the daemon shows @want (as set) and none of @unset came from the
 * metadata: libvirt's event has reached it. */
static gboolean
applied (GVariant *s, GVariant *want, const gchar *const *unset)
{
  GVariantIter it;
  const gchar *key;
  GVariant *value;

  if (*vnm_rec_str (s, "error"))
    return FALSE;
  g_variant_iter_init (&it, want);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;
      g_autoptr(GVariant) have = g_variant_lookup_value (s, key, NULL);
      gboolean same = have && (g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN)
                               ? g_variant_get_boolean (v) == g_variant_get_boolean (have)
                               : g_variant_get_uint64 (v) == vnm_rec_u64 (s, key));
      if (!same || !from_metadata (s, key))
        return FALSE;
    }
  for (const gchar *const *u = unset; u && *u; u++)
    if (from_metadata (s, *u))
      return FALSE;
  return TRUE;
}

/* The settings given and those to unset, as SetDomainSettings takes them:
 * FALSE after a usage error. */
static gboolean
build_changes (const gchar *monitoring, const gchar *latency, const gchar *threshold,
               const gchar *table, const gchar *quota, gchar **unset, GVariantBuilder *b,
               GPtrArray *unset_keys)
{
  gboolean on;
  guint64 n;

  for (gchar **u = unset; u && *u; u++)
    {
      static const gchar *const known[] = { "monitoring", "latency", "latency-threshold",
                                            "flow-table-size", "usage-quota", NULL };
      const gchar *keys[] = { "monitoring", "latency", "latency_threshold_us", "flow_table_size",
                              "usage_quota_bytes" };
      guint i;

      if (!vnm_cli_check_choice ("unset", *u, known))
        return FALSE;
      for (i = 0; !g_str_equal (known[i], *u); i++)
        ;
      /* Each setting is an option named as --unset names it. */
      if (vnm_cli_given (known[i]))
        {
          vnm_cli_usage_error (_("%s and %s '%s' do not go together: set it or unset it."),
                                    vnm_cli_option (known[i]), vnm_cli_option ("unset"), *u);
          return FALSE;
        }
      g_ptr_array_add (unset_keys, g_strdup (keys[i]));
    }
  g_variant_builder_init (b, G_VARIANT_TYPE ("a{sv}"));
  if (monitoring)
    {
      if (!parse_switch ("monitoring", monitoring, &on))
        return FALSE;
      g_variant_builder_add (b, "{sv}", "monitoring", g_variant_new_boolean (on));
    }
  if (latency)
    {
      if (!parse_switch ("latency", latency, &on))
        return FALSE;
      g_variant_builder_add (b, "{sv}", "latency", g_variant_new_boolean (on));
    }
  if (threshold)
    {
      if (!vnm_cli_parse_number ("latency-threshold", threshold, 0, VNM_LATENCY_THRESHOLD_MAX_US, &n))
        return FALSE;
      g_variant_builder_add (b, "{sv}", "latency_threshold_us", g_variant_new_uint64 (n));
    }
  if (table)
    {
      if (!vnm_cli_parse_number ("flow-table-size", table, VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX, &n))
        return FALSE;
      g_variant_builder_add (b, "{sv}", "flow_table_size", g_variant_new_uint64 (n));
    }
  if (quota)
    {
      if (!parse_size ("usage-quota", quota, (guint64) VNM_USAGE_QUOTA_MAX, &n))
        return FALSE;
      g_variant_builder_add (b, "{sv}", "usage_quota_bytes", g_variant_new_uint64 (n));
    }
  return TRUE;
}

/* Writes the changes, then waits for the daemon to apply them (libvirt
 * tells it through a metadata event). The domain's record, or NULL with
 * @error set, or NULL with @error unset when no such domain runs; *@timed_out
 * says the daemon did not apply them in time. */
static GVariant *
change_and_wait (VnmMonitor1 *proxy, const gchar *domain, GVariant *want,
                 const gchar *const *unset_keys, gboolean *timed_out, GError **error)
{
  g_autoptr(GVariant) rec = NULL;
  g_autoptr(GVariant) s = NULL;
  gint64 deadline;

  *timed_out = FALSE;
  if (!vnm_monitor1_call_set_domain_settings_sync (proxy, domain, want, unset_keys, NULL, error))
    return NULL;
  /* libvirt tells the daemon through a metadata event; wait for it. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  for (;;)
    {
      g_clear_pointer (&rec, g_variant_unref);
      g_clear_pointer (&s, g_variant_unref);
      if (!(rec = find_domain (proxy, domain, error)))
        break;
      s = g_variant_lookup_value (rec, "settings", G_VARIANT_TYPE_VARDICT);
      if (s && applied (s, want, unset_keys))
        break;
      if (g_get_monotonic_time () > deadline)
        {
          *timed_out = TRUE;
          return NULL;
        }
      g_usleep (100 * 1000);
    }
  return g_steal_pointer (&rec);
}

int
vnm_cmd_set (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) rec = NULL;
  g_autoptr(GVariant) want = NULL;
  g_autofree gchar *monitoring = NULL, *latency = NULL, *threshold = NULL, *table = NULL;
  g_autofree gchar *quota = NULL;
  g_auto(GStrv) unset = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "monitoring", 0, 0, G_OPTION_ARG_STRING, &monitoring,
      N_("Probes on the domain's interfaces (flows, TCP health, latency, drops): on or off"), N_("on|off") },
    { "latency", 0, 0, G_OPTION_ARG_STRING, &latency,
      N_("Datapath latency tracing: on or off"), N_("on|off") },
    { "latency-threshold", 0, 0, G_OPTION_ARG_STRING, &threshold,
      N_("Slow-packet threshold of latency tracing, in microseconds"), N_("USEC") },
    { "flow-table-size", 0, 0, G_OPTION_ARG_STRING, &table,
      N_("The most flows kept for the domain at once (16 to 4194304)"), N_("N") },
    { "usage-quota", 0, 0, G_OPTION_ARG_STRING, &quota,
      N_("Bytes received and sent in a UTC month before virtnetmond reports the quota passed (such as 500G or 2TiB; 0 for none)"),
      N_("SIZE") },
    { "unset", 0, 0, G_OPTION_ARG_STRING_ARRAY, &unset,
      N_("Remove a setting, so that the daemon's default applies (monitoring, latency, latency-threshold, flow-table-size, usage-quota); may be repeated"),
      N_("NAME") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the settings as one JSON document"), NULL },
    { NULL }
  };
  GVariantBuilder b;
  g_autoptr(GPtrArray) unset_keys = g_ptr_array_new_with_free_func (g_free);
  gboolean changing;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show or change a domain's virtnetmon settings. libvirt keeps them in the\n"
      "domain's <metadata> (namespace http://virtnetmon.org/xmlns/domain/1.0, live\n"
      "and in its persistent config), so they follow the domain; `virsh metadata`\n"
      "writes the same element. Without options, shows what applies now and where\n"
      "it comes from. Changing needs root or polkit's org.virtnetmon.configure."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    {
      if (argc < 2)
        g_printerr (_("virtnetmon: set: which domain? Give a name, id or uuid.\n"));
      else
        g_printerr (_("virtnetmon: set: unexpected argument '%s'.\n"), argv[2]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_length ("DOMAIN", argv[1], VNM_CLI_ARG_MAX_LEN))
    return VNM_EXIT_USAGE;

  if (!build_changes (monitoring, latency, threshold, table, quota, unset, &b, unset_keys))
    return VNM_EXIT_USAGE;
  g_ptr_array_add (unset_keys, NULL);
  want = g_variant_ref_sink (g_variant_builder_end (&b));
  changing = g_variant_n_children (want) > 0 || unset_keys->len > 1;

  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (changing)
    {
      gboolean timed_out;

      rec = change_and_wait (proxy, argv[1], want, (const gchar *const *) unset_keys->pdata,
                             &timed_out, &error);
      if (timed_out)
        {
          g_printerr (_("virtnetmon: set: the settings are in the domain's metadata, but virtnetmond has not applied them within 5 s.\n"));
          return VNM_EXIT_FAILURE;
        }
    }
  else
    rec = find_domain (proxy, argv[1], &error);
  if (!rec)
    {
      if (error)
        return vnm_cli_report_error ("set", error);
      g_printerr (_("virtnetmon: set: no running domain has the name, id or uuid '%s'.\n"), argv[1]);
      return VNM_EXIT_FAILURE;
    }
  {
    g_autoptr(GVariant) s = g_variant_lookup_value (rec, "settings", G_VARIANT_TYPE_VARDICT);
    if (!s)
      {
        g_printerr (_("virtnetmon: set: this virtnetmond does not report domain settings.\n"));
        return VNM_EXIT_FAILURE;
      }
    if (json)
      vnm_cli_print_json (s);
    else
      print_settings (vnm_rec_str (rec, "vm_name"), s);
  }
  return 0;
}
