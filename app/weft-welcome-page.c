/* weft-welcome-page.c — the welcome page. Its buttons are actionables for
 * win.open-folder and win.open-demo; the recent projects list comes from
 * GtkRecentManager (files ending in .weft) and activates win.open-recent-project. */

#include "weft-config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "weft-welcome-page.h"

#define WEFT_WELCOME_MAX_RECENT 5

struct _WeftWelcomePage
{
  AdwBin            parent_instance;

  /* Template widgets */
  GtkListBox       *recent_list;

  /* Borrowed */
  GtkRecentManager *recent_manager;
};

G_DEFINE_FINAL_TYPE (WeftWelcomePage, weft_welcome_page, ADW_TYPE_BIN)

static gboolean
weft_welcome_is_project (GtkRecentInfo *info)
{
  return g_str_has_suffix (gtk_recent_info_get_uri (info), ".weft") &&
         gtk_recent_info_exists (info);
}

static int
weft_welcome_compare_newest_first (gconstpointer a,
                                   gconstpointer b)
{
  GDateTime *ta = gtk_recent_info_get_modified ((GtkRecentInfo *) a);
  GDateTime *tb = gtk_recent_info_get_modified ((GtkRecentInfo *) b);

  return g_date_time_compare (tb, ta);
}

static GtkWidget *
weft_welcome_create_row (GtkRecentInfo *info)
{
  const char *uri = gtk_recent_info_get_uri (info);
  g_autoptr(GFile) file = g_file_new_for_uri (uri);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autofree char *title = g_markup_escape_text (gtk_recent_info_get_display_name (info), -1);
  g_autofree char *location = NULL;
  g_autofree char *subtitle = NULL;
  GtkWidget *row = adw_action_row_new ();

  if (parent != NULL)
    {
      location = g_file_get_parse_name (parent);
      subtitle = g_markup_escape_text (location, -1);
    }

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  /* A real button carries the action: GTK 4.8 gives list rows no
   * accessible action, so keyboard, pointer and assistive technologies all
   * go through the button (the row forwards its activation to it). */
  GtkWidget *open = gtk_button_new_from_icon_name ("go-next-symbolic");
  g_autofree char *name = g_strdup (gtk_recent_info_get_display_name (info));
  if (g_str_has_suffix (name, ".weft"))
    name[strlen (name) - strlen (".weft")] = '\0';
  g_autofree char *open_label = g_strdup_printf (_("Open project %s"), name);
  gtk_widget_set_valign (open, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (open, "flat");
  gtk_widget_set_tooltip_text (open, open_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (open), GTK_ACCESSIBLE_PROPERTY_LABEL, open_label, -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (open), "win.open-recent-project");
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (open), g_variant_new_string (uri));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), open);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), open);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gtk_recent_info_get_display_name (info),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  location != NULL ? location : "",
                                  -1);
  return row;
}

static void
weft_welcome_page_reload_recent (WeftWelcomePage *self)
{
  GList *items = gtk_recent_manager_get_items (self->recent_manager);
  GList *projects = NULL;
  GtkListBoxRow *row;
  guint n = 0;

  while ((row = gtk_list_box_get_row_at_index (self->recent_list, 0)) != NULL)
    gtk_list_box_remove (self->recent_list, GTK_WIDGET (row));

  for (GList *l = items; l != NULL; l = l->next)
    if (weft_welcome_is_project (l->data))
      projects = g_list_prepend (projects, l->data);
  projects = g_list_sort (projects, weft_welcome_compare_newest_first);

  for (GList *l = projects; l != NULL && n < WEFT_WELCOME_MAX_RECENT; l = l->next, n++)
    gtk_list_box_append (self->recent_list, weft_welcome_create_row (l->data));

  g_list_free (projects);
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
}

static void
weft_welcome_page_dispose (GObject *object)
{
  /* The template's root is a bound child and AdwBin's child: let the
   * bin drop it first, or its dispose unparents it a second time. */
  adw_bin_set_child (ADW_BIN (object), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (object), WEFT_TYPE_WELCOME_PAGE);

  G_OBJECT_CLASS (weft_welcome_page_parent_class)->dispose (object);
}

static void
weft_welcome_page_class_init (WeftWelcomePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_welcome_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-welcome-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftWelcomePage, recent_list);
}

static void
weft_welcome_page_init (WeftWelcomePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->recent_manager = gtk_recent_manager_get_default ();
  g_signal_connect_object (self->recent_manager, "changed",
                           G_CALLBACK (weft_welcome_page_reload_recent),
                           self, G_CONNECT_SWAPPED);
  weft_welcome_page_reload_recent (self);
}
