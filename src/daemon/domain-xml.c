/* domain-xml.c: libvirt domain XML -> VnmDomainDef, with libxml2. */
#include "config.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domain-xml.h"
#include "vnm-limits.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-autocleanups.h"

/* Longest value kept from an attribute; longer ones are truncated so that
 * a hostile document cannot make every later copy expensive. */
#define MAX_VALUE_LEN 4096

gboolean
vnm_is_valid_ifname (const gchar *name)
{
  gsize len;

  if (!name || !*name)
    return FALSE;
  len = strlen (name);
  if (len >= 16 /* IFNAMSIZ */)
    return FALSE;
  if (g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;
  for (const gchar *p = name; *p; p++)
    if (*p == '/' || *p == ':' || g_ascii_isspace (*p) || (guchar) *p < 0x21 ||
        (guchar) *p > 0x7e)
      return FALSE;
  return TRUE;
}

VnmDomainDef *
vnm_domain_def_new (void)
{
  VnmDomainDef *def = g_new0 (VnmDomainDef, 1);

  def->id = -1;
  vnm_domain_settings_init (&def->settings);
  def->name = g_strdup ("");
  def->uuid = g_strdup ("");
  def->interfaces =
    g_ptr_array_new_with_free_func ((GDestroyNotify) vnm_domain_interface_free);
  def->labels = vnm_domain_labels_new ();
  return def;
}

VnmDomainLabels *
vnm_domain_labels_new (void)
{
  VnmDomainLabels *l = g_new0 (VnmDomainLabels, 1);

  l->title = g_strdup ("");
  l->description = g_strdup ("");
  l->nova_instance_name = g_strdup ("");
  l->nova_project_name = g_strdup ("");
  l->nova_project_uuid = g_strdup ("");
  l->nova_user_name = g_strdup ("");
  l->nova_user_uuid = g_strdup ("");
  l->nova_flavor = g_strdup ("");
  return l;
}

void
vnm_domain_labels_free (VnmDomainLabels *l)
{
  if (!l)
    return;
  g_free (l->title);
  g_free (l->description);
  g_free (l->nova_instance_name);
  g_free (l->nova_project_name);
  g_free (l->nova_project_uuid);
  g_free (l->nova_user_name);
  g_free (l->nova_user_uuid);
  g_free (l->nova_flavor);
  g_free (l);
}

void
vnm_domain_def_free (VnmDomainDef *def)
{
  if (!def)
    return;
  g_free (def->name);
  g_free (def->uuid);
  g_free (def->settings_error);
  g_ptr_array_unref (def->interfaces);
  vnm_domain_labels_free (def->labels);
  g_free (def);
}

void
vnm_domain_interface_free (VnmDomainInterface *iface)
{
  if (!iface)
    return;
  g_free (iface->type);
  g_free (iface->target_dev);
  g_free (iface->mac);
  g_free (iface->model);
  g_free (iface->alias);
  g_free (iface->source_network);
  g_free (iface->source_bridge);
  g_free (iface->source_dev);
  g_free (iface->source_mode);
  g_free (iface->source_path);
  g_free (iface->virtualport_type);
  g_free (iface->no_stats_reason);
  g_free (iface);
}

VnmDomainInterface *
vnm_domain_interface_new (const gchar *type, const gchar *target_dev)
{
  static const VnmDomainInterface empty = {
    "", "", "", "", "", "", "", "", "", "", "", "",
  };
  VnmDomainInterface *iface = vnm_domain_interface_copy (&empty);

  g_free (iface->type);
  iface->type = g_strdup (type);
  g_free (iface->target_dev);
  iface->target_dev = g_strdup (target_dev);
  return iface;
}

VnmDomainInterface *
vnm_domain_interface_copy (const VnmDomainInterface *src)
{
  VnmDomainInterface *iface = g_new0 (VnmDomainInterface, 1);

  iface->type = g_strdup (src->type);
  iface->target_dev = g_strdup (src->target_dev);
  iface->mac = g_strdup (src->mac);
  iface->model = g_strdup (src->model);
  iface->alias = g_strdup (src->alias);
  iface->source_network = g_strdup (src->source_network);
  iface->source_bridge = g_strdup (src->source_bridge);
  iface->source_dev = g_strdup (src->source_dev);
  iface->source_mode = g_strdup (src->source_mode);
  iface->source_path = g_strdup (src->source_path);
  iface->virtualport_type = g_strdup (src->virtualport_type);
  iface->no_stats_reason = g_strdup (src->no_stats_reason);
  return iface;
}

const gchar *
vnm_domain_interface_source (const VnmDomainInterface *iface)
{
  if (*iface->source_network)
    return iface->source_network;
  if (*iface->source_bridge)
    return iface->source_bridge;
  if (*iface->source_dev)
    return iface->source_dev;
  if (*iface->source_path)
    return iface->source_path;
  return "";
}

/* An attribute as a newly allocated, valid UTF-8 string, "" when absent. */
static gchar *
attr (xmlNode *node, const char *name)
{
  g_autoptr(VnmXmlChar) value = NULL;
  gchar *out;

  if (!node)
    return g_strdup ("");
  value = xmlGetNoNsProp (node, (const xmlChar *) name);
  if (!value)
    return g_strdup ("");
  out = g_utf8_make_valid ((const gchar *) value, -1);
  if (strlen (out) > MAX_VALUE_LEN)
    out[MAX_VALUE_LEN] = '\0';
  /* Truncation may have split a character. */
  if (!g_utf8_validate (out, -1, NULL))
    {
      gchar *fixed = g_utf8_make_valid (out, -1);
      g_free (out);
      out = fixed;
    }
  return out;
}

static gchar *
element_text (xmlNode *node)
{
  g_autoptr(VnmXmlChar) value = NULL;
  gchar *out;

  if (!node)
    return g_strdup ("");
  value = xmlNodeGetContent (node);
  if (!value)
    return g_strdup ("");
  out = g_utf8_make_valid ((const gchar *) value, -1);
  g_strstrip (out);
  if (strlen (out) > MAX_VALUE_LEN)
    {
      /* Cut on a character boundary: the value stays valid UTF-8. */
      gchar *end = g_utf8_find_prev_char (out, out + MAX_VALUE_LEN + 1);
      *end = '\0';
    }
  return out;
}

static xmlNode *
child (xmlNode *parent, const char *name)
{
  if (!parent)
    return NULL;
  for (xmlNode *n = parent->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrEqual (n->name, (const xmlChar *) name))
      return n;
  return NULL;
}

static gchar *
no_stats_reason_for (const VnmDomainInterface *iface)
{
  if (g_str_equal (iface->type, "hostdev"))
    return g_strdup (_("SR-IOV/hostdev interface: the device is passed to the guest, no host network device carries its traffic."));
  if (g_str_equal (iface->type, "vhostuser"))
    return g_strdup (_("vhost-user interface: traffic flows through a userspace switch socket, not a host network device."));
  if (g_str_equal (iface->type, "user"))
    return g_strdup (_("User-mode (slirp/passt) networking: QEMU handles traffic itself, no host network device exists."));
  if (g_str_equal (iface->type, "vdpa"))
    return g_strdup (_("vDPA interface: the datapath is offloaded, no host network device carries its traffic."));
  if (g_str_equal (iface->type, "mcast") || g_str_equal (iface->type, "server") ||
      g_str_equal (iface->type, "client") || g_str_equal (iface->type, "udp"))
    return g_strdup_printf (_("Socket interface of type '%s': QEMU tunnels traffic over a socket, no host network device exists."),
                            iface->type);
  if (!*iface->target_dev)
    return g_strdup (_("The domain XML names no host device (<target dev>) for this interface; the domain may not be running."));
  if (!vnm_is_valid_ifname (iface->target_dev))
    return g_strdup_printf (_("The target device name '%.40s' is not a valid network interface name."),
                            iface->target_dev);
  return g_strdup ("");
}

static VnmDomainInterface *
parse_interface (xmlNode *node)
{
  VnmDomainInterface *iface = g_new0 (VnmDomainInterface, 1);
  xmlNode *source = child (node, "source");
  g_autofree gchar *mac = NULL;

  iface->type = attr (node, "type");
  iface->target_dev = attr (child (node, "target"), "dev");
  mac = attr (child (node, "mac"), "address");
  iface->mac = g_ascii_strdown (mac, -1);
  iface->model = attr (child (node, "model"), "type");
  iface->alias = attr (child (node, "alias"), "name");
  iface->source_network = attr (source, "network");
  iface->source_bridge = attr (source, "bridge");
  iface->source_dev = attr (source, "dev");
  iface->source_mode = attr (source, "mode");
  iface->source_path = attr (source, "path");
  iface->virtualport_type = attr (child (node, "virtualport"), "type");

  /* A running domain on a libvirt network reports the device it really got
   * in <actual> only in status XML; live XML already resolves it into
   * <source bridge> for bridge networks. Nothing else to do here. */
  if (g_str_equal (iface->type, "hostdev") || g_str_equal (iface->type, "vhostuser") ||
      g_str_equal (iface->type, "user") || g_str_equal (iface->type, "vdpa"))
    {
      /* These never have a host netdev, whatever the XML says. */
      g_free (iface->target_dev);
      iface->target_dev = g_strdup ("");
    }
  iface->no_stats_reason = no_stats_reason_for (iface);
  return iface;
}

static gboolean
is_uuid (const gchar *s)
{
  /* 8-4-4-4-12 hex digits; libvirt also accepts it without dashes. */
  gsize hex = 0;

  for (const gchar *p = s; *p; p++)
    {
      if (g_ascii_isxdigit (*p))
        hex++;
      else if (*p != '-')
        return FALSE;
    }
  return hex == 32;
}

static gchar *
canonical_uuid (const gchar *s)
{
  GString *hex = g_string_new (NULL);

  for (const gchar *p = s; *p; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (hex, g_ascii_tolower (*p));
  g_string_insert_c (hex, 20, '-');
  g_string_insert_c (hex, 16, '-');
  g_string_insert_c (hex, 12, '-');
  g_string_insert_c (hex, 8, '-');
  return g_string_free (hex, FALSE);
}

/* Parses @xml (@what names it in messages) with no network, no entities and
 * no DTD; returns the document or NULL with VNM_ERROR_PARSE. */
static xmlDoc *
read_document (const gchar *xml, gssize len, const gchar *what, gsize max_len, GError **error)
{
  g_autoptr(xmlParserCtxt) ctxt = NULL;
  g_autoptr(xmlDoc) doc = NULL;

  if (len < 0)
    len = strlen (xml);
  if (len == 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE, _("The %s is empty."), what);
      return NULL;
    }
  if ((gsize) len > max_len)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The %s is %lld bytes long; more than %llu bytes is refused."),
                   what, (long long) len, (unsigned long long) max_len);
      return NULL;
    }

  ctxt = xmlNewParserCtxt ();
  if (!ctxt)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED, _("Out of memory creating an XML parser."));
      return NULL;
    }
  /* No network, no entity substitution, no DTD loading or validation, no
   * messages on stderr: errors come back through the context. */
  doc = xmlCtxtReadMemory (ctxt, xml, (int) len, "domain.xml", NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_NOCDATA);
  if (!doc || !ctxt->wellFormed)
    {
      const xmlError *e = xmlCtxtGetLastError (ctxt);
      g_autofree gchar *msg = g_strdup (e && e->message ? e->message : _("unknown error"));

      g_strstrip (msg);
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The %s is malformed at line %d: %s"), what, e ? e->line : 0, msg);
      return NULL;
    }
  if (doc->intSubset || doc->extSubset)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The %s has a document type declaration; entities are not allowed in it."),
                   what);
      return NULL;
    }
  return g_steal_pointer (&doc);
}

