/* weft-window.c — the main window: template, saved size, the open dataset
 * and the recent-folders menu. Actions live in weft-window-actions.c. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-window-private.h"

G_DEFINE_FINAL_TYPE (WeftWindow, weft_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_DATASET_FOLDER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

WeftWindow *
weft_window_new (WeftApplication *application)
{
  g_return_val_if_fail (WEFT_IS_APPLICATION (application), NULL);

  return g_object_new (WEFT_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

/**
 * weft_window_get_dataset_folder:
 *
 * Returns: (transfer none) (nullable): the folder of the open dataset, or
 *   %NULL while the welcome page is shown.
 */
GFile *
weft_window_get_dataset_folder (WeftWindow *self)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);

  return self->dataset_folder;
}

/**
 * weft_window_show_toast:
 * @message: plain text (not markup), typically naming a file
 *
 * Shows @message in a toast for a few seconds.
 */
void
weft_window_show_toast (WeftWindow *self,
                        const char *message)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  /* Toast titles are Pango markup; a folder may well be called "R&D". */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 8);
  g_set_weak_pointer (&self->toast, toast);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* "~/data/emoji" rather than "/home/ada/data/emoji"; returns a new string. */
static char *
weft_window_dup_display_path (GFile *file)
{
  g_autofree char *parse_name = g_file_get_parse_name (file);
  const char *home = g_get_home_dir ();
  gsize home_len = strlen (home);

  if (home_len > 1 && g_str_has_prefix (parse_name, home) &&
      (parse_name[home_len] == '/' || parse_name[home_len] == '\0'))
    return g_strconcat ("~", parse_name + home_len, NULL);

  return g_steal_pointer (&parse_name);
}

/* The name a user gave the folder, for titles; returns a new string. */
static char *
weft_window_dup_display_name (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  if (basename == NULL)
    return g_file_get_parse_name (file);

  return g_filename_display_name (basename);
}

static void
weft_window_remember_folder (WeftWindow *self,
                             GFile      *folder)
{
  g_auto(GStrv) old = g_settings_get_strv (self->settings, "recent-folders");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *uri = g_file_get_uri (folder);
  g_auto(GStrv) recent = NULL;
  guint n = 1;

  g_strv_builder_add (builder, uri);
  for (guint i = 0; old[i] != NULL && n < WEFT_WINDOW_MAX_RECENT_FOLDERS; i++)
    {
      if (g_strcmp0 (old[i], uri) != 0)
        {
          g_strv_builder_add (builder, old[i]);
          n++;
        }
    }

  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-folders", (const char * const *) recent);
}

void
_weft_window_forget_folder (WeftWindow *self,
                            const char *uri)
{
  g_auto(GStrv) old = g_settings_get_strv (self->settings, "recent-folders");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) recent = NULL;

  for (guint i = 0; old[i] != NULL; i++)
    if (g_strcmp0 (old[i], uri) != 0)
      g_strv_builder_add (builder, old[i]);

  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-folders", (const char * const *) recent);
}

/* Runs on a worker: reads the dataset folder (CSV/JSONL parse, file
 * checks), which for a large set takes long enough to freeze the window. */
static void
weft_window_load_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GFile *folder = task_data;
  g_autofree char *path = g_file_get_path (folder);
  g_autoptr(GError) error = NULL;
  WeftDatasetLimits limits;
  WeftDataset *ds;

  weft_dataset_limits_init (&limits);
  /* Reading 70,000 image headers up front takes seconds; the size limit is
   * checked again when featurisation decodes each image. */
  limits.probe_images = FALSE;
  ds = weft_dataset_open (path, &limits, cancellable, &error);
  if (ds == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, ds, (GDestroyNotify) weft_dataset_free);
}

