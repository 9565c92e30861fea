/* fuzz-manifest.c — libFuzzer target for the manifest readers: any bytes,
 * read as CSV and as JSON Lines, give a well-formed table, and opened as a
 * dataset folder's manifest give samples and issues, never a crash.
 *
 * Input: byte 0 chooses the manifest written for the dataset step (even:
 * metadata.csv, odd: metadata.jsonl); the rest is the manifest. The table
 * step reads the rest both ways. The dataset folder holds a few real
 * files (an image, an oversized image header, a sound, captions, a link
 * out of the folder) so that manifest paths reach every check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "data/weft-csv.h"
#include "data/weft-dataset.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *root, *outside;

static void
be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 head[8], tail[4];
  be32 (head, len);
  memcpy (head + 4, type, 4);
  g_byte_array_append (png, head, 8);
  if (len)
    g_byte_array_append (png, data, len);
  be32 (tail, crc32 (crc32 (0, (const Bytef *) type, 4), data, len));
  g_byte_array_append (png, tail, 4);
}

/* A 1 × 1 grey RGB PNG whose header claims claim × claim pixels. */
static GByteArray *
png_bytes (guint32 claim)
{
  static const guint8 raw[4] = { 0, 128, 128, 128 };
  guint8 ihdr[13] = { 0 }, z[64];
  uLongf z_len = sizeof z;
  GByteArray *png = g_byte_array_new ();
  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  be32 (ihdr, claim);
  be32 (ihdr + 4, claim);
  ihdr[8] = 8;
  ihdr[9] = 2;
  png_chunk (png, "IHDR", ihdr, 13);
  if (compress (z, &z_len, raw, sizeof raw) != Z_OK)
    abort ();
  png_chunk (png, "IDAT", z, z_len);
  png_chunk (png, "IEND", NULL, 0);
  return png;
}

static const guint8 tiny_wav[] = {
  'R', 'I', 'F', 'F', 40, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
  16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0,
  'd', 'a', 't', 'a', 4, 0, 0, 0, 0, 0, 0, 0,
};

static void
put (const char *dir, const char *rel, const void *bytes, gsize len)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0755);
  if (!g_file_set_contents (path, bytes, (gssize) len, NULL))
    abort ();
}

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
cleanup (void)
{
  remove_tree (root);
  remove_tree (outside);
  g_free (root);
  g_free (outside);
}

static void
setup (void)
{
  root = g_dir_make_tmp ("weft-fuzz-manifest-XXXXXX", NULL);
  outside = g_dir_make_tmp ("weft-fuzz-outside-XXXXXX", NULL);
  if (root == NULL || outside == NULL)
    abort ();
  GByteArray *tiny = png_bytes (1), *huge = png_bytes (30000);
  put (root, "a.png", tiny->data, tiny->len);
  put (root, "img/b", tiny->data, tiny->len);          /* sniffed */
  put (root, "big.png", huge->data, huge->len);
  put (root, "cut.png", tiny->data, 20);
  put (root, "a.wav", tiny_wav, sizeof tiny_wav);
  put (root, "empty.wav", "", 0);
  put (root, "a.txt", "a caption that is longer than the limit", 40);
  put (root, "bad.txt", "\xff\xfe\x00", 3);
  put (root, "blank.txt", " \n", 2);
  put (root, "sub/c.txt", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 18);
  put (outside, "x.png", tiny->data, tiny->len);
  g_byte_array_unref (tiny);
  g_byte_array_unref (huge);
  g_autofree char *target = g_build_filename (outside, "x.png", NULL);
  g_autofree char *link = g_build_filename (root, "out.png", NULL);
  g_autofree char *dir_link = g_build_filename (root, "outdir", NULL);
  if (symlink (target, link) != 0 || symlink (outside, dir_link) != 0)
    abort ();
  atexit (cleanup);
}

static void
check_utf8 (const char *s)
{
  if (s == NULL || !g_utf8_validate (s, -1, NULL))
    abort ();
}