void
vnm_domain_settings_init (VnmDomainSettings *settings)
{
  settings->monitoring = -1;
  settings->latency = -1;
  settings->latency_threshold_us = -1;
  settings->flow_table_size = -1;
  settings->usage_quota_bytes = -1;
}

static gint64
apply_one (gint64 current, gint64 change)
{
  return change == VNM_SETTING_UNSET ? -1 : change >= 0 ? change : current;
}

void
vnm_domain_settings_apply_change (VnmDomainSettings *cur, const VnmDomainSettings *c)
{
  cur->monitoring = (gint) apply_one (cur->monitoring, c->monitoring);
  cur->latency = (gint) apply_one (cur->latency, c->latency);
  cur->latency_threshold_us = apply_one (cur->latency_threshold_us, c->latency_threshold_us);
  cur->flow_table_size = apply_one (cur->flow_table_size, c->flow_table_size);
  cur->usage_quota_bytes = apply_one (cur->usage_quota_bytes, c->usage_quota_bytes);
}

static gboolean
is_ours (xmlNode *node, gboolean ns_implied)
{
  if (node->type != XML_ELEMENT_NODE)
    return FALSE;
  if (!node->ns)
    return ns_implied;
  return xmlStrEqual (node->ns->href, (const xmlChar *) VNM_METADATA_NS);
}

