/* weft-window-project.c — WeftWindow's project: the title, opening and
 * saving .weft files, the unsaved-changes prompt on close, and autosave. */

#include "weft-config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "weft-window-private.h"

/* A modified project is copied to the autosave folder this often, and this
 * long after each change (so a burst of edits writes once). */
#define WEFT_AUTOSAVE_INTERVAL_S   30
#define WEFT_AUTOSAVE_DEBOUNCE_MS  2000

#define WEFT_PROJECT_MIME_TYPE "application/x-weft-project"
#define WEFT_PROJECT_SUFFIX    ".weft"

/* Test hook: when set, Save As writes to this path instead of asking with a
 * file chooser (GUI tests cannot rely on typing into GTK's chooser). */
#define WEFT_TEST_SAVE_PATH_ENV "WEFT_TEST_SAVE_PATH"

static void weft_window_project_update_title (WeftWindow *self);

/**
 * weft_window_get_project:
 *
 * Returns: (transfer none): the window's project; never %NULL.
 */
WeftProject *
weft_window_get_project (WeftWindow *self)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), NULL);

  return self->project;
}

/**
 * weft_window_get_blank:
 *
 * Returns: whether the window holds nothing a user made: no dataset, a
 *   project never saved and unmodified. Such a window can take a project.
 */
gboolean
weft_window_get_blank (WeftWindow *self)
{
  g_return_val_if_fail (WEFT_IS_WINDOW (self), FALSE);

  return self->dataset_folder == NULL &&
         weft_project_get_file (self->project) == NULL &&
         !weft_project_get_modified (self->project);
}

/* "emoji" for …/emoji.weft; returns a new string. */
static char *
weft_project_file_dup_name (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);
  g_autofree char *name = g_filename_display_name (basename);

  if (g_str_has_suffix (name, WEFT_PROJECT_SUFFIX) && strlen (name) > strlen (WEFT_PROJECT_SUFFIX))
    name[strlen (name) - strlen (WEFT_PROJECT_SUFFIX)] = '\0';
  return g_steal_pointer (&name);
}

/* The name titles and dialogs use; returns a new string. */
static char *
weft_window_dup_project_name (WeftWindow *self)
{
  GFile *file = weft_project_get_file (self->project);

  if (file != NULL)
    return weft_project_file_dup_name (file);
  if (self->untitled_name != NULL)
    return g_strdup (self->untitled_name);
  return g_strdup (_("Untitled Project"));
}

static void
weft_window_project_update_title (WeftWindow *self)
{
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;

  if (weft_window_get_blank (self))
    {
      gtk_window_set_title (GTK_WINDOW (self), _("Weft"));
      return;
    }

  name = weft_window_dup_project_name (self);
  /* Translators: the window title of a project with unsaved changes. */
  title = weft_project_get_modified (self->project) ? g_strdup_printf (_("• %s"), name)
                                                    : g_steal_pointer (&name);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void
weft_window_show_error (WeftWindow *self,
                        const char *heading,
                        const char *body)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self),
                                                                          heading, body));

  /* Screen readers and tests find the dialog by its title. */
  gtk_window_set_title (GTK_WINDOW (dialog), heading);
  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
weft_project_add_recent (GFile *file)
{
  g_autofree char *uri = g_file_get_uri (file);
  g_autofree char *name = weft_project_file_dup_name (file);
  GtkRecentData data = {
    .display_name = name,
    .mime_type = (char *) WEFT_PROJECT_MIME_TYPE,
    .app_name = (char *) "Weft",
    .app_exec = (char *) "weft %u",
  };

  gtk_recent_manager_add_full (gtk_recent_manager_get_default (), uri, &data);
}

/* -- autosave ---------------------------------------------------------- */

/* Returns: (transfer full): this window's autosave copy. */
static GFile *
weft_window_dup_autosave_file (WeftWindow *self)
{
  g_autofree char *dir = weft_project_dup_autosave_dir ();
  g_autofree char *basename = g_strconcat (self->autosave_id, WEFT_PROJECT_SUFFIX, NULL);
  g_autofree char *path = g_build_filename (dir, basename, NULL);

  return g_file_new_for_path (path);
}