static void
weft_window_load_done (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  WeftWindow *self = WEFT_WINDOW (source);
  g_autoptr(GError) error = NULL;
  WeftDataset *ds;

  ds = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* another folder was opened meanwhile */
  g_clear_object (&self->load_cancellable);
  gtk_spinner_stop (self->dataset_spinner);

  if (ds == NULL)
    {
      adw_status_page_set_description (self->dataset_status, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->dataset_spinner), FALSE);
      weft_window_show_toast (self, error->message);
      return;
    }

  weft_dataset_page_take_dataset (self->dataset_page, ds);
  gtk_stack_set_visible_child_name (self->dataset_stack, "page");
}

/* Shows @folder as the dataset, titled @title (or the folder's name). */
void
_weft_window_open_dataset_titled (WeftWindow *self,
                                  GFile      *folder,
                                  const char *title)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GTask) task = NULL;
  GFileType type;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  name = weft_window_dup_display_name (folder);
  type = g_file_query_file_type (folder, G_FILE_QUERY_INFO_NONE, NULL);

  if (type != G_FILE_TYPE_DIRECTORY)
    {
      g_autofree char *message = NULL;

      if (type == G_FILE_TYPE_UNKNOWN)
        message = g_strdup_printf (_("“%s” was not found"), name);
      else
        message = g_strdup_printf (_("“%s” is not a folder: a dataset is a folder of "
                                     "images, texts and sounds"), name);
      weft_window_show_toast (self, message);
      return;
    }

  if (title == NULL)
    title = name;

  g_set_object (&self->dataset_folder, folder);

  /* A toast about an earlier attempt is stale once a dataset is open. */
  if (self->toast != NULL)
    adw_toast_dismiss (self->toast);

  path = weft_window_dup_display_path (folder);
  gtk_window_set_title (GTK_WINDOW (self), title);
  adw_view_switcher_title_set_subtitle (self->switcher_title, path);

  adw_status_page_set_title (self->dataset_status, title);
  adw_status_page_set_description (self->dataset_status, _("Reading the dataset…"));
  gtk_widget_set_visible (GTK_WIDGET (self->dataset_spinner), TRUE);
  gtk_spinner_start (self->dataset_spinner);
  gtk_stack_set_visible_child_name (self->dataset_stack, "dataset");
  adw_view_stack_set_visible_child_name (self->view_stack, "dataset");

  weft_window_remember_folder (self, folder);

  /* The previous dataset's work stops; reading the new one starts on a
   * worker and shows the Dataset page when done. */
  weft_dataset_page_stop (self->dataset_page);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->load_cancellable, weft_window_load_done, NULL);
  g_task_set_source_tag (task, _weft_window_open_dataset_titled);
  g_task_set_task_data (task, g_object_ref (folder), g_object_unref);
  g_task_run_in_thread (task, weft_window_load_thread);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET_FOLDER]);
}

/**
 * weft_window_open_dataset:
 * @folder: a dataset folder (metadata.csv/.jsonl or class folders)
 *
 * Shows @folder as this window's dataset: reads it on a worker thread
 * (the loading state shows meanwhile), then shows the Dataset page, which
 * featurises it in the background.
 */
void
weft_window_open_dataset (WeftWindow *self,
                          GFile      *folder)
{
  _weft_window_open_dataset_titled (self, folder, NULL);
}

/**
 * weft_window_get_features:
 *
 * Returns: (transfer none) (nullable): the features of the open dataset
 *   once featurisation has finished (WeftDatasetPage:features), else %NULL.
 */
WeftFeatures *
weft_window_get_features (WeftWindow *self)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);

  return weft_dataset_page_get_features (self->dataset_page);
}

/* Menu labels parse mnemonics, and folder names may contain underscores. */
static char *
weft_window_escape_mnemonic (const char *label)
{
  g_autoptr(GString) escaped = g_string_new (label);

  g_string_replace (escaped, "_", "__", 0);
  return g_string_free (g_steal_pointer (&escaped), FALSE);
}