static void
check_table (const WeftTable *t)
{
  if (t == NULL || t->columns == NULL || t->columns[t->n_columns] != NULL)
    abort ();
  for (int c = 0; c < t->n_columns; c++)
    check_utf8 (t->columns[c]);
  int last = 0;
  for (guint i = 0; i < t->records->len; i++)
    {
      const WeftTableRecord *r = g_ptr_array_index (t->records, i);
      if (r->row <= last)
        abort ();
      last = r->row;
      for (guint k = 0; k < r->n_cells; k++)
        {
          const WeftTableCell *c = &r->cells[k];
          if (c->column < 0 || c->column >= t->n_columns || (k > 0 && c->column < r->cells[k - 1].column))
            abort ();
          if (c->state == WEFT_CELL_OK)
            check_utf8 (c->value);
          else if (c->value != NULL)
            abort ();
          if (weft_table_record_get (r, c->column) == NULL)
            abort ();
        }
    }
  last = -1;
  for (guint i = 0; i < t->problems->len; i++)
    {
      const WeftTableProblem *p = g_ptr_array_index (t->problems, i);
      if (p->row < last)
        abort ();
      last = p->row;
      check_utf8 (p->message);
    }
}

static void
check_dataset (const WeftDataset *ds)
{
  gsize n = strlen (ds->root);
  for (guint i = 0; i < ds->samples->len; i++)
    {
      const WeftSample *s = g_ptr_array_index (ds->samples, i);
      if (s->image == NULL && s->audio == NULL && s->text == NULL)
        abort ();
      check_utf8 (s->id);
      if (s->label)
        check_utf8 (s->label);
      if (s->text)
        {
          check_utf8 (s->text);
          if (strlen (s->text) > ds->limits.max_text_bytes)
            abort ();
        }
      const char *paths[] = { s->image, s->audio };
      for (int k = 0; k < 2; k++)
        if (paths[k] && (strncmp (paths[k], ds->root, n) != 0 || paths[k][n] != '/'))
          abort ();
      if (s->split < -1 || s->split > WEFT_SPLIT_TEST)
        abort ();
      if (s->label && weft_dataset_label_index (ds, s->label) < 0)
        abort ();
    }
  for (guint i = 0; i < ds->issues->len; i++)
    {
      const WeftIssue *issue = g_ptr_array_index (ds->issues, i);
      g_autofree char *text = weft_issue_to_string (issue);
      check_utf8 (text);
      if (i > 0 && issue->row < ((WeftIssue *) g_ptr_array_index (ds->issues, i - 1))->row)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (root == NULL)
    setup ();
  if (size == 0)
    return 0;
  const char *body = (const char *) data + 1;
  gsize len = size - 1;

  WeftTable *csv = weft_csv_parse (body, len, "metadata.csv");
  check_table (csv);
  weft_table_free (csv);
  WeftTable *jsonl = weft_jsonl_parse (body, len, "metadata.jsonl");
  check_table (jsonl);
  weft_table_free (jsonl);

  /* Plain stdio: g_file_set_contents syncs to disk, a hundred times
   * slower. */
  gboolean as_jsonl = data[0] & 1;
  g_autofree char *path = g_build_filename (root, as_jsonl ? "metadata.jsonl" : "metadata.csv", NULL);
  g_autofree char *other = g_build_filename (root, as_jsonl ? "metadata.csv" : "metadata.jsonl", NULL);
  g_unlink (other);
  FILE *f = fopen (path, "wb");
  if (f == NULL || fwrite (body, 1, len, f) != len || fclose (f) != 0)
    abort ();

  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  limits.max_text_bytes = 16;
  GError *error = NULL;
  WeftDataset *ds = weft_dataset_open (root, &limits, NULL, &error);
  if (ds == NULL || error != NULL)
    abort ();
  check_dataset (ds);
  weft_dataset_free (ds);
  return 0;
}
