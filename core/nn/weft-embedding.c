/* weft-embedding.c — token ids to learned vectors: Embedding (one vector per
 * id, as F.embedding) and EmbeddingBag (the mean over a sample's ids). */
#include "weft-block.h"

#include <string.h>

enum { P_DIM, P_VOCAB };

static const WeftParamSpec embedding_params[] = {
  { "dim", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Length of the vector learned for each word." },
  { "vocab", WEFT_PARAM_INT, 0, 1, 1 << 24, NULL,
    "Number of different words; 0 takes the vocabulary size of the dataset.",
    WEFT_PARAM_BIND_VOCAB },
};

static const char *const embedding_ports[] = { "ids", NULL };

/* Row of the table for a token id carried as a float, or -1 for padding.
 * Negative ids are padding by convention. Ids at or past the end of the
 * table (a vocabulary that grew after training, a corrupt row) and NaN are
 * treated as padding too, so a bad id never reads outside the table. */
static inline int
embedding_row (float id, int vocab)
{
  if (!(id >= 0.f && id < (float) vocab))
    return -1;
  return (int) id;
}

/* y (n) += a · x (n). Written eight wide because GCC at -O2 only
 * vectorises a loop whose vector body replaces it entirely; this form
 * gets SIMD there, the plain loop would not. */
static inline void
embedding_axpy (float *restrict y, float a, const float *restrict x, int n)
{
  int j = 0;
  for (; j + 8 <= n; j += 8)
    {
      y[j + 0] += a * x[j + 0];
      y[j + 1] += a * x[j + 1];
      y[j + 2] += a * x[j + 2];
      y[j + 3] += a * x[j + 3];
      y[j + 4] += a * x[j + 4];
      y[j + 5] += a * x[j + 5];
      y[j + 6] += a * x[j + 6];
      y[j + 7] += a * x[j + 7];
    }
  for (; j < n; j++)
    y[j] += a * x[j];
}

/* Number of ids of one sample that are not padding. */
static inline int
embedding_count (const float *ids, int L, int vocab)
{
  int count = 0;
  for (int l = 0; l < L; l++)
    count += embedding_row (ids[l], vocab) >= 0;
  return count;
}

/* Shared by both blocks: the table is (vocab, dim), N(0, 1) as
 * torch.nn.Embedding, so an exported model starts from the same law. */
static gboolean
embedding_add_table (WeftNode *node, GError **error)
{
  int dim = (int) node->p[P_DIM];
  int vocab = (int) node->p[P_VOCAB];

  if (vocab <= 0)
    return weft_node_error (node, error,
                            "the vocabulary size is not known: set 'vocab' or "
                            "connect a text input from a dataset");
  weft_node_add_weight (node, "weight", weft_shape_2 (vocab, dim),
                        WEFT_INIT_NORMAL, 1.f, vocab, dim);
  return TRUE;
}

/* ---- Embedding: (L) ids -> (L, dim) ---- */

static gboolean
embedding_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  if (s->n >= WEFT_MAX_DIMS)
    return weft_node_error (node, error,
                            "input 1 has %d dimensions; Embedding adds one, "
                            "and at most %d are supported", s->n, WEFT_MAX_DIMS);
  node->out_shape = *s;
  node->out_shape.d[s->n] = (int) node->p[P_DIM];
  node->out_shape.n = s->n + 1;
  return embedding_add_table (node, error);
}

static void
embedding_forward (WeftNode *node, const WeftPass *pass)
{
  gsize N = pass->B * weft_node_in_size (node, 0);
  int dim = (int) node->p[P_DIM];
  int vocab = node->w_spec[0].shape.d[0];
  const float *ids = node->in[0]; /* (N) */
  const float *W = node->w[0];    /* (vocab, dim) */
  float *y = node->out;           /* (N, dim) */

  for (gsize i = 0; i < N; i++)
    {
      int r = embedding_row (ids[i], vocab);
      if (r >= 0)
        memcpy (y + i * dim, W + (gsize) r * dim, dim * sizeof (float));
      else
        memset (y + i * dim, 0, dim * sizeof (float));
    }
}