/* After a clean save, close or discard the copy has nothing to recover. */
static void
weft_window_delete_autosave (WeftWindow *self)
{
  g_autoptr(GFile) file = weft_window_dup_autosave_file (self);

  g_clear_handle_id (&self->autosave_debounce_id, g_source_remove);
  self->autosave_dirty = FALSE;
  g_file_delete (file, NULL, NULL);
}

static void
weft_window_write_autosave (WeftWindow *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  self->autosave_dirty = FALSE;
  if (!weft_project_get_modified (self->project))
    return;

  file = weft_window_dup_autosave_file (self);
  /* Not worth interrupting anyone: the next change tries again. */
  if (!weft_project_save_autosave (self->project, file, &error))
    g_warning ("Could not autosave the project: %s", error->message);
}

static gboolean
weft_window_autosave_tick (gpointer user_data)
{
  WeftWindow *self = user_data;

  if (self->autosave_dirty)
    weft_window_write_autosave (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
weft_window_autosave_debounced (gpointer user_data)
{
  WeftWindow *self = user_data;

  self->autosave_debounce_id = 0;
  if (self->autosave_dirty)
    weft_window_write_autosave (self);
  return G_SOURCE_REMOVE;
}

static void
weft_window_project_changed_cb (WeftProject *project,
                                WeftWindow  *self)
{
  self->autosave_dirty = TRUE;
  g_clear_handle_id (&self->autosave_debounce_id, g_source_remove);
  self->autosave_debounce_id = g_timeout_add (WEFT_AUTOSAVE_DEBOUNCE_MS,
                                              weft_window_autosave_debounced, self);
}

/* Returns: (transfer full): the autosave copies no open window is writing,
 * i.e. those left by a Weft that ended without saving. */
static GPtrArray *
weft_window_list_stale_autosaves (WeftWindow *self)
{
  g_autofree char *path = weft_project_dup_autosave_dir ();
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GPtrArray *files = g_ptr_array_new_with_free_func (g_object_unref);
  const char *name;

  if (dir == NULL)
    return files;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      gboolean in_use = FALSE;

      if (!g_str_has_suffix (name, WEFT_PROJECT_SUFFIX))
        continue;

      for (GList *l = app ? gtk_application_get_windows (app) : NULL; l != NULL; l = l->next)
        if (WEFT_IS_WINDOW (l->data) &&
            g_str_has_prefix (name, WEFT_WINDOW (l->data)->autosave_id) &&
            strlen (name) == strlen (WEFT_WINDOW (l->data)->autosave_id) + strlen (WEFT_PROJECT_SUFFIX))
          in_use = TRUE;

      if (!in_use)
        g_ptr_array_add (files, g_file_new_build_filename (path, name, NULL));
    }
  return files;
}

/* -- the project ------------------------------------------------------- */

static void
weft_window_project_modified_cb (WeftWindow *self)
{
  weft_window_project_update_title (self);
}

/* Opening a dataset makes it the project's dataset. The dataset code has
 * just titled the window after the dataset: that title names the project
 * until it is saved. */
static void
weft_window_dataset_folder_cb (WeftWindow *self)
{
  const char *title = gtk_window_get_title (GTK_WINDOW (self));
  g_autofree char *path = NULL;

  if (self->dataset_folder == NULL)
    return;

  if (title != NULL && !g_str_has_prefix (title, "• ") && g_strcmp0 (title, _("Weft")) != 0)
    {
      g_free (self->untitled_name);
      self->untitled_name = g_strdup (title);
    }

  path = g_file_get_path (self->dataset_folder);
  weft_project_set_dataset (self->project, path);
  weft_window_project_update_title (self);
}

/* Makes @project (taken) this window's project and opens its dataset.
 * @autosave_id names its autosave copy (NULL: a new one). */
static void
weft_window_take_project (WeftWindow  *self,
                          WeftProject *project,
                          const char  *autosave_id)
{
  const char *dataset;

  if (self->project != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->project, self);
      g_clear_object (&self->project);
    }
  g_clear_handle_id (&self->autosave_debounce_id, g_source_remove);
  self->autosave_dirty = FALSE;

  self->project = project;
  weft_model_page_set_project (self->model_page, project);
  weft_train_page_set_project (self->train_page, project);
  weft_explore_page_set_project (self->explore_page, project);
  g_free (self->autosave_id);
  self->autosave_id = autosave_id != NULL ? g_strdup (autosave_id) : g_uuid_string_random ();

  g_signal_connect_object (project, "notify::modified",
                           G_CALLBACK (weft_window_project_modified_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (project, "notify::file",
                           G_CALLBACK (weft_window_project_modified_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (project, "changed",
                           G_CALLBACK (weft_window_project_changed_cb), self, 0);

  dataset = weft_project_get_dataset (project);
  if (dataset != NULL)
    {
      g_autoptr(GFile) folder = g_file_new_for_path (dataset);

      weft_window_open_dataset (self, folder);
    }
  weft_window_project_update_title (self);
}

/* The window to show a project in: @self if it is blank, else a new one. */
static WeftWindow *
weft_window_find_target (WeftWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (weft_window_get_blank (self) || app == NULL)
    return self;
  return weft_window_new (WEFT_APPLICATION (app));
}

void
_weft_window_new_project (WeftWindow *self)
{
  /* A window holds one dataset, so a new project starts in a new window
   * and nobody's work is replaced. */
  gtk_window_present (GTK_WINDOW (weft_window_find_target (self)));
}

/**
 * weft_window_open_project:
 * @file: a `.weft` project file
 *
 * Opens @file in this window if it is blank, else in a new window (or
 * presents the window that already has it). A file that cannot be read
 * shows a dialog with the reason.
 */
void
weft_window_open_project (WeftWindow *self,
                          GFile      *file)
{
  GtkApplication *app;
  g_autoptr(WeftProject) project = NULL;
  g_autoptr(GError) error = NULL;
  WeftWindow *target;

  g_return_if_fail (WEFT_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  app = gtk_window_get_application (GTK_WINDOW (self));
  for (GList *l = app ? gtk_application_get_windows (app) : NULL; l != NULL; l = l->next)
    {
      GFile *open = WEFT_IS_WINDOW (l->data) ? weft_project_get_file (WEFT_WINDOW (l->data)->project)
                                             : NULL;
      if (open != NULL && g_file_equal (open, file))
        {
          gtk_window_present (l->data);
          return;
        }
    }

  project = weft_project_load (file, &error);
  if (project == NULL)
    {
      weft_window_show_error (self, _("Could Not Open Project"), error->message);
      return;
    }

  weft_project_add_recent (file);
  target = weft_window_find_target (self);
  weft_window_take_project (target, g_steal_pointer (&project), NULL);
  gtk_window_present (GTK_WINDOW (target));
}

static void
weft_window_open_chosen_cb (GtkNativeDialog *dialog,
                            int              response,
                            WeftWindow      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        weft_window_open_project (self, file);
    }
  g_clear_object (&self->project_chooser);
}

static GtkFileFilter *
weft_project_filter_new (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Weft Projects"));
  gtk_file_filter_add_pattern (filter, "*" WEFT_PROJECT_SUFFIX);
  gtk_file_filter_add_mime_type (filter, WEFT_PROJECT_MIME_TYPE);
  return filter;
}

void
_weft_window_choose_project (WeftWindow *self)
{
  g_autoptr(GtkFileFilter) filter = weft_project_filter_new ();

  if (self->project_chooser != NULL)
    return;

  self->project_chooser = gtk_file_chooser_native_new (_("Open Project"), GTK_WINDOW (self),
                                                       GTK_FILE_CHOOSER_ACTION_OPEN,
                                                       _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->project_chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->project_chooser), filter);
  g_signal_connect_object (self->project_chooser, "response",
                           G_CALLBACK (weft_window_open_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->project_chooser));
}

/* -- saving ------------------------------------------------------------ */

/* From an idle: closing the window inside the "Save changes?" dialog's
 * "response" would destroy the dialog while it is still emitting. */
static gboolean
weft_window_close_confirmed_idle (gpointer user_data)
{
  g_autoptr(WeftWindow) self = user_data;

  self->close_confirmed = TRUE;
  gtk_window_close (GTK_WINDOW (self));
  return G_SOURCE_REMOVE;
}


static void
weft_window_save_to (WeftWindow *self,
                     GFile      *file)
{
  g_autoptr(GError) error = NULL;

  if (!weft_project_save (self->project, file, &error))
    {
      g_autofree char *name = weft_project_file_dup_name (file);
      /* Translators: %s is a project name */
      g_autofree char *heading = g_strdup_printf (_("Could Not Save “%s”"), name);

      self->close_after_save = FALSE;
      weft_window_show_error (self, heading, error->message);
      return;
    }

  weft_window_delete_autosave (self);
  weft_project_add_recent (file);

  if (self->close_after_save)
    {
      self->close_after_save = FALSE;
      g_idle_add (weft_window_close_confirmed_idle, g_object_ref (self));
    }
}

static void
weft_window_save_chosen_cb (GtkNativeDialog *dialog,
                            int              response,
                            WeftWindow      *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_clear_object (&self->project_chooser);

  if (file == NULL)
    {
      self->close_after_save = FALSE;
      return;
    }

  /* "emoji" means emoji.weft: without the suffix nothing finds it again. */
  if (!g_str_has_suffix (g_file_peek_path (file) ? g_file_peek_path (file) : "", WEFT_PROJECT_SUFFIX))
    {
      g_autofree char *path = g_strconcat (g_file_peek_path (file), WEFT_PROJECT_SUFFIX, NULL);

      g_object_unref (file);
      file = g_file_new_for_path (path);
    }

  weft_window_save_to (self, file);
}

/* Saves to the project's file, or asks where first (@save_as, or a project
 * never saved). With close_after_save set, a successful save closes. */
void
_weft_window_save (WeftWindow *self,
                   gboolean    save_as)
{
  GFile *file = weft_project_get_file (self->project);
  const char *test_path = g_getenv (WEFT_TEST_SAVE_PATH_ENV);
  g_autoptr(GtkFileFilter) filter = NULL;
  g_autofree char *name = NULL;
  g_autofree char *basename = NULL;

  if (file != NULL && !save_as)
    {
      weft_window_save_to (self, file);
      return;
    }

  if (test_path != NULL && test_path[0] != '\0')
    {
      g_autoptr(GFile) test_file = g_file_new_for_path (test_path);

      weft_window_save_to (self, test_file);
      return;
    }

  if (self->project_chooser != NULL)
    return;

  self->project_chooser = gtk_file_chooser_native_new (_("Save Project"), GTK_WINDOW (self),
                                                       GTK_FILE_CHOOSER_ACTION_SAVE,
                                                       _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->project_chooser), TRUE);
  filter = weft_project_filter_new ();
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->project_chooser), filter);

  if (file != NULL)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (self->project_chooser), file, NULL);
  else
    {
      name = weft_window_dup_project_name (self);
      basename = g_strconcat (name, WEFT_PROJECT_SUFFIX, NULL);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->project_chooser), basename);
    }

  g_signal_connect_object (self->project_chooser, "response",
                           G_CALLBACK (weft_window_save_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->project_chooser));
}

