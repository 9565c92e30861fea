/* test-safetensors.c — checkpoints survive a round trip bit for bit, every
 * kind of damaged file is refused with a message naming the problem, and
 * files are read and written the way Python (json/struct/numpy) sees them. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "graph/weft-safetensors.h"
#include "weft-error.h"

/* A file from a header text and raw data; header_len lets a test lie. */
static GBytes *
make_file_full (const char *header, guint64 header_len, const void *data, gsize data_len)
{
  GByteArray *b = g_byte_array_new ();
  guint64 le = GUINT64_TO_LE (header_len);

  g_byte_array_append (b, (const guint8 *) &le, 8);
  g_byte_array_append (b, (const guint8 *) header, strlen (header));
  if (data_len)
    g_byte_array_append (b, data, data_len);
  return g_byte_array_free_to_bytes (b);
}

static GBytes *
make_file (const char *header, const void *data, gsize data_len)
{
  return make_file_full (header, strlen (header), data, data_len);
}

/* Loading must fail with a checkpoint error that starts with the display
 * name and contains `needle`. */
static void
assert_refused_len (const guint8 *data, gsize len, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftSafetensors) st = weft_safetensors_load_from_data (data, len, "model.safetensors", &error);

  g_assert_null (st);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
  g_assert_true (g_str_has_prefix (error->message, "model.safetensors: "));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in the message \"%s\"", needle, error->message);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
assert_refused (GBytes *file, const char *needle)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);
  assert_refused_len (data, len, needle);
}

static void
assert_header_refused (const char *header, gsize data_len, const char *needle)
{
  g_autofree guint8 *zeros = g_malloc0 (MAX (data_len, 1));
  g_autoptr(GBytes) file = make_file (header, zeros, data_len);
  assert_refused (file, needle);
}

static WeftSafetensors *
load_bytes (GBytes *file)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);
  WeftSafetensors *st = weft_safetensors_load_from_data (data, len, "test", &error);

  g_assert_no_error (error);
  g_assert_nonnull (st);
  return st;
}

