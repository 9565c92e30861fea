/* weft-json.c — JSON text out of json-glib, repaired (json-glib appends
 * ".0" to every double whose shortest form has no '.', exponents included),
 * and a lenient number getter for run records. */

#include "weft-json.h"

#include <math.h>
#include <string.h>

gsize
weft_json_repair_numbers (char *text, gsize length)
{
  gsize r = 0, w = 0;
  gboolean in_string = FALSE;

  while (r < length)
    {
      char c = text[r];

      if (in_string)
        {
          text[w++] = text[r++];
          if (c == '\\' && r < length)
            text[w++] = text[r++];
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        {
          in_string = TRUE;
          text[w++] = text[r++];
          continue;
        }
      if (c == '-' || g_ascii_isdigit (c))
        {
          /* One number token: copy it, dropping a ".0" that follows an
           * exponent (never valid JSON, only json-glib writes it). */
          gboolean exponent = FALSE;

          while (r < length && (g_ascii_isdigit (text[r]) || strchr ("+-.eE", text[r]) != NULL))
            {
              if (text[r] == 'e' || text[r] == 'E')
                exponent = TRUE;
              else if (exponent && text[r] == '.')
                {
                  r++;
                  while (r < length && g_ascii_isdigit (text[r]))
                    r++;
                  continue;
                }
              text[w++] = text[r++];
            }
          continue;
        }
      text[w++] = text[r++];
    }
  if (w < length)
    text[w] = '\0';
  return w;
}

char *
weft_json_to_data (JsonNode *root, gboolean pretty, gsize *length)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  gsize len = 0;
  char *text;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  text = json_generator_to_data (gen, &len);
  len = weft_json_repair_numbers (text, len);
  if (length != NULL)
    *length = len;
  return text;
}

double
weft_json_get_double (JsonObject *o,
                      const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  return json_node_get_double (n);
}
