/* weft-embed.c — finds the nodes that embed each modality, runs the model
 * over the features to collect their outputs, encodes single queries, and
 * reads and writes .emb files (layout in weft-embed.h). */
#include "weft-embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/weft-image.h"
#include "data/weft-text.h"
#include "embed/weft-pca.h"
#include "embed/weft-tsne.h"
#include "weft-bytes.h"
#include "weft-error.h"
#include "weft-json.h"

static const char *const space_names[] = { "image", "text", "audio" };

/* ---- WeftEmbedding ---- */

static void
space_free (gpointer p)
{
  WeftEmbedSpace *s = p;
  g_free (s->name);
  g_free (s->node);
  g_free (s->data);
  g_free (s->present);
  g_free (s->xy);
  g_free (s);
}

WeftEmbedding *
weft_embedding_new (int n)
{
  g_return_val_if_fail (n >= 0, NULL);
  WeftEmbedding *e = g_new0 (WeftEmbedding, 1);
  e->n = n;
  e->row = g_new0 (int, MAX (n, 1));
  e->sample_index = g_new (int, MAX (n, 1));
  e->label = g_new (int, MAX (n, 1));
  e->split = g_new0 (guint8, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      e->row[i] = i;
      e->sample_index[i] = -1;
      e->label[i] = -1;
    }
  e->spaces = g_ptr_array_new_with_free_func (space_free);
  return e;
}

void
weft_embedding_free (WeftEmbedding *e)
{
  if (e == NULL)
    return;
  g_free (e->row);
  g_free (e->sample_index);
  g_free (e->label);
  g_free (e->split);
  g_strfreev (e->class_names);
  g_ptr_array_unref (e->spaces);
  g_free (e->projection);
  if (e->extra)
    json_object_unref (e->extra);
  g_free (e);
}

WeftEmbedSpace *
weft_embedding_add_space (WeftEmbedding *e, const char *name, const char *node,
                          int modality, int dim)
{
  g_return_val_if_fail (e != NULL && name != NULL && dim >= 1, NULL);
  g_return_val_if_fail (e->spaces->len < WEFT_EMBED_MAX_SPACES, NULL);
  WeftEmbedSpace *s = g_new0 (WeftEmbedSpace, 1);
  s->name = g_strdup (name);
  s->node = g_strdup (node ? node : "");
  s->modality = modality;
  s->dim = dim;
  s->data = g_new0 (float, (gsize) MAX (e->n, 1) * dim);
  s->present = g_new (guint8, MAX (e->n, 1));
  memset (s->present, 1, MAX (e->n, 1));
  s->joint = TRUE;
  g_ptr_array_add (e->spaces, s);
  return s;
}

WeftEmbedSpace *
weft_embedding_get_space (const WeftEmbedding *e, const char *name)
{
  g_return_val_if_fail (e != NULL && name != NULL, NULL);
  for (guint i = 0; i < e->spaces->len; i++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, i);
      if (g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

WeftEmbedSpace *
weft_embedding_get_space_for (const WeftEmbedding *e, WeftModality m)
{
  for (guint i = 0; i < e->spaces->len; i++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, i);
      if (s->modality == (int) m)
        return s;
    }
  return NULL;
}

int
weft_embedding_joint_dim (const WeftEmbedding *e)
{
  for (guint i = 0; i < e->spaces->len; i++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, i);
      if (s->joint)
        return s->dim;
    }
  return 0;
}

float *
weft_embedding_stack (const WeftEmbedding *e, const char *space,
                      int *n_points, int *dim, WeftEmbedPoint **points)
{
  int d = 0, m = 0;
  for (guint k = 0; k < e->spaces->len; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      if (space ? !g_str_equal (s->name, space) : !s->joint)
        continue;
      if (d == 0)
        d = s->dim;
      if (s->dim != d)
        continue;
      for (int i = 0; i < e->n; i++)
        m += s->present[i] != 0;
    }
  *n_points = m;
  *dim = d;
  *points = NULL;
  if (m == 0)
    return NULL;
  float *X = g_new (float, (gsize) m * d);
  WeftEmbedPoint *pts = g_new (WeftEmbedPoint, m);
  int p = 0;
  for (guint k = 0; k < e->spaces->len; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      if (space ? !g_str_equal (s->name, space) : !s->joint)
        continue;
      if (s->dim != d)
        continue;
      for (int i = 0; i < e->n; i++)
        if (s->present[i])
          {
            memcpy (X + (gsize) p * d, s->data + (gsize) i * d, (gsize) d * sizeof (float));
            pts[p].sample = i;
            pts[p].space = (int) k;
            p++;
          }
    }
  *points = pts;
  return X;
}

