/* weft-node.c — the generic half of every block: parameter resolution
 * against the schema, weight registration and initialisation, errors that
 * name the node, and standalone nodes for tests and the editor. */
#include "weft-block.h"

#include <math.h>

#include "weft-error.h"

char *
weft_shape_to_string (const WeftShape *s)
{
  GString *str = g_string_new ("(");
  for (int i = 0; i < s->n; i++)
    g_string_append_printf (str, i ? ", %d" : "%d", s->d[i]);
  g_string_append_c (str, ')');
  return g_string_free (str, FALSE);
}

gboolean
weft_shape_equal (const WeftShape *a, const WeftShape *b)
{
  if (a->n != b->n)
    return FALSE;
  for (int i = 0; i < a->n; i++)
    if (a->d[i] != b->d[i])
      return FALSE;
  return TRUE;
}

gboolean
weft_node_error (const WeftNode *node, GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC, "node '%s': %s",
               node->id ? node->id : "?", msg);
  return FALSE;
}

int
weft_node_add_weight (WeftNode *node, const char *name, WeftShape shape,
                      WeftInit init, float init_arg, int fan_in, int fan_out)
{
  g_assert (node->n_w < WEFT_MAX_WEIGHTS);
  WeftWeightSpec *w = &node->w_spec[node->n_w];
  *w = (WeftWeightSpec) {
    .name = name, .shape = shape, .init = init, .init_arg = init_arg,
    .fan_in = fan_in, .fan_out = fan_out,
  };
  return node->n_w++;
}

void
weft_node_weight_no_decay (WeftNode *node, int index)
{
  node->w_spec[index].no_decay = TRUE;
}

void
weft_node_weight_buffer (WeftNode *node, int index)
{
  node->w_spec[index].buffer = TRUE;
  node->w_spec[index].no_decay = TRUE;
}

gsize
weft_node_in_size (const WeftNode *node, int i)
{
  return weft_shape_size (&node->in_shape[i]);
}

gsize
weft_node_out_size (const WeftNode *node)
{
  if (node->block->flags & WEFT_BLOCK_LOSS)
    return 1;
  return weft_shape_size (&node->out_shape);
}

int
weft_block_param_index (const WeftBlock *block, const char *name)
{
  for (int i = 0; i < block->n_params; i++)
    if (g_strcmp0 (block->params[i].name, name) == 0)
      return i;
  return -1;
}

static gboolean
set_param (WeftNode *node, const WeftParamSpec *ps, int i, JsonNode *val,
           GError **error)
{
  const char *name = ps->name;

  if (JSON_NODE_TYPE (val) != JSON_NODE_VALUE)
    return weft_node_error (node, error, "parameter '%s' must be a single value", name);

  GType t = json_node_get_value_type (val);
  double v;
  switch (ps->kind)
    {
    case WEFT_PARAM_BOOL:
      if (t != G_TYPE_BOOLEAN)
        return weft_node_error (node, error, "parameter '%s' must be true or false", name);
      node->p[i] = json_node_get_boolean (val) ? 1 : 0;
      return TRUE;

    case WEFT_PARAM_ENUM:
      if (t != G_TYPE_STRING)
        return weft_node_error (node, error, "parameter '%s' must be one of its choices (a string)", name);
      for (int k = 0; ps->choices[k]; k++)
        if (g_strcmp0 (ps->choices[k], json_node_get_string (val)) == 0)
          {
            node->p[i] = k;
            return TRUE;
          }
      {
        g_autofree char *all = g_strjoinv (", ", (char **) ps->choices);
        return weft_node_error (node, error, "parameter '%s' is '%s', expected one of: %s",
                                name, json_node_get_string (val), all);
      }

    case WEFT_PARAM_INT:
    case WEFT_PARAM_FLOAT:
      if (t == G_TYPE_INT64)
        v = (double) json_node_get_int (val);
      else if (t == G_TYPE_DOUBLE)
        v = json_node_get_double (val);
      else
        return weft_node_error (node, error, "parameter '%s' must be a number", name);
      if (ps->kind == WEFT_PARAM_INT && v != floor (v))
        return weft_node_error (node, error, "parameter '%s' must be a whole number, got %g", name, v);
      if (!isfinite (v))
        return weft_node_error (node, error, "parameter '%s' is not a finite number", name);
      /* 0 on a bound parameter means "take it from the dataset" */
      if (!(ps->bind != WEFT_PARAM_BIND_NONE && v == 0) && (v < ps->min || v > ps->max))
        return weft_node_error (node, error, "parameter '%s' is %g, outside its range %g to %g",
                                name, v, ps->min, ps->max);
      node->p[i] = v;
      return TRUE;
    }
  g_assert_not_reached ();
}