/* -- closing ----------------------------------------------------------- */

static void
weft_window_close_response_cb (AdwMessageDialog *dialog,
                               const char       *response,
                               WeftWindow       *self)
{
  if (g_str_equal (response, "discard"))
    {
      weft_window_delete_autosave (self);
      g_idle_add (weft_window_close_confirmed_idle, g_object_ref (self));
    }
  else if (g_str_equal (response, "save"))
    {
      self->close_after_save = TRUE;
      _weft_window_save (self, FALSE);
    }
}

static gboolean
weft_window_project_close_request_cb (WeftWindow *self)
{
  g_autofree char *name = NULL;
  g_autofree char *heading = NULL;
  AdwMessageDialog *dialog;

  if (self->close_confirmed || !weft_project_get_modified (self->project))
    {
      weft_window_delete_autosave (self);
      return FALSE;  /* on to WeftWindow's own close_request */
    }

  if (self->close_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->close_dialog));
      return TRUE;
    }

  name = weft_window_dup_project_name (self);
  /* Translators: %s is a project name */
  heading = g_strdup_printf (_("Save changes to “%s”?"), name);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading,
                                                       _("If you don’t save, your changes "
                                                         "will be permanently lost.")));
  gtk_window_set_title (GTK_WINDOW (dialog), heading);
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response",
                           G_CALLBACK (weft_window_close_response_cb), self, 0);
  g_set_weak_pointer (&self->close_dialog, GTK_WIDGET (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

/* -- recovery ---------------------------------------------------------- */

/**
 * weft_window_offer_recovery:
 *
 * If an earlier Weft left autosave copies behind (it crashed or was
 * killed with unsaved changes), offers to restore them in a toast.
 */
void
weft_window_offer_recovery (WeftWindow *self)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *title = NULL;
  AdwToast *toast;

  g_return_if_fail (WEFT_IS_WINDOW (self));

  files = weft_window_list_stale_autosaves (self);
  if (files->len == 0)
    return;

  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                        "%u project has unsaved changes from last time",
                                        "%u projects have unsaved changes from last time",
                                        files->len),
                           files->len);
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("Restore"));
  adw_toast_set_action_name (toast, "win.restore-autosaves");
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Opens each stale autosave copy as a modified project, in this window if
 * it is blank and new windows otherwise. Each keeps its copy, so that it
 * stays recoverable until saved or discarded. */
