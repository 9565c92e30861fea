/* weft-spec.c — reads and writes model spec JSON v1, checking its structure
 * and reporting every problem with the node (and member) it concerns. */
#include "weft-spec.h"

#include <string.h>

#include "weft-error.h"
#include "weft-json.h"

static gboolean
fail (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_SPEC, msg);
  return FALSE;
}

static void
spec_input_free (gpointer p)
{
  WeftSpecInput *in = p;
  g_free (in->id);
  g_free (in);
}

static void
spec_node_free (gpointer p)
{
  WeftSpecNode *n = p;
  g_free (n->id);
  g_free (n->type);
  g_strfreev (n->inputs);
  g_clear_pointer (&n->params, json_object_unref);
  g_free (n->share_weights_with);
  g_free (n->weights_from_checkpoint);
  g_free (n->weights_from_node);
  g_free (n);
}

static void
spec_loss_clear (gpointer p)
{
  WeftSpecLoss *l = p;
  g_free (l->node);
}

WeftSpec *
weft_spec_new (void)
{
  WeftSpec *s = g_new0 (WeftSpec, 1);
  s->inputs = g_ptr_array_new_with_free_func (spec_input_free);
  s->nodes = g_ptr_array_new_with_free_func (spec_node_free);
  s->losses = g_array_new (FALSE, TRUE, sizeof (WeftSpecLoss));
  g_array_set_clear_func (s->losses, spec_loss_clear);
  return s;
}

void
weft_spec_free (WeftSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->description);
  g_ptr_array_unref (spec->inputs);
  g_ptr_array_unref (spec->nodes);
  g_array_unref (spec->losses);
  g_clear_pointer (&spec->layout, json_object_unref);
  g_clear_pointer (&spec->extra, json_object_unref);
  g_free (spec);
}

gboolean
weft_spec_id_is_valid (const char *id)
{
  if (id == NULL || !(g_ascii_isalpha (id[0]) || id[0] == '_'))
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!(g_ascii_isalnum (*c) || *c == '_' || *c == '-'))
      return FALSE;
  return strlen (id) <= 64;
}

const WeftSpecNode *
weft_spec_find_node (const WeftSpec *spec, const char *id)
{
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      if (g_strcmp0 (n->id, id) == 0)
        return n;
    }
  return NULL;
}

const WeftSpecInput *
weft_spec_find_input (const WeftSpec *spec, const char *id)
{
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      if (g_strcmp0 (in->id, id) == 0)
        return in;
    }
  return NULL;
}

/* Typed member access that reports "where: 'key' must be a ..." */
static gboolean
get_string (JsonObject *o, const char *key, gboolean required, const char *where,
            const char **out, GError **error)
{
  *out = NULL;
  JsonNode *m = json_object_get_member (o, key);
  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    {
      if (required)
        return fail (error, "%s: '%s' is missing", where, key);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
    return fail (error, "%s: '%s' must be a string", where, key);
  *out = json_node_get_string (m);
  return TRUE;
}

static gboolean
get_bool (JsonObject *o, const char *key, const char *where, gboolean *out, GError **error)
{
  JsonNode *m = json_object_get_member (o, key);
  *out = FALSE;
  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_BOOLEAN)
    return fail (error, "%s: '%s' must be true or false", where, key);
  *out = json_node_get_boolean (m);
  return TRUE;
}

static gboolean
parse_input (WeftSpec *spec, JsonNode *node, guint index, GError **error)
{
  g_autofree char *where = g_strdup_printf ("input %u", index + 1);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, "%s must be an object like {\"id\": \"image\", \"modality\": \"image\"}", where);
  JsonObject *o = json_node_get_object (node);
  const char *id, *modality, *form;
  if (!get_string (o, "id", TRUE, where, &id, error))
    return FALSE;
  g_free (where);
  where = g_strdup_printf ("input '%s'", id);
  if (!weft_spec_id_is_valid (id))
    return fail (error, "%s: ids use letters, digits, '_' and '-' and start with a letter", where);
  if (!get_string (o, "modality", TRUE, where, &modality, error) ||
      !get_string (o, "text_form", FALSE, where, &form, error))
    return FALSE;
  int m = -1;
  for (int k = 0; weft_modality_choices[k]; k++)
    if (g_str_equal (weft_modality_choices[k], modality))
      m = k;
  if (m < 0)
    return fail (error, "%s: unknown modality '%s' (expected image, text, audio or label)", where, modality);
  if (form && !g_str_equal (form, "ids") && !g_str_equal (form, "bow"))
    return fail (error, "%s: text_form must be \"ids\" or \"bow\", not '%s'", where, form);
  if (weft_spec_find_input (spec, id))
    return fail (error, "%s is declared twice", where);

  WeftSpecInput *in = g_new0 (WeftSpecInput, 1);
  in->id = g_strdup (id);
  in->modality = (WeftModality) m;
  in->text_bow = form && g_str_equal (form, "bow");
  g_ptr_array_add (spec->inputs, in);
  return TRUE;
}