gboolean
weft_node_set_params (WeftNode *node, JsonObject *params, GError **error)
{
  const WeftBlock *b = node->block;

  for (int i = 0; i < b->n_params; i++)
    node->p[i] = b->params[i].def;
  if (params == NULL)
    return TRUE;

  g_autoptr(GList) members = json_object_get_members (params);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;
      int i = weft_block_param_index (b, key);
      if (i < 0)
        return weft_node_error (node, error, "%s has no parameter '%s'", b->title, key);
      if (!set_param (node, &b->params[i], i, json_object_get_member (params, key), error))
        return FALSE;
    }
  return TRUE;
}

WeftNode *
weft_node_new (const char *type, const char *id, JsonObject *params,
               int n_in, const WeftShape *in_shapes, GError **error)
{
  const WeftBlock *b = weft_block_lookup (type);
  if (b == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': unknown block type '%s'", id, type);
      return NULL;
    }
  g_autoptr(WeftNode) node = g_new0 (WeftNode, 1);
  node->id = g_strdup (id);
  node->block = b;
  if (!weft_node_set_params (node, params, error))
    return NULL;
  if (n_in < b->min_inputs || n_in > b->max_inputs)
    {
      weft_node_error (node, error, "%s takes %d to %d inputs, got %d",
                       b->title, b->min_inputs, b->max_inputs, n_in);
      return NULL;
    }
  node->n_in = n_in;
  for (int i = 0; i < n_in; i++)
    node->in_shape[i] = in_shapes[i];
  if (b->infer && !b->infer (node, error))
    return NULL;
  return g_steal_pointer (&node);
}

void
weft_node_free (WeftNode *node)
{
  if (node == NULL)
    return;
  g_free (node->id);
  g_free (node);
}

void
weft_node_init_weight (WeftNode *node, int i, WeftRng *rng)
{
  const WeftWeightSpec *ws = &node->w_spec[i];
  float *w = node->w[i];
  gsize n = weft_shape_size (&ws->shape);
  float a;

  switch (ws->init)
    {
    case WEFT_INIT_ZEROS:
      for (gsize k = 0; k < n; k++) w[k] = 0.f;
      break;
    case WEFT_INIT_ONES:
      for (gsize k = 0; k < n; k++) w[k] = 1.f;
      break;
    case WEFT_INIT_CONST:
      for (gsize k = 0; k < n; k++) w[k] = ws->init_arg;
      break;
    case WEFT_INIT_HE:
      a = sqrtf (2.f / MAX (ws->fan_in, 1));
      for (gsize k = 0; k < n; k++) w[k] = a * weft_rng_normal (rng);
      break;
    case WEFT_INIT_XAVIER:
      a = sqrtf (6.f / MAX (ws->fan_in + ws->fan_out, 1));
      for (gsize k = 0; k < n; k++) w[k] = a * (2.f * weft_rng_uniform (rng) - 1.f);
      break;
    case WEFT_INIT_UNIFORM:
      for (gsize k = 0; k < n; k++) w[k] = ws->init_arg * (2.f * weft_rng_uniform (rng) - 1.f);
      break;
    case WEFT_INIT_NORMAL:
      for (gsize k = 0; k < n; k++) w[k] = ws->init_arg * weft_rng_normal (rng);
      break;
    }
}

gsize
weft_node_param_count (const WeftNode *node)
{
  gsize n = 0;
  for (int i = 0; i < node->n_w; i++)
    if (!node->w_spec[i].buffer)
      n += weft_shape_size (&node->w_spec[i].shape);
  return n;
}
