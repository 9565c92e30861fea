/* weft-checkpoint.c — saves and restores a compiled model through the
 * safetensors layer, and refuses checkpoints of another architecture with
 * a message that names the first tensor that differs. */
#include "weft-checkpoint.h"

#include <math.h>
#include <string.h>

#include "weft-error.h"
#include "weft-json.h"

static char *
json_to_text (JsonNode *node)
{
  return weft_json_to_data (node, FALSE, NULL);
}

static char *
object_to_text (JsonObject *o)
{
  g_autoptr(JsonNode) n = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (n, o);
  return json_to_text (n);
}

static char *
strv_to_text (GStrv v)
{
  g_autoptr(JsonNode) n = json_node_new (JSON_NODE_ARRAY);
  JsonArray *a = json_array_new ();
  for (int i = 0; v && v[i]; i++)
    json_array_add_string_element (a, v[i]);
  json_node_take_array (n, a);
  return json_to_text (n);
}

/* Floats as a JSON array: json-glib writes doubles with 17 significant
 * digits, so every float32 reads back bit for bit. */
static JsonArray *
floats_to_array (const float *v, int n)
{
  JsonArray *a = json_array_sized_new (n);
  for (int i = 0; i < n; i++)
    json_array_add_double_element (a, v[i]);
  return a;
}

static char *
floats_to_text (const float *v, int n)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, floats_to_array (v, n));
  return json_to_text (node);
}

static void
add_shape (JsonObject *o, const char *key, const WeftShape *s)
{
  JsonArray *a = json_array_new ();
  for (int i = 0; i < s->n; i++)
    json_array_add_int_element (a, s->d[i]);
  json_object_set_array_member (o, key, a);
}

JsonObject *
weft_binding_to_json (const WeftBinding *b)
{
  JsonObject *o = json_object_new ();
  add_shape (o, "image", &b->image);
  add_shape (o, "audio", &b->audio);
  json_object_set_int_member (o, "text_length", b->text_length);
  json_object_set_int_member (o, "vocab_size", b->vocab_size);
  json_object_set_int_member (o, "n_classes", b->n_classes);
  return o;
}

static gboolean
read_shape (JsonObject *o, const char *key, WeftShape *s, GError **error)
{
  memset (s, 0, sizeof *s);
  JsonNode *m = json_object_get_member (o, key);
  if (m == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (m) || json_array_get_length (json_node_get_array (m)) > WEFT_MAX_DIMS)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "the %s shape is not a short list of sizes", key);
      return FALSE;
    }
  JsonArray *a = json_node_get_array (m);
  s->n = json_array_get_length (a);
  for (int i = 0; i < s->n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      gint64 v = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64
                 ? json_node_get_int (e) : -1;
      if (v < 1 || v > 1 << 20)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "the %s shape has an invalid size", key);
          return FALSE;
        }
      s->d[i] = (int) v;
    }
  return TRUE;
}

static gboolean
read_int (JsonObject *o, const char *key, int *out, GError **error)
{
  JsonNode *m = json_object_get_member (o, key);
  *out = 0;
  if (m == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_INT64 ||
      json_node_get_int (m) < 0 || json_node_get_int (m) > G_MAXINT32)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "'%s' is not a valid count", key);
      return FALSE;
    }
  *out = (int) json_node_get_int (m);
  return TRUE;
}

gboolean
weft_binding_from_json (WeftBinding *b, JsonObject *o, GError **error)
{
  memset (b, 0, sizeof *b);
  return read_shape (o, "image", &b->image, error) &&
         read_shape (o, "audio", &b->audio, error) &&
         read_int (o, "text_length", &b->text_length, error) &&
         read_int (o, "vocab_size", &b->vocab_size, error) &&
         read_int (o, "n_classes", &b->n_classes, error);
}

