/* weft-application.c — the Weft GTK application: app-wide actions (quit,
 * about, keyboard shortcuts, color scheme), opening command-line folders and
 * .weft projects, and offering to restore autosaved projects at startup. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-application.h"
#include "weft-window.h"

struct _WeftApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  GSettings      *settings;

  gboolean        recovery_offered;
};

G_DEFINE_FINAL_TYPE (WeftApplication, weft_application, ADW_TYPE_APPLICATION)

WeftApplication *
weft_application_new (void)
{
  WeftApplication *self = g_object_new (WEFT_TYPE_APPLICATION,
                                        "application-id", APP_ID,
                                        "flags", G_APPLICATION_HANDLES_OPEN,
                                        "resource-base-path", "/org/weft/Weft",
                                        NULL);

  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[FOLDER…|PROJECT.weft…]"));
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Opens each FOLDER as a dataset and each "
                                              "PROJECT.weft as a project, in a Weft window."));
  return self;
}

/* A window that can take a folder: the active one while it is blank (no
 * dataset, no saved or modified project), otherwise a new window, so that
 * opening never replaces someone's work. */
static WeftWindow *
weft_application_find_free_window (WeftApplication *self)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (WEFT_IS_WINDOW (active) && weft_window_get_blank (WEFT_WINDOW (active)))
    return WEFT_WINDOW (active);

  return weft_window_new (self);
}

/* Once per run, in the first window: autosaved projects of an earlier Weft
 * that ended with unsaved changes. */
static void
weft_application_offer_recovery (WeftApplication *self,
                                 WeftWindow      *window)
{
  if (self->recovery_offered)
    return;
  self->recovery_offered = TRUE;
  weft_window_offer_recovery (window);
}

static void
weft_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (weft_window_new (WEFT_APPLICATION (app)));

  gtk_window_present (window);
  weft_application_offer_recovery (WEFT_APPLICATION (app), WEFT_WINDOW (window));
}

/* By name, as a file manager would: a missing PROJECT.weft is still meant
 * as a project (and its window then says it is missing). */
static gboolean
weft_application_is_project_file (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  return basename != NULL && g_str_has_suffix (basename, ".weft") &&
         g_file_query_file_type (file, G_FILE_QUERY_INFO_NONE, NULL) != G_FILE_TYPE_DIRECTORY;
}

static void
weft_application_open (GApplication  *app,
                       GFile        **files,
                       int            n_files,
                       const char    *hint)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  WeftWindow *first = NULL;

  for (int i = 0; i < n_files; i++)
    {
      if (weft_application_is_project_file (files[i]))
        {
          GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));
          WeftWindow *window = WEFT_IS_WINDOW (active) ? WEFT_WINDOW (active)
                                                       : weft_window_new (self);

          /* Shown first, so that an error dialog has a window to sit on;
           * the project goes to a new window unless this one is blank. */
          gtk_window_present (GTK_WINDOW (window));
          weft_window_open_project (window, files[i]);
          if (first == NULL)
            first = window;
        }
      else
        {
          WeftWindow *window = weft_application_find_free_window (self);

          weft_window_open_dataset (window, files[i]);
          gtk_window_present (GTK_WINDOW (window));
          if (first == NULL)
            first = window;
        }
    }

  if (first != NULL)
    weft_application_offer_recovery (self, first);
}

static void
weft_application_apply_color_scheme (WeftApplication *self)
{
  g_autofree char *scheme = g_settings_get_string (self->settings, "color-scheme");
  AdwColorScheme color_scheme = ADW_COLOR_SCHEME_DEFAULT;

  if (g_strcmp0 (scheme, "light") == 0)
    color_scheme = ADW_COLOR_SCHEME_FORCE_LIGHT;
  else if (g_strcmp0 (scheme, "dark") == 0)
    color_scheme = ADW_COLOR_SCHEME_FORCE_DARK;

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), color_scheme);
}

static void
weft_application_quit_action (GSimpleAction *action,
                              GVariant      *param,
                              gpointer       user_data)
{
  WeftApplication *self = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing (rather than destroying) lets each window save its state. */
  for (const GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static void
weft_application_about_action (GSimpleAction *action,
                               GVariant      *param,
                               gpointer       user_data)
{
  WeftApplication *self = user_data;
  static const char *developers[] = { "The Weft developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "application-name", _("Weft"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Weft developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Learn multimodal machine learning hands-on: "
                                      "train models on paired images, texts and sounds, "
                                      "then explore the joint embedding space they learn."),
                        "copyright", "© 2026 The Weft developers",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
weft_application_shortcuts_action (GSimpleAction *action,
                                   GVariant      *param,
                                   gpointer       user_data)
{
  WeftApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  /* GtkApplicationWindow owns the help overlay loaded from gtk/help-overlay.ui. */
  if (window != NULL)
    gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL);
}

static const GActionEntry app_entries[] = {
  { "quit", weft_application_quit_action },
  { "about", weft_application_about_action },
  { "shortcuts", weft_application_shortcuts_action },
};

static void
weft_application_startup (GApplication *app)
{
  WeftApplication *self = WEFT_APPLICATION (app);
  static const char *no_accels[] = { NULL };
  g_autoptr(GAction) color_scheme_action = NULL;

  G_APPLICATION_CLASS (weft_application_parent_class)->startup (app);

  gtk_window_set_default_icon_name (APP_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries,
                                   G_N_ELEMENTS (app_entries), self);

  self->settings = g_settings_new (APP_ID);
  color_scheme_action = g_settings_create_action (self->settings, "color-scheme");
  g_action_map_add_action (G_ACTION_MAP (self), color_scheme_action);
  g_signal_connect_object (self->settings, "changed::color-scheme",
                           G_CALLBACK (weft_application_apply_color_scheme),
                           self, G_CONNECT_SWAPPED);
  weft_application_apply_color_scheme (self);

  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit",
                                         (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.shortcuts",
                                         (const char *[]) { "<Control>question", NULL });
  /* The parent startup bound the same keys to win.show-help-overlay;
   * app.shortcuts is the one command, so that binding goes. */
  gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                         "win.show-help-overlay", no_accels);
}

static void
weft_application_dispose (GObject *object)
{
  WeftApplication *self = WEFT_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (weft_application_parent_class)->dispose (object);
}

static void
weft_application_class_init (WeftApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = weft_application_dispose;

  app_class->startup = weft_application_startup;
  app_class->activate = weft_application_activate;
  app_class->open = weft_application_open;
}

static void
weft_application_init (WeftApplication *self)
{
}