void
weft_embedding_set_xy (WeftEmbedding *e, const WeftEmbedPoint *points,
                       int n_points, const float *xy, const char *method)
{
  for (int p = 0; p < n_points; p++)
    {
      g_return_if_fail (points[p].space >= 0 && (guint) points[p].space < e->spaces->len);
      g_return_if_fail (points[p].sample >= 0 && points[p].sample < e->n);
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, points[p].space);
      if (s->xy == NULL)
        {
          s->xy = g_new (float, (gsize) MAX (e->n, 1) * 2);
          for (gsize i = 0; i < (gsize) e->n * 2; i++)
            s->xy[i] = NAN;
        }
      s->xy[2 * points[p].sample] = xy[2 * p];
      s->xy[2 * points[p].sample + 1] = xy[2 * p + 1];
    }
  if (method)
    {
      g_free (e->projection);
      e->projection = g_strdup (method);
    }
}

static gboolean
project_points (const float *X, int m, int d, const char *method, float *xy,
                GCancellable *cancellable, GError **error)
{
  if (m < 3 || d < 2)
    {
      /* Too few points or dimensions for a real map: lay them on a line. */
      for (int i = 0; i < m; i++)
        {
          xy[2 * i] = d >= 1 ? X[(gsize) i * d] : 0.f;
          xy[2 * i + 1] = d >= 2 ? X[(gsize) i * d + 1] : 0.f;
        }
      return TRUE;
    }
  if (g_str_equal (method, "pca"))
    {
      if (!weft_pca (X, m, d, 2, xy, NULL, NULL))
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                       "the principal components could not be computed");
          return FALSE;
        }
      return TRUE;
    }
  WeftTsneConfig c;
  weft_tsne_config_init (&c);
  c.cosine = TRUE;           /* embeddings are compared by angle everywhere else */
  g_autoptr(WeftTsne) t = weft_tsne_new (X, m, d, &c);
  if (!weft_tsne_run (t, cancellable, error))
    return FALSE;
  memcpy (xy, weft_tsne_get_positions (t), (gsize) m * 2 * sizeof (float));
  return TRUE;
}

gboolean
weft_embedding_project (WeftEmbedding *e, const char *method,
                        GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (e != NULL && method != NULL, FALSE);
  if (!g_str_equal (method, "pca") && !g_str_equal (method, "tsne"))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "unknown projection '%s' (pca or tsne)", method);
      return FALSE;
    }
  /* The joint spaces first (one map), then every other space alone. */
  for (int pass = -1; pass < (int) e->spaces->len; pass++)
    {
      const char *only = NULL;
      if (pass >= 0)
        {
          WeftEmbedSpace *s = g_ptr_array_index (e->spaces, pass);
          if (s->joint && s->dim == weft_embedding_joint_dim (e))
            continue;
          only = s->name;
        }
      int m, d;
      g_autofree WeftEmbedPoint *pts = NULL;
      g_autofree float *X = weft_embedding_stack (e, only, &m, &d, &pts);
      if (X == NULL)
        continue;
      g_autofree float *xy = g_new (float, (gsize) m * 2);
      if (!project_points (X, m, d, method, xy, cancellable, error))
        return FALSE;
      weft_embedding_set_xy (e, pts, m, xy, method);
    }
  return TRUE;
}

/* ---- Which nodes embed what ---- */

/* Bit m set: the spec id depends on data input modality m (labels aside). */
static guint
depends_on (const WeftSpec *spec, const char *id, GHashTable *memo, int depth)
{
  gpointer v;
  if (g_hash_table_lookup_extended (memo, id, NULL, &v))
    return GPOINTER_TO_UINT (v);
  guint mask = 0;
  const WeftSpecInput *in = weft_spec_find_input (spec, id);
  const WeftSpecNode *node = in ? NULL : weft_spec_find_node (spec, id);
  if (in && in->modality != WEFT_MODALITY_LABEL)
    mask = 1u << in->modality;
  else if (node && depth < 256)
    for (guint i = 0; node->inputs && node->inputs[i]; i++)
      mask |= depends_on (spec, node->inputs[i], memo, depth + 1);
  g_hash_table_insert (memo, (gpointer) id, GUINT_TO_POINTER (mask));
  return mask;
}

static int
single_modality (guint mask)
{
  for (int m = 0; m < 3; m++)
    if (mask == (1u << m))
      return m;
  return -1;
}

static int
node_dim (WeftGraph *g, const char *spec_id)
{
  int o = weft_graph_find_output (g, spec_id);
  if (o < 0)
    return 0;
  return (int) weft_node_out_size (weft_graph_get_node (g, o)->node);
}

static void
target_clear (gpointer p)
{
  WeftEmbedTarget *t = p;
  g_free (t->name);
  g_free (t->node);
}

static gboolean
has_target (GArray *a, const char *name)
{
  for (guint i = 0; i < a->len; i++)
    if (g_str_equal (g_array_index (a, WeftEmbedTarget, i).name, name))
      return TRUE;
  return FALSE;
}

static void
add_target (GArray *a, const char *name, const char *node, int modality, int dim,
            gboolean joint)
{
  if (has_target (a, name) || dim <= 0 || a->len >= WEFT_EMBED_MAX_SPACES)
    return;
  WeftEmbedTarget t = { g_strdup (name), g_strdup (node), modality, dim, joint };
  g_array_append_val (a, t);
}

static gboolean
is_type (const WeftSpecNode *n, const char *type)
{
  return n && g_str_equal (n->type, type);
}

