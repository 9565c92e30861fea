/* weft-spec.h — the model spec, JSON version 1: what the editor draws and
 * the engine compiles. Parsing checks the structure; weft-graph checks the
 * meaning (types, shapes, cycles).
 *
 * Format ("weft_model": 1), one JSON object:
 *   "weft_model"  1 (required)
 *   "name", "description"   optional strings
 *   "inputs"  [ {"id": "image", "modality": "image"|"text"|"audio"|"label",
 *                "text_form": "ids"|"bow" (text only, default "ids")} ... ]
 *   "nodes"   [ {"id": "enc", "type": "dense", "inputs": ["image"],
 *                "params": {...},                      optional
 *                "share_weights_with": "other_node",   optional (siamese)
 *                "frozen": true,                       optional
 *                "weights_from": {"checkpoint": "run1.safetensors",
 *                                 "node": "enc"}       optional (transfer)
 *               } ... ]
 *   "losses"  [ {"node": "loss_id", "weight": 1.0} ... ]  at least one
 *   "layout"  { "node_id": [x, y], ... }  editor only; the engine ignores it
 * Ids are letters, digits, '_' and '-', starting with a letter or '_'.
 * Unknown top-level keys are kept verbatim so that a round trip is lossless.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  WEFT_MODALITY_IMAGE,
  WEFT_MODALITY_TEXT,
  WEFT_MODALITY_AUDIO,
  WEFT_MODALITY_LABEL,
  WEFT_N_MODALITIES,
} WeftModality;

extern const char *const weft_modality_choices[];

typedef struct {
  char *id;
  WeftModality modality;
  gboolean text_bow;         /* text as a bag-of-words vector, else token ids */
} WeftSpecInput;

typedef struct {
  char *id;
  char *type;
  GStrv inputs;
  JsonObject *params;        /* owned reference, may be NULL */
  char *share_weights_with;  /* may be NULL */
  gboolean frozen;
  char *weights_from_checkpoint; /* may be NULL */
  char *weights_from_node;       /* may be NULL: same id */
} WeftSpecNode;

typedef struct {
  char *node;
  double weight;
} WeftSpecLoss;

typedef struct {
  char *name;
  char *description;
  GPtrArray *inputs;         /* WeftSpecInput* */
  GPtrArray *nodes;          /* WeftSpecNode* */
  GArray *losses;            /* WeftSpecLoss */
  JsonObject *layout;        /* may be NULL */
  JsonObject *extra;         /* unknown top-level members, kept */
} WeftSpec;

WeftSpec *weft_spec_new (void);
WeftSpec *weft_spec_parse_data (const char *data, gssize len, GError **error);
WeftSpec *weft_spec_load (const char *path, GError **error);
WeftSpec *weft_spec_from_json (JsonNode *root, GError **error);
/* A new JSON tree (caller owns). */
JsonNode *weft_spec_to_json (const WeftSpec *spec);
/* Pretty-printed JSON text (caller frees). */
char     *weft_spec_to_string (const WeftSpec *spec);
gboolean  weft_spec_save (const WeftSpec *spec, const char *path, GError **error);
WeftSpec *weft_spec_copy (const WeftSpec *spec);
void      weft_spec_free (WeftSpec *spec);

const WeftSpecNode  *weft_spec_find_node  (const WeftSpec *spec, const char *id);
const WeftSpecInput *weft_spec_find_input (const WeftSpec *spec, const char *id);
gboolean weft_spec_id_is_valid (const char *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSpec, weft_spec_free)

G_END_DECLS
