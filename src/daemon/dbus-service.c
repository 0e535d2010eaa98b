/* dbus-service.c: GDBus skeletons from dbus/org.virtnetmon.Monitor1.xml,
 * fed by the engine's signals. */
#include "config.h"

#include <string.h>

#include "authz.h"
#include "dbus-service.h"
#include "domain-xml.h"
#include "dbus-records.h"
#include "vnm-error.h"
#include "vnm-generated.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"
#include "vnm-names.h"

struct _VnmDbusService {
  VnmEngine *engine;           /* a reference */
  GArray *handlers;            /* of gulong: the engine's signals we follow */
  guint publish_source;
  GDBusConnection *connection;
  GDBusObjectManagerServer *manager;
  VnmMonitor1 *monitor;
  GHashTable *domains;   /* uuid -> VnmObjectSkeleton* */
  guint name_id;
  GHashTable *subscribers;  /* unique bus name -> watch id */
  GCallback on_name_lost;
  gpointer user_data;
  VnmIpfixExporter *ipfix;     /* borrowed; NULL: no IPFIX export */
};

static void publish_soon (VnmDbusService *service);

static gboolean
check_arg (GDBusMethodInvocation *invocation, const gchar *what, const gchar *value)
{
  if (strlen (value) <= VNM_ARG_MAX_LEN)
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                         _("The %s argument is %zu bytes long; at most %d are accepted."),
                                         what, strlen (value), VNM_ARG_MAX_LEN);
  return FALSE;
}

static const VnmDomain *
find_domain (VnmDbusService *service, GDBusMethodInvocation *invocation, const gchar *text)
{
  const VnmDomain *d;

  if (!check_arg (invocation, "domain", text))
    return NULL;
  d = vnm_registry_lookup (vnm_engine_get_registry (service->engine), text);
  if (!d)
    g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_UNKNOWN_DOMAIN,
                                           _("No running domain has the name, id or uuid '%s'."),
                                           text);
  return d;
}

