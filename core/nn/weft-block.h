/* weft-block.h — what a block is: one table entry (parameter schema, shape
 * rule, forward, backward, cost) that the engine, editor and exporter share.
 *
 * Conventions every block follows
 *  - float32, row-major, batch first. A node sees its inputs as (B, in_size)
 *    and writes (B, out_size); per-sample shapes are WeftShape (no batch).
 *  - Token ids and class labels travel as floats holding small integers
 *    (exact below 2^24); a negative id is padding, a negative label is
 *    "no label" and is ignored by the losses.
 *  - Weights use PyTorch's layout and names ("weight" (out, in), "bias"),
 *    so checkpoints and the PyTorch exporter map one to one.
 *  - backward *accumulates* (+=) into din[] and dw[]: a tensor consumed by
 *    two nodes gets both gradients. din[i] / dw[i] may be NULL, meaning
 *    nobody wants that gradient (an input, a frozen node).
 *  - Losses (WEFT_BLOCK_LOSS) write the batch mean into out[0]; dout[0]
 *    is the loss weight during backward.
 *  - Nothing is allocated in forward or backward: what backward needs from
 *    forward lives in node->scratch, sized by infer.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tensor/weft-rng.h"

G_BEGIN_DECLS

#define WEFT_MAX_DIMS    4
#define WEFT_MAX_INPUTS  8
#define WEFT_MAX_WEIGHTS 18
#define WEFT_MAX_PARAMS  12

typedef struct {
  int n;                     /* number of dims, 1..WEFT_MAX_DIMS */
  int d[WEFT_MAX_DIMS];
} WeftShape;

static inline gsize
weft_shape_size (const WeftShape *s)
{
  gsize n = 1;
  for (int i = 0; i < s->n; i++)
    n *= (gsize) s->d[i];
  return n;
}

static inline WeftShape
weft_shape_1 (int a)
{
  WeftShape s = { 1, { a } };
  return s;
}

static inline WeftShape
weft_shape_2 (int a, int b)
{
  WeftShape s = { 2, { a, b } };
  return s;
}

static inline WeftShape
weft_shape_3 (int a, int b, int c)
{
  WeftShape s = { 3, { a, b, c } };
  return s;
}

/* "(1, 28, 28)"; newly allocated. */
char *weft_shape_to_string (const WeftShape *s);
gboolean weft_shape_equal (const WeftShape *a, const WeftShape *b);

typedef enum {
  WEFT_PARAM_INT,
  WEFT_PARAM_FLOAT,
  WEFT_PARAM_BOOL,
  WEFT_PARAM_ENUM,           /* stored as the index into choices */
} WeftParamKind;

typedef enum {
  WEFT_PARAM_BIND_NONE = 0,
  WEFT_PARAM_BIND_CLASSES,   /* 0 means: number of classes of the dataset */
  WEFT_PARAM_BIND_VOCAB,     /* 0 means: vocabulary size of the dataset */
} WeftParamBind;

typedef struct {
  const char *name;
  WeftParamKind kind;
  double def, min, max;
  const char *const *choices; /* ENUM only, NULL-terminated */
  const char *blurb;          /* tooltip text for the editor */
  WeftParamBind bind;
} WeftParamSpec;

typedef enum {
  WEFT_INIT_ZEROS,
  WEFT_INIT_ONES,
  WEFT_INIT_CONST,           /* init_arg */
  WEFT_INIT_HE,              /* N(0, 2 / fan_in) */
  WEFT_INIT_XAVIER,          /* U(±sqrt(6 / (fan_in + fan_out))) */
  WEFT_INIT_UNIFORM,         /* U(±init_arg) */
  WEFT_INIT_NORMAL,          /* N(0, init_arg²) */
} WeftInit;

typedef struct {
  const char *name;          /* static string: "weight", "bias", "running_mean" */
  WeftShape shape;
  WeftInit init;
  float init_arg;
  int fan_in, fan_out;
  gboolean no_decay;         /* biases, norm gains: no weight decay */
  gboolean buffer;           /* saved, never trained (BatchNorm running stats) */
} WeftWeightSpec;

typedef enum {
  WEFT_BLOCK_LOSS   = 1 << 0, /* output is one scalar for the whole batch */
  WEFT_BLOCK_INPUT  = 1 << 1, /* a dataset input; no forward/backward */
  WEFT_BLOCK_PRESET = 1 << 2, /* expands into layers when compiled */
} WeftBlockFlags;

typedef struct _WeftNode  WeftNode;
typedef struct _WeftBlock WeftBlock;
typedef struct _WeftExpansion WeftExpansion;

