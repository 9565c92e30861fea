/* test-dataset.c — the manifest readers and dataset folders: every kind of
 * bad input gives the exact row and message while the good rows load. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "data/weft-csv.h"
#include "data/weft-dataset.h"
#include "weft-error.h"

/* ---- fixtures ---- */

static char *
fixture_new (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("weft-dataset-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

/* Removes a tree without following links (a test makes links that point
 * outside its folder). */
static void
remove_tree (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      if (dir)
        g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
put (const char *root, const char *rel, const void *data, gssize len)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  GError *error = NULL;
  g_file_set_contents (path, data, len < 0 ? (gssize) strlen (data) : len, &error);
  g_assert_no_error (error);
}

static void
be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 head[8];
  be32 (head, len);
  memcpy (head + 4, type, 4);
  g_byte_array_append (png, head, 8);
  if (len)
    g_byte_array_append (png, data, len);
  guint32 crc = crc32 (0, (const Bytef *) type, 4);
  crc = crc32 (crc, data, len);
  guint8 tail[4];
  be32 (tail, crc);
  g_byte_array_append (png, tail, 4);
}

/* A real RGB PNG of w × h grey pixels; with claim_w/claim_h > 0 the header
 * claims that size instead over a small IDAT (nothing is ever decoded). */
static GByteArray *
png_bytes (int w, int h, guint32 claim_w, guint32 claim_h)
{
  GByteArray *png = g_byte_array_new ();
  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  guint8 ihdr[13] = { 0 };
  be32 (ihdr, claim_w ? claim_w : (guint32) w);
  be32 (ihdr + 4, claim_h ? claim_h : (guint32) h);
  ihdr[8] = 8;   /* bit depth */
  ihdr[9] = 2;   /* RGB */
  png_chunk (png, "IHDR", ihdr, 13);
  gsize raw_len = (gsize) h * (1 + 3 * w);
  g_autofree guint8 *raw = g_malloc0 (raw_len);
  for (gsize i = 0; i < raw_len; i++)
    raw[i] = i % (1 + 3 * w) == 0 ? 0 : 128;
  uLongf z_len = compressBound (raw_len);
  g_autofree guint8 *z = g_malloc (z_len);
  g_assert_cmpint (compress (z, &z_len, raw, raw_len), ==, Z_OK);
  png_chunk (png, "IDAT", z, z_len);
  png_chunk (png, "IEND", NULL, 0);
  return png;
}

static void
put_png (const char *root, const char *rel, int w, int h)
{
  GByteArray *png = png_bytes (w, h, 0, 0);
  put (root, rel, png->data, png->len);
  g_byte_array_unref (png);
}

/* 0.1 s of 16 kHz mono silence. */
static void
put_wav (const char *root, const char *rel)
{
  guint32 n = 1600, data_len = 2 * n;
  g_autofree guint8 *wav = g_malloc0 (44 + data_len);
  memcpy (wav, "RIFF", 4);
  guint32 v;
  v = GUINT32_TO_LE (36 + data_len); memcpy (wav + 4, &v, 4);
  memcpy (wav + 8, "WAVEfmt ", 8);
  v = GUINT32_TO_LE (16); memcpy (wav + 16, &v, 4);
  guint16 s;
  s = GUINT16_TO_LE (1); memcpy (wav + 20, &s, 2);       /* PCM */
  s = GUINT16_TO_LE (1); memcpy (wav + 22, &s, 2);       /* mono */
  v = GUINT32_TO_LE (16000); memcpy (wav + 24, &v, 4);
  v = GUINT32_TO_LE (32000); memcpy (wav + 28, &v, 4);
  s = GUINT16_TO_LE (2); memcpy (wav + 32, &s, 2);
  s = GUINT16_TO_LE (16); memcpy (wav + 34, &s, 2);
  memcpy (wav + 36, "data", 4);
  v = GUINT32_TO_LE (data_len); memcpy (wav + 40, &v, 4);
  put (root, rel, wav, 44 + data_len);
}

typedef struct {
  const char *text;          /* weft_issue_to_string */
  gboolean skipped;
} Expected;

static void
assert_issues (const WeftDataset *ds, const Expected *want, guint n)
{
  for (guint i = 0; i < ds->issues->len; i++)
    {
      g_autofree char *s = weft_issue_to_string (g_ptr_array_index (ds->issues, i));
      g_test_message ("issue %u: %s", i, s);
    }
  g_assert_cmpuint (ds->issues->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      const WeftIssue *issue = g_ptr_array_index (ds->issues, i);
      g_autofree char *s = weft_issue_to_string (issue);
      g_assert_cmpstr (s, ==, want[i].text);
      g_assert_cmpint (issue->skipped, ==, want[i].skipped);
    }
}

static const WeftSample *
find_sample (const WeftDataset *ds, const char *id)
{
  for (guint i = 0; i < ds->samples->len; i++)
    {
      const WeftSample *s = g_ptr_array_index (ds->samples, i);
      if (g_str_equal (s->id, id))
        return s;
    }
  return NULL;
}

static void
assert_under (const WeftDataset *ds, const char *path, const char *rel)
{
  g_assert_nonnull (path);
  g_autofree char *want = g_build_filename (ds->root, rel, NULL);
  g_assert_cmpstr (path, ==, want);
}

/* ---- the readers alone ---- */

static const char *
cell (const WeftTable *t, guint record, const char *column)
{
  int c = weft_table_find_column (t, column);
  g_assert_cmpint (c, >=, 0);
  const WeftTableCell *x = weft_table_record_get (g_ptr_array_index (t->records, record), c);
  if (x == NULL)
    return NULL;
  g_assert_cmpint (x->state, ==, WEFT_CELL_OK);
  return x->value;
}

static WeftCellState
cell_state (const WeftTable *t, guint record, const char *column)
{
  int c = weft_table_find_column (t, column);
  g_assert_cmpint (c, >=, 0);
  const WeftTableCell *x = weft_table_record_get (g_ptr_array_index (t->records, record), c);
  return x ? x->state : WEFT_CELL_ABSENT;
}

static void
test_csv_rfc4180 (void)
{
  /* BOM, CRLF, a quoted header cell, "" escapes, embedded comma and line
   * break, a blank line (not counted), and no final newline. */
  static const char data[] =
    "\xEF\xBB\xBF" "id,\"text\",label\r\n"
    "1,\"a cat, sitting\",cat\r\n"
    "2,\"she said \"\"hi\"\"\r\nthen left\",dog\r\n"
    "\r\n"
    "3,plain,\r\n"
    "4,,\"\"\r\n"
    "5,last,bird";
  g_autoptr(WeftTable) t = weft_csv_parse (data, sizeof data - 1, "metadata.csv");
  g_assert_cmpint (t->n_columns, ==, 3);
  g_assert_cmpstr (t->columns[0], ==, "id");
  g_assert_cmpstr (t->columns[1], ==, "text");
  g_assert_cmpuint (t->problems->len, ==, 0);
  g_assert_cmpuint (t->records->len, ==, 5);
  g_assert_cmpstr (cell (t, 0, "text"), ==, "a cat, sitting");
  g_assert_cmpstr (cell (t, 1, "text"), ==, "she said \"hi\"\nthen left");
  g_assert_cmpstr (cell (t, 2, "label"), ==, "");
  g_assert_cmpstr (cell (t, 3, "text"), ==, "");
  g_assert_cmpstr (cell (t, 4, "label"), ==, "bird");
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (((WeftTableRecord *) g_ptr_array_index (t->records, i))->row, ==, (int) i + 1);
  g_assert_cmpint (weft_table_find_column (t, " LABEL "), ==, 2);
  g_assert_cmpint (weft_table_find_column (t, "split"), ==, -1);
}

static void
test_csv_bad_records (void)
{
  /* Row 2 is ragged, row 3 has bytes that are not UTF-8 in one cell, and
   * row 5 opens a quote that never closes (row 6 is inside it). */
  static const char data[] =
    "a,b,c,d\n"
    "1,2,3,4\n"
    "1,2,3,4,5\n"
    "1,\xff\xfe,3,4\n"
    "1,2,3,4\n"
    "1,\"2,3,4\n"
    "1,2,3,4\n";
  g_autoptr(WeftTable) t = weft_csv_parse (data, sizeof data - 1, "metadata.csv");
  g_assert_cmpuint (t->records->len, ==, 3);
  g_assert_cmpuint (t->problems->len, ==, 2);
  const WeftTableProblem *p = g_ptr_array_index (t->problems, 0);
  g_assert_cmpint (p->row, ==, 2);
  g_assert_cmpstr (p->message, ==, "row 2 has 5 cells, the header has 4");
  p = g_ptr_array_index (t->problems, 1);
  g_assert_cmpint (p->row, ==, 5);
  g_assert_cmpstr (p->message, ==, "row 5 opens a quoted cell that is never closed; "
                                   "the rest of metadata.csv was not read");
  const WeftTableRecord *r = g_ptr_array_index (t->records, 1);
  g_assert_cmpint (r->row, ==, 3);
  g_assert_cmpint (cell_state (t, 1, "b"), ==, WEFT_CELL_NOT_UTF8);
  g_assert_cmpstr (cell (t, 1, "c"), ==, "3");

  /* A NUL byte inside a cell is not text either. */
  static const char nul[] = "a\nx\0y\n";
  g_autoptr(WeftTable) t2 = weft_csv_parse (nul, sizeof nul - 1, "m.csv");
  g_assert_cmpuint (t2->records->len, ==, 1);
  g_assert_cmpint (cell_state (t2, 0, "a"), ==, WEFT_CELL_NOT_UTF8);

  g_autoptr(WeftTable) empty = weft_csv_parse ("\xEF\xBB\xBF\r\n\n", 5, "metadata.csv");
  g_assert_cmpuint (empty->problems->len, ==, 1);
  g_assert_cmpstr (((WeftTableProblem *) g_ptr_array_index (empty->problems, 0))->message, ==,
                   "metadata.csv is empty");
  g_autoptr(WeftTable) header_only = weft_csv_parse ("a,b\n", 4, "metadata.csv");
  g_assert_cmpuint (header_only->problems->len, ==, 1);
  g_assert_cmpstr (((WeftTableProblem *) g_ptr_array_index (header_only->problems, 0))->message, ==,
                   "metadata.csv has a header but no rows");
  g_autoptr(WeftTable) open_header = weft_csv_parse ("a,\"b\n1,2\n", 9, "metadata.csv");
  g_assert_cmpuint (open_header->records->len, ==, 0);
  g_assert_cmpint (((WeftTableProblem *) g_ptr_array_index (open_header->problems, 0))->row, ==, 0);
}

/* The in-place reader unescapes over its input: every cell must still
 * come out as the copying one reads it, with rows dropped (ragged) before
 * good ones and a last cell that ends the data. */
static void
test_csv_in_place (void)
{
  static const char data[] =
    "id,text\r"
    "1,\"x\"\"y\"\",a\"\r\n"
    "2,2,2,2,2,2,2,2\n"
    "3,\"line\r\nbreak, and a lone \r here\"\n"
    "4,\"\"\n"
    "5,\"quoted\"tail";
  g_autoptr(WeftTable) copied = weft_csv_parse (data, sizeof data - 1, "m.csv");
  g_autofree char *buf = g_memdup2 (data, sizeof data);
  g_autoptr(WeftTable) t = weft_csv_parse_in_place (buf, sizeof data - 1, "m.csv");
  g_assert_cmpuint (t->records->len, ==, 4);
  g_assert_cmpuint (t->problems->len, ==, 1);
  g_assert_cmpstr (((WeftTableProblem *) g_ptr_array_index (t->problems, 0))->message, ==,
                   "row 2 has 8 cells, the header has 2");
  g_assert_cmpuint (copied->records->len, ==, t->records->len);
  for (guint i = 0; i < t->records->len; i++)
    {
      const WeftTableRecord *a = g_ptr_array_index (t->records, i);
      const WeftTableRecord *b = g_ptr_array_index (copied->records, i);
      g_assert_cmpint (a->row, ==, b->row);
      g_assert_cmpuint (a->n_cells, ==, 2);
      for (guint k = 0; k < 2; k++)
        {
          g_assert_cmpstr (a->cells[k].value, ==, b->cells[k].value);
          g_assert_true (a->cells[k].value >= buf && a->cells[k].value <= buf + sizeof data - 1);
        }
    }
  g_assert_cmpstr (cell (t, 0, "text"), ==, "x\"y\",a");
  g_assert_cmpstr (cell (t, 1, "text"), ==, "line\nbreak, and a lone \r here");
  g_assert_cmpstr (cell (t, 2, "text"), ==, "");
  g_assert_cmpstr (cell (t, 3, "text"), ==, "quotedtail");
  g_assert_cmpint (((WeftTableRecord *) g_ptr_array_index (t->records, 3))->row, ==, 5);
}

static void
test_jsonl_reader (void)
{
  /* Line 2 is broken, line 3 blank, line 5 has raw bytes that are not
   * UTF-8 in "text", line 6 a lone surrogate escape, line 7 two objects,
   * line 8 deep nesting. */
  GString *data = g_string_new (NULL);
  g_string_append (data, "\xEF\xBB\xBF{\"file_name\": \"a.png\", \"label\": 3, \"score\": 0.5, \"ok\": true}\n");
  g_string_append (data, "{\"file_name\": \"b.png\", \"label\": \n");
  g_string_append (data, "   \r\n");
  g_string_append (data, "{\"text\": \"hello\", \"label\": null, \"extra\": {\"x\": 1}}\r\n");
  g_string_append (data, "{\"text\": \"caf\xe9\", \"label\": \"x\"}\n");
  g_string_append (data, "{\"text\": \"x\\ud800y\", \"label\": \"y\"}\n");
  g_string_append (data, "{\"text\": \"a\"} {\"text\": \"b\"}\n");
  g_string_append (data, "{\"text\": ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (data, '[');
  g_string_append (data, "\n[1, 2]\n{\"text\": \"end\"}");
  g_autoptr(WeftTable) t = weft_jsonl_parse (data->str, data->len, "metadata.jsonl");
  g_string_free (data, TRUE);

  g_assert_cmpuint (t->records->len, ==, 5);
  int rows[] = { 1, 4, 5, 6, 10 };
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (((WeftTableRecord *) g_ptr_array_index (t->records, i))->row, ==, rows[i]);
  g_assert_cmpstr (cell (t, 0, "label"), ==, "3");
  g_assert_cmpstr (cell (t, 0, "score"), ==, "0.5");
  g_assert_cmpstr (cell (t, 0, "ok"), ==, "true");
  g_assert_null (cell (t, 1, "label"));                       /* null: absent */
  g_assert_cmpint (cell_state (t, 1, "extra"), ==, WEFT_CELL_NOT_SCALAR);
  g_assert_cmpint (cell_state (t, 2, "text"), ==, WEFT_CELL_NOT_UTF8);
  g_assert_cmpstr (cell (t, 2, "label"), ==, "x");
  g_assert_cmpint (cell_state (t, 3, "text"), ==, WEFT_CELL_NOT_UTF8);
  g_assert_cmpstr (cell (t, 4, "text"), ==, "end");

  static const struct { int row; const char *message; } want[] = {
    { 2, "row 2 is not a JSON object (one {...} per line)" },
    { 7, "row 7 holds more than one JSON value" },
    { 8, "row 8 nests objects or lists too deeply" },
    { 9, "row 9 is not a JSON object (one {...} per line)" },
  };
  g_assert_cmpuint (t->problems->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      const WeftTableProblem *p = g_ptr_array_index (t->problems, i);
      g_assert_cmpint (p->row, ==, want[i].row);
      g_assert_cmpstr (p->message, ==, want[i].message);
    }

  g_autoptr(WeftTable) empty = weft_jsonl_parse ("\n \n", 3, "metadata.jsonl");
  g_assert_cmpuint (empty->records->len, ==, 0);
  g_assert_cmpstr (((WeftTableProblem *) g_ptr_array_index (empty->problems, 0))->message, ==,
                   "metadata.jsonl is empty");
}

/* ---- dataset folders ---- */

static void
test_csv_dataset (void)
{
  g_autofree char *root = fixture_new ();
  put_png (root, "images/a.png", 4, 3);
  put_png (root, "images/b b.png", 2, 2);
  put_wav (root, "audio/a.wav");
  put (root, "captions/c.txt", "\xEF\xBB\xBF  a caption from a file\n", -1);
  put (root, "README.md", "not read\n", -1);
  static const char manifest[] =
    "\xEF\xBB\xBF" "image_file_name,audio_file_name,text,label,split,id,notes\r\n"
    "images/a.png,audio/a.wav,\"a grey square, small\",cat,train,first,x\r\n"
    "\"images/b b.png\",,\"two\r\nlines \"\"quoted\"\"\",dog,valid,,\"y,z\"\r\n"
    ",audio/a.wav,,cat,TEST,third,\r\n"
    "./images/../images/a.png,,,dog,,,";
  put (root, "metadata.csv", manifest, sizeof manifest - 1);

  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_issues (ds, NULL, 0);
  g_assert_cmpstr (ds->manifest, ==, "metadata.csv");
  g_assert_cmpuint (ds->samples->len, ==, 4);
  g_assert_cmpint (ds->n_skipped, ==, 0);
  g_assert_true (ds->has_image && ds->has_audio && ds->has_text);

  const WeftSample *s = find_sample (ds, "first");
  g_assert_nonnull (s);
  g_assert_cmpint (s->row, ==, 1);
  assert_under (ds, s->image, "images/a.png");
  assert_under (ds, s->audio, "audio/a.wav");
  g_assert_cmpstr (s->text, ==, "a grey square, small");
  g_assert_cmpstr (s->label, ==, "cat");
  g_assert_cmpint (s->split, ==, WEFT_SPLIT_TRAIN);

  s = find_sample (ds, "row 2");
  g_assert_nonnull (s);
  assert_under (ds, s->image, "images/b b.png");
  g_assert_null (s->audio);
  g_assert_cmpstr (s->text, ==, "two\nlines \"quoted\"");
  g_assert_cmpint (s->split, ==, WEFT_SPLIT_VALIDATION);

  s = find_sample (ds, "third");
  g_assert_nonnull (s);
  g_assert_null (s->image);
  g_assert_null (s->text);
  g_assert_cmpint (s->split, ==, WEFT_SPLIT_TEST);

  s = find_sample (ds, "row 4");
  g_assert_nonnull (s);
  assert_under (ds, s->image, "images/a.png");
  g_assert_cmpint (s->split, ==, -1);

  g_assert_cmpuint (g_strv_length (ds->labels), ==, 2);
  g_assert_cmpstr (ds->labels[0], ==, "cat");
  g_assert_cmpstr (ds->labels[1], ==, "dog");
  g_assert_cmpint (weft_dataset_label_index (ds, "dog"), ==, 1);
  g_assert_cmpint (weft_dataset_label_index (ds, "cow"), ==, -1);
  remove_tree (root);
}

/* One manifest with one row per kind of bad input, between good rows. */
static void
test_bad_rows (void)
{
  g_autofree char *root = fixture_new ();
  g_autofree char *outside = fixture_new ();
  put_png (root, "images/a.png", 4, 4);
  put_png (outside, "secret.png", 4, 4);
  g_autofree char *secret = g_build_filename (outside, "secret.png", NULL);
  g_autofree char *link = g_build_filename (root, "images", "link.png", NULL);
  g_assert_cmpint (symlink (secret, link), ==, 0);
  /* A link inside the root is fine. */
  g_autofree char *inner_link = g_build_filename (root, "images", "inner.png", NULL);
  g_assert_cmpint (symlink ("a.png", inner_link), ==, 0);

  GByteArray *huge = png_bytes (1, 1, 30000, 30000);
  put (root, "images/huge.png", huge->data, huge->len);
  g_byte_array_unref (huge);
  GByteArray *png = png_bytes (4, 4, 0, 0);
  put (root, "images/trunc.png", png->data, 20);    /* stops inside IHDR */
  g_byte_array_unref (png);

  static const char manifest[] =
    "id,image_file_name,text,label,split,audio_file_name\n"
    "a,images/a.png,a good row,cat,train,\n"                       /* 1 */
    "b,../secret.png,,cat,train,\n"                                /* 2 */
    "c,images/link.png,,cat,train,\n"                              /* 3 */
    "d,images/gone.png,still here,cat,train,\n"                    /* 4 */
    "e,,caf\xe9 au lait,cat,train,\n"                              /* 5 */
    "f,images/a.png,   ,cat,train,\n"                              /* 6 */
    "g,,,dog,train,\n"                                             /* 7 */
    "a,images/a.png,again,dog,train,\n"                            /* 8 */
    "i,images/a.png,a split,dog,holdout,\n"                        /* 9 */
    "j,images/inner.png,no label,,test,\n"                         /* 10 */
    "k,images/huge.png,,dog,train,\n"                              /* 11 */
    "l,images/trunc.png,,dog,train,\n"                             /* 12 */
    "m,images/a.png,ragged,dog,train,,\n"                          /* 13 */
    "n,,\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9,dog,train,\n" /* 14 */
    "o,/etc/hosts,,dog,train,\n"                                   /* 15 */
    "p,images,,dog,train,audio/none.wav\n"                         /* 16 */
    "q,images/a.png,\"never closed,dog,train,\n"                   /* 17 */
    "r,images/a.png,lost,dog,train,\n";
  put (root, "metadata.csv", manifest, sizeof manifest - 1);

  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  g_assert_cmpint (limits.max_image_pixels, ==, 40000000);
  /* "été été été" is 17 bytes and byte 10 is inside an é: 9 are kept. The
   * other captions are at most 10 bytes. */
  limits.max_text_bytes = 10;

  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, &limits, NULL, &error);
  g_assert_no_error (error);

  static const Expected want[] = {
    { "row 2: ../secret.png leaves the dataset folder; it was refused", TRUE },
    { "row 3: images/link.png leaves the dataset folder; it was refused", TRUE },
    { "row 4: images/gone.png is missing", FALSE },
    { "row 5: the text is not valid UTF-8 text", TRUE },
    { "row 7 has no image or sound and its text is empty", TRUE },
    { "row 8: the id a is already used by row 1", TRUE },
    { "row 9: the split 'holdout' is not train, validation or test; the row is kept without a split", FALSE },
    { "row 10: the row has no label while other rows have one; it is kept without a label", FALSE },
    { "row 11: images/huge.png is 30000x30000 pixels, more than the limit of 40000000 pixels; it was refused", TRUE },
    { "row 12: images/trunc.png could not be read as an image (the image data is damaged)", TRUE },
    { "row 13 has 7 cells, the header has 6", TRUE },
    { "row 14: the text is 17 bytes long; only the first 9 were kept", FALSE },
    { "row 15: /etc/hosts is an absolute path; it was refused (paths are relative to the dataset folder)", TRUE },
    { "row 16: images is a folder, not a file", TRUE },
    { "row 16: audio/none.wav is missing", TRUE },
    { "row 17 opens a quoted cell that is never closed; the rest of metadata.csv was not read", TRUE },
  };
  assert_issues (ds, want, G_N_ELEMENTS (want));

  static const char *const kept[] = { "a", "d", "f", "i", "j", "n" };
  g_assert_cmpuint (ds->samples->len, ==, G_N_ELEMENTS (kept));
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    g_assert_cmpstr (((WeftSample *) g_ptr_array_index (ds->samples, i))->id, ==, kept[i]);
  g_assert_cmpint (ds->n_skipped, ==, 11);

  const WeftSample *d = find_sample (ds, "d");
  g_assert_null (d->image);
  g_assert_cmpstr (d->text, ==, "still here");
  const WeftSample *f = find_sample (ds, "f");
  assert_under (ds, f->image, "images/a.png");
  g_assert_null (f->text);                                   /* blank: missing, no issue */
  const WeftSample *i = find_sample (ds, "i");
  g_assert_cmpint (i->split, ==, -1);
  const WeftSample *j = find_sample (ds, "j");
  assert_under (ds, j->image, "images/a.png");               /* the link, resolved */
  g_assert_null (j->label);
  g_assert_cmpint (j->split, ==, WEFT_SPLIT_TEST);
  const WeftSample *n = find_sample (ds, "n");
  g_assert_cmpstr (n->text, ==, "\xc3\xa9t\xc3\xa9 \xc3\xa9t");   /* cut before a split é */
  g_assert_true (g_utf8_validate (n->text, -1, NULL));

  remove_tree (root);
  remove_tree (outside);
}

static void
test_jsonl_dataset (void)
{
  g_autofree char *root = fixture_new ();
  put_png (root, "img/one.png", 3, 3);
  put_wav (root, "snd/one.wav");
  GByteArray *png = png_bytes (2, 2, 0, 0);
  put (root, "img/blob", png->data, png->len);    /* no extension: sniffed */
  g_byte_array_unref (png);
  put (root, "txt/one.txt", "from a file", -1);
  put (root, "txt/long.txt", "0123456789abcdef", -1);
  put (root, "txt/bad.txt", "\xff\xfe bad", -1);
  put (root, "notes.md", "# notes\n", -1);
  put (root, "metadata.jsonl",
       "{\"file_name\": \"img/one.png\", \"audio_path\": \"snd/one.wav\", \"label\": 3, \"split\": \"dev\"}\n"
       "{\"file_name\": \"img/one.png\", \"label\": \n"
       "\n"
       "{\"file_name\": \"img/blob\", \"text_file_name\": \"txt/one.txt\", \"label\": 10}\n"
       "{\"sound_file_name\": \"snd/one.wav\", \"text\": \"caption wins\", \"text_file_name\": \"txt/one.txt\", \"label\": 2}\n"
       "{\"text_file_name\": \"txt/long.txt\", \"label\": 2, \"id\": 7}\n"
       "{\"text_file_name\": \"txt/bad.txt\", \"file_name\": \"notes.md\", \"label\": 2}\n"
       "{\"text\": {\"nested\": 1}, \"image_file_name\": \"img/one.png\", \"label\": [1]}\n", -1);

  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  limits.max_text_bytes = 12;
  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, &limits, NULL, &error);
  g_assert_no_error (error);
  static const Expected want[] = {
    { "row 2 is not a JSON object (one {...} per line)", TRUE },
    { "row 6: txt/long.txt holds 16 bytes of text; only the first 12 were kept", FALSE },
    { "row 7: txt/bad.txt is not valid UTF-8 text", TRUE },
    { "row 7: notes.md is not an image, a sound or a text file; it was ignored", TRUE },
    { "row 8: the text is not a string or a number", FALSE },
    { "row 8: the label is not a string or a number", FALSE },
    { "row 8: the row has no label while other rows have one; it is kept without a label", FALSE },
  };
  assert_issues (ds, want, G_N_ELEMENTS (want));
  g_assert_cmpstr (ds->manifest, ==, "metadata.jsonl");
  g_assert_cmpuint (ds->samples->len, ==, 5);

  const WeftSample *s = find_sample (ds, "row 1");
  assert_under (ds, s->image, "img/one.png");
  assert_under (ds, s->audio, "snd/one.wav");
  g_assert_cmpstr (s->label, ==, "3");
  g_assert_cmpint (s->split, ==, WEFT_SPLIT_VALIDATION);
  s = find_sample (ds, "row 4");
  assert_under (ds, s->image, "img/blob");
  g_assert_cmpstr (s->text, ==, "from a file");
  s = find_sample (ds, "row 5");
  assert_under (ds, s->audio, "snd/one.wav");
  g_assert_cmpstr (s->text, ==, "caption wins");
  s = find_sample (ds, "7");
  g_assert_cmpint (s->row, ==, 6);
  g_assert_cmpstr (s->text, ==, "0123456789ab");
  g_assert_cmpint (ds->n_skipped, ==, 2);

  /* Integer labels sort as numbers. */
  g_assert_cmpuint (g_strv_length (ds->labels), ==, 3);
  g_assert_cmpstr (ds->labels[0], ==, "2");
  g_assert_cmpstr (ds->labels[1], ==, "3");
  g_assert_cmpstr (ds->labels[2], ==, "10");
  remove_tree (root);
}