static float
float_from_bits (guint32 bits)
{
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

static gboolean
tensors_identical (const WeftSafeTensor *a, const WeftSafeTensor *b)
{
  if (strcmp (a->name, b->name) != 0 || a->ndim != b->ndim || a->n != b->n)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return a->n == 0 || memcmp (a->data, b->data, a->n * sizeof (float)) == 0;
}

/* Awkward values on purpose: signed zero, infinities, NaN payloads,
 * subnormals; a scalar, an empty tensor and eight dimensions. */
static WeftSafetensors *
make_sample (void)
{
  WeftSafetensors *st = weft_safetensors_new ();
  float w[12], special[8], s = 3.25f;
  float deep[2 * 1 * 2 * 1 * 1 * 2 * 1 * 2];
  const gint64 w_shape[] = { 3, 4 }, sp_shape[] = { 8 }, empty_shape[] = { 0, 3 };
  const gint64 deep_shape[] = { 2, 1, 2, 1, 1, 2, 1, 2 };

  for (int i = 0; i < 12; i++)
    w[i] = (i - 5) / 4.0f;
  special[0] = -0.0f;
  special[1] = INFINITY;
  special[2] = -INFINITY;
  special[3] = float_from_bits (0x7fc01234);   /* quiet NaN with a payload */
  special[4] = float_from_bits (0xffa00001);   /* signalling NaN, negative */
  special[5] = float_from_bits (0x00000001);   /* smallest subnormal */
  special[6] = FLT_MAX;
  special[7] = 1e-30f;
  for (guint i = 0; i < G_N_ELEMENTS (deep); i++)
    deep[i] = sinf ((float) i);

  /* Added out of name order: the writer sorts. */
  weft_safetensors_add (st, "enc.weight", 2, w_shape, w);
  weft_safetensors_add (st, "special", 1, sp_shape, special);
  weft_safetensors_add (st, "a.scale", 0, NULL, &s);
  weft_safetensors_add (st, "empty", 2, empty_shape, NULL);
  weft_safetensors_add (st, "deep.ünïcode \"quoted\"\\", 8, deep_shape, deep);
  weft_safetensors_set_metadata (st, "format", "pt");
  weft_safetensors_set_metadata (st, "note", "café ☕ 日本語 🧵 \"quotes\" \\ back\nslash\ttab\x01");
  weft_safetensors_set_metadata (st, "ключ", "значение");
  weft_safetensors_set_metadata (st, "empty", "");
  return st;
}

static void
assert_same (const WeftSafetensors *a, const WeftSafetensors *b)
{
  g_auto(GStrv) ka = weft_safetensors_dup_metadata_keys (a);
  g_auto(GStrv) kb = weft_safetensors_dup_metadata_keys (b);

  g_assert_cmpuint (weft_safetensors_get_n_tensors (a), ==, weft_safetensors_get_n_tensors (b));
  for (guint i = 0; i < weft_safetensors_get_n_tensors (a); i++)
    {
      const WeftSafeTensor *ta = weft_safetensors_get_nth (a, i);
      const WeftSafeTensor *tb = weft_safetensors_lookup (b, ta->name);
      g_assert_nonnull (tb);
      g_assert_true (tensors_identical (ta, tb));
    }
  g_assert_true (g_strv_equal ((const char *const *) ka, (const char *const *) kb));
  for (guint i = 0; ka[i]; i++)
    g_assert_cmpstr (weft_safetensors_get_metadata (a, ka[i]), ==,
                     weft_safetensors_get_metadata (b, ka[i]));
}

static char *
make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("weft-st-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
rm_tmpdir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(WeftSafetensors) st = make_sample ();

  /* Saving twice replaces the file and leaves no temporary behind. */
  g_assert_true (weft_safetensors_save (st, path, &error));
  g_assert_no_error (error);
  g_assert_true (weft_safetensors_save (st, path, &error));
  g_assert_no_error (error);
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n_files = 0;
  while (g_dir_read_name (d))
    n_files++;
  g_dir_close (d);
  g_assert_cmpuint (n_files, ==, 1);

  g_autoptr(WeftSafetensors) back = weft_safetensors_load (path, &error);
  g_assert_no_error (error);
  assert_same (st, back);
  assert_same (back, st);
  g_assert_null (weft_safetensors_lookup (back, "missing"));
  g_assert_null (weft_safetensors_get_metadata (back, "missing"));
  g_assert_cmpstr (weft_safetensors_get_metadata (back, "ключ"), ==, "значение");

  const WeftSafeTensor *e = weft_safetensors_lookup (back, "empty");
  g_assert_cmpuint (e->n, ==, 0);
  g_assert_null (e->data);
  const WeftSafeTensor *sc = weft_safetensors_lookup (back, "a.scale");
  g_assert_cmpint (sc->ndim, ==, 0);
  g_assert_cmpuint (sc->n, ==, 1);

  /* The file on disk is exactly to_bytes; saving what was loaded gives the
   * same bytes again. */
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_autoptr(GBytes) mem = weft_safetensors_to_bytes (st);
  g_autoptr(GBytes) mem2 = weft_safetensors_to_bytes (back);
  g_assert_cmpmem (contents, len, g_bytes_get_data (mem, NULL), g_bytes_get_size (mem));
  g_assert_true (g_bytes_equal (mem, mem2));

  /* Header: padded with spaces to a multiple of 8, tensors by name. */
  guint64 n;
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint (n % 8, ==, 0);
  g_assert_cmpuint (8 + n, <=, len);
  g_autofree char *header = g_strndup (contents + 8, n);
  g_assert_true (g_str_has_prefix (header, "{\"__metadata__\":{"));
  const char *order[] = { "\"a.scale\"", "\"deep.", "\"empty\":{\"dtype\"", "\"enc.weight\"", "\"special\"" };
  const char *prev = header;
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      const char *at = strstr (header, order[i]);
      g_assert_nonnull (at);
      g_assert_true (at > prev);
      prev = at;
    }

  rm_tmpdir (dir);
}

