/* weft-graph.c — compiles a spec into an executable graph (binding, preset
 * expansion, topological order, shape inference, weight sharing) and runs
 * forward and backward over preallocated buffers. */
#include "weft-graph.h"

#include <string.h>

#include "nn/weft-preset.h"
#include "weft-error.h"

struct _WeftExpansion {
  GPtrArray *layers;         /* Layer* */
};

typedef struct {
  char *name, *type, *params;
} Layer;

struct _WeftGraph {
  WeftSpec *spec;
  WeftBinding binding;
  GArray *nodes;             /* WeftGraphNode, topological order */
  GHashTable *index;         /* compiled id -> index + 1 */
  GHashTable *outputs;       /* spec id -> index + 1 of its output node */
  GPtrArray *weights;        /* WeftGraphWeight* */
  int max_batch;
  float *arena, *grads;
  gsize arena_size;
  GPtrArray *buffers;        /* activations we own */
};

void
weft_binding_init_default (WeftBinding *b)
{
  *b = (WeftBinding) {
    .image = { 3, { 1, 28, 28 } },
    .audio = { 2, { 40, 100 } },
    .text_length = 16,
    .vocab_size = 1000,
    .n_classes = 10,
  };
}

void
weft_expansion_add (WeftExpansion *ex, const char *name, const char *type,
                    const char *params_json)
{
  Layer *l = g_new0 (Layer, 1);
  l->name = g_strdup (name);
  l->type = g_strdup (type);
  l->params = g_strdup (params_json);
  g_ptr_array_add (ex->layers, l);
}

static void
layer_free (gpointer p)
{
  Layer *l = p;
  g_free (l->name);
  g_free (l->type);
  g_free (l->params);
  g_free (l);
}

static void
graph_node_clear (gpointer p)
{
  WeftGraphNode *gn = p;
  weft_node_free (gn->node);
  g_free (gn->spec_id);
}

static void
graph_weight_free (gpointer p)
{
  WeftGraphWeight *w = p;
  g_free (w->name);
  g_free (w);
}

void
weft_graph_free (WeftGraph *g)
{
  if (g == NULL)
    return;
  weft_spec_free (g->spec);
  g_array_unref (g->nodes);
  g_hash_table_unref (g->index);
  g_hash_table_unref (g->outputs);
  g_ptr_array_unref (g->weights);
  g_free (g->arena);
  g_free (g->grads);
  g_ptr_array_unref (g->buffers);
  g_free (g);
}

static gboolean
bind_input (const WeftSpecInput *in, const WeftBinding *b, WeftShape *shape, GError **error)
{
  const char *what = weft_modality_choices[in->modality];
  memset (shape, 0, sizeof *shape);
  switch (in->modality)
    {
    case WEFT_MODALITY_IMAGE:
      *shape = b->image;
      break;
    case WEFT_MODALITY_AUDIO:
      *shape = b->audio;
      break;
    case WEFT_MODALITY_TEXT:
      if (b->text_length > 0)
        *shape = weft_shape_1 (in->text_bow ? b->vocab_size : b->text_length);
      break;
    case WEFT_MODALITY_LABEL:
      if (b->n_classes > 0)
        *shape = weft_shape_1 (1);
      break;
    default:
      g_assert_not_reached ();
    }
  if (shape->n == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "input '%s': the dataset has no %s", in->id,
                   in->modality == WEFT_MODALITY_LABEL ? "labels" : what);
      return FALSE;
    }
  return TRUE;
}

/* Depth-first topological order over spec ids, reporting a cycle by name. */
static gboolean
visit (const WeftSpec *spec, const char *id, GHashTable *state, GPtrArray *order,
       GPtrArray *stack, GError **error)
{
  int s = GPOINTER_TO_INT (g_hash_table_lookup (state, id));
  if (s == 2)
    return TRUE;
  if (s == 1)
    {
      GString *path = g_string_new (NULL);
      gboolean on = FALSE;
      for (guint i = 0; i < stack->len; i++)
        {
          if (g_str_equal (g_ptr_array_index (stack, i), id))
            on = TRUE;
          if (on)
            g_string_append_printf (path, "%s → ", (char *) g_ptr_array_index (stack, i));
        }
      g_string_append (path, id);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': the model has a cycle (%s); connections must flow one way",
                   id, path->str);
      g_string_free (path, TRUE);
      return FALSE;
    }
  const WeftSpecNode *n = weft_spec_find_node (spec, id);
  if (n == NULL)
    return TRUE;             /* a model input */
  g_hash_table_insert (state, (gpointer) id, GINT_TO_POINTER (1));
  g_ptr_array_add (stack, (gpointer) id);
  for (guint k = 0; n->inputs[k]; k++)
    if (!visit (spec, n->inputs[k], state, order, stack, error))
      return FALSE;
  g_ptr_array_remove_index (stack, stack->len - 1);
  g_hash_table_insert (state, (gpointer) id, GINT_TO_POINTER (2));
  g_ptr_array_add (order, (gpointer) n);
  return TRUE;
}