static void
weft_window_update_recent_menu (WeftWindow *self)
{
  g_auto(GStrv) recent = g_settings_get_strv (self->settings, "recent-folders");

  g_menu_remove_all (self->recent_menu);
  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autoptr(GFile) folder = g_file_new_for_uri (recent[i]);
      g_autofree char *name = weft_window_dup_display_name (folder);
      g_autofree char *label = weft_window_escape_mnemonic (name);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target (item, "win.open-recent", "s", recent[i]);
      g_menu_append_item (self->recent_menu, item);
    }

  /* The submenu sits after "Open Dataset Folder…" only when it has items. */
  if (g_menu_model_get_n_items (G_MENU_MODEL (self->open_section)) > 1)
    g_menu_remove (self->open_section, 1);
  if (recent[0] != NULL)
    g_menu_append_submenu (self->open_section, _("_Recent Datasets"),
                           G_MENU_MODEL (self->recent_menu));
}

static void
weft_window_restore_size (WeftWindow *self)
{
  int width = g_settings_get_int (self->settings, "window-width");
  int height = g_settings_get_int (self->settings, "window-height");

  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static gboolean
weft_window_close_request (GtkWindow *window)
{
  WeftWindow *self = WEFT_WINDOW (window);
  gboolean maximized = gtk_window_is_maximized (window);
  int width, height;

  g_settings_delay (self->settings);
  g_settings_set_boolean (self->settings, "window-maximized", maximized);
  if (!maximized)
    {
      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (weft_window_parent_class)->close_request (window);
}

static void
weft_window_dispose (GObject *object)
{
  WeftWindow *self = WEFT_WINDOW (object);

  if (self->folder_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->folder_chooser));
  g_clear_object (&self->folder_chooser);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  _weft_window_project_dispose (self);
  g_clear_weak_pointer (&self->toast);
  g_clear_object (&self->dataset_folder);
  g_clear_object (&self->recent_menu);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (weft_window_parent_class)->dispose (object);
}

static void
weft_window_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  WeftWindow *self = WEFT_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DATASET_FOLDER:
      g_value_set_object (value, self->dataset_folder);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_window_class_init (WeftWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = weft_window_dispose;
  object_class->get_property = weft_window_get_property;

  window_class->close_request = weft_window_close_request;

  /**
   * WeftWindow:dataset-folder:
   *
   * The folder of the open dataset, or %NULL before one is opened.
   */
  properties[PROP_DATASET_FOLDER] =
    g_param_spec_object ("dataset-folder", NULL, NULL,
                         G_TYPE_FILE,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (WEFT_TYPE_WELCOME_PAGE);
  g_type_ensure (WEFT_TYPE_DATASET_PAGE);
  g_type_ensure (WEFT_TYPE_MODEL_PAGE);
  g_type_ensure (WEFT_TYPE_TRAIN_PAGE);
  g_type_ensure (WEFT_TYPE_EXPLORE_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, dataset_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, welcome_page);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, dataset_status);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, dataset_spinner);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, dataset_page);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, model_page);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, train_page);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, explore_page);
  gtk_widget_class_bind_template_child (widget_class, WeftWindow, open_section);

  _weft_window_class_actions_init (klass);
}

/* The Train and Explore pages work on the features of the last finished
 * featurisation; they keep their own reference, so a run in progress keeps
 * its features while the Dataset page refeaturises. */
static void
weft_window_features_changed_cb (WeftWindow *self)
{
  WeftFeatures *features = weft_dataset_page_get_features (self->dataset_page);
  const WeftDataset *dataset = weft_dataset_page_get_dataset (self->dataset_page);

  weft_model_page_set_features (self->model_page, features);
  weft_train_page_set_features (self->train_page, features, dataset);
  weft_explore_page_set_features (self->explore_page, features, dataset);
}

static void
weft_window_init (WeftWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->dataset_page, "notify::features",
                           G_CALLBACK (weft_window_features_changed_cb),
                           self, G_CONNECT_SWAPPED);

  self->settings = g_settings_new (APP_ID);
  self->recent_menu = g_menu_new ();

  g_signal_connect_object (self->settings, "changed::recent-folders",
                           G_CALLBACK (weft_window_update_recent_menu),
                           self, G_CONNECT_SWAPPED);
  weft_window_update_recent_menu (self);
  weft_window_restore_size (self);

  _weft_window_dnd_init (self);
  _weft_window_project_init (self);
}
