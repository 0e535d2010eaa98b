/* vnm-limits.h: every bound on what a person or a client may ask for,
 * defined once and shared by the daemon's command line, virtnetmond.conf,
 * the domain XML settings, the D-Bus argument checks and the CLI. */
#pragma once

/* Sampling interval, seconds (virtnetmond --interval, top --interval). */
#define VNM_INTERVAL_MIN_S 0.1
#define VNM_INTERVAL_MAX_S 3600.0
#define VNM_INTERVAL_DEFAULT_S 1.0

/* Flow table entries (--flow-table-size, a domain's flow_table_size). */
#define VNM_FLOW_TABLE_MIN 16
#define VNM_FLOW_TABLE_MAX (4 * 1024 * 1024)
#define VNM_FLOW_TABLE_DEFAULT 32768

/* Seconds after which an idle flow ends (--flow-idle-timeout). */
#define VNM_FLOW_IDLE_TIMEOUT_MIN_S 1
#define VNM_FLOW_IDLE_TIMEOUT_MAX_S 86400
#define VNM_FLOW_IDLE_TIMEOUT_DEFAULT_S 60

/* IPFIX export (--ipfix-active-timeout, --ipfix-observation-domain): a
 * long-lived flow's counts are exported every active timeout; templates
 * are sent again over UDP every refresh period or that many messages
 * (RFC 7011 §8.4). */
/* virtnetmon_vm_peer_bytes_total: peers a VM on /metrics, at most. */
#define VNM_METRICS_PEERS_MIN 0
#define VNM_METRICS_PEERS_MAX 100
#define VNM_METRICS_PEERS_DEFAULT 10
#define VNM_IPFIX_ACTIVE_TIMEOUT_MIN_S 1
#define VNM_IPFIX_ACTIVE_TIMEOUT_MAX_S 86400
#define VNM_IPFIX_ACTIVE_TIMEOUT_DEFAULT_S 60
#define VNM_IPFIX_DOMAIN_MIN 1
#define VNM_IPFIX_DOMAIN_MAX 4294967295LL
#define VNM_IPFIX_DOMAIN_DEFAULT 1
#define VNM_IPFIX_TEMPLATE_REFRESH_S 60
#define VNM_IPFIX_TEMPLATE_REFRESH_MESSAGES 1000

/* Slow-packet threshold of latency tracing, microseconds. */
#define VNM_LATENCY_THRESHOLD_MAX_US 60000000
#define VNM_LATENCY_THRESHOLD_DEFAULT_US 1000

/* VM netdevs with latency histograms at once (--latency-devices). */
#define VNM_LATENCY_DEVICES_MIN 1
#define VNM_LATENCY_DEVICES_MAX 65536
#define VNM_LATENCY_DEVICES_DEFAULT 128

/* Sampled latency tracing (--latency-sample-window, --latency-sample-period):
 * the path programs attached for a window of milliseconds every period of
 * seconds. */
#define VNM_LATENCY_SAMPLE_WINDOW_MIN_MS 10
#define VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS 100
#define VNM_LATENCY_SAMPLE_PERIOD_MIN_S 1
#define VNM_LATENCY_SAMPLE_PERIOD_MAX_S 3600
#define VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S 2

/* Slow-packet events passed to clients a second (--latency-events-rate). */
#define VNM_LATENCY_EVENTS_RATE_MIN 1
#define VNM_LATENCY_EVENTS_RATE_MAX 1000000
#define VNM_LATENCY_EVENTS_RATE_DEFAULT 1000

/* A domain's monthly usage quota, bytes (0: none). */
#define VNM_USAGE_QUOTA_MAX 1000000000000000000LL

/* How often the usage totals are written to their database, seconds
 * (virtnetmond --usage-flush-interval). */
#define VNM_USAGE_FLUSH_MIN_S 1
#define VNM_USAGE_FLUSH_MAX_S 86400
#define VNM_USAGE_FLUSH_DEFAULT_S 60

/* TCP and UDP ports. */
#define VNM_PORT_MAX 65535

/* Longest string argument (domain, interface, filter) a client may send. */
#define VNM_ARG_MAX_LEN 256