/* Follows first inputs through dropout nodes (the identity at inference). */
static const WeftSpecNode *
skip_dropout (const WeftSpec *spec, const char *id, const char **out_id)
{
  const WeftSpecNode *n = weft_spec_find_node (spec, id);
  while (is_type (n, "dropout") && n->inputs && n->inputs[0])
    {
      id = n->inputs[0];
      n = weft_spec_find_node (spec, id);
    }
  *out_id = id;
  return n;
}

/* The closest fusion block at or above id (breadth first), or NULL. */
static const WeftSpecNode *
find_fusion (const WeftSpec *spec, const char *id)
{
  GQueue q = G_QUEUE_INIT;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_push_tail (&q, (gpointer) id);
  const WeftSpecNode *found = NULL;
  while (!g_queue_is_empty (&q) && found == NULL)
    {
      const char *cur = g_queue_pop_head (&q);
      if (!g_hash_table_add (seen, (gpointer) cur))
        continue;
      const WeftSpecNode *n = weft_spec_find_node (spec, cur);
      if (n == NULL)
        continue;
      const WeftBlock *b = weft_block_lookup (n->type);
      if (b && g_strcmp0 (b->group, "fusion") == 0)
        found = n;
      for (guint i = 0; n->inputs && n->inputs[i]; i++)
        g_queue_push_tail (&q, n->inputs[i]);
    }
  g_queue_clear (&q);
  return found;
}

GArray *
weft_embed_find_targets (WeftGraph *g)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (WeftEmbedTarget));
  g_array_set_clear_func (out, target_clear);
  const WeftSpec *spec = weft_graph_get_spec (g);
  g_autoptr(GHashTable) memo = g_hash_table_new (g_str_hash, g_str_equal);

  /* Rule 1: the inputs of contrastive losses. */
  int joint_dim = 0;
  for (guint l = 0; l < spec->losses->len; l++)
    {
      const WeftSpecLoss *loss = &g_array_index (spec->losses, WeftSpecLoss, l);
      const WeftSpecNode *n = weft_spec_find_node (spec, loss->node);
      if (!is_type (n, "infonce") && !is_type (n, "triplet"))
        continue;
      for (guint i = 0; n->inputs && n->inputs[i]; i++)
        {
          int m = single_modality (depends_on (spec, n->inputs[i], memo, 0));
          int dim = node_dim (g, n->inputs[i]);
          if (joint_dim == 0)
            joint_dim = dim;
          add_target (out, m >= 0 ? space_names[m] : "fused", n->inputs[i], m, dim,
                      dim == joint_dim);
        }
    }
  if (out->len > 0)
    return out;

  /* Rule 2: the representation a classifier or a decoder reads. */
  const char *rep = NULL;
  for (guint l = 0; l < spec->losses->len && rep == NULL; l++)
    {
      const WeftSpecLoss *loss = &g_array_index (spec->losses, WeftSpecLoss, l);
      const WeftSpecNode *n = weft_spec_find_node (spec, loss->node);
      if (!is_type (n, "cross_entropy") || n->inputs == NULL || n->inputs[0] == NULL)
        continue;
      const char *id;
      const WeftSpecNode *head = skip_dropout (spec, n->inputs[0], &id);
      if (is_type (head, "classifier") && head->inputs && head->inputs[0])
        skip_dropout (spec, head->inputs[0], &rep);
      else
        rep = id;
    }
  for (guint i = 0; i < spec->nodes->len && rep == NULL; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      if (is_type (n, "decoder") && n->inputs && n->inputs[0])
        skip_dropout (spec, n->inputs[0], &rep);
    }
  if (rep == NULL || weft_spec_find_input (spec, rep) != NULL)
    return out;
  int m = single_modality (depends_on (spec, rep, memo, 0));
  add_target (out, m >= 0 ? space_names[m] : "fused", rep, m, node_dim (g, rep), TRUE);

  const WeftSpecNode *fusion = find_fusion (spec, rep);
  if (fusion == NULL || fusion->inputs == NULL)
    return out;
  guint seen = 0, n_in = g_strv_length (fusion->inputs);
  int dim = node_dim (g, fusion->inputs[0]);
  for (guint i = 0; i < n_in; i++)
    {
      int mi = single_modality (depends_on (spec, fusion->inputs[i], memo, 0));
      if (mi < 0 || (seen & (1u << mi)) || node_dim (g, fusion->inputs[i]) != dim)
        return out;
      seen |= 1u << mi;
    }
  for (guint i = 0; i < n_in && n_in >= 2; i++)
    {
      int mi = single_modality (depends_on (spec, fusion->inputs[i], memo, 0));
      add_target (out, space_names[mi], fusion->inputs[i], mi, dim, FALSE);
    }
  return out;
}

/* ---- Computing ---- */

static const guint8 *
presence_of (const WeftFeatures *f, int modality)
{
  switch (modality)
    {
    case WEFT_MODALITY_IMAGE: return f->image.present;
    case WEFT_MODALITY_TEXT: return f->text.present;
    case WEFT_MODALITY_AUDIO: return f->audio.present;
    default: return NULL;
    }
}