static int
lookup (WeftGraph *g, const char *id)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (g->index, id)) - 1;
}

static WeftGraphNode *
nth (WeftGraph *g, int i)
{
  return &g_array_index (g->nodes, WeftGraphNode, i);
}

static int
append_node (WeftGraph *g, WeftNode *node, const char *spec_id, int modality)
{
  WeftGraphNode gn = { 0 };
  gn.node = node;
  gn.spec_id = g_strdup (spec_id);
  gn.modality = modality;
  gn.owner = g->nodes->len;
  for (int i = 0; i < WEFT_MAX_INPUTS; i++)
    gn.src[i] = -1;
  g_array_append_val (g->nodes, gn);
  g_hash_table_insert (g->index, node->id, GINT_TO_POINTER (g->nodes->len));
  return g->nodes->len - 1;
}

/* Creates the node from its block, params and its sources' shapes. */
static int
add_compiled (WeftGraph *g, const char *id, const char *spec_id, const char *type,
              JsonObject *params, const int *src, int n_src, GError **error)
{
  WeftShape shapes[WEFT_MAX_INPUTS];
  const WeftBlock *b = weft_block_lookup (type);

  if (b == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': unknown block type '%s'", id, type);
      return -1;
    }
  if (n_src > WEFT_MAX_INPUTS)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': %d inputs is more than the %d a block can take",
                   id, n_src, WEFT_MAX_INPUTS);
      return -1;
    }
  for (int k = 0; k < n_src; k++)
    {
      WeftGraphNode *s = nth (g, src[k]);
      if (s->node->block->flags & WEFT_BLOCK_LOSS)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                       "node '%s': input %d is the loss '%s'; a loss is an end point, not an input",
                       id, k + 1, s->spec_id);
          return -1;
        }
      shapes[k] = s->node->out_shape;
    }

  /* Bound parameters: 0 means "from the dataset". */
  g_autoptr(JsonObject) p = params ? json_object_ref (params) : json_object_new ();
  for (int i = 0; i < b->n_params; i++)
    {
      const WeftParamSpec *ps = &b->params[i];
      if (ps->bind == WEFT_PARAM_BIND_NONE)
        continue;
      gboolean unset = !json_object_has_member (p, ps->name) ||
                       (JSON_NODE_HOLDS_VALUE (json_object_get_member (p, ps->name)) &&
                        json_object_get_double_member (p, ps->name) == 0);
      if (!unset)
        continue;
      int v = ps->bind == WEFT_PARAM_BIND_CLASSES ? g->binding.n_classes : g->binding.vocab_size;
      if (v <= 0)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                       "node '%s': '%s' comes from the dataset, which has no %s; set it by hand",
                       id, ps->name, ps->bind == WEFT_PARAM_BIND_CLASSES ? "labels" : "text");
          return -1;
        }
      if (p == params)
        {
          JsonObject *copy = json_object_new ();
          g_autoptr(GList) ms = json_object_get_members (params);
          for (GList *l = ms; l; l = l->next)
            json_object_set_member (copy, l->data, json_node_copy (json_object_get_member (params, l->data)));
          json_object_unref (p);
          p = copy;
        }
      json_object_set_int_member (p, ps->name, v);
    }

  WeftNode *node = weft_node_new (type, id, p, n_src, shapes, error);
  if (node == NULL)
    return -1;
  int idx = append_node (g, node, spec_id, -1);
  for (int k = 0; k < n_src; k++)
    nth (g, idx)->src[k] = src[k];
  return idx;
}