/* yes/no (also on/off, true/false, 1/0) -> 1/0; -1 when absent. */
static gboolean
settings_bool (xmlNode *node, const gchar *name, gint *out, GError **error)
{
  g_autofree gchar *v = attr (node, name);

  if (!*v)
    return TRUE;
  if (g_str_equal (v, "yes") || g_str_equal (v, "on") || g_str_equal (v, "true") ||
      g_str_equal (v, "1"))
    *out = 1;
  else if (g_str_equal (v, "no") || g_str_equal (v, "off") || g_str_equal (v, "false") ||
           g_str_equal (v, "0"))
    *out = 0;
  else
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("<%s %s='%.40s'> is not yes or no."), (const char *) node->name, name, v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
settings_number (xmlNode *node, const gchar *name, gint64 min, gint64 max, gint64 *out,
                 GError **error)
{
  g_autofree gchar *v = attr (node, name);
  gint64 n;

  if (!*v)
    return TRUE;
  if (!g_ascii_string_to_signed (v, 10, min, max, &n, NULL))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("<%s %s='%.40s'> is not a whole number from %lld to %lld."),
                   (const char *) node->name, name, v, (long long) min, (long long) max);
      return FALSE;
    }
  *out = n;
  return TRUE;
}

static gboolean
settings_check_attrs (xmlNode *node, const gchar *const *known, GError **error)
{
  for (xmlAttr *a = node->properties; a; a = a->next)
    if (!g_strv_contains (known, (const gchar *) a->name))
      {
        g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                     _("<%s> has an unknown attribute '%.40s'."), (const char *) node->name,
                     (const char *) a->name);
        return FALSE;
      }
  return TRUE;
}