static void
test_class_folders (void)
{
  g_autofree char *root = fixture_new ();
  g_autofree char *outside = fixture_new ();
  put_png (root, "cat/a.png", 3, 3);
  put_png (root, "cat/a.jpg", 3, 3);
  put_wav (root, "cat/a.wav");
  put (root, "cat/a.txt", "a cat\n", -1);
  put_png (root, "cat/b.PNG", 5, 5);
  put (root, "cat/.hidden.png", "junk", -1);
  put (root, "cat/sub/x.png", "junk", -1);
  put (root, "dog/c.txt", "a dog", -1);
  put (root, "dog/d.txt", "  \n", -1);
  put (root, "dog/notes.md", "# notes\n", -1);
  put (root, ".git/config", "x", -1);
  put (root, "labels.json", "{}", -1);
  put_png (outside, "x/e.png", 3, 3);
  g_autofree char *target = g_build_filename (outside, "x", NULL);
  g_autofree char *link = g_build_filename (root, "bird", NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_autofree char *secret = g_build_filename (outside, "x", "e.png", NULL);
  g_autofree char *file_link = g_build_filename (root, "dog", "f.png", NULL);
  g_assert_cmpint (symlink (secret, file_link), ==, 0);

  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  static const Expected want[] = {
    { "the folder bird leaves the dataset folder; it was refused", FALSE },
    { "cat/sub is a folder inside a class folder; it was ignored", FALSE },
    { "cat/a.png is a second image for the same sample; it was ignored", FALSE },
    { "dog/d has no image or sound and its text is empty", TRUE },
    { "dog/f.png leaves the dataset folder; it was refused", TRUE },
    { "dog/notes.md is not an image, a sound or a text file; it was ignored", FALSE },
  };
  assert_issues (ds, want, G_N_ELEMENTS (want));
  g_assert_null (ds->manifest);
  g_assert_cmpint (ds->n_skipped, ==, 2);
  g_assert_cmpuint (ds->samples->len, ==, 3);
  const WeftSample *s = g_ptr_array_index (ds->samples, 0);
  g_assert_cmpstr (s->id, ==, "cat/a");
  g_assert_cmpint (s->row, ==, 0);
  assert_under (ds, s->image, "cat/a.jpg");
  assert_under (ds, s->audio, "cat/a.wav");
  g_assert_cmpstr (s->text, ==, "a cat");
  g_assert_cmpstr (s->label, ==, "cat");
  g_assert_cmpint (s->split, ==, -1);
  s = g_ptr_array_index (ds->samples, 1);
  g_assert_cmpstr (s->id, ==, "cat/b");
  assert_under (ds, s->image, "cat/b.PNG");
  s = g_ptr_array_index (ds->samples, 2);
  g_assert_cmpstr (s->id, ==, "dog/c");
  g_assert_cmpstr (s->text, ==, "a dog");
  g_assert_null (s->image);
  g_assert_cmpuint (g_strv_length (ds->labels), ==, 2);
  remove_tree (root);
  remove_tree (outside);
}

static void
test_open_errors (void)
{
  g_autofree char *root = fixture_new ();
  GError *error = NULL;

  g_autofree char *missing = g_build_filename (root, "nowhere", NULL);
  g_assert_null (weft_dataset_open (missing, NULL, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "no such folder"));
  g_clear_error (&error);

  /* No manifest and no class folders: nothing to read. */
  put (root, "README.md", "hello", -1);
  g_assert_null (weft_dataset_open (root, NULL, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "no metadata.csv, no metadata.jsonl and no class folders"));
  g_clear_error (&error);

  /* A manifest that exists but cannot be read is an error, not a reason
   * to read the folder another way. */
  g_autofree char *dir_manifest = g_build_filename (root, "metadata.csv", NULL);
  g_assert_cmpint (g_mkdir (dir_manifest, 0755), ==, 0);
  g_assert_null (weft_dataset_open (root, NULL, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "metadata.csv could not be read"));
  g_clear_error (&error);
  g_rmdir (dir_manifest);

  /* An empty manifest is an empty dataset with an issue. */
  put (root, "metadata.csv", "", 0);
  g_autoptr(WeftDataset) empty = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (empty->samples->len, ==, 0);
  static const Expected want_empty[] = { { "metadata.csv is empty", FALSE } };
  assert_issues (empty, want_empty, 1);

  put (root, "metadata.csv", "name,caption\nx,y\n", -1);
  g_autoptr(WeftDataset) useless = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  static const Expected want_useless[] = {
    { "metadata.csv has no file_name, image_file_name, audio_file_name, text or text_file_name "
      "column, so no row could be read (its columns: name, caption)", FALSE },
  };
  assert_issues (useless, want_useless, 1);
  g_assert_cmpint (useless->n_skipped, ==, 1);

  /* Cancelled before the first row. */
  put (root, "metadata.csv", "text\nhello\n", -1);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_null (weft_dataset_open (root, NULL, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  remove_tree (root);
}

/* A folder that many rows name is listed once instead of lstat-ing each
 * file (weft-dataset.c, FolderListing): the report and the paths must be
 * exactly those of the file-by-file checks. 60 rows name images/, so the
 * listing is used for most of them, including every odd entry below. */
static void
test_listed_folder (void)
{
  g_autofree char *root = fixture_new ();
  g_autofree char *outside = fixture_new ();
  GString *csv = g_string_new ("image_file_name,audio_file_name,text\n");
  for (int i = 0; i < 60; i++)
    {
      g_autofree char *rel = g_strdup_printf ("images/%02d.png", i);
      put (root, rel, "not read when opening", -1);
      g_string_append_printf (csv, "%s,%s,caption %d\n", rel,
                              i % 2 ? "audio/empty.wav" : "audio/ok.wav", i);
    }
  put_wav (root, "audio/ok.wav");
  put (root, "audio/empty.wav", "", 0);
  put_png (outside, "secret.png", 4, 4);
  g_autofree char *secret = g_build_filename (outside, "secret.png", NULL);
  g_autofree char *out_link = g_build_filename (root, "images", "out.png", NULL);
  g_autofree char *in_link = g_build_filename (root, "images", "in.png", NULL);
  g_autofree char *sub = g_build_filename (root, "images", "sub.png", NULL);
  g_assert_cmpint (symlink (secret, out_link), ==, 0);
  g_assert_cmpint (symlink ("07.png", in_link), ==, 0);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  /* After 60 rows the folder is surely listed. */
  g_string_append (csv,
                   "images/gone.png,,row 61\n"
                   "images/out.png,,row 62\n"
                   "images/in.png,,row 63\n"
                   "images/sub.png,,row 64\n"
                   "images/./03.png,,row 65\n"
                   "images/sub.png/../04.png,,row 66\n"
                   "IMAGES/05.png,,row 67\n");
  put (root, "metadata.csv", csv->str, csv->len);
  g_string_free (csv, TRUE);

  /* As the app opens a large set: images are checked when decoded. */
  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  limits.probe_images = FALSE;
  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, &limits, NULL, &error);
  g_assert_no_error (error);
  /* The 30 rows of the empty sound keep their image and caption. */
  GPtrArray *want = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < 60; i += 2)
    g_ptr_array_add (want, g_strdup_printf ("row %d: audio/empty.wav is empty", i + 1));
  g_ptr_array_add (want, g_strdup ("row 61: images/gone.png is missing"));
  g_ptr_array_add (want, g_strdup ("row 62: images/out.png leaves the dataset folder; it was refused"));
  g_ptr_array_add (want, g_strdup ("row 64: images/sub.png is a folder, not a file"));
  g_ptr_array_add (want, g_strdup ("row 67: IMAGES/05.png is missing"));
  for (guint i = 0; i < ds->issues->len; i++)
    {
      g_autofree char *got = weft_issue_to_string (g_ptr_array_index (ds->issues, i));
      g_test_message ("issue %u: %s", i, got);
      if (i < want->len)
        g_assert_cmpstr (got, ==, g_ptr_array_index (want, i));
    }
  g_assert_cmpuint (ds->issues->len, ==, want->len);
  g_ptr_array_unref (want);

  /* Rows 61, 62 and 64 lose their only file and their caption stays. */
  g_assert_cmpuint (ds->samples->len, ==, 67);
  g_assert_cmpint (ds->n_skipped, ==, 0);
  for (guint i = 0; i < ds->samples->len; i++)
    {
      const WeftSample *s = g_ptr_array_index (ds->samples, i);
      g_autofree char *expect = NULL;
      if (s->row <= 60)
        {
          g_autofree char *rel = g_strdup_printf ("images/%02d.png", s->row - 1);
          expect = weft_dataset_resolve (ds, rel, NULL);
          g_assert_nonnull (expect);
          g_assert_cmpstr (s->audio == NULL ? "none" : "ok", ==, s->row % 2 ? "ok" : "none");
        }
      else if (s->row == 63)
        expect = weft_dataset_resolve (ds, "images/07.png", NULL);
      else if (s->row == 65)
        expect = weft_dataset_resolve (ds, "images/03.png", NULL);
      else if (s->row == 66)
        expect = weft_dataset_resolve (ds, "images/04.png", NULL);
      g_assert_cmpstr (s->image, ==, expect);
    }
  remove_tree (root);
  remove_tree (outside);
}

static void
test_resolve (void)
{
  g_autofree char *root = fixture_new ();
  put (root, "a/b.txt", "x", -1);
  put (root, "metadata.csv", "text\nhello\n", -1);
  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);

  static const struct { const char *rel; const char *path; const char *why; } cases[] = {
    { "a/b.txt", "a/b.txt", NULL },
    { "a/./../a/b.txt", "a/b.txt", NULL },
    { "a//b.txt", "a/b.txt", NULL },
    { "a/../../x", NULL, "a/../../x leaves the dataset folder; it was refused" },
    { "..", NULL, ".. leaves the dataset folder; it was refused" },
    { "a/c.txt", NULL, "a/c.txt is missing" },
    { "a/b.txt/c", NULL, "a/b.txt/c is missing" },
    { "a", NULL, "a is a folder, not a file" },
    { "", NULL, "the file name is empty" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char *why = NULL;
      g_autofree char *path = weft_dataset_resolve (ds, cases[i].rel, &why);
      if (cases[i].path)
        {
          assert_under (ds, path, cases[i].path);
          g_assert_null (why);
        }
      else
        {
          g_assert_null (path);
          g_assert_cmpstr (why, ==, cases[i].why);
        }
      g_free (why);
    }
  remove_tree (root);
}

typedef struct {
  WeftDataset *ds;
  int worker;
} Worker;

static gpointer
add_many (gpointer data)
{
  Worker *w = data;
  for (int i = 0; i < 2000; i++)
    weft_dataset_add_issue (w->ds, i + 1, "x.ogg", FALSE, "worker %d could not decode (%d)", w->worker, i);
  return NULL;
}

/* Featurisation workers report decode failures concurrently. */
static void
test_issues_threads (void)
{
  g_autofree char *root = fixture_new ();
  put (root, "metadata.csv", "text\nhello\n", -1);
  GError *error = NULL;
  g_autoptr(WeftDataset) ds = weft_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  Worker w[4];
  GThread *t[4];
  for (int i = 0; i < 4; i++)
    {
      w[i] = (Worker) { ds, i };
      t[i] = g_thread_new ("issues", add_many, &w[i]);
    }
  for (int i = 0; i < 4; i++)
    g_thread_join (t[i]);
  g_assert_cmpuint (ds->issues->len, ==, 8000);
  g_autofree char *s = weft_issue_to_string (g_ptr_array_index (ds->issues, 0));
  g_assert_true (g_str_has_prefix (s, "row 1: worker "));
  remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset/csv/rfc4180", test_csv_rfc4180);
  g_test_add_func ("/dataset/csv/bad-records", test_csv_bad_records);
  g_test_add_func ("/dataset/csv/in-place", test_csv_in_place);
  g_test_add_func ("/dataset/jsonl/reader", test_jsonl_reader);
  g_test_add_func ("/dataset/open/csv", test_csv_dataset);
  g_test_add_func ("/dataset/open/bad-rows", test_bad_rows);
  g_test_add_func ("/dataset/open/jsonl", test_jsonl_dataset);
  g_test_add_func ("/dataset/open/class-folders", test_class_folders);
  g_test_add_func ("/dataset/open/errors", test_open_errors);
  g_test_add_func ("/dataset/open/listed-folder", test_listed_folder);
  g_test_add_func ("/dataset/resolve", test_resolve);
  g_test_add_func ("/dataset/issues-threads", test_issues_threads);
  return g_test_run ();
}