WeftEmbedding *
weft_embed_compute (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                    WeftEmbedProgress progress, gpointer user_data,
                    GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (g != NULL && f != NULL, NULL);
  if (n <= 0 || n > f->n_rows)
    n = rows ? 0 : f->n_rows;
  g_autoptr(GArray) targets = weft_embed_find_targets (g);
  if (targets->len == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "the model has no embedding to show (no contrastive loss, "
                   "classifier or decoder)");
      return NULL;
    }
  if (n == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "there are no samples to embed");
      return NULL;
    }
  for (int i = 0; rows && i < n; i++)
    g_return_val_if_fail (rows[i] >= 0 && rows[i] < f->n_rows, NULL);

  g_autoptr(WeftEmbedding) e = weft_embedding_new (n);
  int *outs = g_newa (int, targets->len);
  for (guint t = 0; t < targets->len; t++)
    {
      WeftEmbedTarget *tg = &g_array_index (targets, WeftEmbedTarget, t);
      WeftEmbedSpace *s = weft_embedding_add_space (e, tg->name, tg->node, tg->modality, tg->dim);
      s->joint = tg->joint;
      outs[t] = weft_graph_find_output (g, tg->node);
    }
  for (int i = 0; i < n; i++)
    {
      int r = rows ? rows[i] : i;
      e->row[i] = r;
      e->sample_index[i] = f->sample_index ? f->sample_index[r] : -1;
      e->label[i] = f->label && f->label[r] >= 0 ? (int) f->label[r] : -1;
      e->split[i] = f->split ? f->split[r] : WEFT_SPLIT_TRAIN;
      if (f->n_classes > 0 && e->label[i] >= f->n_classes)
        e->label[i] = -1;
    }
  if (f->class_names)
    e->class_names = g_strdupv (f->class_names);

  /* A fused space exists when every modality it reads is there; a
   * per-modality space when its own modality is. */
  for (guint t = 0; t < e->spaces->len; t++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, t);
      const guint8 *pres = presence_of (f, s->modality);
      for (int i = 0; i < n; i++)
        s->present[i] = pres ? pres[e->row[i]] != 0 : 1;
    }

  int max_batch = weft_graph_get_max_batch (g);
  for (int b0 = 0; b0 < n; b0 += max_batch)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      int B = MIN (max_batch, n - b0);
      weft_features_gather (f, g, e->row + b0, B);
      weft_graph_forward (g, B, FALSE);
      for (guint t = 0; t < e->spaces->len; t++)
        {
          WeftEmbedSpace *s = g_ptr_array_index (e->spaces, t);
          const float *src = weft_graph_get_node (g, outs[t])->node->out;
          memcpy (s->data + (gsize) b0 * s->dim, src, (gsize) B * s->dim * sizeof (float));
        }
      if (progress)
        progress ((double) (b0 + B) / n, user_data);
    }
  return g_steal_pointer (&e);
}

static int
cmp_int (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

int *
weft_embed_sample_rows (const WeftFeatures *f, int n, guint64 seed, int *out_n)
{
  int N = f->n_rows;
  int *all = g_new (int, MAX (N, 1));
  for (int i = 0; i < N; i++)
    all[i] = i;
  if (n > 0 && n < N)
    {
      WeftRng rng;
      weft_rng_init (&rng, seed);
      /* Partial Fisher-Yates: the first n places are a uniform sample. */
      for (int i = 0; i < n; i++)
        {
          int j = i + (int) weft_rng_below (&rng, (guint32) (N - i));
          int t = all[i]; all[i] = all[j]; all[j] = t;
        }
      N = n;
      qsort (all, N, sizeof (int), cmp_int);
    }
  *out_n = N;
  return all;
}

/* ---- One query ---- */

static const WeftEmbedTarget *
target_for (GArray *targets, WeftModality m, GError **error)
{
  for (guint i = 0; i < targets->len; i++)
    if (g_array_index (targets, WeftEmbedTarget, i).modality == (int) m)
      return &g_array_index (targets, WeftEmbedTarget, i);
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "the model does not embed %s",
               weft_modality_choices[m]);
  return NULL;
}

static gboolean
text_is_bow (WeftGraph *g)
{
  const WeftSpec *spec = weft_graph_get_spec (g);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      if (in->modality == WEFT_MODALITY_TEXT)
        return in->text_bow;
    }
  return FALSE;
}

/* Row 0 of every input is cleared (ids to padding), the query's own
 * input copied in, and one row run: other encoders see an empty sample,
 * which does not change the query's own encoder output. */
