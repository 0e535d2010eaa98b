/* vnm-json.h: JSON text from GVariant, for `--json` output. D-Bus records
 * (a{sv}, aa{sv}) map one to one onto JSON objects and arrays. */
#pragma once

#include <glib.h>

/* Appends @value as JSON to @out. Dictionaries with string keys become
 * objects, other arrays and tuples become arrays, variants are unwrapped,
 * non-finite doubles become null. */
void vnm_json_append_variant (GString *out, GVariant *value, guint indent);

/* Returns @value as a pretty-printed JSON document ending in a newline. */
gchar *vnm_json_from_variant (GVariant *value);

/* Appends @str as a JSON string literal (quoted and escaped). */
void vnm_json_append_string (GString *out, const gchar *str);
