/* fuzz-safetensors.c — libFuzzer target for the checkpoint reader: any
 * bytes must load or be refused with an error, never crash, and whatever
 * loads must survive a save/load round trip unchanged. */
#include <stdlib.h>
#include <string.h>

#include "graph/weft-safetensors.h"
#include "weft-error.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_same (const WeftSafetensors *a, const WeftSafetensors *b)
{
  g_auto(GStrv) ka = weft_safetensors_dup_metadata_keys (a);
  g_auto(GStrv) kb = weft_safetensors_dup_metadata_keys (b);

  if (weft_safetensors_get_n_tensors (a) != weft_safetensors_get_n_tensors (b) ||
      !g_strv_equal ((const char *const *) ka, (const char *const *) kb))
    abort ();
  for (guint i = 0; ka[i]; i++)
    if (g_strcmp0 (weft_safetensors_get_metadata (a, ka[i]), weft_safetensors_get_metadata (b, ka[i])) != 0)
      abort ();
  for (guint i = 0; i < weft_safetensors_get_n_tensors (a); i++)
    {
      const WeftSafeTensor *ta = weft_safetensors_get_nth (a, i);
      const WeftSafeTensor *tb = weft_safetensors_lookup (b, ta->name);
      if (tb == NULL || ta->ndim != tb->ndim || ta->n != tb->n ||
          memcmp (ta->shape, tb->shape, ta->ndim * sizeof (gint64)) != 0 ||
          (ta->n > 0 && memcmp (ta->data, tb->data, ta->n * sizeof (float)) != 0))
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  WeftSafetensors *st = weft_safetensors_load_from_data (data, size, "fuzz.safetensors", &error);

  if (st == NULL)
    {
      /* Refusal is fine, but it must come with a proper message. */
      if (error == NULL || !g_error_matches (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT) ||
          !g_str_has_prefix (error->message, "fuzz.safetensors: ") ||
          !g_utf8_validate (error->message, -1, NULL))
        abort ();
      g_error_free (error);
      return 0;
    }
  if (error != NULL)
    abort ();

  /* What Weft accepts, Weft writes back in canonical form, which it must
   * read to the same tensors, and which must be a fixed point. */
  GBytes *bytes = weft_safetensors_to_bytes (st);
  gsize len;
  const guint8 *again = g_bytes_get_data (bytes, &len);
  WeftSafetensors *back = weft_safetensors_load_from_data (again, len, "round-trip", &error);
  if (back == NULL)
    abort ();
  check_same (st, back);
  check_same (back, st);
  GBytes *bytes2 = weft_safetensors_to_bytes (back);
  if (!g_bytes_equal (bytes, bytes2))
    abort ();

  g_bytes_unref (bytes2);
  g_bytes_unref (bytes);
  weft_safetensors_free (back);
  weft_safetensors_free (st);
  return 0;
}
