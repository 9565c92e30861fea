/* weft-json.h — JSON text out of json-glib, repaired: json-glib 1.6 writes
 * a double such as 1e-08 as "1e-08.0", which no JSON reader accepts. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Like json_generator_to_data on @root, with every number token that
 * json-glib spoilt ("1e-08.0") written back as valid JSON ("1e-08");
 * strings are left untouched. Caller frees; *length (may be NULL) gets
 * the length without the terminator. */
char *weft_json_to_data (JsonNode *root, gboolean pretty, gsize *length);

/* Repairs such text in place (exposed for the test); returns the new
 * length. */
gsize weft_json_repair_numbers (char *text, gsize length);

/* The number @name of @o (which may be NULL), or NaN when it is missing or
 * not a number: run records leave out metrics they do not have. */
double weft_json_get_double (JsonObject *o, const char *name);

G_END_DECLS