static int
add_spec_node (WeftGraph *g, const WeftSpecNode *sn, GError **error)
{
  int src[WEFT_MAX_INPUTS];
  int n_src = g_strv_length (sn->inputs);
  const WeftBlock *b = weft_block_lookup (sn->type);

  if (b == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': unknown block type '%s'", sn->id, sn->type);
      return -1;
    }
  if (n_src < b->min_inputs || n_src > b->max_inputs)
    {
      if (b->min_inputs == b->max_inputs)
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                     "node '%s': %s takes %d input%s, it has %d",
                     sn->id, b->title, b->min_inputs, b->min_inputs == 1 ? "" : "s", n_src);
      else
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                     "node '%s': %s takes %d to %d inputs, it has %d",
                     sn->id, b->title, b->min_inputs, b->max_inputs, n_src);
      return -1;
    }
  for (int k = 0; k < n_src; k++)
    {
      int o = GPOINTER_TO_INT (g_hash_table_lookup (g->outputs, sn->inputs[k])) - 1;
      g_assert (o >= 0);
      src[k] = o;
    }

  if (!(b->flags & WEFT_BLOCK_PRESET))
    return add_compiled (g, sn->id, sn->id, sn->type, sn->params, src, n_src, error);

  /* A preset: resolve its own params and input shape, expand to a chain. */
  WeftShape in_shape = nth (g, src[0])->node->out_shape;
  g_autoptr(WeftNode) pn = g_new0 (WeftNode, 1);
  pn->id = g_strdup (sn->id);
  pn->block = b;
  pn->n_in = 1;
  pn->in_shape[0] = in_shape;
  if (!weft_node_set_params (pn, sn->params, error))
    return -1;
  WeftExpansion ex = { g_ptr_array_new_with_free_func (layer_free) };
  if (!b->expand (pn, &ex, error))
    {
      g_ptr_array_unref (ex.layers);
      return -1;
    }
  int prev = src[0];
  for (guint i = 0; i < ex.layers->len; i++)
    {
      Layer *l = g_ptr_array_index (ex.layers, i);
      g_autofree char *cid = g_strdup_printf ("%s.%s", sn->id, l->name);
      g_autoptr(JsonObject) lp = NULL;
      if (l->params)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          gboolean ok = json_parser_load_from_data (parser, l->params, -1, NULL);
          g_assert (ok);
          lp = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
        }
      prev = add_compiled (g, cid, sn->id, l->type, lp, &prev, 1, error);
      if (prev < 0)
        {
          g_ptr_array_unref (ex.layers);
          return -1;
        }
    }
  g_ptr_array_unref (ex.layers);
  return prev;
}

static gboolean
resolve_sharing (WeftGraph *g, GError **error)
{
  for (guint i = 0; i < g->spec->nodes->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (g->spec->nodes, i);
      if (sn->share_weights_with == NULL)
        continue;
      const WeftSpecNode *on = weft_spec_find_node (g->spec, sn->share_weights_with);
      if (!g_str_equal (on->type, sn->type))
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                       "node '%s': cannot share weights with '%s': it is a %s, '%s' is a %s",
                       sn->id, on->id, sn->type, on->id, on->type);
          return FALSE;
        }
      /* Pair up the layers of the two nodes by their suffix. */
      for (guint k = 0; k < g->nodes->len; k++)
        {
          WeftGraphNode *gn = nth (g, k);
          if (g_strcmp0 (gn->spec_id, sn->id) != 0)
            continue;
          const char *suffix = gn->node->id + strlen (sn->id);
          g_autofree char *oid = g_strconcat (on->id, suffix, NULL);
          int o = lookup (g, oid);
          if (o < 0)
            {
              g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                           "node '%s': cannot share weights with '%s': they have different layers",
                           sn->id, on->id);
              return FALSE;
            }
          WeftNode *a = gn->node, *b = nth (g, o)->node;
          if (a->n_w != b->n_w)
            {
              g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                           "node '%s': cannot share weights with '%s': they have different weights",
                           sn->id, on->id);
              return FALSE;
            }
          for (int w = 0; w < a->n_w; w++)
            if (!weft_shape_equal (&a->w_spec[w].shape, &b->w_spec[w].shape))
              {
                g_autofree char *sa = weft_shape_to_string (&a->w_spec[w].shape);
                g_autofree char *sb = weft_shape_to_string (&b->w_spec[w].shape);
                g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                             "node '%s': cannot share weights with '%s': its %s is %s but '%s' has %s "
                             "(shared encoders need inputs of the same size)",
                             sn->id, on->id, a->w_spec[w].name, sa, on->id, sb);
                return FALSE;
              }
          gn->owner = o;
        }
    }
  /* Follow chains a → b → c to the root owner. */
  for (guint k = 0; k < g->nodes->len; k++)
    {
      int o = nth (g, k)->owner, guard = 0;
      while (nth (g, o)->owner != o && guard++ < (int) g->nodes->len)
        o = nth (g, o)->owner;
      if (guard >= (int) g->nodes->len)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                       "node '%s': weight sharing goes round in a circle", nth (g, k)->spec_id);
          return FALSE;
        }
      nth (g, k)->owner = o;
    }
  return TRUE;
}