/* <settings> in VNM_METADATA_NS -> @out. */
static gboolean
parse_settings_node (xmlNode *root, gboolean ns_implied, VnmDomainSettings *out, GError **error)
{
  static const gchar *const enabled_only[] = { "enabled", NULL };
  static const gchar *const latency_attrs[] = { "enabled", "threshold-us", NULL };
  static const gchar *const flows_attrs[] = { "table-size", NULL };
  static const gchar *const usage_attrs[] = { "quota-bytes", NULL };
  VnmDomainSettings s;

  vnm_domain_settings_init (&s);
  if (!is_ours (root, ns_implied) || !xmlStrEqual (root->name, (const xmlChar *) "settings"))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The settings element is <%.64s>, not <settings> in namespace %s."),
                   (const char *) root->name, VNM_METADATA_NS);
      return FALSE;
    }
  for (xmlNode *n = root->children; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;
      /* libvirt puts only the element it is given into the namespace:
       * children written without a prefix stay without one. */
      if (n->ns && !is_ours (n, FALSE))
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                       _("<%.64s> inside <settings> is not in namespace %s."),
                       (const char *) n->name, VNM_METADATA_NS);
          return FALSE;
        }
      if (xmlStrEqual (n->name, (const xmlChar *) "monitoring"))
        {
          if (!settings_check_attrs (n, enabled_only, error) ||
              !settings_bool (n, "enabled", &s.monitoring, error))
            return FALSE;
        }
      else if (xmlStrEqual (n->name, (const xmlChar *) "latency"))
        {
          if (!settings_check_attrs (n, latency_attrs, error) ||
              !settings_bool (n, "enabled", &s.latency, error) ||
              !settings_number (n, "threshold-us", 0, VNM_LATENCY_THRESHOLD_MAX_US,
                                &s.latency_threshold_us, error))
            return FALSE;
        }
      else if (xmlStrEqual (n->name, (const xmlChar *) "flows"))
        {
          if (!settings_check_attrs (n, flows_attrs, error) ||
              !settings_number (n, "table-size", VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX,
                                &s.flow_table_size, error))
            return FALSE;
        }
      else if (xmlStrEqual (n->name, (const xmlChar *) "usage"))
        {
          if (!settings_check_attrs (n, usage_attrs, error) ||
              !settings_number (n, "quota-bytes", 0, VNM_USAGE_QUOTA_MAX, &s.usage_quota_bytes,
                                error))
            return FALSE;
        }
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                       _("Unknown element <%.64s> in virtnetmon's settings (known: monitoring, latency, flows, usage)."),
                       (const char *) n->name);
          return FALSE;
        }
    }
  *out = s;
  return TRUE;
}