static gboolean
parse_node (WeftSpec *spec, JsonNode *node, guint index, GError **error)
{
  g_autofree char *where = g_strdup_printf ("node %u", index + 1);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, "%s must be an object like {\"id\": ..., \"type\": ..., \"inputs\": [...]}", where);
  JsonObject *o = json_node_get_object (node);
  const char *id, *type, *share;
  if (!get_string (o, "id", TRUE, where, &id, error))
    return FALSE;
  g_free (where);
  where = g_strdup_printf ("node '%s'", id);
  if (!weft_spec_id_is_valid (id))
    return fail (error, "%s: ids use letters, digits, '_' and '-' and start with a letter", where);
  if (weft_spec_find_node (spec, id) || weft_spec_find_input (spec, id))
    return fail (error, "%s: the id is used twice", where);
  if (!get_string (o, "type", TRUE, where, &type, error) ||
      !get_string (o, "share_weights_with", FALSE, where, &share, error))
    return FALSE;

  g_autoptr(GPtrArray) ins = g_ptr_array_new ();
  JsonNode *im = json_object_get_member (o, "inputs");
  if (im && !JSON_NODE_HOLDS_NULL (im))
    {
      if (!JSON_NODE_HOLDS_ARRAY (im))
        return fail (error, "%s: 'inputs' must be a list of node ids", where);
      JsonArray *a = json_node_get_array (im);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
            return fail (error, "%s: input %u must be a node id (a string)", where, i + 1);
          g_ptr_array_add (ins, (gpointer) json_node_get_string (e));
        }
    }
  g_ptr_array_add (ins, NULL);

  JsonNode *pm = json_object_get_member (o, "params");
  if (pm && !JSON_NODE_HOLDS_NULL (pm) && !JSON_NODE_HOLDS_OBJECT (pm))
    return fail (error, "%s: 'params' must be an object", where);

  gboolean frozen;
  if (!get_bool (o, "frozen", where, &frozen, error))
    return FALSE;

  const char *wf_ckpt = NULL, *wf_node = NULL;
  JsonNode *wf = json_object_get_member (o, "weights_from");
  if (wf && !JSON_NODE_HOLDS_NULL (wf))
    {
      if (!JSON_NODE_HOLDS_OBJECT (wf))
        return fail (error, "%s: 'weights_from' must be {\"checkpoint\": FILE, \"node\": ID}", where);
      JsonObject *wo = json_node_get_object (wf);
      g_autofree char *w2 = g_strdup_printf ("%s: weights_from", where);
      if (!get_string (wo, "checkpoint", TRUE, w2, &wf_ckpt, error) ||
          !get_string (wo, "node", FALSE, w2, &wf_node, error))
        return FALSE;
    }

  WeftSpecNode *n = g_new0 (WeftSpecNode, 1);
  n->id = g_strdup (id);
  n->type = g_strdup (type);
  n->inputs = g_strdupv ((char **) ins->pdata);
  if (pm && JSON_NODE_HOLDS_OBJECT (pm))
    n->params = json_object_ref (json_node_get_object (pm));
  n->share_weights_with = g_strdup (share);
  n->frozen = frozen;
  n->weights_from_checkpoint = g_strdup (wf_ckpt);
  n->weights_from_node = g_strdup (wf_node);
  g_ptr_array_add (spec->nodes, n);
  return TRUE;
}

