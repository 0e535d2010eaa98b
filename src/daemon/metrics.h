/* metrics.h: the engine's state as Prometheus metrics — interface counters
 * per VM, the flow probe's TCP health, daemon health — rendered in the text
 * exposition format for the /metrics endpoint. */
#pragma once

#include <glib.h>

#include "engine.h"

/* The whole /metrics body, as of the last sample. */
GString *vnm_metrics_render (VnmEngine *engine);