static float *
run_one (WeftGraph *g, WeftModality m, const float *input, gsize input_size,
         int *dim, GError **error)
{
  g_autoptr(GArray) targets = weft_embed_find_targets (g);
  const WeftEmbedTarget *tg = target_for (targets, m, error);
  if (tg == NULL)
    return NULL;
  for (int k = 0; k < WEFT_N_MODALITIES; k++)
    {
      gsize size;
      float *dst = weft_graph_get_input (g, k, &size);
      if (dst == NULL)
        continue;
      if (k == WEFT_MODALITY_LABEL)
        dst[0] = -1.f;
      else if (k == WEFT_MODALITY_TEXT && !text_is_bow (g))
        for (gsize j = 0; j < size; j++)
          dst[j] = -1.f;     /* token ids: all padding */
      else
        memset (dst, 0, size * sizeof (float));
      if (k == (int) m)
        {
          if (size != input_size)
            {
              g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                           "the model expects %s input of size %" G_GSIZE_FORMAT
                           ", the query has %" G_GSIZE_FORMAT,
                           weft_modality_choices[m], size, input_size);
              return NULL;
            }
          memcpy (dst, input, size * sizeof (float));
        }
    }
  weft_graph_forward (g, 1, FALSE);
  int o = weft_graph_find_output (g, tg->node);
  *dim = tg->dim;
  return g_memdup2 (weft_graph_get_node (g, o)->node->out, (gsize) tg->dim * sizeof (float));
}

float *
weft_embed_query_text (WeftGraph *g, const WeftFeatures *f, const char *text,
                       int *dim, GError **error)
{
  g_return_val_if_fail (g && f && text && dim, NULL);
  gsize size = 0;
  if (weft_graph_get_input (g, WEFT_MODALITY_TEXT, &size) == NULL || f->text.shape.n == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "the model does not embed text");
      return NULL;
    }
  if (f->vocab == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "the features have no vocabulary");
      return NULL;
    }
  int L = f->text.shape.d[0];
  g_autoptr(WeftVocab) v = weft_vocab_new_from_strv ((const char *const *) f->vocab);
  g_autofree float *ids = g_new (float, L);
  weft_text_encode (v, text, ids, L);
  if (!text_is_bow (g))
    return run_one (g, WEFT_MODALITY_TEXT, ids, L, dim, error);
  g_autofree float *bow = g_new0 (float, size);
  const float *idf = f->idf && (gsize) f->vocab_size == size ? f->idf : NULL;
  weft_text_bow (ids, L, (int) size, idf, bow);
  return run_one (g, WEFT_MODALITY_TEXT, bow, size, dim, error);
}

float *
weft_embed_query_image (WeftGraph *g, const WeftFeatures *f, const char *path,
                        int *dim, GError **error)
{
  g_return_val_if_fail (g && f && path && dim, NULL);
  if (f->image.shape.n != 3)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "the model does not embed images");
      return NULL;
    }
  int C = f->image.shape.d[0], S = f->image.shape.d[1];
  gsize size = weft_shape_size (&f->image.shape);
  g_autofree float *img = g_new (float, size);
  GError *local = NULL;
  if (!weft_image_load (path, S, C, 40000000, img, &local))
    {
      g_autofree char *base = g_path_get_basename (path);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s could not be read: %s",
                   base, local->message);
      g_error_free (local);
      return NULL;
    }
  return run_one (g, WEFT_MODALITY_IMAGE, img, size, dim, error);
}

float *
weft_embed_query_audio (WeftGraph *g, const WeftFeatures *f, const char *path,
                        const WeftMelSettings *mel, int *dim, GError **error)
{
  g_return_val_if_fail (g && f && path && dim, NULL);
  if (f->audio.shape.n != 2)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "the model does not embed sounds");
      return NULL;
    }
  WeftMelSettings s;
  if (mel)
    s = *mel;
  else
    weft_mel_settings_init (&s);
  s.mel_bands = f->audio.shape.d[0];
  s.frames = f->audio.shape.d[1];
  weft_audio_init ();
  gsize n = 0;
  gboolean truncated = FALSE;
  GError *local = NULL;
  g_autofree float *pcm = weft_audio_decode (path, 30.0, &n, &truncated, &local);
  if (pcm == NULL)
    {
      g_autofree char *base = g_path_get_basename (path);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s could not be read: %s",
                   base, local->message);
      g_error_free (local);
      return NULL;
    }
  gsize size = weft_shape_size (&f->audio.shape);
  g_autofree float *spec = g_new (float, size);
  weft_audio_log_mel (pcm, n, &s, spec);
  weft_features_normalise_audio (f, spec);
  return run_one (g, WEFT_MODALITY_AUDIO, spec, size, dim, error);
}

/* ---- Files ---- */

#define HEADER_SIZE 64
#define MAX_JSON (16u << 20)
#define MAX_N (1u << 26)

static gsize
pad4 (gsize x)
{
  return (x + 3) & ~(gsize) 3;
}

static gsize
pad8 (gsize x)
{
  return (x + 7) & ~(gsize) 7;
}

/* Bytes of the arrays after the JSON, or 0 on overflow. dims[k] and
 * has_xy[k] per space. */
static guint64
arrays_size (guint64 n, guint n_spaces, const int *dims, const gboolean *has_xy)
{
  guint64 size = 12 * n + pad4 (n);
  for (guint k = 0; k < n_spaces; k++)
    {
      size += 4 * n * (guint64) dims[k] + pad4 (n);
      if (has_xy[k])
        size += 8 * n;
    }
  return size;
}

