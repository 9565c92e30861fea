/* weft-layout.c — automatic layered layout and tolerant inspection of a
 * model spec, for the architecture editor (and any tool that draws one). */
#include <string.h>

#include "graph/weft-layout.h"

gboolean
weft_layout_get (const WeftSpec *spec, const char *id, double *x, double *y)
{
  *x = *y = 0;
  if (spec->layout == NULL || !json_object_has_member (spec->layout, id))
    return FALSE;
  JsonNode *m = json_object_get_member (spec->layout, id);
  if (!JSON_NODE_HOLDS_ARRAY (m))
    return FALSE;
  JsonArray *a = json_node_get_array (m);
  if (json_array_get_length (a) != 2)
    return FALSE;
  *x = json_array_get_double_element (a, 0);
  *y = json_array_get_double_element (a, 1);
  return TRUE;
}

void
weft_layout_set (WeftSpec *spec, const char *id, double x, double y)
{
  if (spec->layout == NULL)
    spec->layout = json_object_new ();
  JsonArray *a = json_array_new ();
  /* Whole numbers stay integers so that hand-written files read back alike. */
  if (x == (gint64) x && y == (gint64) y)
    {
      json_array_add_int_element (a, (gint64) x);
      json_array_add_int_element (a, (gint64) y);
    }
  else
    {
      json_array_add_double_element (a, x);
      json_array_add_double_element (a, y);
    }
  json_object_set_array_member (spec->layout, id, a);
}

static gboolean
has_position (const WeftSpec *spec, const char *id)
{
  double x, y;
  return weft_layout_get (spec, id, &x, &y);
}

gboolean
weft_layout_is_complete (const WeftSpec *spec)
{
  for (guint i = 0; i < spec->inputs->len; i++)
    if (!has_position (spec, ((WeftSpecInput *) g_ptr_array_index (spec->inputs, i))->id))
      return FALSE;
  for (guint i = 0; i < spec->nodes->len; i++)
    if (!has_position (spec, ((WeftSpecNode *) g_ptr_array_index (spec->nodes, i))->id))
      return FALSE;
  return TRUE;
}

/* Longest path from an input; state: absent = unseen, -1 = on the stack. */
static int
depth_of (const WeftSpec *spec, const char *id, GHashTable *depth)
{
  gpointer v;
  if (g_hash_table_lookup_extended (depth, id, NULL, &v))
    {
      int d = GPOINTER_TO_INT (v);
      return d < 0 ? 0 : d;
    }
  const WeftSpecNode *n = weft_spec_find_node (spec, id);
  if (n == NULL)
    return 0;                /* an input, or a dangling name */
  g_hash_table_insert (depth, (gpointer) id, GINT_TO_POINTER (-1));
  int d = 1;
  for (guint k = 0; n->inputs && n->inputs[k]; k++)
    d = MAX (d, depth_of (spec, n->inputs[k], depth) + 1);
  g_hash_table_insert (depth, (gpointer) id, GINT_TO_POINTER (d));
  return d;
}

void
weft_layout_arrange (WeftSpec *spec, gboolean only_missing)
{
  g_return_if_fail (spec != NULL);

  g_autoptr(GHashTable) depth = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GArray) cols = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const char *id = ((WeftSpecInput *) g_ptr_array_index (spec->inputs, i))->id;
      int d = 0;
      g_ptr_array_add (ids, (gpointer) id);
      g_array_append_val (cols, d);
    }
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const char *id = ((WeftSpecNode *) g_ptr_array_index (spec->nodes, i))->id;
      int d = depth_of (spec, id, depth);
      g_ptr_array_add (ids, (gpointer) id);
      g_array_append_val (cols, d);
    }

  /* Next free y per column: below what is already placed when keeping. */
  g_autoptr(GHashTable) next_y = g_hash_table_new (NULL, NULL);
  if (only_missing)
    for (guint i = 0; i < ids->len; i++)
      {
        double x, y;
        if (!weft_layout_get (spec, ids->pdata[i], &x, &y))
          continue;
        int c = g_array_index (cols, int, i);
        int below = (int) y + WEFT_LAYOUT_ROW;
        int cur = GPOINTER_TO_INT (g_hash_table_lookup (next_y, GINT_TO_POINTER (c + 1)));
        if (below > cur)
          g_hash_table_insert (next_y, GINT_TO_POINTER (c + 1), GINT_TO_POINTER (below));
      }

  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      if (only_missing && has_position (spec, id))
        continue;
      int c = g_array_index (cols, int, i);
      int y = GPOINTER_TO_INT (g_hash_table_lookup (next_y, GINT_TO_POINTER (c + 1)));
      if (y < WEFT_LAYOUT_MARGIN)
        y = WEFT_LAYOUT_MARGIN;
      weft_layout_set (spec, id, WEFT_LAYOUT_MARGIN + c * WEFT_LAYOUT_COLUMN, y);
      g_hash_table_insert (next_y, GINT_TO_POINTER (c + 1), GINT_TO_POINTER (y + WEFT_LAYOUT_ROW));
    }
}

char *
weft_error_dup_node_id (const char *message)
{
  static const char *const prefixes[] = { "node '", "input '" };

  if (message == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      gsize n = strlen (prefixes[i]);
      if (strncmp (message, prefixes[i], n) != 0)
        continue;
      const char *start = message + n;
      /* A preset's layer is "preset.layer"; ids never contain '.'. */
      gsize len = strcspn (start, "'.");
      if (len == 0 || start[len] == '\0')
        return NULL;
      return g_strndup (start, len);
    }
  return NULL;
}