static void
test_replace_and_metadata_api (void)
{
  g_autoptr(WeftSafetensors) st = weft_safetensors_new ();
  const gint64 shape[] = { 2 };
  const float a[] = { 1, 2 }, b[] = { 3, 4 };

  weft_safetensors_add (st, "x", 1, shape, a);
  weft_safetensors_add (st, "y", 1, shape, a);
  weft_safetensors_add (st, "x", 1, shape, b);
  g_assert_cmpuint (weft_safetensors_get_n_tensors (st), ==, 2);
  g_assert_cmpstr (weft_safetensors_get_nth (st, 0)->name, ==, "x");
  g_assert_cmpfloat (weft_safetensors_lookup (st, "x")->data[1], ==, 4);

  weft_safetensors_set_metadata (st, "k", "v");
  weft_safetensors_set_metadata (st, "k", "w");
  g_assert_cmpstr (weft_safetensors_get_metadata (st, "k"), ==, "w");
  weft_safetensors_set_metadata (st, "k", NULL);
  g_assert_null (weft_safetensors_get_metadata (st, "k"));

  /* An empty container is a valid file. */
  g_autoptr(WeftSafetensors) none = weft_safetensors_new ();
  g_autoptr(GBytes) bytes = weft_safetensors_to_bytes (none);
  g_autoptr(WeftSafetensors) back = load_bytes (bytes);
  g_assert_cmpuint (weft_safetensors_get_n_tensors (back), ==, 0);
}

/* Every prefix of a valid file is refused, with the message that fits
 * where it was cut. */
static void
test_truncated_every_length (void)
{
  g_autoptr(WeftSafetensors) st = make_sample ();
  g_autoptr(GBytes) full = weft_safetensors_to_bytes (st);
  gsize len;
  const guint8 *data = g_bytes_get_data (full, &len);
  guint64 n;

  memcpy (&n, data, 8);
  n = GUINT64_FROM_LE (n);
  for (gsize cut = 0; cut < len; cut++)
    {
      /* A copy of exactly `cut` bytes, so that ASan sees any over-read. */
      g_autofree guint8 *prefix = g_memdup2 (data, MAX (cut, 1));
      if (cut < 8)
        assert_refused_len (prefix, cut, "too short");
      else if (cut < 8 + n)
        assert_refused_len (prefix, cut, "is larger than the file");
      else
        {
          g_autofree char *msg = g_strdup_printf ("the file is truncated (header says %" G_GUINT64_FORMAT
                                                  " bytes of data, only %" G_GSIZE_FORMAT " present)",
                                                  (guint64) (len - 8 - n), cut - 8 - (gsize) n);
          assert_refused_len (prefix, cut, msg);
        }
    }
  g_autoptr(WeftSafetensors) whole = load_bytes (full);
  assert_same (st, whole);

  /* The same through a real file cut short. */
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "cut.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) data, len - 3, NULL));
  g_autoptr(WeftSafetensors) none = weft_safetensors_load (path, &error);
  g_assert_null (none);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  g_assert_null (weft_safetensors_load (path, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "too short"));
  rm_tmpdir (dir);
}

static void
test_header_length_lies (void)
{
  const char *h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  float one = 1;

  /* Claims about 9 exabytes. */
  g_autoptr(GBytes) huge = make_file_full (h, G_GUINT64_CONSTANT (9000000000000000000), &one, 4);
  assert_refused (huge, "is larger than the file");
  g_autoptr(GBytes) max = make_file_full (h, G_MAXUINT64, &one, 4);
  assert_refused (max, "is larger than the file");
  /* One byte more than the file holds. */
  g_autoptr(GBytes) plus = make_file_full (h, strlen (h) + 5, &one, 4);
  assert_refused (plus, "is larger than the file");
  /* Too short: the JSON is cut, or the data starts inside it. */
  g_autoptr(GBytes) minus = make_file_full (h, strlen (h) - 1, &one, 4);
  assert_refused (minus, "not valid JSON");
  g_autoptr(GBytes) zero = make_file_full (h, 0, &one, 4);
  assert_refused (zero, "the header is empty");
  /* Too long: the header swallows the data. */
  g_autoptr(GBytes) swallow = make_file_full (h, strlen (h) + 4, &one, 4);
  assert_refused (swallow, NULL);

  /* A header above the 100 MB cap is refused even when the file has it. */
  gsize big = WEFT_SAFETENSORS_MAX_HEADER + 8;
  g_autofree guint8 *buf = g_malloc (8 + big);
  guint64 le = GUINT64_TO_LE ((guint64) big);
  memcpy (buf, &le, 8);
  memset (buf + 8, ' ', big);
  buf[8] = '{';
  buf[9] = '}';
  assert_refused_len (buf, 8 + big, "more than the 100 MB");
  /* Right at the cap it is fine (an empty object padded with spaces). */
  le = GUINT64_TO_LE ((guint64) WEFT_SAFETENSORS_MAX_HEADER);
  memcpy (buf, &le, 8);
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftSafetensors) ok = weft_safetensors_load_from_data (buf, 8 + WEFT_SAFETENSORS_MAX_HEADER,
                                                                   "cap", &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
}