WeftGraph *
weft_graph_compile (const WeftSpec *spec, const WeftBinding *binding, GError **error)
{
  g_autoptr(WeftGraph) g = g_new0 (WeftGraph, 1);
  g->spec = weft_spec_copy (spec);
  g->binding = *binding;
  g->nodes = g_array_new (FALSE, TRUE, sizeof (WeftGraphNode));
  g_array_set_clear_func (g->nodes, graph_node_clear);
  g->index = g_hash_table_new (g_str_hash, g_str_equal);
  g->outputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g->weights = g_ptr_array_new_with_free_func (graph_weight_free);
  g->buffers = g_ptr_array_new_with_free_func (g_free);

  if (spec->nodes->len == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC, "the model has no blocks");
      return NULL;
    }

  /* Inputs first, bound to the dataset's shapes. */
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      WeftShape shape;
      /* An input nobody reads need not exist in the dataset. */
      gboolean used = FALSE;
      for (guint k = 0; k < spec->nodes->len && !used; k++)
        {
          const WeftSpecNode *sn = g_ptr_array_index (spec->nodes, k);
          used = g_strv_contains ((const char *const *) sn->inputs, in->id);
        }
      if (!used)
        continue;
      if (!bind_input (in, binding, &shape, error))
        return NULL;
      g_autoptr(JsonObject) p = json_object_new ();
      json_object_set_string_member (p, "modality", weft_modality_choices[in->modality]);
      WeftNode *node = weft_node_new ("input", in->id, p, 0, NULL, error);
      if (node == NULL)
        {
          /* infer refuses an empty shape; build it by hand instead */
          g_clear_error (error);
          node = g_new0 (WeftNode, 1);
          node->id = g_strdup (in->id);
          node->block = weft_block_lookup ("input");
          weft_node_set_params (node, p, NULL);
        }
      node->in_shape[0] = shape;
      node->out_shape = shape;
      int idx = append_node (g, node, in->id, in->modality);
      g_hash_table_insert (g->outputs, g_strdup (in->id), GINT_TO_POINTER (idx + 1));
    }

  g_autoptr(GHashTable) state = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (spec->nodes, i);
      if (!visit (spec, sn->id, state, order, stack, error))
        return NULL;
    }
  for (guint i = 0; i < order->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (order, i);
      int out = add_spec_node (g, sn, error);
      if (out < 0)
        return NULL;
      g_hash_table_insert (g->outputs, g_strdup (sn->id), GINT_TO_POINTER (out + 1));
      for (guint k = 0; k < g->nodes->len; k++)
        if (g_strcmp0 (nth (g, k)->spec_id, sn->id) == 0)
          nth (g, k)->frozen = sn->frozen;
    }

  /* Losses: the listed ones, or every loss block when none are listed. */
  gboolean any = FALSE;
  if (spec->losses->len > 0)
    for (guint i = 0; i < spec->losses->len; i++)
      {
        const WeftSpecLoss *l = &g_array_index (spec->losses, WeftSpecLoss, i);
        int o = GPOINTER_TO_INT (g_hash_table_lookup (g->outputs, l->node)) - 1;
        WeftGraphNode *gn = nth (g, o);
        if (!(gn->node->block->flags & WEFT_BLOCK_LOSS))
          {
            g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                         "node '%s': listed as a loss, but a %s is not a loss block",
                         l->node, gn->node->block->title);
            return NULL;
          }
        gn->loss_weight += l->weight;
        any = TRUE;
      }
  else
    for (guint k = 0; k < g->nodes->len; k++)
      if (nth (g, k)->node->block->flags & WEFT_BLOCK_LOSS)
        {
          nth (g, k)->loss_weight = 1.0;
          any = TRUE;
        }
  if (!any)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "the model has no loss: add a loss block (for example Cross-entropy on a "
                   "Classifier and the label) so that training knows what to improve");
      return NULL;
    }

  if (!resolve_sharing (g, error))
    return NULL;

  /* Which gradients are needed, and which nodes feed a loss. */
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      WeftGraphNode *own = nth (g, gn->owner);
      gboolean trains = FALSE;
      for (int w = 0; w < gn->node->n_w; w++)
        if (!gn->node->w_spec[w].buffer && !gn->frozen && !own->frozen)
          trains = TRUE;
      gn->requires_grad = trains;
      for (int i = 0; i < gn->node->n_in; i++)
        if (nth (g, gn->src[i])->requires_grad)
          gn->requires_grad = TRUE;
    }
  for (int k = (int) g->nodes->len - 1; k >= 0; k--)
    {
      WeftGraphNode *gn = nth (g, k);
      if (gn->loss_weight > 0)
        gn->reaches_loss = TRUE;
      if (gn->reaches_loss)
        for (int i = 0; i < gn->node->n_in; i++)
          nth (g, gn->src[i])->reaches_loss = TRUE;
    }
  return g_steal_pointer (&g);
}