gboolean
vnm_domain_settings_parse (const gchar *xml, gssize len, gboolean ns_implied,
                           VnmDomainSettings *out, GError **error)
{
  g_autoptr(xmlDoc) doc = NULL;
  xmlNode *root;

  g_return_val_if_fail (xml != NULL, FALSE);
  doc = read_document (xml, len, _("virtnetmon settings XML"), 64 * 1024, error);
  if (!doc)
    return FALSE;
  root = xmlDocGetRootElement (doc);
  if (!root)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE, _("The virtnetmon settings XML has no element."));
      return FALSE;
    }
  return parse_settings_node (root, ns_implied, out, error);
}

gchar *
vnm_domain_settings_to_xml (const VnmDomainSettings *s)
{
  GString *out = g_string_new ("<settings xmlns=\"" VNM_METADATA_NS "\">");

  if (s->monitoring >= 0)
    g_string_append_printf (out, "<monitoring enabled=\"%s\"/>", s->monitoring ? "yes" : "no");
  if (s->latency >= 0 || s->latency_threshold_us >= 0)
    {
      g_string_append (out, "<latency");
      if (s->latency >= 0)
        g_string_append_printf (out, " enabled=\"%s\"", s->latency ? "yes" : "no");
      if (s->latency_threshold_us >= 0)
        g_string_append_printf (out, " threshold-us=\"%" G_GINT64_FORMAT "\"",
                                s->latency_threshold_us);
      g_string_append (out, "/>");
    }
  if (s->flow_table_size >= 0)
    g_string_append_printf (out, "<flows table-size=\"%" G_GINT64_FORMAT "\"/>",
                            s->flow_table_size);
  if (s->usage_quota_bytes >= 0)
    g_string_append_printf (out, "<usage quota-bytes=\"%" G_GINT64_FORMAT "\"/>",
                            s->usage_quota_bytes);
  g_string_append (out, "</settings>");
  return g_string_free (out, FALSE);
}

/* Whether @href is Nova's namespace: VNM_NOVA_NS_PREFIX and a version
 * ("1.1"), any version so that the next release's is read too. */
static gboolean
is_nova_ns (const xmlChar *href)
{
  const gchar *v;

  if (!href || !g_str_has_prefix ((const gchar *) href, VNM_NOVA_NS_PREFIX))
    return FALSE;
  v = (const gchar *) href + strlen (VNM_NOVA_NS_PREFIX);
  if (!g_ascii_isdigit (*v))
    return FALSE;
  return strspn (v, "0123456789.") == strlen (v);
}

/* The element named @name under @parent in Nova's namespace: @parent's
 * own when it has one (children of <nova:instance>), else any version. */