static void
test_offsets_outside (void)
{
  /* A hole before the tensor: not a simple cut, so a bad offset. */
  assert_header_refused ("{\"enc.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 12,
                         "tensor 'enc.weight' has offsets outside the data ([8, 16], but the data is 12 bytes)");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[400,404]}}", 8,
                         "tensor 'b' has offsets outside the data");
  /* Back to back from 0 but the data stops early: a cut file. */
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[0,4096]}}", 1200,
                         "the file is truncated (header says 4096 bytes of data, only 1200 present)");
  /* Offsets near 2^63 must not wrap around. */
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                         "\"data_offsets\":[9223372036854775804,9223372036854775807]}}", 8,
                         "needs 4 bytes but the offsets span 3");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                         "\"data_offsets\":[9223372036854775803,9223372036854775807]}}", 8,
                         "offsets outside the data");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
                         "end before they begin");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8,
                         "two numbers [begin, end]");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
                         "two numbers [begin, end]");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                         "whole numbers of 0 or more, found -4");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0,4\"}}", 8,
                         "two numbers [begin, end]");
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "no data offsets");
}

static void
test_overlap (void)
{
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
                         "tensors 'a' and 'b' overlap in the data");
  assert_header_refused ("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                         "overlap in the data");
  /* One inside another. */
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 16,
                         "overlap in the data");

  /* Empty tensors share no bytes; holes and trailing bytes are tolerated. */
  float v[4] = { 1, 2, 3, 4 };
  g_autoptr(GBytes) f = make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                                   "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
                                   v, sizeof v);
  g_autoptr(WeftSafetensors) st = load_bytes (f);
  g_assert_cmpfloat (weft_safetensors_lookup (st, "a")->data[0], ==, 2);
  g_assert_cmpfloat (weft_safetensors_lookup (st, "b")->data[0], ==, 4);
  g_assert_cmpuint (weft_safetensors_lookup (st, "e")->n, ==, 0);
}

static void
test_shape_mismatch (void)
{
  assert_header_refused ("{\"enc.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,40]}}", 48,
                         "tensor 'enc.weight': shape [3, 4] of F32 needs 48 bytes but the offsets span 40");
  assert_header_refused ("{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12,
                         "shape [3] of F16 needs 6 bytes but the offsets span 12");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}}", 4,
                         "shape [] of F32 needs 4 bytes but the offsets span 0");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,4]}}", 4,
                         "needs 0 bytes");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "has no shape");
}

static void
test_bad_dims (void)
{
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[-3,4],\"data_offsets\":[0,4]}}", 4,
                         "tensor 'w': the shape sizes must be whole numbers of 0 or more, found -3");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                         "found 1.5");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e3],\"data_offsets\":[0,4]}}", 4,
                         "found 1e3");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}", 4,
                         "absurdly large");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,4]}}", 4,
                         "absurdly large");
  /* Each size fits, the product does not: the multiplication must not wrap
   * (2^32 · 2^32 · 4 bytes would wrap to 0 and match [0, 0]). */
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 4,
                         "absurd shape [4294967296, 4294967296]");
  assert_header_refused ("{\"w\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807,2],\"data_offsets\":[0,0]}}", 4,
                         "absurd shape");
  /* ...but a zero anywhere makes it empty, as in numpy. */
  g_autoptr(GBytes) f = make_file ("{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,0],\"data_offsets\":[0,0]}}",
                                   NULL, 0);
  g_autoptr(WeftSafetensors) st = load_bytes (f);
  g_assert_cmpuint (weft_safetensors_lookup (st, "w")->n, ==, 0);

  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                         "more than 8 dimensions");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":\"3x4\",\"data_offsets\":[0,4]}}", 4,
                         "the shape must be a list of sizes");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"3\"],\"data_offsets\":[0,4]}}", 4,
                         "expected a number");
}

