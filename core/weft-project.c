/* weft-project.c — loading and atomically saving .weft project files, with
 * errors that say what is wrong in which member, and nothing lost on a
 * round trip (unknown members are kept). */
#include "weft-project.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "weft-error.h"
#include "weft-json.h"

struct _WeftProject {
  GObject parent_instance;

  GFile *file;
  char *dataset;             /* absolute */
  JsonObject *features;
  JsonObject *training;
  WeftSpec *model;
  GPtrArray *runs;           /* JsonObject* */
  JsonObject *extra;         /* unknown members */
  gboolean modified;
};

G_DEFINE_FINAL_TYPE (WeftProject, weft_project, G_TYPE_OBJECT)

enum { PROP_0, PROP_FILE, PROP_MODIFIED, PROP_DATASET, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

#define AUTOSAVE_OF "autosave_of"

static void
weft_project_finalize (GObject *object)
{
  WeftProject *self = WEFT_PROJECT (object);
  g_clear_object (&self->file);
  g_free (self->dataset);
  g_clear_pointer (&self->features, json_object_unref);
  g_clear_pointer (&self->training, json_object_unref);
  g_clear_pointer (&self->model, weft_spec_free);
  g_ptr_array_unref (self->runs);
  g_clear_pointer (&self->extra, json_object_unref);
  G_OBJECT_CLASS (weft_project_parent_class)->finalize (object);
}

static void
weft_project_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WeftProject *self = WEFT_PROJECT (object);
  switch (prop_id)
    {
    case PROP_FILE: g_value_set_object (value, self->file); break;
    case PROP_MODIFIED: g_value_set_boolean (value, self->modified); break;
    case PROP_DATASET: g_value_set_string (value, self->dataset); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_project_class_init (WeftProjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = weft_project_finalize;
  object_class->get_property = weft_project_get_property;
  properties[PROP_FILE] = g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] = g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATASET] = g_param_spec_string ("dataset", NULL, NULL, NULL,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Each modification, so that autosave can follow edits that happen while
   * the project is already modified ("notify::modified" fires only once). */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
weft_project_init (WeftProject *self)
{
  self->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->features = json_object_new ();
  self->training = json_object_new ();
}

WeftProject *
weft_project_new (void)
{
  return g_object_new (WEFT_TYPE_PROJECT, NULL);
}

GFile *
weft_project_get_file (WeftProject *self)
{
  return self->file;
}

gboolean
weft_project_get_modified (WeftProject *self)
{
  return self->modified;
}

void
weft_project_set_modified (WeftProject *self, gboolean modified)
{
  g_return_if_fail (WEFT_IS_PROJECT (self));

  if (self->modified != modified)
    {
      self->modified = modified;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
    }
  if (modified)
    g_signal_emit (self, signals[CHANGED], 0);
}

const char *
weft_project_get_dataset (WeftProject *self)
{
  return self->dataset;
}

void
weft_project_set_dataset (WeftProject *self, const char *path)
{
  if (g_strcmp0 (self->dataset, path) == 0)
    return;
  g_free (self->dataset);
  self->dataset = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
  weft_project_set_modified (self, TRUE);
}

JsonObject *
weft_project_get_features (WeftProject *self)
{
  return self->features;
}

void
weft_project_set_features (WeftProject *self, JsonObject *features)
{
  json_object_ref (features);
  json_object_unref (self->features);
  self->features = features;
  weft_project_set_modified (self, TRUE);
}

JsonObject *
weft_project_get_training (WeftProject *self)
{
  return self->training;
}

void
weft_project_set_training (WeftProject *self, JsonObject *training)
{
  json_object_ref (training);
  json_object_unref (self->training);
  self->training = training;
  weft_project_set_modified (self, TRUE);
}

const WeftSpec *
weft_project_get_model (WeftProject *self)
{
  return self->model;
}

void
weft_project_set_model (WeftProject *self, const WeftSpec *spec)
{
  g_clear_pointer (&self->model, weft_spec_free);
  self->model = spec ? weft_spec_copy (spec) : NULL;
  weft_project_set_modified (self, TRUE);
}

guint
weft_project_get_n_runs (WeftProject *self)
{
  return self->runs->len;
}

JsonObject *
weft_project_get_run (WeftProject *self, guint i)
{
  g_return_val_if_fail (i < self->runs->len, NULL);
  return g_ptr_array_index (self->runs, i);
}

void
weft_project_add_run (WeftProject *self, JsonObject *run)
{
  g_ptr_array_add (self->runs, json_object_ref (run));
  weft_project_set_modified (self, TRUE);
}

void
weft_project_replace_run (WeftProject *self, guint i, JsonObject *run)
{
  g_return_if_fail (i < self->runs->len);
  json_object_ref (run);
  json_object_unref (g_ptr_array_index (self->runs, i));
  g_ptr_array_index (self->runs, i) = run;
  weft_project_set_modified (self, TRUE);
}

void
weft_project_insert_run (WeftProject *self, guint i, JsonObject *run)
{
  g_return_if_fail (i <= self->runs->len);
  g_ptr_array_insert (self->runs, i, json_object_ref (run));
  weft_project_set_modified (self, TRUE);
}

void
weft_project_remove_run (WeftProject *self, guint i)
{
  g_return_if_fail (i < self->runs->len);
  g_ptr_array_remove_index (self->runs, i);
  weft_project_set_modified (self, TRUE);
}

char *
weft_project_new_run_id (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *uuid = g_uuid_string_random ();

  /* Sortable by time, unique across projects and machines. */
  return g_strdup_printf ("run-%s-%.8s", stamp, uuid);
}

char *
weft_project_dup_run_dir (const char *run_id, GError **error)
{
  g_return_val_if_fail (run_id != NULL && strchr (run_id, G_DIR_SEPARATOR) == NULL, NULL);

  char *dir = g_build_filename (g_get_user_data_dir (), "weft", "runs", run_id, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "Could not create the run folder %s: %s",
                   dir, g_strerror (saved));
      g_free (dir);
      return NULL;
    }
  return dir;
}

/* Removes path and, for a folder, everything below it. Symbolic links are
 * removed, never followed: a link in a run folder must not take files
 * elsewhere with it. */
static gboolean
remove_tree (const char *path, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT ? TRUE : (g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO,
                                                  "Could not delete %s: %s", path, g_strerror (errno)),
                                     FALSE);
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (!remove_tree (child, error))
            return FALSE;
        }
      if (g_rmdir (path) == 0)
        return TRUE;
    }
  else if (g_unlink (path) == 0)
    return TRUE;
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "Could not delete %s: %s", path, g_strerror (errno));
  return FALSE;
}