static xmlNode *
nova_child (xmlNode *parent, const char *name)
{
  if (!parent)
    return NULL;
  for (xmlNode *n = parent->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && n->ns &&
        (parent->ns && is_nova_ns (parent->ns->href) ? xmlStrEqual (n->ns->href, parent->ns->href)
                                                      : is_nova_ns (n->ns->href)) &&
        xmlStrEqual (n->name, (const xmlChar *) name))
      return n;
  return NULL;
}

static void
replace (gchar **field, gchar *value)
{
  g_free (*field);
  *field = value;
}

/* <title>, <description> and Nova's <instance> in <metadata>. A missing or
 * partial element leaves its fields "". */
static void
parse_labels (xmlNode *root, VnmDomainLabels *l)
{
  xmlNode *instance = nova_child (child (root, "metadata"), "instance");
  xmlNode *owner = nova_child (instance, "owner");
  xmlNode *user = nova_child (owner, "user"), *project = nova_child (owner, "project");

  replace (&l->title, element_text (child (root, "title")));
  replace (&l->description, element_text (child (root, "description")));
  replace (&l->nova_instance_name, element_text (nova_child (instance, "name")));
  replace (&l->nova_flavor, attr (nova_child (instance, "flavor"), "name"));
  replace (&l->nova_user_name, element_text (user));
  replace (&l->nova_user_uuid, attr (user, "uuid"));
  replace (&l->nova_project_name, element_text (project));
  replace (&l->nova_project_uuid, attr (project, "uuid"));
}

/* virtnetmon's element in <metadata>, if any. */
static xmlNode *
find_settings (xmlNode *root)
{
  xmlNode *metadata = child (root, "metadata");

  if (!metadata)
    return NULL;
  for (xmlNode *n = metadata->children; n; n = n->next)
    if (is_ours (n, FALSE))
      return n;
  return NULL;
}

VnmDomainDef *
vnm_domain_xml_parse (const gchar *xml, gssize len, GError **error)
{
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(VnmDomainDef) def = NULL;
  g_autofree gchar *uuid = NULL;
  g_autofree gchar *id = NULL;
  xmlNode *root;
  xmlNode *devices;
  xmlNode *settings;

  g_return_val_if_fail (xml != NULL, NULL);

  doc = read_document (xml, len, _("domain XML"), VNM_DOMAIN_XML_MAX_BYTES, error);
  if (!doc)
    return NULL;

  root = xmlDocGetRootElement (doc);
  if (!root || !xmlStrEqual (root->name, (const xmlChar *) "domain"))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The root element is <%.64s>, not <domain>."),
                   root ? (const char *) root->name : "");
      return NULL;
    }

  def = vnm_domain_def_new ();
  g_free (def->name);
  def->name = element_text (child (root, "name"));
  if (!*def->name)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE, _("The domain XML has no <name>."));
      return NULL;
    }
  uuid = element_text (child (root, "uuid"));
  if (!is_uuid (uuid))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_PARSE,
                   _("The domain '%.64s' has no valid <uuid> (got '%.64s')."), def->name, uuid);
      return NULL;
    }
  g_free (def->uuid);
  def->uuid = canonical_uuid (uuid);

  id = attr (root, "id");
  if (*id)
    {
      gint64 v;
      if (g_ascii_string_to_signed (id, 10, -1, G_MAXINT32, &v, NULL))
        def->id = (gint) v;
    }

  devices = child (root, "devices");
  if (devices)
    for (xmlNode *n = devices->children; n; n = n->next)
      if (n->type == XML_ELEMENT_NODE && xmlStrEqual (n->name, (const xmlChar *) "interface"))
        g_ptr_array_add (def->interfaces, parse_interface (n));

  parse_labels (root, def->labels);

  /* Bad settings never fail the domain: they are ignored, and said why. */
  settings = find_settings (root);
  if (settings)
    {
      g_autoptr(GError) local = NULL;
      if (!parse_settings_node (settings, FALSE, &def->settings, &local))
        def->settings_error = g_strdup (local->message);
    }

  return g_steal_pointer (&def);
}
