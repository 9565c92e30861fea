/* weft-export-tsv.c — writes embeddings in the TensorBoard projector's TSV
 * pair and map selections as CSV, each file atomically. */
#include "weft-export-tsv.h"

#include <math.h>
#include <string.h>

#include "weft-error.h"

static const char *const split_names[] = { "train", "validation", "test" };

/* A cell of a TSV row: tabs and line breaks would break the row. */
static void
append_tsv_cell (GString *s, const char *text)
{
  for (const char *p = text ? text : ""; *p; p++)
    g_string_append_c (s, (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p);
}

static void
append_csv_cell (GString *s, const char *text)
{
  text = text ? text : "";
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (s, text);
      return;
    }
  g_string_append_c (s, '"');
  for (const char *p = text; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

static const WeftSample *
sample_of (const WeftEmbedding *e, const WeftDataset *ds, int i)
{
  int si = e->sample_index[i];
  if (ds == NULL || si < 0 || (guint) si >= ds->samples->len)
    return NULL;
  return g_ptr_array_index (ds->samples, si);
}

static char *
label_text (const WeftEmbedding *e, int i)
{
  int l = e->label[i];
  if (l < 0)
    return g_strdup ("");
  if (e->class_names && l < (int) g_strv_length (e->class_names))
    return g_strdup (e->class_names[l]);
  return g_strdup_printf ("%d", l);
}

static gboolean
write_file (const char *path, GString *s, GError **error)
{
  GError *local = NULL;
  if (!g_file_set_contents (path, s->str, (gssize) s->len, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

gboolean
weft_export_tsv (const WeftEmbedding *e, const WeftDataset *ds,
                 const char *space, const char *dir, int *n_written,
                 GError **error)
{
  g_return_val_if_fail (e != NULL && dir != NULL, FALSE);
  if (space && weft_embedding_get_space (e, space) == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "the embedding has no %s space", space);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the folder cannot be created", dir);
      return FALSE;
    }
  int joint = weft_embedding_joint_dim (e);
  GString *vec = g_string_new (NULL);
  GString *meta = g_string_new ("index\tmodality\tlabel\tsplit\ttext\n");
  int count = 0;
  for (guint k = 0; k < e->spaces->len; k++)
    {
      const WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      if (space ? !g_str_equal (space, s->name) : !(s->joint && s->dim == joint))
        continue;
      for (int i = 0; i < e->n; i++)
        {
          if (!s->present[i])
            continue;
          const float *v = s->data + (gsize) i * s->dim;
          for (int j = 0; j < s->dim; j++)
            {
              char buf[G_ASCII_DTOSTR_BUF_SIZE];
              g_ascii_formatd (buf, sizeof buf, "%.6g", v[j]);
              if (j)
                g_string_append_c (vec, '\t');
              g_string_append (vec, buf);
            }
          g_string_append_c (vec, '\n');
          const WeftSample *smp = sample_of (e, ds, i);
          g_autofree char *label = label_text (e, i);
          g_string_append_printf (meta, "%d\t%s\t", e->sample_index[i] >= 0 ? e->sample_index[i]
                                                                             : e->row[i], s->name);
          append_tsv_cell (meta, label);
          g_string_append_printf (meta, "\t%s\t", split_names[MIN (e->split[i], 2)]);
          append_tsv_cell (meta, smp ? smp->text : NULL);
          g_string_append_c (meta, '\n');
          count++;
        }
    }
  g_autofree char *vpath = g_build_filename (dir, "vectors.tsv", NULL);
  g_autofree char *mpath = g_build_filename (dir, "metadata.tsv", NULL);
  gboolean ok = write_file (vpath, vec, error) && write_file (mpath, meta, error);
  g_string_free (vec, TRUE);
  g_string_free (meta, TRUE);
  if (ok && n_written)
    *n_written = count;
  return ok;
}

gboolean
weft_export_selection_csv (const WeftEmbedding *e, const WeftDataset *ds,
                           const WeftEmbedPoint *points, int n,
                           const char *path, GError **error)
{
  g_return_val_if_fail (e != NULL && path != NULL && (n == 0 || points != NULL), FALSE);
  GString *s = g_string_new ("index,id,modality,label,split,text,x,y\r\n");
  for (int p = 0; p < n; p++)
    {
      int i = points[p].sample, k = points[p].space;
      if (i < 0 || i >= e->n || k < 0 || (guint) k >= e->spaces->len)
        {
          g_string_free (s, TRUE);
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "point %d is not on the map", p);
          return FALSE;
        }
      const WeftEmbedSpace *sp = g_ptr_array_index (e->spaces, k);
      const WeftSample *smp = sample_of (e, ds, i);
      g_autofree char *label = label_text (e, i);
      g_string_append_printf (s, "%d,", e->sample_index[i] >= 0 ? e->sample_index[i] : e->row[i]);
      append_csv_cell (s, smp ? smp->id : NULL);
      g_string_append_printf (s, ",%s,", sp->name);
      append_csv_cell (s, label);
      g_string_append_printf (s, ",%s,", split_names[MIN (e->split[i], 2)]);
      append_csv_cell (s, smp ? smp->text : NULL);
      g_string_append_c (s, ',');
      if (sp->xy && isfinite (sp->xy[2 * i]))
        {
          char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];
          g_ascii_formatd (bx, sizeof bx, "%.6g", sp->xy[2 * i]);
          g_ascii_formatd (by, sizeof by, "%.6g", sp->xy[2 * i + 1]);
          g_string_append_printf (s, "%s,%s", bx, by);
        }
      else
        g_string_append_c (s, ',');
      g_string_append (s, "\r\n");
    }
  g_autofree char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0755);
  gboolean ok = write_file (path, s, error);
  g_string_free (s, TRUE);
  return ok;
}