static gboolean
parse_loss (WeftSpec *spec, JsonNode *node, guint index, GError **error)
{
  g_autofree char *where = g_strdup_printf ("loss %u", index + 1);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, "%s must be an object like {\"node\": \"loss\", \"weight\": 1.0}", where);
  JsonObject *o = json_node_get_object (node);
  const char *id;
  if (!get_string (o, "node", TRUE, where, &id, error))
    return FALSE;
  double w = 1.0;
  JsonNode *wm = json_object_get_member (o, "weight");
  if (wm && !JSON_NODE_HOLDS_NULL (wm))
    {
      GType t = JSON_NODE_HOLDS_VALUE (wm) ? json_node_get_value_type (wm) : G_TYPE_INVALID;
      if (t == G_TYPE_INT64)
        w = (double) json_node_get_int (wm);
      else if (t == G_TYPE_DOUBLE)
        w = json_node_get_double (wm);
      else
        return fail (error, "%s ('%s'): 'weight' must be a number", where, id);
      if (!(w >= 0 && w <= 1e6))
        return fail (error, "%s ('%s'): weight %g must be between 0 and 1000000", where, id, w);
    }
  WeftSpecLoss l = { g_strdup (id), w };
  g_array_append_val (spec->losses, l);
  return TRUE;
}

static gboolean
parse_list (WeftSpec *spec, JsonObject *root, const char *key, gboolean required,
            gboolean (*each) (WeftSpec *, JsonNode *, guint, GError **),
            GError **error)
{
  JsonNode *m = json_object_get_member (root, key);
  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    return required ? fail (error, "the model has no '%s' list", key) : TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (m))
    return fail (error, "'%s' must be a list", key);
  JsonArray *a = json_node_get_array (m);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!each (spec, json_array_get_element (a, i), i, error))
      return FALSE;
  return TRUE;
}

WeftSpec *
weft_spec_from_json (JsonNode *root, GError **error)
{
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      fail (error, "a model spec must be a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  JsonNode *v = json_object_get_member (o, "weft_model");
  if (v == NULL)
    {
      fail (error, "this is not a Weft model spec (no \"weft_model\" version)");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_INT64)
    {
      fail (error, "\"weft_model\" must be the version number 1");
      return NULL;
    }
  if (json_node_get_int (v) != 1)
    {
      fail (error, "model spec version %" G_GINT64_FORMAT " is not supported (this Weft reads version 1)",
            json_node_get_int (v));
      return NULL;
    }

  g_autoptr(WeftSpec) spec = weft_spec_new ();
  const char *name, *desc;
  if (!get_string (o, "name", FALSE, "the model", &name, error) ||
      !get_string (o, "description", FALSE, "the model", &desc, error))
    return NULL;
  spec->name = g_strdup (name);
  spec->description = g_strdup (desc);

  if (!parse_list (spec, o, "inputs", TRUE, parse_input, error) ||
      !parse_list (spec, o, "nodes", TRUE, parse_node, error) ||
      !parse_list (spec, o, "losses", FALSE, parse_loss, error))
    return NULL;

  /* Node inputs must name declared inputs or nodes; sharing must name a node. */
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      for (guint k = 0; n->inputs[k]; k++)
        if (!weft_spec_find_node (spec, n->inputs[k]) && !weft_spec_find_input (spec, n->inputs[k]))
          {
            fail (error, "node '%s': input %u is '%s', which is neither a node nor a model input",
                  n->id, k + 1, n->inputs[k]);
            return NULL;
          }
      if (n->share_weights_with && !weft_spec_find_node (spec, n->share_weights_with))
        {
          fail (error, "node '%s': shares weights with '%s', which is not a node",
                n->id, n->share_weights_with);
          return NULL;
        }
      if (n->share_weights_with && g_str_equal (n->share_weights_with, n->id))
        {
          fail (error, "node '%s': cannot share weights with itself", n->id);
          return NULL;
        }
    }
  for (guint i = 0; i < spec->losses->len; i++)
    {
      WeftSpecLoss *l = &g_array_index (spec->losses, WeftSpecLoss, i);
      if (!weft_spec_find_node (spec, l->node))
        {
          fail (error, "loss %u names '%s', which is not a node", i + 1, l->node);
          return NULL;
        }
    }

  JsonNode *lm = json_object_get_member (o, "layout");
  if (lm && JSON_NODE_HOLDS_OBJECT (lm))
    spec->layout = json_object_ref (json_node_get_object (lm));

  static const char *const known[] = { "weft_model", "name", "description", "inputs",
                                       "nodes", "losses", "layout", NULL };
  g_autoptr(GList) members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        if (spec->extra == NULL)
          spec->extra = json_object_new ();
        json_object_set_member (spec->extra, l->data,
                                json_node_copy (json_object_get_member (o, l->data)));
      }
  return g_steal_pointer (&spec);
}