static char *
header_json (const WeftEmbedding *e, gsize *len)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "spaces");
  json_builder_begin_array (b);
  for (guint k = 0; k < e->spaces->len; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, s->name);
      json_builder_set_member_name (b, "node");
      json_builder_add_string_value (b, s->node);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, s->dim);
      json_builder_set_member_name (b, "joint");
      json_builder_add_boolean_value (b, s->joint);
      json_builder_set_member_name (b, "xy");
      json_builder_add_boolean_value (b, s->xy != NULL);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (e->class_names)
    {
      json_builder_set_member_name (b, "class_names");
      json_builder_begin_array (b);
      for (int i = 0; e->class_names[i]; i++)
        json_builder_add_string_value (b, e->class_names[i]);
      json_builder_end_array (b);
    }
  if (e->projection)
    {
      json_builder_set_member_name (b, "projection");
      json_builder_add_string_value (b, e->projection);
    }
  if (e->extra)
    {
      json_builder_set_member_name (b, "extra");
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (node, e->extra);
      json_builder_add_value (b, node);
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return weft_json_to_data (root, FALSE, len);
}

gboolean
weft_embedding_save (const WeftEmbedding *e, const char *path, GError **error)
{
  g_return_val_if_fail (e != NULL && path != NULL, FALSE);
  g_return_val_if_fail (e->n >= 1 && e->spaces->len >= 1, FALSE);
  gsize jlen = 0;
  g_autofree char *json = header_json (e, &jlen);
  guint ns = e->spaces->len;
  int dims[WEFT_EMBED_MAX_SPACES];
  gboolean xy[WEFT_EMBED_MAX_SPACES];
  for (guint k = 0; k < ns; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      dims[k] = s->dim;
      xy[k] = s->xy != NULL;
    }
  guint64 n = (guint64) e->n;
  guint64 start = pad8 (HEADER_SIZE + jlen);
  guint64 total = start + arrays_size (n, ns, dims, xy);
  guint8 *buf = g_malloc0 (total);
  memcpy (buf, "WEFTEMB", 8);
  weft_put_u32 (buf + 8, WEFT_EMBED_FILE_VERSION);
  weft_put_u32 (buf + 12, (guint32) n);
  weft_put_u32 (buf + 16, ns);
  weft_put_u32 (buf + 20, (guint32) e->epoch);
  weft_put_u64 (buf + 24, total);
  weft_put_u32 (buf + 32, (guint32) jlen);
  memcpy (buf + HEADER_SIZE, json, jlen);
  guint8 *p = buf + start;
  for (guint64 i = 0; i < n; i++)
    weft_put_u32 (p + 4 * i, (guint32) e->row[i]);
  p += 4 * n;
  for (guint64 i = 0; i < n; i++)
    weft_put_u32 (p + 4 * i, (guint32) e->sample_index[i]);
  p += 4 * n;
  for (guint64 i = 0; i < n; i++)
    weft_put_u32 (p + 4 * i, (guint32) e->label[i]);
  p += 4 * n;
  memcpy (p, e->split, n);
  p += pad4 (n);
  for (guint k = 0; k < ns; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      /* Floats as stored on a little-endian machine (see the header). */
      memcpy (p, s->data, 4 * n * s->dim);
      p += 4 * n * s->dim;
      for (guint64 i = 0; i < n; i++)
        p[i] = s->present[i] ? 1 : 0;
      p += pad4 (n);
      if (s->xy)
        {
          memcpy (p, s->xy, 8 * n);
          p += 8 * n;
        }
    }
  g_assert ((guint64) (p - buf) == total);

  g_autofree char *dir = g_path_get_dirname (path);
  gboolean ok = TRUE;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the folder cannot be created", dir);
      ok = FALSE;
    }
  GError *local = NULL;
  if (ok && !g_file_set_contents (path, (const char *) buf, (gssize) total, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      g_error_free (local);
      ok = FALSE;
    }
  g_free (buf);
  return ok;
}

static gboolean
corrupt (GError **error, const char *path, const char *why)
{
  g_autofree char *base = g_path_get_basename (path);
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s is not a valid embedding file (%s)",
               base, why);
  return FALSE;
}

