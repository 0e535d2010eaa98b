/* history-recorder.h: what goes into the rate history at each refresh —
 * every host interface in the view ifstat shows it (the guest's view for
 * VM interfaces) and every running domain as the sum of its interfaces —
 * and which series a client's target names. Glue between the daemon's
 * state and the pure history module; pure itself.
 *
 * A VM with one interface records the very values of that interface (the
 * sum of one) right after it, so the history module holds their
 * unfinished parts and their blocks once, shared; nothing here names the
 * pair. A VM that gains a second interface
 * records the sum from then on and its blocks become its own; one that
 * loses it (or whose interface is replaced) likewise; the blocks shared
 * before stay with both series as they were. A tap name reused by another
 * VM shares nothing with the first VM's series, whose blocks hold its own
 * values. */
#pragma once

#include <glib.h>

#include "history.h"
#include "link-table.h"
#include "registry.h"

/* Records the rates of the refresh just done at @now_s (Unix seconds),
 * which cover the @dt_s seconds since the one before, and drops series
 * silent for 48 hours. */
void vnm_history_recorder_feed (VnmHistory *history, VnmLinkTable *links, VnmRegistry *registry,
                                gdouble now_s, gdouble dt_s);

/* The series of @target: a running domain's (name, id or uuid), else a
 * host interface's that has history. NULL when neither. */
gchar *vnm_history_recorder_series (VnmHistory *history, VnmRegistry *registry, const gchar *target);
