/* weft-graph.h — a compiled model: the spec bound to a dataset's shapes,
 * presets expanded, every shape inferred, weights in one arena, activations
 * preallocated for a maximum batch, and the executor that runs it. */
#pragma once

#include "graph/weft-spec.h"
#include "nn/weft-block.h"

G_BEGIN_DECLS

/* What a dataset provides, bound into the spec at compile time. */
typedef struct {
  WeftShape image;           /* (C, H, W); n == 0: no images */
  WeftShape audio;           /* (mels, frames); n == 0: no audio */
  int text_length;           /* token ids per sample; 0: no text */
  int vocab_size;            /* also the bag-of-words width */
  int n_classes;             /* 0: no labels */
} WeftBinding;

/* Shapes of the bundled demo data, used when no dataset is given. */
void weft_binding_init_default (WeftBinding *b);

typedef struct _WeftGraph WeftGraph;

/* One node of the compiled graph (a layer; presets become several). */
typedef struct {
  WeftNode *node;
  char *spec_id;             /* the spec node (or input) it came from */
  int src[WEFT_MAX_INPUTS];  /* indices of its input nodes */
  int owner;                 /* node whose weights it uses (itself if none) */
  gboolean frozen;
  gboolean requires_grad;    /* its output's gradient is needed */
  gboolean reaches_loss;
  int modality;              /* inputs: WeftModality; else -1 */
  double loss_weight;        /* losses: weight in the total; else 0 */
  gsize w_offset[WEFT_MAX_WEIGHTS]; /* into the parameter arena */
} WeftGraphNode;

/* Parses nothing; validates and infers shapes. No memory for data yet. */
WeftGraph *weft_graph_compile (const WeftSpec *spec, const WeftBinding *binding,
                               GError **error);
/* Allocates the arena and activations for batches up to max_batch and
 * initialises the weights from seed (the same seed gives the same weights). */
void       weft_graph_allocate (WeftGraph *g, int max_batch, guint64 seed);
void       weft_graph_free (WeftGraph *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftGraph, weft_graph_free)

const WeftSpec *weft_graph_get_spec (WeftGraph *g);
const WeftBinding *weft_graph_get_binding (WeftGraph *g);
int        weft_graph_get_n_nodes (WeftGraph *g);
WeftGraphNode *weft_graph_get_node (WeftGraph *g, int i);
/* By compiled id ("enc" or "enc.conv1" for a preset's layer); -1 if none. */
int        weft_graph_find (WeftGraph *g, const char *id);
/* The compiled node holding the output of a spec node (a preset's last layer). */
int        weft_graph_find_output (WeftGraph *g, const char *spec_id);
int        weft_graph_get_max_batch (WeftGraph *g);

/* The batch buffer of the spec input with that modality, (max_batch, size);
 * NULL if the model has no such input. */
float     *weft_graph_get_input (WeftGraph *g, WeftModality modality, gsize *size);

/* Runs every node; returns the weighted total loss (0 if the losses had no
 * labelled rows). */
double     weft_graph_forward  (WeftGraph *g, int B, gboolean training);
/* Clears gradients, then back-propagates the weighted losses. */
void       weft_graph_backward (WeftGraph *g, int B);

/* Weights, each listed once (shared weights under their owner). */
typedef struct {
  char *name;                /* "node.weight" */
  const WeftWeightSpec *spec;
  float *data, *grad;        /* grad NULL: not trained (frozen or buffer) */
  gsize offset, size;        /* in the arena */
} WeftGraphWeight;

guint      weft_graph_get_n_weights (WeftGraph *g);
const WeftGraphWeight *weft_graph_get_weight (WeftGraph *g, guint i);
const WeftGraphWeight *weft_graph_lookup_weight (WeftGraph *g, const char *name);
float     *weft_graph_get_arena (WeftGraph *g, float **grads, gsize *n);

gsize      weft_graph_param_count (WeftGraph *g);  /* trainable, shared once */
guint64    weft_graph_flops (WeftGraph *g);        /* forward, per sample */

/* Per spec node, for the editor and `weft-cli validate`: the output shape,
 * parameters (shared weights counted at their owner) and FLOPs, summed over
 * a preset's layers. FALSE if the id is unknown. */
gboolean   weft_graph_describe (WeftGraph *g, const char *spec_id, WeftShape *out,
                                gsize *params, guint64 *flops);

G_END_DECLS