WeftEmbedding *
weft_embedding_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return NULL;
    }
  const guint8 *buf = (const guint8 *) contents;
  if (len < HEADER_SIZE || memcmp (buf, "WEFTEMB", 8) != 0)
    return corrupt (error, path, "wrong signature"), NULL;
  if (weft_get_u32 (buf + 8) != WEFT_EMBED_FILE_VERSION)
    return corrupt (error, path, "unknown version"), NULL;
  guint64 n = weft_get_u32 (buf + 12);
  guint ns = weft_get_u32 (buf + 16);
  gint32 epoch = (gint32) weft_get_u32 (buf + 20);
  guint64 fsize = weft_get_u64 (buf + 24);
  guint64 jlen = weft_get_u32 (buf + 32);
  if (fsize != len)
    return corrupt (error, path, len < fsize ? "truncated" : "wrong length"), NULL;
  if (n < 1 || n >= MAX_N || ns < 1 || ns > WEFT_EMBED_MAX_SPACES || epoch < 0)
    return corrupt (error, path, "bad counts"), NULL;
  if (jlen == 0 || jlen >= MAX_JSON || HEADER_SIZE + jlen > len)
    return corrupt (error, path, "bad header"), NULL;

  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) buf + HEADER_SIZE, (gssize) jlen, NULL))
    return corrupt (error, path, "damaged description"), NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return corrupt (error, path, "damaged description"), NULL;
  JsonObject *o = json_node_get_object (root);
  JsonNode *sn = json_object_get_member (o, "spaces");
  if (sn == NULL || !JSON_NODE_HOLDS_ARRAY (sn) ||
      json_array_get_length (json_node_get_array (sn)) != ns)
    return corrupt (error, path, "spaces do not match the header"), NULL;
  JsonArray *sa = json_node_get_array (sn);
  int dims[WEFT_EMBED_MAX_SPACES];
  gboolean xy[WEFT_EMBED_MAX_SPACES], joint[WEFT_EMBED_MAX_SPACES];
  const char *names[WEFT_EMBED_MAX_SPACES], *nodes[WEFT_EMBED_MAX_SPACES];
  for (guint k = 0; k < ns; k++)
    {
      JsonNode *en = json_array_get_element (sa, k);
      if (!JSON_NODE_HOLDS_OBJECT (en))
        return corrupt (error, path, "damaged space"), NULL;
      JsonObject *so = json_node_get_object (en);
      JsonNode *name = json_object_get_member (so, "name");
      JsonNode *dim = json_object_get_member (so, "dim");
      if (name == NULL || json_node_get_value_type (name) != G_TYPE_STRING ||
          dim == NULL || json_node_get_value_type (dim) != G_TYPE_INT64)
        return corrupt (error, path, "damaged space"), NULL;
      names[k] = json_node_get_string (name);
      if (!g_str_equal (names[k], "image") && !g_str_equal (names[k], "text") &&
          !g_str_equal (names[k], "audio") && !g_str_equal (names[k], "fused"))
        return corrupt (error, path, "unknown space"), NULL;
      gint64 d = json_node_get_int (dim);
      if (d < 1 || d > 65536)
        return corrupt (error, path, "bad dimension"), NULL;
      dims[k] = (int) d;
      nodes[k] = json_object_get_string_member_with_default (so, "node", "");
      xy[k] = json_object_get_boolean_member_with_default (so, "xy", FALSE);
      joint[k] = json_object_get_boolean_member_with_default (so, "joint", TRUE);
    }
  guint64 start = pad8 (HEADER_SIZE + jlen);
  if (start + arrays_size (n, ns, dims, xy) != len)
    return corrupt (error, path, "sizes do not add up"), NULL;

  g_autoptr(WeftEmbedding) e = weft_embedding_new ((int) n);
  e->epoch = epoch;
  JsonNode *cn = json_object_get_member (o, "class_names");
  int n_classes = 0;
  if (cn && JSON_NODE_HOLDS_ARRAY (cn))
    {
      JsonArray *ca = json_node_get_array (cn);
      n_classes = (int) json_array_get_length (ca);
      e->class_names = g_new0 (char *, n_classes + 1);
      for (int i = 0; i < n_classes; i++)
        {
          JsonNode *c = json_array_get_element (ca, i);
          if (json_node_get_value_type (c) != G_TYPE_STRING)
            return corrupt (error, path, "damaged class names"), NULL;
          e->class_names[i] = g_strdup (json_node_get_string (c));
        }
    }
  const char *proj = json_object_get_string_member_with_default (o, "projection", NULL);
  e->projection = g_strdup (proj);
  JsonNode *xn = json_object_get_member (o, "extra");
  if (xn && JSON_NODE_HOLDS_OBJECT (xn))
    e->extra = json_object_ref (json_node_get_object (xn));

  const guint8 *p = buf + start;
  for (guint64 i = 0; i < n; i++)
    {
      gint32 row = (gint32) weft_get_u32 (p + 4 * i);
      gint32 si = (gint32) weft_get_u32 (p + 4 * (n + i));
      gint32 label = (gint32) weft_get_u32 (p + 4 * (2 * n + i));
      guint8 split = p[12 * n + i];
      if (row < 0 || si < -1 || label < -1 || (n_classes > 0 && label >= n_classes) ||
          split > WEFT_SPLIT_TEST)
        return corrupt (error, path, "a sample's row, label or split is out of range"), NULL;
      e->row[i] = row;
      e->sample_index[i] = si;
      e->label[i] = label;
      e->split[i] = split;
    }
  p += 12 * n + pad4 (n);
  for (guint k = 0; k < ns; k++)
    {
      for (guint j = 0; j < k; j++)
        if (g_str_equal (names[j], names[k]))
          return corrupt (error, path, "a space appears twice"), NULL;
      int m = g_str_equal (names[k], "image") ? WEFT_MODALITY_IMAGE
            : g_str_equal (names[k], "text") ? WEFT_MODALITY_TEXT
            : g_str_equal (names[k], "audio") ? WEFT_MODALITY_AUDIO : -1;
      WeftEmbedSpace *s = weft_embedding_add_space (e, names[k], nodes[k], m, dims[k]);
      s->joint = joint[k];
      memcpy (s->data, p, 4 * n * dims[k]);
      p += 4 * n * dims[k];
      for (guint64 i = 0; i < n; i++)
        {
          if (p[i] > 1)
            return corrupt (error, path, "damaged presence flags"), NULL;
          s->present[i] = p[i];
        }
      p += pad4 (n);
      if (xy[k])
        {
          s->xy = g_new (float, 2 * n);
          memcpy (s->xy, p, 8 * n);
          p += 8 * n;
        }
    }
  return g_steal_pointer (&e);
}