static float *
take_buffer (WeftGraph *g, gsize n)
{
  float *p = g_new0 (float, MAX (n, 1));
  g_ptr_array_add (g->buffers, p);
  return p;
}

static gsize
scratch_size (const WeftNode *n, int max_batch)
{
  if (n->block->scratch_size)
    return n->block->scratch_size (n, max_batch);
  return max_batch * n->scratch_per_sample + n->scratch_fixed;
}

void
weft_graph_allocate (WeftGraph *g, int max_batch, guint64 seed)
{
  g_return_if_fail (g->arena == NULL);
  g->max_batch = max_batch;

  /* Weights: owners get arena space, in graph order. */
  gsize off = 0;
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      if (gn->owner != (int) k)
        continue;
      for (int w = 0; w < gn->node->n_w; w++)
        {
          gn->w_offset[w] = off;
          /* 16-float alignment keeps every tensor on a cache line. */
          off += (weft_shape_size (&gn->node->w_spec[w].shape) + 15) & ~(gsize) 15;
        }
    }
  g->arena_size = off;
  g->arena = g_new0 (float, MAX (off, 1));
  g->grads = g_new0 (float, MAX (off, 1));

  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      WeftGraphNode *own = nth (g, gn->owner);
      WeftNode *n = gn->node;
      gboolean frozen = gn->frozen || own->frozen;
      for (int w = 0; w < n->n_w; w++)
        {
          n->w[w] = g->arena + own->w_offset[w];
          n->dw[w] = (frozen || n->w_spec[w].buffer) ? NULL : g->grads + own->w_offset[w];
        }
      if (gn->owner == (int) k)
        {
          WeftRng rng;
          weft_rng_init_key (&rng, seed, n->id);
          for (int w = 0; w < n->n_w; w++)
            {
              weft_node_init_weight (n, w, &rng);
              WeftGraphWeight *gw = g_new0 (WeftGraphWeight, 1);
              gw->name = g_strdup_printf ("%s.%s", n->id, n->w_spec[w].name);
              gw->spec = &n->w_spec[w];
              gw->data = n->w[w];
              gw->grad = n->dw[w];
              gw->offset = gn->w_offset[w];
              gw->size = weft_shape_size (&n->w_spec[w].shape);
              g_ptr_array_add (g->weights, gw);
            }
        }
      weft_rng_init_key (&n->rng, seed ^ 0x5eed, n->id);

      n->max_batch = max_batch;
      gsize osz = weft_node_out_size (n);
      gboolean loss = (n->block->flags & WEFT_BLOCK_LOSS) != 0;
      n->out = take_buffer (g, loss ? 1 : max_batch * osz);
      if (gn->requires_grad || loss)
        n->dout = take_buffer (g, loss ? 1 : max_batch * osz);
      n->scratch = take_buffer (g, scratch_size (n, max_batch));
      for (int i = 0; i < n->n_in; i++)
        {
          WeftGraphNode *s = nth (g, gn->src[i]);
          n->in[i] = s->node->out;
          n->din[i] = s->requires_grad ? s->node->dout : NULL;
        }
    }
}

const WeftSpec *
weft_graph_get_spec (WeftGraph *g)
{
  return g->spec;
}

const WeftBinding *
weft_graph_get_binding (WeftGraph *g)
{
  return &g->binding;
}

