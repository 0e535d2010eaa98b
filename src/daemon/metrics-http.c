/* metrics-http.c: the /metrics endpoint on libsoup-3. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "listen-address.h"
#include "metrics-http.h"
#include "prom-text.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

struct _VnmMetricsHttp {
  SoupServer *server;
  VnmMetricsRenderFunc render;
  gpointer user_data;
};

static GBytes *
gzip_bytes (const gchar *data, gsize len)
{
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr(GByteArray) out = g_byte_array_sized_new (len / 4 + 64);
  gsize in_done = 0;

  for (;;)
    {
      guint8 buf[65536];
      gsize read = 0, written = 0;
      GConverterResult r = g_converter_convert (G_CONVERTER (z), data + in_done, len - in_done,
                                                buf, sizeof buf, G_CONVERTER_INPUT_AT_END,
                                                &read, &written, NULL);
      in_done += read;
      g_byte_array_append (out, buf, written);
      if (r == G_CONVERTER_FINISHED)
        return g_byte_array_free_to_bytes (g_steal_pointer (&out));
      if (r == G_CONVERTER_ERROR)
        return NULL;
    }
}

static gboolean
method_allowed (SoupServerMessage *msg)
{
  const gchar *method = soup_server_message_get_method (msg);

  if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET, HEAD");
  soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC,
                                    "Only GET and HEAD are served.\n", 30);
  return FALSE;
}

static void
metrics_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  VnmMetricsHttp *http = user_data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  g_autoptr(GString) body = NULL;
  g_autoptr(GBytes) gz = NULL;

  if (!method_allowed (msg))
    return;
  body = http->render (http->user_data);
  if (soup_message_headers_header_contains (req, "Accept-Encoding", "gzip") &&
      (gz = gzip_bytes (body->str, body->len)))
    {
      gsize len;
      gconstpointer data = g_bytes_get_data (gz, &len);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Content-Encoding", "gzip");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, VNM_PROM_CONTENT_TYPE, SOUP_MEMORY_COPY, data, len);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  {
    gsize len = body->len;
    soup_server_message_set_response (msg, VNM_PROM_CONTENT_TYPE, SOUP_MEMORY_TAKE,
                                      g_string_free (g_steal_pointer (&body), FALSE), len);
  }
}

static void
other_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
          gpointer user_data)
{
  static const gchar index_html[] =
    "<!DOCTYPE html>\n<html><head><title>virtnetmond</title></head><body>\n"
    "<h1>virtnetmond</h1>\n<p>Per-VM network metrics for Prometheus: "
    "<a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";

  if (!method_allowed (msg))
    return;
  if (g_str_equal (path, "/"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_STATIC,
                                        index_html, strlen (index_html));
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC,
                                    "Not found: metrics are at /metrics.\n", 36);
}

static gboolean
listen_on (SoupServer *server, const gchar *listen, GError **error)
{
  g_autofree gchar *host = NULL;
  g_autoptr(GError) local = NULL;
  GList *addresses = NULL;
  gboolean ok = TRUE;
  guint16 port;

  if (!vnm_listen_address_parse (listen, &host, &port, error))
    return FALSE;
  if (!*host)
    ok = soup_server_listen_all (server, port, 0, &local);
  else if (g_hostname_is_ip_address (host))
    addresses = g_list_prepend (NULL, g_inet_address_new_from_string (host));
  else
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();
      addresses = g_resolver_lookup_by_name (resolver, host, NULL, &local);
      ok = addresses != NULL;
    }
  for (GList *l = addresses; ok && l; l = l->next)
    {
      g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (l->data, port);
      ok = soup_server_listen (server, sa, 0, &local);
    }
  g_list_free_full (addresses, g_object_unref);
  if (!ok)
    g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED, _("Cannot serve metrics on %s: %s"),
                 listen, local->message);
  return ok;
}

VnmMetricsHttp *
vnm_metrics_http_new (const gchar *listen, VnmMetricsRenderFunc render, gpointer user_data,
                      GError **error)
{
  g_autoptr(VnmMetricsHttp) http = g_new0 (VnmMetricsHttp, 1);

  http->render = render;
  http->user_data = user_data;
  http->server = soup_server_new ("server-header", "virtnetmond/" PACKAGE_VERSION " ", NULL);
  soup_server_add_handler (http->server, "/metrics", metrics_cb, http, NULL);
  soup_server_add_handler (http->server, NULL, other_cb, http, NULL);
  if (!listen_on (http->server, listen, error))
    return NULL;
  return g_steal_pointer (&http);
}

void
vnm_metrics_http_free (VnmMetricsHttp *http)
{
  if (!http)
    return;
  if (http->server)
    {
      soup_server_disconnect (http->server);
      g_object_unref (http->server);
    }
  g_free (http);
}

gchar *
vnm_metrics_http_describe (VnmMetricsHttp *http)
{
  GSList *uris = soup_server_get_uris (http->server);
  GString *s = g_string_new (NULL);

  for (GSList *l = uris; l; l = l->next)
    {
      g_autofree gchar *u = g_uri_to_string (l->data);
      g_string_append_printf (s, "%s%smetrics", s->len ? ", " : "", u);
    }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return g_string_free (s, FALSE);
}