gboolean
weft_project_delete_run_dir (const char *run_id, GError **error)
{
  g_return_val_if_fail (run_id != NULL, FALSE);

  /* Only a plain folder name below the runs folder, whatever a damaged
   * project file says its id is. */
  if (run_id[0] == '\0' || strchr (run_id, G_DIR_SEPARATOR) != NULL ||
      g_str_equal (run_id, ".") || g_str_equal (run_id, ".."))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "“%s” is not a run id", run_id);
      return FALSE;
    }
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "weft", "runs", run_id, NULL);
  return remove_tree (dir, error);
}

static gboolean
fail (GError **error, GFile *file, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, GFile *file, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *name = file ? g_file_get_basename (file) : g_strdup ("project");
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s: %s", name, msg);
  return FALSE;
}

WeftProject *
weft_project_load (GFile *file, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_load_contents (file, NULL, &data, &len, NULL, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *where = g_file_get_parse_name (file);

          g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the file does not exist (%s)",
                       name, where);
        }
      else
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!g_utf8_validate (data, len, NULL))
    {
      fail (error, file, "the file is not UTF-8 text; it is not a Weft project");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, len, &local))
    {
      fail (error, file, "the file is damaged (not valid JSON: %s)", local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) || !json_object_has_member (json_node_get_object (root), "weft_project"))
    {
      fail (error, file, "this is not a Weft project (no \"weft_project\" version)");
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  JsonNode *v = json_object_get_member (o, "weft_project");
  if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_INT64 || json_node_get_int (v) != 1)
    {
      fail (error, file, "project version is not supported (this Weft reads version 1)");
      return NULL;
    }

  g_autoptr(WeftProject) self = weft_project_new ();
  g_autoptr(GFile) dir = g_file_get_parent (file);
  self->file = g_object_ref (file);

  JsonNode *m = json_object_get_member (o, "dataset");
  if (m && !JSON_NODE_HOLDS_NULL (m))
    {
      if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
        {
          fail (error, file, "\"dataset\" must be a folder path");
          return NULL;
        }
      const char *p = json_node_get_string (m);
      g_autoptr(GFile) ds = g_path_is_absolute (p) ? g_file_new_for_path (p) : g_file_resolve_relative_path (dir, p);
      self->dataset = g_file_get_path (ds);
    }
  static const char *const objects[] = { "features", "training", "model" };
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    {
      m = json_object_get_member (o, objects[i]);
      if (m && !JSON_NODE_HOLDS_NULL (m) && !JSON_NODE_HOLDS_OBJECT (m))
        {
          fail (error, file, "\"%s\" must be an object", objects[i]);
          return NULL;
        }
    }
  if ((m = json_object_get_member (o, "features")) && JSON_NODE_HOLDS_OBJECT (m))
    {
      json_object_unref (self->features);
      self->features = json_object_ref (json_node_get_object (m));
    }
  if ((m = json_object_get_member (o, "training")) && JSON_NODE_HOLDS_OBJECT (m))
    {
      json_object_unref (self->training);
      self->training = json_object_ref (json_node_get_object (m));
    }
  if ((m = json_object_get_member (o, "model")) && JSON_NODE_HOLDS_OBJECT (m))
    {
      self->model = weft_spec_from_json (m, &local);
      if (self->model == NULL)
        {
          fail (error, file, "its model is invalid: %s", local->message);
          return NULL;
        }
    }
  if ((m = json_object_get_member (o, "runs")) && !JSON_NODE_HOLDS_NULL (m))
    {
      if (!JSON_NODE_HOLDS_ARRAY (m))
        {
          fail (error, file, "\"runs\" must be a list");
          return NULL;
        }
      JsonArray *a = json_node_get_array (m);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_OBJECT (e))
            {
              fail (error, file, "run %u is not an object", i + 1);
              return NULL;
            }
          g_ptr_array_add (self->runs, json_object_ref (json_node_get_object (e)));
        }
    }
  static const char *const known[] = { "weft_project", "dataset", "features", "training",
                                       "model", "runs", NULL };
  g_autoptr(GList) members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        if (self->extra == NULL)
          self->extra = json_object_new ();
        json_object_set_member (self->extra, l->data, json_node_copy (json_object_get_member (o, l->data)));
      }
  return g_steal_pointer (&self);
}