int
weft_graph_get_n_nodes (WeftGraph *g)
{
  return g->nodes->len;
}

WeftGraphNode *
weft_graph_get_node (WeftGraph *g, int i)
{
  g_return_val_if_fail (i >= 0 && i < (int) g->nodes->len, NULL);
  return nth (g, i);
}

int
weft_graph_find (WeftGraph *g, const char *id)
{
  return lookup (g, id);
}

int
weft_graph_find_output (WeftGraph *g, const char *spec_id)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (g->outputs, spec_id)) - 1;
}

int
weft_graph_get_max_batch (WeftGraph *g)
{
  return g->max_batch;
}

float *
weft_graph_get_input (WeftGraph *g, WeftModality modality, gsize *size)
{
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      if (gn->modality == (int) modality)
        {
          if (size)
            *size = weft_node_out_size (gn->node);
          return gn->node->out;
        }
    }
  return NULL;
}

double
weft_graph_forward (WeftGraph *g, int B, gboolean training)
{
  g_return_val_if_fail (g->arena != NULL && B > 0 && B <= g->max_batch, 0);
  WeftPass pass = { B, training };
  double total = 0;
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      if (gn->modality >= 0)
        continue;
      gn->node->block->forward (gn->node, &pass);
      if (gn->loss_weight > 0)
        total += gn->loss_weight * gn->node->out[0];
    }
  return total;
}

void
weft_graph_backward (WeftGraph *g, int B)
{
  WeftPass pass = { B, TRUE };

  memset (g->grads, 0, g->arena_size * sizeof (float));
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftNode *n = nth (g, k)->node;
      if (n->dout && !(n->block->flags & WEFT_BLOCK_LOSS))
        memset (n->dout, 0, (gsize) B * weft_node_out_size (n) * sizeof (float));
    }
  for (int k = (int) g->nodes->len - 1; k >= 0; k--)
    {
      WeftGraphNode *gn = nth (g, k);
      if (gn->modality >= 0 || !gn->reaches_loss)
        continue;
      if (gn->loss_weight > 0)
        gn->node->dout[0] = (float) gn->loss_weight;
      if (gn->requires_grad)
        gn->node->block->backward (gn->node, &pass);
    }
}

guint
weft_graph_get_n_weights (WeftGraph *g)
{
  return g->weights->len;
}

const WeftGraphWeight *
weft_graph_get_weight (WeftGraph *g, guint i)
{
  return g_ptr_array_index (g->weights, i);
}

const WeftGraphWeight *
weft_graph_lookup_weight (WeftGraph *g, const char *name)
{
  for (guint i = 0; i < g->weights->len; i++)
    {
      const WeftGraphWeight *w = g_ptr_array_index (g->weights, i);
      if (g_str_equal (w->name, name))
        return w;
    }
  return NULL;
}

float *
weft_graph_get_arena (WeftGraph *g, float **grads, gsize *n)
{
  if (grads)
    *grads = g->grads;
  if (n)
    *n = g->arena_size;
  return g->arena;
}

gsize
weft_graph_param_count (WeftGraph *g)
{
  gsize n = 0;
  for (guint k = 0; k < g->nodes->len; k++)
    if (nth (g, k)->owner == (int) k)
      n += weft_node_param_count (nth (g, k)->node);
  return n;
}

guint64
weft_graph_flops (WeftGraph *g)
{
  guint64 f = 0;
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftNode *n = nth (g, k)->node;
      if (n->block->flops)
        f += n->block->flops (n);
    }
  return f;
}

gboolean
weft_graph_describe (WeftGraph *g, const char *spec_id, WeftShape *out,
                     gsize *params, guint64 *flops)
{
  int o = weft_graph_find_output (g, spec_id);
  if (o < 0)
    return FALSE;
  gsize p = 0;
  guint64 f = 0;
  for (guint k = 0; k < g->nodes->len; k++)
    {
      WeftGraphNode *gn = nth (g, k);
      if (g_strcmp0 (gn->spec_id, spec_id) != 0)
        continue;
      if (gn->owner == (int) k)
        p += weft_node_param_count (gn->node);
      if (gn->node->block->flops)
        f += gn->node->block->flops (gn->node);
    }
  if (out)
    *out = nth (g, o)->node->out_shape;
  if (params)
    *params = p;
  if (flops)
    *flops = f;
  return TRUE;
}