gboolean
weft_checkpoint_save (WeftGraph *g, const WeftFeatures *features,
                      JsonObject *training, const char *path, GError **error)
{
  g_autoptr(WeftSafetensors) st = weft_safetensors_new ();

  for (guint i = 0; i < weft_graph_get_n_weights (g); i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (g, i);
      gint64 shape[WEFT_MAX_DIMS];
      for (int d = 0; d < w->spec->shape.n; d++)
        shape[d] = w->spec->shape.d[d];
      weft_safetensors_add (st, w->name, w->spec->shape.n, shape, w->data);
    }
  weft_safetensors_set_metadata (st, "format", "weft");
  weft_safetensors_set_metadata (st, "weft_version", "1");
  g_autofree char *spec = weft_spec_to_string (weft_graph_get_spec (g));
  weft_safetensors_set_metadata (st, "weft_spec", spec);
  g_autoptr(JsonObject) bj = weft_binding_to_json (weft_graph_get_binding (g));
  g_autofree char *btext = object_to_text (bj);
  weft_safetensors_set_metadata (st, "weft_binding", btext);
  if (training)
    {
      g_autofree char *t = object_to_text (training);
      weft_safetensors_set_metadata (st, "weft_training", t);
    }
  if (features && features->vocab)
    {
      g_autofree char *t = strv_to_text (features->vocab);
      weft_safetensors_set_metadata (st, "weft_vocab", t);
    }
  if (features && features->class_names)
    {
      g_autofree char *t = strv_to_text (features->class_names);
      weft_safetensors_set_metadata (st, "weft_classes", t);
    }
  /* The statistics of the training rows, so that new inputs can be
   * featurised as the model saw its data without the dataset. */
  if (features && features->audio_mean && features->audio_std && features->audio.shape.n == 2)
    {
      int bands = features->audio.shape.d[0];
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "mean", floats_to_array (features->audio_mean, bands));
      json_object_set_array_member (o, "std", floats_to_array (features->audio_std, bands));
      g_autofree char *t = object_to_text (o);
      weft_safetensors_set_metadata (st, "weft_audio_norm", t);
    }
  if (features && features->idf && features->vocab_size > 0)
    {
      g_autofree char *t = floats_to_text (features->idf, features->vocab_size);
      weft_safetensors_set_metadata (st, "weft_text_idf", t);
    }
  return weft_safetensors_save (st, path, error);
}

gboolean
weft_checkpoint_apply (WeftGraph *g, const WeftSafetensors *st,
                       const char *display_name, GError **error)
{
  for (guint i = 0; i < weft_graph_get_n_weights (g); i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (g, i);
      const WeftSafeTensor *t = weft_safetensors_lookup (st, w->name);
      if (t == NULL)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s has no weight '%s': it was saved from a different model", display_name, w->name);
          return FALSE;
        }
      gboolean same = t->ndim == w->spec->shape.n;
      for (int d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == w->spec->shape.d[d];
      if (!same)
        {
          g_autofree char *want = weft_shape_to_string (&w->spec->shape);
          GString *got = g_string_new ("(");
          for (int d = 0; d < t->ndim; d++)
            g_string_append_printf (got, d ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t->shape[d]);
          g_string_append_c (got, ')');
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s: weight '%s' is %s but this model needs %s; it was saved from a different "
                       "model or for a dataset with other shapes", display_name, w->name, got->str, want);
          g_string_free (got, TRUE);
          return FALSE;
        }
    }
  if (weft_safetensors_get_n_tensors (st) != weft_graph_get_n_weights (g))
    for (guint i = 0; i < weft_safetensors_get_n_tensors (st); i++)
      {
        const WeftSafeTensor *t = weft_safetensors_get_nth (st, i);
        if (weft_graph_lookup_weight (g, t->name) == NULL)
          {
            g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                         "%s has a weight '%s' that this model does not have: it was saved from a "
                         "different model", display_name, t->name);
            return FALSE;
          }
      }
  for (guint i = 0; i < weft_graph_get_n_weights (g); i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (g, i);
      const WeftSafeTensor *t = weft_safetensors_lookup (st, w->name);
      memcpy (w->data, t->data, w->size * sizeof (float));
    }
  return TRUE;
}

static GStrv
parse_strv (const char *text)
{
  if (text == NULL)
    return NULL;
  g_autoptr(JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, -1, NULL) ||
      !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (p)))
    return NULL;
  JsonArray *a = json_node_get_array (json_parser_get_root (p));
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_strv_builder_add (b, JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                             ? json_node_get_string (e) : "");
    }
  return g_strv_builder_end (b);
}

