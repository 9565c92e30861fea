/* fuzz-spec.c — libFuzzer target for the model spec parser: any bytes must
 * parse or be refused with an error, never crash; what parses must print
 * and parse again, and compiling it against the demo shapes must either
 * succeed or give an error. */
#include <stdlib.h>

#include "graph/weft-graph.h"
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

  /* Shape inference over every block's rule: errors, never crashes. */
  WeftBinding binding;
  weft_binding_init_default (&binding);
  WeftGraph *g = weft_graph_compile (spec, &binding, &error);
  if (g == NULL)
    {
      if (error == NULL || error->domain != WEFT_ERROR)
        abort ();
      g_error_free (error);
    }
  else
    {
      (void) weft_graph_param_count (g);
      (void) weft_graph_flops (g);
      weft_graph_free (g);
    }
  weft_spec_free (spec);
  return 0;
}
