/* fuzz-spec.c — libFuzzer target for the model spec parser: any bytes must
 * parse or be refused with an error, never crash; what parses must print
 * and parse again. */
#include <stdlib.h>

#include "graph/weft-spec.h"
#include "weft-error.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  WeftSpec *spec = weft_spec_parse_data ((const char *) data, (gssize) size, &error);

  if (spec == NULL)
    {
      if (error == NULL || error->domain != WEFT_ERROR || !g_utf8_validate (error->message, -1, NULL))
        abort ();
      g_error_free (error);
      return 0;
    }
  if (error != NULL)
    abort ();

  /* A spec Weft accepted must survive its own writer. */
  char *text = weft_spec_to_string (spec);
  WeftSpec *back = weft_spec_parse_data (text, -1, &error);
  if (back == NULL)
    abort ();
  weft_spec_free (back);
  g_free (text);
  weft_spec_free (spec);
  return 0;
}