static void
test_bad_dtype (void)
{
  assert_header_refused ("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
                         "tensor 'w' has data type 'F8_E4M3', which Weft cannot read");
  assert_header_refused ("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                         "data type 'f32'");
  assert_header_refused ("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                         "the data type must be text");
  assert_header_refused ("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "has no data type");
  assert_header_refused ("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                         "two data types");
}

/* Appends one value of `size` bytes in little-endian order. */
static void
append_le (GByteArray *d, const void *v, gsize size)
{
  guint8 tmp[8];

  memcpy (tmp, v, size);
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    for (gsize i = 0; i < size / 2; i++)
      {
        guint8 t = tmp[i];
        tmp[i] = tmp[size - 1 - i];
        tmp[size - 1 - i] = t;
      }
  g_byte_array_append (d, tmp, size);
}

/* The other data types arrive as floats. */
static void
test_dtypes_convert (void)
{
  /* F16: 1, -2, 65504, smallest subnormal 2^-24, inf. */
  const guint16 f16[] = { 0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00 };
  /* BF16: 1, -2.5 */
  const guint16 bf16[] = { 0x3f80, 0xc020 };
  const double f64[] = { 0.1, -1e300 };
  const gint64 i64[] = { -5, G_GINT64_CONSTANT (1) << 40 };
  const guint8 u8[] = { 0, 255 };
  const gint8 i8[] = { -128, 127 };
  const guint8 b[] = { 0, 7 };
  GByteArray *d = g_byte_array_new ();

#define PUT(arr) \
  for (guint k = 0; k < G_N_ELEMENTS (arr); k++) \
    append_le (d, &arr[k], sizeof arr[k])
  PUT (f16); PUT (bf16); PUT (f64); PUT (i64); PUT (u8); PUT (i8); PUT (b);
#undef PUT
  const char *header =
    "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
    "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[10,14]},"
    "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[14,30]},"
    "\"l\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[30,46]},"
    "\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[46,48]},"
    "\"i\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[48,50]},"
    "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[50,52]}}";
  g_autoptr(GBytes) f = make_file (header, d->data, d->len);
  g_byte_array_unref (d);
  g_autoptr(WeftSafetensors) st = load_bytes (f);

  const float *h = weft_safetensors_lookup (st, "h")->data;
  g_assert_cmpfloat (h[0], ==, 1.f);
  g_assert_cmpfloat (h[1], ==, -2.f);
  g_assert_cmpfloat (h[2], ==, 65504.f);
  g_assert_cmpfloat (h[3], ==, ldexpf (1.f, -24));
  g_assert_true (isinf (h[4]) && h[4] > 0);
  const float *bf = weft_safetensors_lookup (st, "bf")->data;
  g_assert_cmpfloat (bf[0], ==, 1.f);
  g_assert_cmpfloat (bf[1], ==, -2.5f);
  const float *dd = weft_safetensors_lookup (st, "d")->data;
  g_assert_cmpfloat (dd[0], ==, 0.1f);
  g_assert_true (isinf (dd[1]) && dd[1] < 0);
  const float *l = weft_safetensors_lookup (st, "l")->data;
  g_assert_cmpfloat (l[0], ==, -5.f);
  g_assert_cmpfloat (l[1], ==, ldexpf (1.f, 40));
  g_assert_cmpfloat (weft_safetensors_lookup (st, "u")->data[1], ==, 255.f);
  g_assert_cmpfloat (weft_safetensors_lookup (st, "i")->data[0], ==, -128.f);
  g_assert_cmpfloat (weft_safetensors_lookup (st, "b")->data[1], ==, 1.f);
}

static void
test_bad_json (void)
{
  static const struct { const char *header; const char *needle; } cases[] = {
    { "[]", "not a JSON object" },
    { "nonsense", "not a JSON object" },
    { "{", "not valid JSON" },
    { "{\"a\"", "not valid JSON" },
    { "{\"a\":", "not valid JSON" },
    { "{\"a\" {}}", "not valid JSON" },
    { "{a:{}}", "not valid JSON" },
    { "{'a':{}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\" \"shape\":[1],\"data_offsets\":[0,4]}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F3\\q\",\"shape\":[1],\"data_offsets\":[0,4]}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", "unexpected text after" },
    { "{} {}", "unexpected text after" },
    { "{\"a\\ud800\":{}}", "lone UTF-16 surrogate" },
    { "{\"a\\udc00\":{}}", "lone UTF-16 surrogate" },
    { "{\"a\\u00\":{}}", "four hex digits" },
    { "{\"a\\u0000b\":{}}", "zero character" },
    { "{\"a\tb\":{}}", "a control character inside a string" },
    { "{\"\xff\":{}}", "not valid UTF-8" },
    { "{\"a\":[]}", "is not a JSON object" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":[[[[1]]]],\"y\":tru}}", "not valid JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1.}}", "digits after the decimal point" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1e}}", "digits in the exponent" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":-}}", "expected a number" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_header_refused (cases[i].header, 4, cases[i].needle);

  /* Deep nesting in an ignored member is bounded, not a stack overflow. */
  GString *deep = g_string_new ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_string_append (deep, "}}");
  assert_header_refused (deep->str, 4, "nested too deeply");
  g_string_free (deep, TRUE);

  /* Unknown members, escapes and whitespace that are valid JSON are fine. */
  float one = 1;
  g_autoptr(GBytes) f = make_file (" \n{ \"a\\u00e9\\ud83e\\uddf5\\/\" : { \"extra\" : {\"k\": [1, -2.5e-3, true, false, null, \"s\"]},"
                                   "\"dtype\":\"F32\", \"shape\" : [ 1 ] ,\"data_offsets\":[0,4]} }\t\r\n   ",
                                   &one, 4);
  g_autoptr(WeftSafetensors) st = load_bytes (f);
  g_assert_nonnull (weft_safetensors_lookup (st, "aé🧵/"));
}

static void
test_duplicates_and_metadata (void)
{
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                         "the tensor name 'a' appears twice");
  /* Same name spelled with an escape. */
  assert_header_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                         "appears twice");
  assert_header_refused ("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "the metadata key 'k' appears twice");
  assert_header_refused ("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "two metadata sections");
  assert_header_refused ("{\"__metadata__\":{\"epochs\":10}}", 0,
                         "the metadata value for 'epochs' is not text");
  assert_header_refused ("{\"__metadata__\":{\"k\":null}}", 0, "is not text");
  assert_header_refused ("{\"__metadata__\":{\"k\":{\"a\":\"b\"}}}", 0, "is not text");
  assert_header_refused ("{\"__metadata__\":[\"k\"]}", 0, "is not a JSON object");

  g_autoptr(GBytes) f = make_file ("{\"__metadata__\":null}", NULL, 0);
  g_autoptr(WeftSafetensors) st = load_bytes (f);
  g_assert_cmpuint (weft_safetensors_get_n_tensors (st), ==, 0);
}

static void
test_missing_file (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "no-such-model.safetensors", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (weft_safetensors_load (path, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_clear_error (&error);

  /* A directory is not a checkpoint. */
  g_assert_null (weft_safetensors_load (dir, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);

  /* Saving into a missing directory fails cleanly. */
  g_autofree char *bad = g_build_filename (dir, "missing-dir", "x.safetensors", NULL);
  g_autoptr(WeftSafetensors) st = make_sample ();
  g_assert_false (weft_safetensors_save (st, bad, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, bad));
  rm_tmpdir (dir);
}

/* ------------------------------------------------------------------ */
/* Python interoperability (tests/parity/safetensors_check.py)         */

static gboolean
run_python (const char *mode, const char *path)
{
  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  g_autofree char *script = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  script = g_build_filename (src, "tests", "parity", "safetensors_check.py", NULL);
  const char *argv[] = { "/usr/bin/python3", script, mode, path, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("numpy is not installed for /usr/bin/python3");
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("safetensors_check.py %s failed: %s\n%s%s", mode, error->message, out, err);
  return TRUE;
}

/* Weft writes, Python checks; Python writes, Weft reads. Values are exact
 * in float32 and mirrored in the script. */
static void
python_interop_in (const char *dir)
{
  g_autofree char *ours = g_build_filename (dir, "weft.safetensors", NULL);
  g_autofree char *theirs = g_build_filename (dir, "numpy.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftSafetensors) st = weft_safetensors_new ();
  const gint64 w_shape[] = { 3, 4 }, b_shape[] = { 5 };
  float w[12], b[5], s = 3.25f;

  for (int i = 0; i < 12; i++)
    w[i] = (i - 5) / 4.0f;
  for (int i = 0; i < 5; i++)
    b[i] = i * 1.5f;
  weft_safetensors_add (st, "enc.weight", 2, w_shape, w);
  weft_safetensors_add (st, "enc.bias", 1, b_shape, b);
  weft_safetensors_add (st, "scale", 0, NULL, &s);
  weft_safetensors_set_metadata (st, "format", "pt");
  weft_safetensors_set_metadata (st, "note", "café ☕ 日本語 \"q\"\n");
  g_assert_true (weft_safetensors_save (st, ours, &error));
  g_assert_no_error (error);
  if (!run_python ("check", ours))
    return;

  /* F32, F16, F64, I64, metadata last with \u escapes, names unsorted. */
  if (!run_python ("write", theirs))
    return;
  g_autoptr(WeftSafetensors) back = weft_safetensors_load (theirs, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (weft_safetensors_get_n_tensors (back), ==, 4);
  g_assert_cmpstr (weft_safetensors_get_metadata (back, "note"), ==, "naïve ☃ 🧵");
  g_assert_cmpstr (weft_safetensors_get_metadata (back, "epochs"), ==, "12");

  const WeftSafeTensor *t = weft_safetensors_lookup (back, "head.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 3);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (t->data[i], ==, (i - 2) * 0.5f);
  t = weft_safetensors_lookup (back, "half");
  g_assert_nonnull (t);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (t->data[i], ==, i * 0.25f - 1.f);
  t = weft_safetensors_lookup (back, "double");
  g_assert_nonnull (t);
  g_assert_cmpfloat (t->data[0], ==, 0.1f);
  g_assert_cmpfloat (t->data[1], ==, -7.f);
  t = weft_safetensors_lookup (back, "steps");
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 0);
  g_assert_cmpfloat (t->data[0], ==, 1234.f);
}

static void
test_python_interop (void)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is not installed");
      return;
    }
  if (g_getenv ("WEFT_SOURCE_DIR") == NULL)
    {
      g_test_skip ("WEFT_SOURCE_DIR is not set (run through meson test)");
      return;
    }

  g_autofree char *dir = make_tmpdir ();
  python_interop_in (dir);
  rm_tmpdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/replace-and-metadata", test_replace_and_metadata_api);
  g_test_add_func ("/safetensors/dtypes-convert", test_dtypes_convert);
  g_test_add_func ("/safetensors/refuse/truncated-every-length", test_truncated_every_length);
  g_test_add_func ("/safetensors/refuse/header-length-lies", test_header_length_lies);
  g_test_add_func ("/safetensors/refuse/offsets-outside", test_offsets_outside);
  g_test_add_func ("/safetensors/refuse/overlap", test_overlap);
  g_test_add_func ("/safetensors/refuse/shape-mismatch", test_shape_mismatch);
  g_test_add_func ("/safetensors/refuse/bad-dims", test_bad_dims);
  g_test_add_func ("/safetensors/refuse/bad-dtype", test_bad_dtype);
  g_test_add_func ("/safetensors/refuse/bad-json", test_bad_json);
  g_test_add_func ("/safetensors/refuse/duplicates-and-metadata", test_duplicates_and_metadata);
  g_test_add_func ("/safetensors/refuse/missing-file", test_missing_file);
  g_test_add_func ("/safetensors/python-interop", test_python_interop);

  return g_test_run ();
}