char *
weft_embedding_file_name (const char *dir, int epoch)
{
  g_autofree char *base = epoch <= 0 ? g_strdup ("final.emb")
                                     : g_strdup_printf ("epoch-%03d.emb", epoch);
  return g_build_filename (dir, base, NULL);
}

static gint
cmp_gint (gconstpointer a, gconstpointer b)
{
  return cmp_int (a, b);
}

GArray *
weft_embedding_list_epochs (const char *dir)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      int epoch = 0;
      char tail = 0;
      if (g_str_has_prefix (name, "epoch-") && g_str_has_suffix (name, ".emb") &&
          sscanf (name, "epoch-%d.em%c", &epoch, &tail) == 2 && tail == 'b' && epoch > 0)
        g_array_append_val (out, epoch);
    }
  g_array_sort (out, cmp_gint);
  return out;
}

/* ---- Runs ---- */

double
weft_embedding_align_xy (WeftEmbedding *e, const WeftEmbedding *ref)
{
  g_return_val_if_fail (e != NULL && ref != NULL, NAN);
  g_autoptr(GHashTable) ref_rows = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (int i = 0; i < ref->n; i++)
    g_hash_table_insert (ref_rows, GINT_TO_POINTER (ref->row[i] + 1), GINT_TO_POINTER (i + 1));
  /* Every mapped point of e's joint spaces, with its partner in ref. */
  GArray *Y = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *R = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *mask = g_array_new (FALSE, FALSE, sizeof (guint8));
  for (guint k = 0; k < e->spaces->len; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
      if (!s->joint || s->xy == NULL)
        continue;
      WeftEmbedSpace *rs = weft_embedding_get_space (ref, s->name);
      for (int i = 0; i < e->n; i++)
        {
          int j = GPOINTER_TO_INT (g_hash_table_lookup (ref_rows, GINT_TO_POINTER (e->row[i] + 1))) - 1;
          float r[2] = { NAN, NAN };
          guint8 ok = rs && rs->xy && j >= 0 && rs->present[j] && s->present[i];
          if (ok)
            {
              r[0] = rs->xy[2 * j];
              r[1] = rs->xy[2 * j + 1];
            }
          g_array_append_vals (Y, s->xy + 2 * i, 2);
          g_array_append_vals (R, r, 2);
          g_array_append_val (mask, ok);
        }
    }
  double rms = NAN;
  int any = 0;
  for (guint p = 0; p < mask->len; p++)
    any += g_array_index (mask, guint8, p);
  if (any > 0)
    {
      rms = weft_procrustes_align ((float *) Y->data, (const float *) R->data, (int) mask->len,
                                   (const guint8 *) mask->data, TRUE);
      guint p = 0;
      for (guint k = 0; k < e->spaces->len; k++)
        {
          WeftEmbedSpace *s = g_ptr_array_index (e->spaces, k);
          if (!s->joint || s->xy == NULL)
            continue;
          memcpy (s->xy, (float *) Y->data + 2 * p, (gsize) e->n * 2 * sizeof (float));
          p += e->n;
        }
    }
  g_array_unref (Y);
  g_array_unref (R);
  g_array_unref (mask);
  return rms;
}

gboolean
weft_embed_write_epoch (WeftGraph *g, const WeftFeatures *f, const char *dir,
                        int epoch, int max_samples, const char *projection,
                        GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (g != NULL && f != NULL && dir != NULL, FALSE);
  int n = 0;
  g_autofree int *rows = weft_embed_sample_rows (f, max_samples > 0 ? max_samples : 2000, 1, &n);
  g_autoptr(WeftEmbedding) e = weft_embed_compute (g, f, rows, n, NULL, NULL, cancellable, error);
  if (e == NULL)
    return FALSE;
  e->epoch = MAX (epoch, 0);
  if (projection && !weft_embedding_project (e, projection, cancellable, error))
    return FALSE;
  if (projection)
    {
      /* The latest earlier epoch on disk is the reference. */
      g_autoptr(GArray) epochs = weft_embedding_list_epochs (dir);
      int prev = -1;
      for (guint i = 0; i < epochs->len; i++)
        if (g_array_index (epochs, int, i) < epoch || epoch <= 0)
          prev = g_array_index (epochs, int, i);
      if (prev > 0)
        {
          g_autofree char *path = weft_embedding_file_name (dir, prev);
          g_autoptr(WeftEmbedding) ref = weft_embedding_load (path, NULL);
          if (ref)
            weft_embedding_align_xy (e, ref);
        }
    }
  g_autofree char *path = weft_embedding_file_name (dir, epoch);
  return weft_embedding_save (e, path, error);
}
