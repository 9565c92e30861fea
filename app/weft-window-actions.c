/* weft-window-actions.c — the win.* actions of WeftWindow and their
 * shortcuts: open a folder, a demo, a recent folder; new, open, save and
 * restore projects (carried out in weft-window-project.c); show a page. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-window-private.h"

/* The demo datasets offered on the welcome page. Each is looked for first
 * where data/NAME/build.py writes it ($XDG_CACHE_HOME/weft/datasets/NAME),
 * then as the sample committed in data/NAME/sample. */
typedef struct
{
  const char *name;        /* action target and folder name */
  const char *title;       /* translatable */
  const char *build_script; /* in the source tree */
} WeftDemo;

static const WeftDemo weft_demos[] = {
  { "emoji", N_("Emoji"),
    "data/emoji/build.py" },
  { "tuxpaint", N_("Tux Paint Stamps"),
    "data/tuxpaint/build.py" },
  { "av-fashion", N_("AV-Fashion-MNIST"),
    "data/av-fashion/build.py" },
};

static const WeftDemo *
weft_demo_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (weft_demos); i++)
    if (g_str_equal (weft_demos[i].name, name))
      return &weft_demos[i];
  return NULL;
}

/* Returns: (transfer full) (nullable): the demo's folder, if it exists;
 * @is_sample says whether it is the committed sample. */
static GFile *
weft_demo_dup_folder (const WeftDemo *demo,
                      gboolean       *is_sample)
{
  g_autofree char *cached = g_build_filename (g_get_user_cache_dir (), "weft", "datasets",
                                              demo->name, NULL);
  g_autofree char *sample = g_build_filename (WEFT_SOURCE_DIR, "data", demo->name,
                                              "sample", NULL);

  *is_sample = FALSE;
  if (g_file_test (cached, G_FILE_TEST_IS_DIR))
    return g_file_new_for_path (cached);

  *is_sample = TRUE;
  if (g_file_test (sample, G_FILE_TEST_IS_DIR))
    return g_file_new_for_path (sample);

  return NULL;
}

static void
weft_window_open_demo_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  WeftWindow *self = WEFT_WINDOW (widget);
  const WeftDemo *demo = weft_demo_lookup (g_variant_get_string (param, NULL));
  g_autoptr(GFile) folder = NULL;
  gboolean is_sample;

  g_return_if_fail (demo != NULL);

  folder = weft_demo_dup_folder (demo, &is_sample);
  if (folder != NULL)
    {
      /* Translators: %s is a demo dataset's name, e.g. "Emoji (sample)" */
      g_autofree char *title = is_sample ? g_strdup_printf (_("%s (sample)"), _(demo->title))
                                         : g_strdup (_(demo->title));

      _weft_window_open_dataset_titled (self, folder, title);
    }
  else
    {
      /* Translators: the first %s is a dataset name, the second a script's path. */
      g_autofree char *message = g_strdup_printf (_("The %s demo is not built yet: run %s"),
                                                  _(demo->title), demo->build_script);
      weft_window_show_toast (self, message);
    }
}

static void
weft_window_folder_chosen_cb (GtkNativeDialog *dialog,
                              int              response,
                              WeftWindow      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (folder != NULL)
        weft_window_open_dataset (self, folder);
    }

  g_clear_object (&self->folder_chooser);
}

static void
weft_window_open_folder_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *param)
{
  WeftWindow *self = WEFT_WINDOW (widget);

  if (self->folder_chooser != NULL)
    return;

  self->folder_chooser = gtk_file_chooser_native_new (_("Open Dataset Folder"),
                                                      GTK_WINDOW (self),
                                                      GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                      _("_Open"),
                                                      _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->folder_chooser), TRUE);

  /* Start next to the open dataset: sibling datasets are the likely pick. */
  if (self->dataset_folder != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (self->dataset_folder);

      if (parent != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->folder_chooser),
                                             parent, NULL);
    }

  g_signal_connect_object (self->folder_chooser, "response",
                           G_CALLBACK (weft_window_folder_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->folder_chooser));
}

static void
weft_window_open_recent_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *param)
{
  WeftWindow *self = WEFT_WINDOW (widget);
  const char *uri = g_variant_get_string (param, NULL);
  g_autoptr(GFile) folder = g_file_new_for_uri (uri);

  /* A folder that has gone away leaves the menu, after the toast says so. */
  if (g_file_query_file_type (folder, G_FILE_QUERY_INFO_NONE, NULL) != G_FILE_TYPE_DIRECTORY)
    _weft_window_forget_folder (self, uri);

  weft_window_open_dataset (self, folder);
}

static void
weft_window_open_recent_project_action (GtkWidget  *widget,
                                        const char *action_name,
                                        GVariant   *param)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (param, NULL));

  weft_window_open_project (WEFT_WINDOW (widget), file);
}

static void
weft_window_new_project_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *param)
{
  _weft_window_new_project (WEFT_WINDOW (widget));
}

static void
weft_window_open_project_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *param)
{
  _weft_window_choose_project (WEFT_WINDOW (widget));
}

static void
weft_window_save_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  _weft_window_save (WEFT_WINDOW (widget), FALSE);
}

static void
weft_window_save_as_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *param)
{
  _weft_window_save (WEFT_WINDOW (widget), TRUE);
}

static void
weft_window_restore_autosaves_action (GtkWidget  *widget,
                                      const char *action_name,
                                      GVariant   *param)
{
  _weft_window_restore_autosaves (WEFT_WINDOW (widget));
}

static void
weft_window_show_page_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  WeftWindow *self = WEFT_WINDOW (widget);
  const char *name = g_variant_get_string (param, NULL);

  g_return_if_fail (adw_view_stack_get_child_by_name (self->view_stack, name) != NULL);

  adw_view_stack_set_visible_child_name (self->view_stack, name);
}

void
_weft_window_class_actions_init (WeftWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const char *pages[] = { "dataset", "model", "train", "explore" };

  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL,
                                   weft_window_open_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", "s",
                                   weft_window_open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s",
                                   weft_window_open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.new-project", NULL,
                                   weft_window_new_project_action);
  gtk_widget_class_install_action (widget_class, "win.open-project", NULL,
                                   weft_window_open_project_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent-project", "s",
                                   weft_window_open_recent_project_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL,
                                   weft_window_save_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL,
                                   weft_window_save_as_action);
  gtk_widget_class_install_action (widget_class, "win.restore-autosaves", NULL,
                                   weft_window_restore_autosaves_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s",
                                   weft_window_show_page_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.open-folder", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.new-project", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_O, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-project", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK,
                                       "win.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_S, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.save-as", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK,
                                       "window.close", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK,
                                         "win.show-page", "s", pages[i]);
}