static gboolean
handle_list_domains (VnmMonitor1 *object, GDBusMethodInvocation *invocation, gpointer user_data)
{
  VnmDbusService *service = user_data;

  vnm_monitor1_complete_list_domains (object, invocation, vnm_record_domains (service->engine));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_interfaces (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                        const gchar *domain, gpointer user_data)
{
  VnmDbusService *service = user_data;
  const VnmDomain *d = find_domain (service, invocation, domain);

  if (d)
    vnm_monitor1_complete_list_interfaces (object, invocation,
                                           vnm_record_interfaces (service->engine, d));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_interface_stats (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                            const gchar *domain, const gchar *iface, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d;
  GVariant *stats;

  if (!check_arg (invocation, "interface", iface))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  d = find_domain (service, invocation, domain);
  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  stats = vnm_record_interface_stats (service->engine, d, iface, &error);
  if (!stats)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    vnm_monitor1_complete_get_interface_stats (object, invocation, stats);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_link_stats (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                       const gchar *sort, gboolean ascending, guint top,
                       gboolean include_hidden, const gchar *filter, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  GVariant *links = vnm_record_link_stats (service->engine, sort, ascending, top,
                                          include_hidden, filter, &error);

  if (!links)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    vnm_monitor1_complete_get_link_stats (object, invocation, links);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_link_stats_columns (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                               const gchar *sort, gboolean ascending, guint top,
                               gboolean include_hidden, const gchar *filter,
                               const gchar *const *wanted, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  /* (as columns, av values), the reply as it is. */
  GVariant *reply = vnm_record_link_columns (service->engine, sort, ascending, top,
                                            include_hidden, filter, wanted, &error);

  if (!reply)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, reply);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_flows (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                  const gchar *domain, GVariant *options, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  GVariant *flows;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  flows = vnm_record_flows (service->engine, d, options, &error);
  if (!flows)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    vnm_monitor1_complete_get_flows (object, invocation, flows);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_connections (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                        const gchar *domain, GVariant *options, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  g_autoptr(GVariant) conns = NULL;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  conns = vnm_record_connections (service->engine, d, options, &error);
  if (!conns)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      g_autoptr(GVariant) v0 = NULL, v1 = NULL, v2 = NULL, v3 = NULL;

      g_variant_ref_sink (conns);
      v0 = g_variant_get_child_value (conns, 0);
      v1 = g_variant_get_child_value (conns, 1);
      v2 = g_variant_get_child_value (conns, 2);
      v3 = g_variant_get_child_value (conns, 3);
      vnm_monitor1_complete_get_connections (object, invocation, v0, v1, v2, v3);
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_services (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                     const gchar *domain, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  g_autoptr(GVariant) services = NULL;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  services = vnm_record_services (service->engine, d, &error);
  if (!services)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      g_autoptr(GVariant) v0 = NULL, v1 = NULL;

      g_variant_ref_sink (services);
      v0 = g_variant_get_child_value (services, 0);
      v1 = g_variant_get_child_value (services, 1);
      vnm_monitor1_complete_get_services (object, invocation, v0, v1);
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
service_appeared (VnmEngine *engine, const gchar *uuid, const gchar *name, const VnmService *s,
                  gpointer user_data)
{
  VnmDbusService *service = user_data;

  vnm_monitor1_emit_service_appeared (service->monitor, name, uuid, vnm_record_service (s));
}

static gboolean
handle_get_topology (VnmMonitor1 *object, GDBusMethodInvocation *invocation, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GVariant) topo = g_variant_ref_sink (vnm_record_topology (service->engine));
  /* The children are references of their own; the reply takes its own. */
  g_autoptr(GVariant) nodes = g_variant_get_child_value (topo, 0);
  g_autoptr(GVariant) edges = g_variant_get_child_value (topo, 1);

  vnm_monitor1_complete_get_topology (object, invocation, nodes, edges);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_history (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                    const gchar *target, const gchar *metric_name, guint since,
                    gpointer user_data)
{
  VnmDbusService *service = user_data;
  VnmHistory *history = vnm_engine_get_history (service->engine);
  g_autofree gchar *series = NULL;
  g_autoptr(GArray) points = NULL;
  GVariantBuilder b;
  VnmMetric metric;
  gdouble scale;
  guint resolution = 0;

  if (!check_arg (invocation, "target", target) || !check_arg (invocation, "metric", metric_name))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!vnm_metric_from_name (metric_name, &metric, &scale))
    {
      g_autofree gchar *names = g_strjoinv (", ", (gchar **) vnm_metric_names ());
      g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                             _("Unknown metric '%s': use one of %s."),
                                             metric_name, names);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (since < 1 || since > VNM_HISTORY_COARSE_MINUTES * 60)
    {
      g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                             _("History goes back 1 to %u seconds, not %u."),
                                             VNM_HISTORY_COARSE_MINUTES * 60, since);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  series = vnm_engine_history_series (service->engine, target);
  if (!series)
    {
      g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_UNKNOWN_DOMAIN,
                                             _("No running domain and no interface with history "
                                               "is called '%s'."), target);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  points = vnm_history_query (history, series, metric, since,
                              g_get_real_time () / G_USEC_PER_SEC, &resolution);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(dddd)"));
  for (guint i = 0; points && i < points->len; i++)
    {
      const VnmHistoryPoint *p = &g_array_index (points, VnmHistoryPoint, i);
      g_variant_builder_add (&b, "(dddd)", (gdouble) p->time_s, p->min * scale, p->avg * scale,
                             p->max * scale);
    }
  vnm_monitor1_complete_get_history (object, invocation, resolution, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Methods that change what the daemon does run only once authz said yes:
 * root, or (with an action id) whom polkit authorizes. */
typedef void (*AuthorizedFunc) (VnmDbusService *service, GDBusMethodInvocation *invocation,
                                gpointer data);

typedef struct {
  VnmDbusService *service;
  AuthorizedFunc func;
  gpointer data;
  GDestroyNotify free_data;
} AuthorizedCall;

static void
authz_decided (GDBusMethodInvocation *invocation, gboolean allowed, const GError *error,
               gpointer user_data)
{
  AuthorizedCall *call = user_data;

  if (allowed)
    call->func (call->service, invocation, call->data);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
  if (call->free_data)
    call->free_data (call->data);
  g_free (call);
}

static void
run_authorized (VnmDbusService *service, GDBusMethodInvocation *invocation, const gchar *what,
                const gchar *action_id, AuthorizedFunc func, gpointer data,
                GDestroyNotify free_data)
{
  AuthorizedCall *call = g_new0 (AuthorizedCall, 1);

  call->service = service;
  call->func = func;
  call->data = data;
  call->free_data = free_data;
  vnm_authz_check (service->connection, invocation, what, action_id, authz_decided, call);
}

typedef struct {
  gchar *domain_uuid;    /* NULL: all */
  gboolean enabled;
  VnmLatencySettings settings;
} SetLatencyArgs;

static void
set_latency_args_free (gpointer data)
{
  SetLatencyArgs *args = data;

  g_free (args->domain_uuid);
  g_free (args);
}

static void
set_latency_authorized (VnmDbusService *service, GDBusMethodInvocation *invocation, gpointer data)
{
  SetLatencyArgs *args = data;
  g_autoptr(GError) error = NULL;

  if (!vnm_engine_set_latency_tracing (service->engine, args->domain_uuid,
                                       args->enabled ? &args->settings : NULL, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      vnm_monitor1_complete_set_latency_tracing (service->monitor, invocation);
      publish_soon (service);
    }
}

static gboolean
handle_set_latency_tracing (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                            const gchar *domain, gboolean enabled, GVariant *options,
                            gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  SetLatencyArgs *args;
  const VnmDomain *d = NULL;
  VnmLatencySettings settings;

  if (*domain && !(d = find_domain (service, invocation, domain)))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!vnm_record_latency_settings (options,
                                   vnm_latency_monitor_default_threshold (vnm_engine_get_latency_monitor (service->engine)),
                                   &settings, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  args = g_new0 (SetLatencyArgs, 1);
  args->domain_uuid = d ? g_strdup (d->uuid) : NULL;
  args->enabled = enabled;
  args->settings = settings;
  run_authorized (service, invocation, _("switch latency tracing on or off"),
                  VNM_POLKIT_ACTION_CONFIGURE, set_latency_authorized, args, set_latency_args_free);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The libvirt hook: map the domain and attach its probes before replying,
 * so that QEMU, which libvirt starts after the hook returns, finds them in
 * place. */
typedef struct {
  gboolean starting;
  VnmDomainDef *def;
} DomainHookArgs;

static void
domain_hook_args_free (gpointer data)
{
  DomainHookArgs *args = data;

  g_clear_pointer (&args->def, vnm_domain_def_free);
  g_free (args);
}

static void
domain_hook_as_root (VnmDbusService *service, GDBusMethodInvocation *invocation, gpointer data)
{
  DomainHookArgs *args = data;

  vnm_engine_domain_hook (service->engine, args->starting, g_steal_pointer (&args->def));
  vnm_monitor1_complete_domain_hook (service->monitor, invocation);
}

static gboolean
handle_domain_hook (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                    const gchar *operation, const gchar *domain_xml, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  DomainHookArgs *args;
  gboolean starting = g_str_equal (operation, "start") || g_str_equal (operation, "started");
  gboolean ending = g_str_equal (operation, "stopped") || g_str_equal (operation, "release");
  VnmDomainDef *def = NULL;

  if (!starting && !ending && !g_str_equal (operation, "prepare"))
    {
      g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                             _("Unknown hook operation '%.32s' (use prepare, start, "
                                               "started, stopped or release)."), operation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!(def = vnm_domain_xml_parse (domain_xml, -1, &error)))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  args = g_new0 (DomainHookArgs, 1);
  args->starting = starting;
  if (starting || ending)
    args->def = def;
  else
    vnm_domain_def_free (def);
  run_authorized (service, invocation, _("report libvirt hook events"), NULL,
                  domain_hook_as_root, args, domain_hook_args_free);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct {
  gchar *uuid, *name;
  VnmDomainSettings change;
} SetSettingsArgs;

static void
set_settings_args_free (gpointer data)
{
  SetSettingsArgs *args = data;

  g_free (args->uuid);
  g_free (args->name);
  g_free (args);
}

static void
set_settings_authorized (VnmDbusService *service, GDBusMethodInvocation *invocation,
                         gpointer data)
{
  SetSettingsArgs *args = data;
  g_autoptr(GError) error = NULL;

  if (!vnm_engine_change_domain_settings (service->engine, args->uuid, &args->change, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_message (_("Wrote the virtnetmon settings of domain %s into its metadata."), args->name);
  vnm_monitor1_complete_set_domain_settings (service->monitor, invocation);
}

static gboolean
handle_set_domain_settings (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                            const gchar *domain, GVariant *settings, const gchar *const *unset,
                            gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  SetSettingsArgs *args;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!vnm_engine_can_store_settings (service->engine, d, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  args = g_new0 (SetSettingsArgs, 1);
  if (!vnm_record_settings_change (settings, unset, &args->change, &error))
    {
      set_settings_args_free (args);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  args->uuid = g_strdup (d->uuid);
  args->name = g_strdup (d->name);
  run_authorized (service, invocation, _("change a domain's virtnetmon settings"),
                  VNM_POLKIT_ACTION_CONFIGURE, set_settings_authorized, args,
                  set_settings_args_free);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_latency (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                    const gchar *domain, GVariant *options, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  reply = vnm_record_latency (service->engine, d, options, &error);
  if (!reply)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      g_variant_ref_sink (reply);
      vnm_monitor1_complete_get_latency (object, invocation, g_variant_get_child_value (reply, 0),
                                         g_variant_get_child_value (reply, 1));
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_usage (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                  const gchar *domain, GVariant *options, gpointer user_data)
{
  VnmDbusService *service = user_data;
  VnmUsageStore *store = vnm_engine_get_usage_store (service->engine);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *uuid = NULL;
  GVariantIter it;
  const gchar *key;
  GVariant *value;
  gboolean daily = FALSE, interfaces = FALSE;
  gint64 month_start = vnm_usage_period_start (VNM_USAGE_MONTH, g_get_real_time () / G_USEC_PER_SEC);
  GVariant *usage;

  if (!check_arg (invocation, "domain", domain))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_iter_init (&it, options);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;

      if (g_str_equal (key, "month") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        {
          if (!vnm_usage_parse_month (g_variant_get_string (v, NULL), &month_start))
            {
              g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                                     _("The month '%.32s' is not YYYY-MM (such as 2024-05)."),
                                                     g_variant_get_string (v, NULL));
              return G_DBUS_METHOD_INVOCATION_HANDLED;
            }
        }
      else if ((g_str_equal (key, "daily") || g_str_equal (key, "interfaces")) &&
               g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
        *(key[0] == 'd' ? &daily : &interfaces) = g_variant_get_boolean (v);
      else
        {
          g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                                                 _("Unknown usage option '%.32s' or one of the wrong type: use month (s), daily (b) or interfaces (b)."),
                                                 key);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
    }
  if (*domain)
    {
      /* A running domain, else a VM the store has totals for. */
      const VnmDomain *d = vnm_registry_lookup (vnm_engine_get_registry (service->engine), domain);
      g_autofree gchar *lower = g_ascii_strdown (domain, -1);

      if (d)
        uuid = g_strdup (d->uuid);
      else if ((uuid = vnm_usage_store_find_name (store, domain)))
        ;
      else if (g_uuid_string_is_valid (lower))
        {
          g_autoptr(GPtrArray) rows = vnm_usage_store_query (store, VNM_USAGE_MONTH, G_MININT64,
                                                             G_MAXINT64, lower, FALSE, NULL);
          if (rows && rows->len)
            uuid = g_steal_pointer (&lower);
        }
      if (!uuid)
        {
          g_dbus_method_invocation_return_error (invocation, VNM_ERROR, VNM_ERROR_UNKNOWN_DOMAIN,
                                                 _("No running domain and no VM with usage totals has the name, id or uuid '%s'."),
                                                 domain);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
    }
  usage = vnm_record_usage (service->engine, uuid, month_start, daily, interfaces, &error);
  if (!usage)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    vnm_monitor1_complete_get_usage (object, invocation, usage);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
usage_quota_exceeded (VnmEngine *engine, const VnmUsageQuotaEvent *ev, gpointer user_data)
{
  VnmDbusService *service = user_data;

  vnm_monitor1_emit_usage_quota_exceeded (service->monitor, ev->vm_name, ev->vm_uuid,
                                          ev->month_bytes, ev->quota_bytes, ev->month);
}

static gboolean
handle_get_addresses (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                      const gchar *domain, GVariant *options, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  g_autoptr(GVariant) reply = NULL;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  reply = vnm_record_addresses (service->engine, d, options, &error);
  if (!reply)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      g_autoptr(GVariant) addresses = NULL, sources = NULL;
      g_variant_ref_sink (reply);
      addresses = g_variant_get_child_value (reply, 0);
      sources = g_variant_get_child_value (reply, 1);
      vnm_monitor1_complete_get_addresses (object, invocation, addresses, sources);
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_drops (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                  const gchar *domain, gpointer user_data)
{
  VnmDbusService *service = user_data;
  g_autoptr(GError) error = NULL;
  const VnmDomain *d = find_domain (service, invocation, domain);
  GVariant *drops;

  if (!d)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  drops = vnm_record_drops (service->engine, d, &error);
  if (!drops)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    vnm_monitor1_complete_get_drops (object, invocation, drops);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
update_listening (VnmDbusService *service)
{
  vnm_engine_set_latency_listening (service->engine,
                                    g_hash_table_size (service->subscribers) > 0);
  vnm_dbus_service_publish_latency (service);
}

static void
subscriber_vanished (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  VnmDbusService *service = user_data;

  g_hash_table_remove (service->subscribers, name);
  update_listening (service);
}

static gboolean
handle_subscribe_latency_events (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                                 gpointer user_data)
{
  VnmDbusService *service = user_data;
  const gchar *sender = g_dbus_method_invocation_get_sender (invocation);

  if (sender && !g_hash_table_contains (service->subscribers, sender))
    g_hash_table_insert (service->subscribers, g_strdup (sender),
                         GUINT_TO_POINTER (g_bus_watch_name_on_connection (
                           service->connection, sender, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                           subscriber_vanished, service, NULL)));
  update_listening (service);
  vnm_monitor1_complete_subscribe_latency_events (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_unsubscribe_latency_events (VnmMonitor1 *object, GDBusMethodInvocation *invocation,
                                   gpointer user_data)
{
  VnmDbusService *service = user_data;
  const gchar *sender = g_dbus_method_invocation_get_sender (invocation);

  if (sender)
    g_hash_table_remove (service->subscribers, sender);
  update_listening (service);
  vnm_monitor1_complete_unsubscribe_latency_events (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
latency_events (VnmEngine *engine, GPtrArray *events, guint64 lost, gpointer user_data)
{
  VnmDbusService *service = user_data;

  if (g_hash_table_size (service->subscribers))
    vnm_monitor1_emit_latency_events (service->monitor, vnm_record_latency_events (events), lost);
}

static void
unwatch (gpointer id)
{
  g_bus_unwatch_name (GPOINTER_TO_UINT (id));
}

void
vnm_dbus_service_publish_latency (VnmDbusService *service)
{
  vnm_monitor1_set_latency (service->monitor,
                            vnm_record_latency_status (service->engine,
                                                      g_hash_table_size (service->subscribers)));
}

static void
name_lost (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  VnmDbusService *service = user_data;

  if (service->on_name_lost)
    ((void (*) (gpointer)) service->on_name_lost) (service->user_data);
}

static void
update_domain_object (VnmDbusService *service, VnmObjectSkeleton *object, const VnmDomain *d)
{
  g_autoptr(VnmDomain1) iface = vnm_object_get_domain1 (VNM_OBJECT (object));

  vnm_domain1_set_name (iface, d->name);
  vnm_domain1_set_uuid (iface, d->uuid);
  vnm_domain1_set_id (iface, d->id);
  vnm_domain1_set_state (iface, d->state);
  vnm_domain1_set_mapped_by (iface, d->mapped_by);
  vnm_domain1_set_interfaces (iface, vnm_record_interfaces (service->engine, d));
  vnm_domain1_set_rates (iface, vnm_record_domain_rates (service->engine, d));
  vnm_domain1_set_interface_stats (iface, vnm_record_interface_stats (service->engine, d, "", NULL));
  vnm_domain1_set_settings (iface, vnm_record_domain_settings (service->engine, d));
}

static void
domain_changed (VnmDbusService *service, VnmRegistryChange change, const VnmDomain *d)
{
  VnmObjectSkeleton *object = g_hash_table_lookup (service->domains, d->uuid);

  if (change == VNM_REGISTRY_REMOVED)
    {
      if (object)
        {
          g_dbus_object_manager_server_unexport (service->manager, d->object_path);
          g_hash_table_remove (service->domains, d->uuid);
        }
      return;
    }
  if (!object)
    {
      g_autoptr(VnmDomain1) iface = vnm_domain1_skeleton_new ();

      object = vnm_object_skeleton_new (d->object_path);
      vnm_object_skeleton_set_domain1 (object, iface);
      g_hash_table_insert (service->domains, g_strdup (d->uuid), object);
      update_domain_object (service, object, d);
      g_dbus_object_manager_server_export (service->manager, G_DBUS_OBJECT_SKELETON (object));
      return;
    }
  update_domain_object (service, object, d);
}

void
vnm_dbus_service_publish (VnmDbusService *service)
{
  GHashTableIter iter;
  gpointer key, value;

  vnm_monitor1_set_interface_count (service->monitor,
                                    vnm_link_table_size (vnm_engine_get_link_table (service->engine)));
  vnm_monitor1_set_probes (service->monitor, vnm_record_probes (service->engine));
  vnm_monitor1_set_usage_store (service->monitor, vnm_record_usage_store (service->engine));
  vnm_monitor1_set_address_book (service->monitor, vnm_record_address_book (service->engine));
  vnm_dbus_service_publish_latency (service);
  vnm_monitor1_set_ipfix (service->monitor, vnm_record_ipfix (service->ipfix));
  g_hash_table_iter_init (&iter, service->domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const VnmDomain *d = vnm_registry_lookup_uuid (vnm_engine_get_registry (service->engine), key);
      if (d)
        update_domain_object (service, value, d);
    }
}

void
vnm_dbus_service_set_ipfix (VnmDbusService *service, VnmIpfixExporter *ipfix)
{
  service->ipfix = ipfix;
  vnm_monitor1_set_ipfix (service->monitor, vnm_record_ipfix (ipfix));
}

static gboolean
publish_idle (gpointer user_data)
{
  VnmDbusService *service = user_data;

  service->publish_source = 0;
  vnm_dbus_service_publish (service);
  return G_SOURCE_REMOVE;
}

/* Once per burst of changes. */
static void
publish_soon (VnmDbusService *service)
{
  if (!service->publish_source)
    service->publish_source = g_idle_add (publish_idle, service);
}

/* --- the engine's signals -------------------------------------------------- */

static void
on_domain_added (VnmEngine *engine, const VnmDomain *d, gpointer user_data)
{
  domain_changed (user_data, VNM_REGISTRY_ADDED, d);
}

static void
on_domain_changed (VnmEngine *engine, const VnmDomain *d, gpointer user_data)
{
  domain_changed (user_data, VNM_REGISTRY_CHANGED, d);
}

static void
on_domain_removed (VnmEngine *engine, const VnmDomain *d, gpointer user_data)
{
  domain_changed (user_data, VNM_REGISTRY_REMOVED, d);
}

static void
on_link (VnmEngine *engine, const VnmLink *link, gboolean recreated, gpointer user_data)
{
  publish_soon (user_data);
}

static void
on_interval (VnmEngine *engine, gpointer user_data)
{
  VnmDbusService *service = user_data;

  g_clear_handle_id (&service->publish_source, g_source_remove);
  vnm_dbus_service_publish (service);
}

static void
on_probes_changed (VnmEngine *engine, gpointer user_data)
{
  /* Clients see where probes are now, not at the next interval. */
  publish_soon (user_data);
}

static void
on_libvirt_connection (VnmEngine *engine, gboolean connected, gpointer user_data)
{
  VnmDbusService *service = user_data;

  vnm_monitor1_set_libvirt_connected (service->monitor, connected);
}

static void
follow (VnmDbusService *service, const gchar *signal, GCallback func)
{
  gulong id = g_signal_connect (service->engine, signal, func, service);

  g_array_append_val (service->handlers, id);
}

VnmDbusService *
vnm_dbus_service_new (VnmEngine *engine, GDBusConnection *connection, GCallback on_name_lost,
                      gpointer user_data, GError **error)
{
  g_autoptr(VnmDbusService) service = g_new0 (VnmDbusService, 1);

  service->engine = g_object_ref (engine);
  service->handlers = g_array_new (FALSE, FALSE, sizeof (gulong));
  service->connection = g_object_ref (connection);
  service->on_name_lost = on_name_lost;
  service->user_data = user_data;
  service->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  service->monitor = vnm_monitor1_skeleton_new ();
  vnm_monitor1_set_version (service->monitor, PACKAGE_VERSION);
  vnm_monitor1_set_libvirt_uri (service->monitor, vnm_engine_get_libvirt_uri (engine));
  vnm_monitor1_set_libvirt_connected (service->monitor, vnm_engine_get_libvirt_connected (engine));
  vnm_monitor1_set_interval (service->monitor, vnm_engine_get_interval (engine));
  vnm_monitor1_set_kernel_capabilities (service->monitor,
                                        vnm_record_kernel_caps (vnm_engine_get_kernel_caps (engine)));
  g_signal_connect (service->monitor, "handle-list-domains", G_CALLBACK (handle_list_domains), service);
  g_signal_connect (service->monitor, "handle-list-interfaces", G_CALLBACK (handle_list_interfaces), service);
  g_signal_connect (service->monitor, "handle-get-interface-stats", G_CALLBACK (handle_get_interface_stats), service);
  g_signal_connect (service->monitor, "handle-get-link-stats", G_CALLBACK (handle_get_link_stats), service);
  g_signal_connect (service->monitor, "handle-get-link-stats-columns", G_CALLBACK (handle_get_link_stats_columns), service);
  g_signal_connect (service->monitor, "handle-get-flows", G_CALLBACK (handle_get_flows), service);
  g_signal_connect (service->monitor, "handle-get-topology", G_CALLBACK (handle_get_topology), service);
  g_signal_connect (service->monitor, "handle-get-connections", G_CALLBACK (handle_get_connections), service);
  g_signal_connect (service->monitor, "handle-get-services", G_CALLBACK (handle_get_services), service);
  g_signal_connect (service->monitor, "handle-get-history", G_CALLBACK (handle_get_history), service);
  g_signal_connect (service->monitor, "handle-set-latency-tracing", G_CALLBACK (handle_set_latency_tracing), service);
  g_signal_connect (service->monitor, "handle-set-domain-settings", G_CALLBACK (handle_set_domain_settings), service);
  g_signal_connect (service->monitor, "handle-domain-hook", G_CALLBACK (handle_domain_hook), service);
  g_signal_connect (service->monitor, "handle-get-latency", G_CALLBACK (handle_get_latency), service);
  g_signal_connect (service->monitor, "handle-get-drops", G_CALLBACK (handle_get_drops), service);
  g_signal_connect (service->monitor, "handle-get-addresses", G_CALLBACK (handle_get_addresses), service);
  g_signal_connect (service->monitor, "handle-get-usage", G_CALLBACK (handle_get_usage), service);
  g_signal_connect (service->monitor, "handle-subscribe-latency-events", G_CALLBACK (handle_subscribe_latency_events), service);
  g_signal_connect (service->monitor, "handle-unsubscribe-latency-events", G_CALLBACK (handle_unsubscribe_latency_events), service);
  service->subscribers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unwatch);
  vnm_monitor1_set_flow_table (service->monitor, vnm_record_flow_table (engine));
  follow (service, "domain-added", G_CALLBACK (on_domain_added));
  follow (service, "domain-changed", G_CALLBACK (on_domain_changed));
  follow (service, "domain-removed", G_CALLBACK (on_domain_removed));
  follow (service, "link-added", G_CALLBACK (on_link));
  follow (service, "link-changed", G_CALLBACK (on_link));
  follow (service, "link-removed", G_CALLBACK (on_link));
  follow (service, "interval", G_CALLBACK (on_interval));
  follow (service, "probes-changed", G_CALLBACK (on_probes_changed));
  follow (service, "libvirt-connection", G_CALLBACK (on_libvirt_connection));
  follow (service, "latency-events", G_CALLBACK (latency_events));
  follow (service, "usage-quota-exceeded", G_CALLBACK (usage_quota_exceeded));
  follow (service, "service-appeared", G_CALLBACK (service_appeared));

  /* The manager interface and the ObjectManager share the root path; the
   * domain objects live below it. */
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (service->monitor),
                                         connection, VNM_DBUS_PATH, error))
    {
      g_prefix_error (error, _("Cannot export %s: "), VNM_DBUS_PATH);
      return NULL;
    }
  service->manager = g_dbus_object_manager_server_new (VNM_DBUS_PATH);
  g_dbus_object_manager_server_set_connection (service->manager, connection);

  /* Domains the engine knows already. */
  {
    g_autoptr(GPtrArray) domains = vnm_registry_list (vnm_engine_get_registry (engine));
    for (guint i = 0; i < domains->len; i++)
      domain_changed (service, VNM_REGISTRY_ADDED, g_ptr_array_index (domains, i));
  }
  vnm_dbus_service_publish (service);

  service->name_id = g_bus_own_name_on_connection (connection, VNM_DBUS_NAME,
                                                   G_BUS_NAME_OWNER_FLAGS_NONE,
                                                   NULL, name_lost, service, NULL);
  return g_steal_pointer (&service);
}

void
vnm_dbus_service_free (VnmDbusService *service)
{
  if (!service)
    return;
  if (service->handlers)
    {
      for (guint i = 0; i < service->handlers->len; i++)
        g_signal_handler_disconnect (service->engine, g_array_index (service->handlers, gulong, i));
      g_array_unref (service->handlers);
    }
  g_clear_handle_id (&service->publish_source, g_source_remove);
  if (service->name_id)
    g_bus_unown_name (service->name_id);
  g_clear_object (&service->manager);
  if (service->monitor &&
      g_dbus_interface_skeleton_has_connection (G_DBUS_INTERFACE_SKELETON (service->monitor),
                                                service->connection))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (service->monitor));
  g_clear_object (&service->monitor);
  g_clear_pointer (&service->domains, g_hash_table_unref);
  g_clear_pointer (&service->subscribers, g_hash_table_unref);
  g_clear_object (&service->connection);
  g_clear_object (&service->engine);
  g_free (service);
}
