/* metrics-http.h: the Prometheus endpoint — an HTTP server (libsoup-3) on the
 * daemon's main loop that answers GET /metrics with what a render function
 * returns, gzip-compressed when the scraper accepts it. */
#pragma once

#include <glib.h>

typedef GString *(*VnmMetricsRenderFunc) (gpointer user_data);

typedef struct _VnmMetricsHttp VnmMetricsHttp;

/* Listens on @listen (see vnm_listen_address_parse) at once; fails when the address cannot be
 * bound, naming it. */
VnmMetricsHttp *vnm_metrics_http_new (const gchar *listen, VnmMetricsRenderFunc render,
                                      gpointer user_data, GError **error);
void vnm_metrics_http_free (VnmMetricsHttp *http);
/* The URLs it listens on, for the log ("http://127.0.0.1:9101/metrics"). */
gchar *vnm_metrics_http_describe (VnmMetricsHttp *http);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmMetricsHttp, vnm_metrics_http_free)