void
weft_checkpoint_info_clear (WeftCheckpointInfo *info)
{
  g_clear_pointer (&info->training, json_object_unref);
  g_clear_pointer (&info->vocab, g_strfreev);
  g_clear_pointer (&info->classes, g_strfreev);
  g_clear_pointer (&info->audio_mean, g_free);
  g_clear_pointer (&info->audio_std, g_free);
  g_clear_pointer (&info->idf, g_free);
  info->audio_bands = 0;
  info->idf_size = 0;
}

/* Parses metadata JSON, repairing numbers that an older json-glib spoilt
 * ("1e-08.0"); NULL if it is not JSON. */
static JsonNode *
parse_metadata_json (const char *text)
{
  g_autofree char *copy = g_strdup (text);
  gsize len = weft_json_repair_numbers (copy, strlen (copy));
  g_autoptr(JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, copy, (gssize) len, NULL) || json_parser_get_root (p) == NULL)
    return NULL;
  return json_node_copy (json_parser_get_root (p));
}

/* A JSON array of finite numbers (all > 0 when positive) as floats; its
 * length in *n. NULL if it is anything else or empty. */
static float *
array_to_floats (JsonNode *node, gboolean positive, int *n)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  JsonArray *a = json_node_get_array (node);
  guint len = json_array_get_length (a);
  if (len == 0 || len > (1u << 24))
    return NULL;
  g_autofree float *v = g_new (float, len);
  for (guint i = 0; i < len; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
      if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
        return NULL;
      double x = json_node_get_double (e);
      if (!isfinite (x) || fabs (x) > G_MAXFLOAT || (positive && !(x > 0)))
        return NULL;
      v[i] = (float) x;
    }
  *n = (int) len;
  return g_steal_pointer (&v);
}

/* Reads the optional "weft_audio_norm" and "weft_text_idf" keys into info
 * (which may be NULL: then they are only checked). The sizes must agree
 * with the binding the model was built for. */
static gboolean
read_preprocessing (const WeftSafetensors *st, const WeftBinding *binding, const char *name,
                    WeftCheckpointInfo *info, GError **error)
{
  const char *norm = weft_safetensors_get_metadata (st, "weft_audio_norm");
  g_autofree float *mean = NULL, *std = NULL, *idf = NULL;
  int bands = 0, n_std = 0, n_idf = 0;

  if (norm)
    {
      g_autoptr(JsonNode) root = parse_metadata_json (norm);
      JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      if (o)
        {
          mean = array_to_floats (json_object_get_member (o, "mean"), FALSE, &bands);
          std = array_to_floats (json_object_get_member (o, "std"), TRUE, &n_std);
        }
      if (mean == NULL || std == NULL || bands != n_std)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s: its audio normalisation (weft_audio_norm) is damaged: it must hold "
                       "a mean and a positive standard deviation per mel band", name);
          return FALSE;
        }
      if (binding->audio.n > 0 && bands != binding->audio.d[0])
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s: its audio normalisation has %d mel bands but the model's audio "
                       "input has %d", name, bands, binding->audio.d[0]);
          return FALSE;
        }
    }
  const char *idf_text = weft_safetensors_get_metadata (st, "weft_text_idf");
  if (idf_text)
    {
      g_autoptr(JsonNode) root = parse_metadata_json (idf_text);
      idf = array_to_floats (root, TRUE, &n_idf);
      if (idf == NULL)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s: its TF-IDF weights (weft_text_idf) are damaged: they must be a "
                       "list of positive numbers, one per word", name);
          return FALSE;
        }
      if (binding->vocab_size > 0 && n_idf != binding->vocab_size)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "%s: it has TF-IDF weights for %d words but a vocabulary of %d",
                       name, n_idf, binding->vocab_size);
          return FALSE;
        }
    }
  if (info)
    {
      info->audio_mean = g_steal_pointer (&mean);
      info->audio_std = g_steal_pointer (&std);
      info->audio_bands = info->audio_mean ? bands : 0;
      info->idf = g_steal_pointer (&idf);
      info->idf_size = info->idf ? n_idf : 0;
    }
  return TRUE;
}