static void
inspect_node_free (gpointer p)
{
  g_free (p);
}

void
weft_inspection_free (WeftInspection *insp)
{
  if (insp == NULL)
    return;
  g_hash_table_unref (insp->nodes);
  g_free (insp->error);
  g_free (insp->error_id);
  g_free (insp);
}

const WeftInspectNode *
weft_inspection_lookup (const WeftInspection *insp, const char *id)
{
  return g_hash_table_lookup (insp->nodes, id);
}

/* Removes id and everything that reads from it (transitively). */
static void
remove_downstream (WeftSpec *spec, const char *id)
{
  g_autoptr(GHashTable) gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean grew = TRUE;

  g_hash_table_add (gone, g_strdup (id));
  while (grew)
    {
      grew = FALSE;
      for (guint i = 0; i < spec->nodes->len; i++)
        {
          WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
          if (g_hash_table_contains (gone, n->id))
            continue;
          gboolean hit = n->share_weights_with && g_hash_table_contains (gone, n->share_weights_with);
          for (guint k = 0; !hit && n->inputs && n->inputs[k]; k++)
            hit = g_hash_table_contains (gone, n->inputs[k]);
          if (hit)
            {
              g_hash_table_add (gone, g_strdup (n->id));
              grew = TRUE;
            }
        }
    }
  for (guint i = spec->nodes->len; i-- > 0;)
    if (g_hash_table_contains (gone, ((WeftSpecNode *) g_ptr_array_index (spec->nodes, i))->id))
      g_ptr_array_remove_index (spec->nodes, i);
  for (guint i = spec->inputs->len; i-- > 0;)
    if (g_hash_table_contains (gone, ((WeftSpecInput *) g_ptr_array_index (spec->inputs, i))->id))
      g_ptr_array_remove_index (spec->inputs, i);
  for (guint i = spec->losses->len; i-- > 0;)
    if (g_hash_table_contains (gone, g_array_index (spec->losses, WeftSpecLoss, i).node))
      g_array_remove_index (spec->losses, i);
}

#define PROBE_ID "__weft_probe"

/* The engine wants a loss; a probe MSE of something against itself has no
 * shape constraint and lets the rest compile. */
static void
add_probe_loss (WeftSpec *spec)
{
  const char *target = NULL;

  for (guint i = 0; i < spec->nodes->len; i++)
    {
      WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      const WeftBlock *b = weft_block_lookup (n->type);
      if (b && (b->flags & WEFT_BLOCK_LOSS))
        return;
      if (b)
        target = n->id;
    }
  if (target == NULL && spec->inputs->len > 0)
    target = ((WeftSpecInput *) g_ptr_array_index (spec->inputs, 0))->id;
  if (target == NULL)
    return;

  WeftSpecNode *probe = g_new0 (WeftSpecNode, 1);
  probe->id = g_strdup (PROBE_ID);
  probe->type = g_strdup ("mse");
  probe->inputs = g_new0 (char *, 3);
  probe->inputs[0] = g_strdup (target);
  probe->inputs[1] = g_strdup (target);
  g_ptr_array_add (spec->nodes, probe);
  g_array_set_size (spec->losses, 0);
}

static void
collect (WeftInspection *insp, WeftGraph *g, const WeftSpec *spec)
{
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *list = pass == 0 ? spec->inputs : spec->nodes;
      for (guint i = 0; i < list->len; i++)
        {
          const char *id = pass == 0 ? ((WeftSpecInput *) list->pdata[i])->id
                                     : ((WeftSpecNode *) list->pdata[i])->id;
          WeftInspectNode info = { 0 };
          if (g_str_equal (id, PROBE_ID) ||
              !weft_graph_describe (g, id, &info.shape, &info.params, &info.flops))
            continue;
          info.known = TRUE;
          insp->total_params += info.params;
          insp->total_flops += info.flops;
          g_hash_table_insert (insp->nodes, g_strdup (id), g_memdup2 (&info, sizeof info));
        }
    }
}

WeftInspection *
weft_inspect (const WeftSpec *spec, const WeftBinding *binding)
{
  g_return_val_if_fail (spec != NULL && binding != NULL, NULL);

  WeftInspection *insp = g_new0 (WeftInspection, 1);
  insp->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, inspect_node_free);

  g_autoptr(GError) error = NULL;
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, binding, &error);
  if (g != NULL)
    {
      collect (insp, g, spec);
      return insp;
    }
  insp->error = g_strdup (error->message);
  insp->error_id = weft_error_dup_node_id (error->message);

  /* Set aside what failed and compile the rest, a few times at most. */
  g_autoptr(WeftSpec) rest = weft_spec_copy (spec);
  g_autofree char *culprit = g_strdup (insp->error_id);
  for (int attempt = 0; attempt < 16; attempt++)
    {
      if (culprit)
        remove_downstream (rest, culprit);
      add_probe_loss (rest);
      g_clear_error (&error);
      g_clear_pointer (&culprit, g_free);
      g_autoptr(WeftGraph) partial = weft_graph_compile (rest, binding, &error);
      if (partial)
        {
          collect (insp, partial, rest);
          break;
        }
      culprit = weft_error_dup_node_id (error->message);
      if (culprit == NULL)
        break;
    }
  return insp;
}