static void
embedding_backward (WeftNode *node, const WeftPass *pass)
{
  /* Ids carry no gradient; only the rows that were read get one. */
  float *dW = node->dw[0]; /* (vocab, dim) */
  if (dW == NULL)
    return;

  gsize N = pass->B * weft_node_in_size (node, 0);
  int dim = (int) node->p[P_DIM];
  int vocab = node->w_spec[0].shape.d[0];
  const float *ids = node->in[0]; /* (N) */
  const float *dy = node->dout;   /* (N, dim) */

  for (gsize i = 0; i < N; i++)
    {
      int r = embedding_row (ids[i], vocab);
      if (r < 0)
        continue;
      embedding_axpy (dW + (gsize) r * dim, 1.f, dy + i * dim, dim);
    }
}

static guint64
embedding_flops (const WeftNode *node)
{
  /* A lookup does no arithmetic; count the copy so the cost is not zero. */
  return weft_node_out_size (node);
}

const WeftBlock weft_block_embedding = {
  .type = "embedding", .group = "layers", .title = "Embedding",
  .blurb = "Turns each word id into a learned vector; padding positions give zeros.",
  .params = embedding_params, .n_params = G_N_ELEMENTS (embedding_params),
  .ports = embedding_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = embedding_infer, .forward = embedding_forward,
  .backward = embedding_backward, .flops = embedding_flops,
};

/* ---- EmbeddingBag (mean): (L) ids -> (dim) ---- */

static gboolean
embedding_bag_infer (WeftNode *node, GError **error)
{
  /* Every id of the sample is in the bag, whatever the input's layout. */
  node->out_shape = weft_shape_1 ((int) node->p[P_DIM]);
  return embedding_add_table (node, error);
}

static void
embedding_bag_forward (WeftNode *node, const WeftPass *pass)
{
  int L = (int) weft_node_in_size (node, 0);
  int dim = (int) node->p[P_DIM];
  int vocab = node->w_spec[0].shape.d[0];
  const float *W = node->w[0]; /* (vocab, dim) */

  for (int b = 0; b < pass->B; b++)
    {
      const float *ids = node->in[0] + (gsize) b * L; /* (L) */
      float *y = node->out + (gsize) b * dim;         /* (dim) */
      int count = embedding_count (ids, L, vocab);

      /* An empty bag stays the zero vector (nn.EmbeddingBag does the same). */
      memset (y, 0, dim * sizeof (float));
      if (count == 0)
        continue;
      float inv = 1.f / count;
      for (int l = 0; l < L; l++)
        {
          int r = embedding_row (ids[l], vocab);
          if (r >= 0)
            embedding_axpy (y, inv, W + (gsize) r * dim, dim);
        }
    }
}

static void
embedding_bag_backward (WeftNode *node, const WeftPass *pass)
{
  float *dW = node->dw[0]; /* (vocab, dim) */
  if (dW == NULL)
    return;

  int L = (int) weft_node_in_size (node, 0);
  int dim = (int) node->p[P_DIM];
  int vocab = node->w_spec[0].shape.d[0];

  for (int b = 0; b < pass->B; b++)
    {
      const float *ids = node->in[0] + (gsize) b * L; /* (L) */
      const float *dy = node->dout + (gsize) b * dim; /* (dim) */
      /* The count is recomputed rather than cached: L is small and this
       * keeps the block free of scratch. */
      int count = embedding_count (ids, L, vocab);
      if (count == 0)
        continue;
      float inv = 1.f / count;
      /* Scatter-add dy / count into every row the mean read. */
      for (int l = 0; l < L; l++)
        {
          int r = embedding_row (ids[l], vocab);
          if (r >= 0)
            embedding_axpy (dW + (gsize) r * dim, inv, dy, dim);
        }
    }
}

static guint64
embedding_bag_flops (const WeftNode *node)
{
  return (guint64) weft_node_in_size (node, 0) * (guint64) node->p[P_DIM];
}

const WeftBlock weft_block_embedding_bag = {
  .type = "embedding_bag", .group = "encoders", .title = "EmbeddingBag",
  .blurb = "Encodes a text as the average of its words' learned vectors; fast, ignores word order.",
  .params = embedding_params, .n_params = G_N_ELEMENTS (embedding_params),
  .ports = embedding_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = embedding_bag_infer, .forward = embedding_bag_forward,
  .backward = embedding_bag_backward, .flops = embedding_bag_flops,
};