char *
weft_project_to_data (WeftProject *self, const char *base_dir)
{
  g_autoptr(JsonObject) o = json_object_new ();
  json_object_set_int_member (o, "weft_project", 1);
  if (self->dataset)
    {
      /* Relative when the dataset sits below the project's folder, so a
       * project and its data can move together. */
      const char *p = self->dataset;
      if (base_dir && g_str_has_prefix (p, base_dir) && p[strlen (base_dir)] == G_DIR_SEPARATOR)
        p += strlen (base_dir) + 1;
      json_object_set_string_member (o, "dataset", p);
    }
  json_object_set_object_member (o, "features", json_object_ref (self->features));
  if (self->model)
    json_object_set_member (o, "model", weft_spec_to_json (self->model));
  json_object_set_object_member (o, "training", json_object_ref (self->training));
  JsonArray *runs = json_array_new ();
  for (guint i = 0; i < self->runs->len; i++)
    json_array_add_object_element (runs, json_object_ref (g_ptr_array_index (self->runs, i)));
  json_object_set_array_member (o, "runs", runs);
  if (self->extra)
    {
      g_autoptr(GList) members = json_object_get_members (self->extra);
      for (GList *l = members; l; l = l->next)
        json_object_set_member (o, l->data, json_node_copy (json_object_get_member (self->extra, l->data)));
    }
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, o);
  return weft_json_to_data (root, TRUE, NULL);
}

gboolean
weft_project_save (WeftProject *self, GFile *file, GError **error)
{
  g_autoptr(GFile) dir = g_file_get_parent (file);
  g_autofree char *base = dir ? g_file_get_path (dir) : NULL;
  g_autofree char *text = weft_project_to_data (self, base);
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) local = NULL;

  if (path == NULL)
    return fail (error, file, "only local files can be saved");
  /* Said plainly, rather than as the temporary file GLib failed to create. */
  if (base != NULL && !g_file_test (base, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s cannot be saved: the folder %s does not exist",
                   g_file_peek_path (file), base);
      return FALSE;
    }
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  if (self->file != file)
    {
      g_set_object (&self->file, file);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
    }
  weft_project_set_modified (self, FALSE);
  return TRUE;
}

char *
weft_project_dup_autosave_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "weft", "autosave", NULL);
}

gboolean
weft_project_save_autosave (WeftProject *self, GFile *file, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *path = NULL;
  JsonObject *o;

  g_return_val_if_fail (WEFT_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  path = g_file_get_path (file);
  if (path == NULL)
    return fail (error, file, "only local files can be saved");

  /* No base folder: an autosave copy lives far from the dataset. */
  text = weft_project_to_data (self, NULL);
  if (!json_parser_load_from_data (parser, text, -1, &local))
    g_assert_not_reached ();
  o = json_node_get_object (json_parser_get_root (parser));
  if (self->file != NULL)
    {
      g_autofree char *uri = g_file_get_uri (self->file);
      json_object_set_string_member (o, AUTOSAVE_OF, uri);
    }
  out = weft_json_to_data (json_parser_get_root (parser), TRUE, NULL);

  dir = g_file_get_parent (file);
  if (dir != NULL && !g_file_make_directory_with_parents (dir, NULL, &local) &&
      !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  g_clear_error (&local);
  if (!g_file_set_contents_full (path, out, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

WeftProject *
weft_project_load_autosave (GFile *file, GError **error)
{
  g_autoptr(WeftProject) self = weft_project_load (file, error);
  JsonNode *of;

  if (self == NULL)
    return NULL;

  g_clear_object (&self->file);
  of = self->extra ? json_object_get_member (self->extra, AUTOSAVE_OF) : NULL;
  if (of != NULL && JSON_NODE_HOLDS_VALUE (of) && json_node_get_value_type (of) == G_TYPE_STRING)
    self->file = g_file_new_for_uri (json_node_get_string (of));
  if (of != NULL)
    json_object_remove_member (self->extra, AUTOSAVE_OF);
  self->modified = TRUE;
  return g_steal_pointer (&self);
}
