/* config-file.h: defaults from a key file (the command line wins):
 *
 *   [daemon]
 *   connect=qemu:///system
 *   interval=1
 *   metrics-listen=127.0.0.1:9477
 *   latency-sampling=yes
 *   ipfix-collector=collector.example:4739,udp
 *   ipfix-active-timeout=60
 *   ipfix-observation-domain=1
 *   usage-db=/var/lib/virtnetmon/usage.db
 *   usage-flush-interval=60
 *
 *   [domains]            what applies where a domain's <metadata> is silent
 *   monitoring=yes
 *   latency=no
 *   latency-threshold-us=1000
 *   flow-table-size=32768
 *   usage-quota-bytes=0
 */
#pragma once

#include <glib.h>

#include "domain-xml.h"

typedef struct {
  gchar *uri;               /* [daemon] connect, or NULL */
  gdouble interval;         /* [daemon] interval, when has_interval */
  gboolean has_interval;
  gchar *metrics_listen;    /* [daemon] metrics-listen, or NULL */
  gint latency_sampling;    /* [daemon] latency-sampling: 1, 0, or -1 when silent */
  gchar *ipfix_collector;   /* [daemon] ipfix-collector, or NULL */
  gint64 ipfix_active_timeout;      /* [daemon] ipfix-active-timeout, -1 when silent */
  gint64 ipfix_observation_domain;  /* [daemon] ipfix-observation-domain, -1 when silent */
  gchar *usage_db;          /* [daemon] usage-db, or NULL ("" for none) */
  gint usage_flush_interval_s; /* [daemon] usage-flush-interval, 0 when absent */
  VnmDomainSettings domains; /* [domains]; -1 where the file is silent */
} VnmConfig;

/* Reads @path into @out (zeroed first). Fails naming the file, the section
 * and the key on an unknown key or a bad value (out of its bounds, or not
 * UTF-8); @out holds nothing to clear then. */
gboolean vnm_config_load (const gchar *path, VnmConfig *out, GError **error);
void vnm_config_clear (VnmConfig *config);