WeftSpec *
weft_spec_parse_data (const char *data, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;

  if (len < 0)
    len = strlen (data);
  if (!g_utf8_validate (data, len, NULL))
    {
      fail (error, "the model spec is not valid UTF-8 text");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, len, &local))
    {
      fail (error, "the model spec is not valid JSON: %s", local->message);
      return NULL;
    }
  return weft_spec_from_json (json_parser_get_root (parser), error);
}

WeftSpec *
weft_spec_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  WeftSpec *spec = weft_spec_parse_data (data, len, &local);
  if (spec == NULL)
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC, "%s: %s", path, local->message);
  return spec;
}

JsonNode *
weft_spec_to_json (const WeftSpec *spec)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "weft_model");
  json_builder_add_int_value (b, 1);
  if (spec->name)
    {
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, spec->name);
    }
  if (spec->description)
    {
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, spec->description);
    }
  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, in->id);
      json_builder_set_member_name (b, "modality");
      json_builder_add_string_value (b, weft_modality_choices[in->modality]);
      if (in->modality == WEFT_MODALITY_TEXT)
        {
          json_builder_set_member_name (b, "text_form");
          json_builder_add_string_value (b, in->text_bow ? "bow" : "ids");
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, n->id);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, n->type);
      json_builder_set_member_name (b, "inputs");
      json_builder_begin_array (b);
      for (guint k = 0; n->inputs[k]; k++)
        json_builder_add_string_value (b, n->inputs[k]);
      json_builder_end_array (b);
      if (n->params && json_object_get_size (n->params) > 0)
        {
          json_builder_set_member_name (b, "params");
          JsonNode *pn = json_node_new (JSON_NODE_OBJECT);
          json_node_set_object (pn, n->params);
          json_builder_add_value (b, json_node_copy (pn));
          json_node_unref (pn);
        }
      if (n->share_weights_with)
        {
          json_builder_set_member_name (b, "share_weights_with");
          json_builder_add_string_value (b, n->share_weights_with);
        }
      if (n->frozen)
        {
          json_builder_set_member_name (b, "frozen");
          json_builder_add_boolean_value (b, TRUE);
        }
      if (n->weights_from_checkpoint)
        {
          json_builder_set_member_name (b, "weights_from");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "checkpoint");
          json_builder_add_string_value (b, n->weights_from_checkpoint);
          if (n->weights_from_node)
            {
              json_builder_set_member_name (b, "node");
              json_builder_add_string_value (b, n->weights_from_node);
            }
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "losses");
  json_builder_begin_array (b);
  for (guint i = 0; i < spec->losses->len; i++)
    {
      const WeftSpecLoss *l = &g_array_index (spec->losses, WeftSpecLoss, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "node");
      json_builder_add_string_value (b, l->node);
      json_builder_set_member_name (b, "weight");
      json_builder_add_double_value (b, l->weight);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (spec->layout)
    {
      json_builder_set_member_name (b, "layout");
      JsonNode *ln = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (ln, spec->layout);
      json_builder_add_value (b, json_node_copy (ln));
      json_node_unref (ln);
    }
  if (spec->extra)
    {
      g_autoptr(GList) members = json_object_get_members (spec->extra);
      for (GList *l = members; l; l = l->next)
        {
          json_builder_set_member_name (b, l->data);
          json_builder_add_value (b, json_node_copy (json_object_get_member (spec->extra, l->data)));
        }
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
weft_spec_to_string (const WeftSpec *spec)
{
  g_autoptr(JsonNode) root = weft_spec_to_json (spec);
  return weft_json_to_data (root, TRUE, NULL);
}

gboolean
weft_spec_save (const WeftSpec *spec, const char *path, GError **error)
{
  g_autofree char *text = weft_spec_to_string (spec);
  g_autoptr(GError) local = NULL;
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

WeftSpec *
weft_spec_copy (const WeftSpec *spec)
{
  g_autoptr(JsonNode) root = weft_spec_to_json (spec);
  return weft_spec_from_json (root, NULL);
}
