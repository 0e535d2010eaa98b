/* metrics.h: the engine's state as Prometheus metrics — interface counters
 * per VM, the flow probe's TCP health, daemon health — rendered in the text
 * exposition format for the /metrics endpoint. */
#pragma once

#include <glib.h>

#include "engine.h"
#include "ipfix-exporter.h"

/* The whole /metrics body, as of the last sample; with @ipfix (NULL: no
 * IPFIX export), its export statistics too. */
/* @peers: remote peers of each VM in virtnetmon_vm_peer_bytes_total. */
GString *vnm_metrics_render (VnmEngine *engine, VnmIpfixExporter *ipfix, guint peers);