typedef struct {
  int B;                     /* rows in this batch, <= node->max_batch */
  gboolean training;         /* dropout active, BatchNorm uses batch stats */
} WeftPass;

struct _WeftBlock {
  const char *type;          /* spec name, lower_snake: "dense" */
  const char *group;         /* "inputs" "layers" "encoders" "fusion" "heads" "losses" */
  const char *title;         /* "Dense" */
  const char *blurb;         /* one or two sentences for the palette */
  guint flags;               /* WeftBlockFlags */
  const WeftParamSpec *params;
  int n_params;
  const char *const *ports;  /* input port names, NULL-terminated; when
                                max_inputs > their count the last repeats */
  int min_inputs, max_inputs;

  /* Shape rule: reads node->p, node->n_in, node->in_shape; sets
   * out_shape, n_w + w_spec, scratch sizes. Errors go through
   * weft_node_error() so they name the node and the port. */
  gboolean (*infer)    (WeftNode *node, GError **error);
  void     (*forward)  (WeftNode *node, const WeftPass *pass);
  void     (*backward) (WeftNode *node, const WeftPass *pass);
  /* Forward FLOPs for one sample (a multiply-add counts 2). */
  guint64  (*flops)    (const WeftNode *node);
  /* Presets only (see weft-preset.h). */
  gboolean (*expand)   (const WeftNode *node, WeftExpansion *ex, GError **error);
  /* Optional: floats of node->scratch for batches of up to max_batch rows.
   * When set it replaces max_batch * scratch_per_sample + scratch_fixed,
   * for blocks whose scratch grows faster than the batch (InfoNCE keeps
   * B × B logits). Called after infer, once max_batch is known. */
  gsize    (*scratch_size) (const WeftNode *node, int max_batch);
};

struct _WeftNode {
  char *id;
  const WeftBlock *block;
  double p[WEFT_MAX_PARAMS];     /* parameter values in schema order */

  int n_in;
  WeftShape in_shape[WEFT_MAX_INPUTS];

  /* Filled by infer */
  WeftShape out_shape;
  int n_w;
  WeftWeightSpec w_spec[WEFT_MAX_WEIGHTS];
  gsize scratch_per_sample;      /* floats kept between forward and backward */
  gsize scratch_fixed;           /* plus this many, independent of B */

  /* Bound by the executor (or a test) */
  int max_batch;
  const float *in[WEFT_MAX_INPUTS]; /* (B, in_size[i]) */
  float *din[WEFT_MAX_INPUTS];      /* may be NULL */
  float *out;                       /* (B, out_size), or (1) for a loss */
  float *dout;
  float *w[WEFT_MAX_WEIGHTS];
  float *dw[WEFT_MAX_WEIGHTS];      /* NULL for buffers and frozen nodes */
  float *scratch;
  WeftRng rng;                      /* dropout and other noise */
};

/* Sets a WEFT_ERROR_SPEC error "node 'ID': <message>". Always returns FALSE. */
gboolean weft_node_error (const WeftNode *node, GError **error,
                          const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Convenience for infer: registers a weight and returns its index. */
int weft_node_add_weight (WeftNode *node, const char *name, WeftShape shape,
                          WeftInit init, float init_arg, int fan_in, int fan_out);
/* Marks the weight just added: no decay / buffer. */
void weft_node_weight_no_decay (WeftNode *node, int index);
void weft_node_weight_buffer   (WeftNode *node, int index);

gsize weft_node_in_size  (const WeftNode *node, int i);
gsize weft_node_out_size (const WeftNode *node);

/* The registry. */
const WeftBlock  *weft_block_lookup (const char *type);
/* NULL-terminated, in palette order; owned by the core. */
const WeftBlock *const *weft_block_list (void);
int weft_block_param_index (const WeftBlock *block, const char *name);

/* A standalone node, for tests and the editor: resolves params (JSON object
 * or NULL for defaults) against the schema and runs the shape rule. */
WeftNode *weft_node_new  (const char *type, const char *id,
                          JsonObject *params, int n_in,
                          const WeftShape *in_shapes, GError **error);
/* Fills p[] from JSON (missing keys take defaults); range-checks. */
gboolean  weft_node_set_params (WeftNode *node, JsonObject *params, GError **error);
void      weft_node_free (WeftNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftNode, weft_node_free)

/* Initialises weight i of a bound node per its spec. */
void weft_node_init_weight (WeftNode *node, int i, WeftRng *rng);

gsize    weft_node_param_count (const WeftNode *node); /* trainable floats */

G_END_DECLS