void
_weft_window_restore_autosaves (WeftWindow *self)
{
  g_autoptr(GPtrArray) files = weft_window_list_stale_autosaves (self);

  for (guint i = 0; i < files->len; i++)
    {
      GFile *file = g_ptr_array_index (files, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(WeftProject) project = weft_project_load_autosave (file, &error);
      g_autofree char *basename = g_file_get_basename (file);
      WeftWindow *target;

      if (project == NULL)
        {
          /* Moved aside, not deleted: it may still be worth reading by hand. */
          g_autofree char *aside = g_strconcat (g_file_peek_path (file), ".damaged", NULL);
          g_autoptr(GFile) aside_file = g_file_new_for_path (aside);

          g_file_move (file, aside_file, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, NULL);
          weft_window_show_error (self, _("Could Not Restore Project"), error->message);
          continue;
        }

      basename[strlen (basename) - strlen (WEFT_PROJECT_SUFFIX)] = '\0';
      target = weft_window_find_target (self);
      weft_window_take_project (target, g_steal_pointer (&project), basename);
      gtk_window_present (GTK_WINDOW (target));
    }
}

/* -- life cycle -------------------------------------------------------- */

void
_weft_window_project_init (WeftWindow *self)
{
  weft_window_take_project (self, weft_project_new (), NULL);

  g_signal_connect (self, "notify::dataset-folder",
                    G_CALLBACK (weft_window_dataset_folder_cb), NULL);
  g_signal_connect (self, "close-request",
                    G_CALLBACK (weft_window_project_close_request_cb), NULL);
  self->autosave_timeout_id = g_timeout_add_seconds (WEFT_AUTOSAVE_INTERVAL_S,
                                                     weft_window_autosave_tick, self);
}

void
_weft_window_project_dispose (WeftWindow *self)
{
  g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
  g_clear_handle_id (&self->autosave_debounce_id, g_source_remove);
  if (self->project_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->project_chooser));
  g_clear_object (&self->project_chooser);
  if (self->project != NULL)
    g_signal_handlers_disconnect_by_data (self->project, self);
  g_clear_object (&self->project);
  g_clear_weak_pointer (&self->close_dialog);
  g_clear_pointer (&self->untitled_name, g_free);
  g_clear_pointer (&self->autosave_id, g_free);
}
