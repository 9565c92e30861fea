/* weft-safetensors.h — checkpoints in the safetensors layout (Hugging Face),
 * read without trusting a single byte of the file and written atomically.
 *
 * File structure, in order:
 *
 *  1. Header length N: 8 bytes, unsigned 64-bit little-endian.
 *     Weft refuses N larger than the rest of the file or than 100 MB.
 *
 *  2. Header: N bytes of UTF-8 JSON, one object. Weft pads it with spaces
 *     (legal JSON whitespace) so that N is a multiple of 8 and the data
 *     starts 8-byte aligned. Members:
 *       "__metadata__": {"key": "value", ...}   optional; values are strings
 *       "<tensor name>": {
 *           "dtype":        "F32",               see below
 *           "shape":        [3, 4],              whole numbers >= 0; [] is a
 *                                                scalar
 *           "data_offsets": [begin, end]         bytes, relative to the start
 *                                                of the data (step 3), end
 *                                                excluded
 *       }, ...
 *     Names are unique, and unknown members inside a tensor entry are
 *     ignored (as the reference library does).
 *
 *  3. Data: the rest of the file. Each tensor's elements are stored
 *     row-major, little-endian, at [begin, end) with
 *     end - begin = product (shape) × size (dtype). Tensors never overlap.
 *     Holes between tensors and bytes after the last one are tolerated on
 *     reading (the reference library rejects them); Weft never writes them.
 *
 * Data types: Weft writes F32 only. It reads F32, F16, BF16, F64 and the
 * integer types I8, I16, I32, I64, U8, U16, U32, U64 and BOOL, converting
 * every element to float (integers beyond 2^24 lose precision). Anything
 * else (F8_*, complex, …) is refused with an error naming the type.
 *
 * Writing sorts tensors by name (what the Python library does for tensors of
 * one dtype), lays them out back to back, writes metadata keys sorted, and
 * replaces the destination atomically (temporary file in the same directory,
 * fsync, rename), so a crash mid-save never leaves half a checkpoint.
 *
 * Every problem with a file is a WEFT_ERROR_CHECKPOINT GError whose message
 * starts with the file's name and says what is wrong in plain words.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WEFT_SAFETENSORS_MAX_DIMS   8
#define WEFT_SAFETENSORS_MAX_HEADER (100 * 1000 * 1000)

typedef struct {
  char *name;
  int ndim;                                  /* 0 (scalar) .. 8 */
  gint64 shape[WEFT_SAFETENSORS_MAX_DIMS];
  float *data;                               /* (shape...) row-major; NULL when n == 0 */
  gsize n;                                   /* number of elements */
} WeftSafeTensor;

typedef struct _WeftSafetensors WeftSafetensors;

WeftSafetensors *weft_safetensors_new (void);
void weft_safetensors_free (WeftSafetensors *st);

/* Copies name, shape and data. A tensor of the same name is replaced. */
void weft_safetensors_add (WeftSafetensors *st,
                           const char      *name,
                           int              ndim,
                           const gint64    *shape,
                           const float     *data);
/* Copies key and value (both UTF-8); a NULL value removes the key. */
void weft_safetensors_set_metadata (WeftSafetensors *st,
                                    const char      *key,
                                    const char      *value);
/* Borrowed; NULL when absent. */
const char *weft_safetensors_get_metadata (const WeftSafetensors *st,
                                           const char            *key);
/* The metadata keys, sorted (caller frees with g_strfreev). */
GStrv weft_safetensors_dup_metadata_keys (const WeftSafetensors *st);

/* Borrowed; NULL when absent. Valid until the tensor is replaced or st is
 * freed. */
const WeftSafeTensor *weft_safetensors_lookup (const WeftSafetensors *st,
                                               const char            *name);
guint weft_safetensors_get_n_tensors (const WeftSafetensors *st);
/* Loaded tensors come in the order of their data in the file, added ones in
 * the order they were added. Borrowed. */
const WeftSafeTensor *weft_safetensors_get_nth (const WeftSafetensors *st,
                                                guint                  i);

/* The whole file as it would be saved (caller owns). */
GBytes *weft_safetensors_to_bytes (const WeftSafetensors *st);
gboolean weft_safetensors_save (const WeftSafetensors *st,
                                const char            *path,
                                GError               **error);

/* Both return a new container (caller frees) or NULL with error set.
 * display_name starts every error message. */
WeftSafetensors *weft_safetensors_load (const char *path,
                                        GError    **error);
WeftSafetensors *weft_safetensors_load_from_data (const guint8 *data,
                                                  gsize         len,
                                                  const char   *display_name,
                                                  GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSafetensors, weft_safetensors_free)

G_END_DECLS