WeftGraph *
weft_checkpoint_load (const char *path, int max_batch, WeftCheckpointInfo *info,
                      GError **error)
{
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (path, error);
  if (st == NULL)
    return NULL;
  g_autofree char *name = g_path_get_basename (path);
  const char *spec_text = weft_safetensors_get_metadata (st, "weft_spec");
  const char *bind_text = weft_safetensors_get_metadata (st, "weft_binding");
  if (spec_text == NULL || bind_text == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                   "%s holds weights but no Weft model description; it was not written by Weft", name);
      return NULL;
    }
  g_autoptr(GError) local = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_parse_data (spec_text, -1, &local);
  if (spec == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "%s: its model spec is invalid: %s",
                   name, local->message);
      return NULL;
    }
  g_autoptr(JsonParser) p = json_parser_new ();
  WeftBinding binding;
  if (!json_parser_load_from_data (p, bind_text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)) ||
      !weft_binding_from_json (&binding, json_node_get_object (json_parser_get_root (p)), &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "%s: its dataset shapes are unreadable%s%s",
                   name, local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  WeftCheckpointInfo extra = { 0 };
  if (!read_preprocessing (st, &binding, name, info ? &extra : NULL, error))
    return NULL;
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &binding, &local);
  if (g == NULL)
    {
      weft_checkpoint_info_clear (&extra);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "%s: its model cannot be built: %s",
                   name, local->message);
      return NULL;
    }
  weft_graph_allocate (g, max_batch, 0);
  if (!weft_checkpoint_apply (g, st, name, error))
    {
      weft_checkpoint_info_clear (&extra);
      return NULL;
    }
  if (info)
    {
      *info = extra;
      const char *t = weft_safetensors_get_metadata (st, "weft_training");
      g_autoptr(JsonParser) tp = json_parser_new ();
      if (t && json_parser_load_from_data (tp, t, -1, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (tp)))
        info->training = json_object_ref (json_node_get_object (json_parser_get_root (tp)));
      info->vocab = parse_strv (weft_safetensors_get_metadata (st, "weft_vocab"));
      info->classes = parse_strv (weft_safetensors_get_metadata (st, "weft_classes"));
    }
  return g_steal_pointer (&g);
}

gboolean
weft_checkpoint_load_transfers (WeftGraph *g, const char *base_dir, GError **error)
{
  const WeftSpec *spec = weft_graph_get_spec (g);

  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (spec->nodes, i);
      if (sn->weights_from_checkpoint == NULL)
        continue;
      g_autofree char *path = g_path_is_absolute (sn->weights_from_checkpoint)
                              ? g_strdup (sn->weights_from_checkpoint)
                              : g_build_filename (base_dir ? base_dir : ".", sn->weights_from_checkpoint, NULL);
      g_autoptr(GError) local = NULL;
      g_autoptr(WeftSafetensors) st = weft_safetensors_load (path, &local);
      if (st == NULL)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "node '%s': its weights cannot be taken from %s: %s",
                       sn->id, sn->weights_from_checkpoint, local->message);
          return FALSE;
        }
      const char *src = sn->weights_from_node ? sn->weights_from_node : sn->id;
      gsize plen = strlen (sn->id);
      int copied = 0;
      for (guint k = 0; k < weft_graph_get_n_weights (g); k++)
        {
          const WeftGraphWeight *w = weft_graph_get_weight (g, k);
          if (strncmp (w->name, sn->id, plen) != 0 || w->name[plen] != '.')
            continue;
          g_autofree char *theirs = g_strconcat (src, w->name + plen, NULL);
          const WeftSafeTensor *t = weft_safetensors_lookup (st, theirs);
          gboolean same = t && (gsize) t->n == w->size && t->ndim == w->spec->shape.n;
          for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == w->spec->shape.d[d];
          if (!same)
            {
              g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                           t ? "node '%s': in %s, weight '%s' has another size than this node needs"
                             : "node '%s': %s has no weight '%s'",
                           sn->id, sn->weights_from_checkpoint, theirs);
              return FALSE;
            }
          memcpy (w->data, t->data, w->size * sizeof (float));
          copied++;
        }
      if (copied == 0)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT,
                       "node '%s' has no weights to take from %s", sn->id, sn->weights_from_checkpoint);
          return FALSE;
        }
    }
  return TRUE;
}
