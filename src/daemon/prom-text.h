/* prom-text.h: writing the Prometheus text exposition format (version
 * 0.0.4): metric families (# HELP, # TYPE) followed by their samples, label
 * values and help text escaped as the format requires. Pure: GString in,
 * GString out. */
#pragma once

#include <glib.h>

#define VNM_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends `key="value"` to @labels, after a comma when @labels is not
 * empty. The value is escaped (\\, \", \n) and made valid UTF-8. */
void vnm_prom_label (GString *labels, const gchar *key, const gchar *value);

/* Starts the family @name: "# HELP" and "# TYPE" lines. @type is counter,
 * gauge, histogram, summary or untyped. All samples of a family must follow
 * it before the next family starts. */
void vnm_prom_family (GString *out, const gchar *name, const gchar *type, const gchar *help);

/* One sample line. @labels is what vnm_prom_label built ("" or NULL for
 * none); @extra one more label already formatted (`le="0.5"`), or NULL. */
void vnm_prom_sample_u64 (GString *out, const gchar *name, const gchar *labels,
                          const gchar *extra, guint64 value);
void vnm_prom_sample_double (GString *out, const gchar *name, const gchar *labels,
                             const gchar *extra, gdouble value);

/* Appends @value in decimal (no printf: the scrape writes many). */
void vnm_prom_append_u64 (GString *out, guint64 value);

/* One histogram: "name_bucket" samples for each of the @n_bounds upper
 * bounds (@le: their text, in increasing order; @cumulative: the
 * observations at or below each), one with le="+Inf" (@count), then
 * "name_sum" (@sum) and "name_count" (@count). @labels as for samples;
 * the family (type histogram) must have been started. */
void vnm_prom_histogram (GString *out, const gchar *name, const gchar *labels,
                         const gchar *const *le, const guint64 *cumulative, guint n_bounds,
                         gdouble sum, guint64 count);

/* Whether @name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
gboolean vnm_prom_valid_name (const gchar *name);
