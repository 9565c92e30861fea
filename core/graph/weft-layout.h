/* weft-layout.h — editor helpers for a model spec: automatic layered layout
 * for specs written without one, and a tolerant inspection that reports
 * every shape the engine can infer even while the model is unfinished. */
#pragma once

#include "graph/weft-graph.h"

G_BEGIN_DECLS

/* Layout: columns by topological depth (inputs in column 0, on the left),
 * rows in spec order. With only_missing, ids that already have a position
 * keep it and new ones go below their column. Creates spec->layout if
 * needed. Cycles do not loop: a node on one gets depth 0 for its back edge. */
#define WEFT_LAYOUT_COLUMN 240
#define WEFT_LAYOUT_ROW    140
#define WEFT_LAYOUT_MARGIN  40
void     weft_layout_arrange (WeftSpec *spec, gboolean only_missing);
/* TRUE if every input and node of the spec has a position. */
gboolean weft_layout_is_complete (const WeftSpec *spec);
/* The position of an id; FALSE (and 0, 0) if it has none. */
gboolean weft_layout_get (const WeftSpec *spec, const char *id, double *x, double *y);
void     weft_layout_set (WeftSpec *spec, const char *id, double x, double y);

typedef struct {
  gboolean known;            /* the engine inferred this node's shape */
  WeftShape shape;
  gsize params;
  guint64 flops;
} WeftInspectNode;

typedef struct {
  GHashTable *nodes;         /* spec id (input or node) -> WeftInspectNode* */
  char *error;               /* the engine's first message; NULL if valid */
  char *error_id;            /* the spec id it names, or NULL */
  gsize total_params;        /* over the known nodes */
  guint64 total_flops;
} WeftInspection;

/* Compiles the spec against binding. When that fails, the failing node and
 * everything downstream of it are set aside and the rest is compiled again
 * (with a probe loss if it has none), so that the editor can still show
 * the shapes that are known. Caller frees. */
WeftInspection *weft_inspect (const WeftSpec *spec, const WeftBinding *binding);
const WeftInspectNode *weft_inspection_lookup (const WeftInspection *insp, const char *id);
void weft_inspection_free (WeftInspection *insp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftInspection, weft_inspection_free)

/* The spec id an engine message names ("node 'enc.conv1': ..." -> "enc");
 * NULL if none. Caller frees. */
char *weft_error_dup_node_id (const char *message);

G_END_DECLS
