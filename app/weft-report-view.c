/* weft-report-view.c — WeftReportView: a GtkListView over a GtkStringList
 * of formatted issues. Each row's "Show in Files" button carries the file
 * as its action target, so the list model holds only strings. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-report-view.h"

struct _WeftReportView
{
  AdwBin         parent_instance;

  /* Template widgets */
  GtkStack      *stack;
  GtkListView   *list_view;

  /* Owned */
  GtkStringList *rows;     /* formatted issues */
  GPtrArray     *files;    /* absolute path per row, "" when none */
  char          *root;
};

G_DEFINE_FINAL_TYPE (WeftReportView, weft_report_view, ADW_TYPE_BIN)

char *
weft_report_view_format_issue (const WeftIssue *issue)
{
  g_autoptr(GString) line = g_string_new (NULL);
  const char *message = issue->message ? issue->message : "";

  if (issue->row > 0)
    {
      g_autofree char *own = g_strdup_printf ("row %d ", issue->row);

      g_string_append_printf (line, _("row %d"), issue->row);
      if (g_str_has_prefix (message, own))
        message += strlen (own);
    }
  if (issue->file != NULL)
    {
      gsize n = strlen (issue->file);

      if (line->len > 0)
        g_string_append (line, " · ");
      g_string_append (line, issue->file);
      /* "images/cat.png is missing" → "row 4 · images/cat.png · the file is missing" */
      if (strncmp (message, issue->file, n) == 0 && message[n] == ' ')
        {
          g_string_append_printf (line, " · %s %s", _("the file"), message + n + 1);
          return g_string_free (g_steal_pointer (&line), FALSE);
        }
      if (strncmp (message, issue->file, n) == 0 && message[n] == ':')
        message += MIN (n + 2, strlen (message));
    }
  if (line->len > 0)
    g_string_append (line, " · ");
  g_string_append (line, message);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

void
weft_report_view_set_issues (WeftReportView *self,
                             const char     *root,
                             GPtrArray      *issues)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  g_return_if_fail (WEFT_IS_REPORT_VIEW (self));

  g_free (self->root);
  self->root = g_strdup (root);
  g_ptr_array_set_size (self->files, 0);

  for (guint i = 0; issues != NULL && i < issues->len; i++)
    {
      const WeftIssue *issue = g_ptr_array_index (issues, i);

      g_ptr_array_add (lines, weft_report_view_format_issue (issue));
      g_ptr_array_add (self->files, issue->file && root
                                    ? g_build_filename (root, issue->file, NULL)
                                    : g_strdup (""));
    }
  g_ptr_array_add (lines, NULL);

  gtk_string_list_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)),
                          (const char * const *) lines->pdata);
  gtk_stack_set_visible_child_name (self->stack, self->files->len > 0 ? "list" : "empty");
}

guint
weft_report_view_get_n_issues (WeftReportView *self)
{
  g_return_val_if_fail (WEFT_IS_REPORT_VIEW (self), 0);

  return self->files->len;
}

static void
weft_report_view_show_folder (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *uri = g_file_get_uri (file);

  gtk_show_uri (NULL, uri, GDK_CURRENT_TIME);
}

static void
weft_report_view_show_items_done (GObject      *source,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autofree char *folder = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    weft_report_view_show_folder (folder);   /* no file manager service */
}

/* Opens the file manager on the file (selected) when it exists, else on
 * the folder that should hold it, else on the dataset's folder. */
static void
weft_report_view_show_in_files (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  WeftReportView *self = WEFT_REPORT_VIEW (widget);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autofree char *folder = NULL;
  GDBusConnection *bus;

  if (self->root == NULL)
    return;

  if (*path != '\0' && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
      const char *uris[] = { uri, NULL };

      folder = g_path_get_dirname (path);
      bus = g_application_get_dbus_connection (g_application_get_default ());
      if (bus != NULL && uri != NULL)
        {
          g_dbus_connection_call (bus, "org.freedesktop.FileManager1",
                                  "/org/freedesktop/FileManager1",
                                  "org.freedesktop.FileManager1", "ShowItems",
                                  g_variant_new ("(^ass)", uris, ""), NULL,
                                  G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                                  weft_report_view_show_items_done,
                                  g_steal_pointer (&folder));
          return;
        }
    }
  else if (*path != '\0')
    {
      folder = g_path_get_dirname (path);
      if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
        g_clear_pointer (&folder, g_free);
    }

  weft_report_view_show_folder (folder ? folder : self->root);
}

static void
weft_report_view_setup_row (GtkSignalListItemFactory *factory,
                            GtkListItem              *list_item,
                            gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *button = gtk_button_new_from_icon_name ("folder-open-symbolic");

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, _("Show in Files"));
  /* The target first: a string action without one warns on every row. */
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_string (""));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "report.show-in-files");
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), button);
  gtk_list_item_set_child (list_item, box);
  gtk_list_item_set_activatable (list_item, FALSE);
}

static void
weft_report_view_bind_row (GtkSignalListItemFactory *factory,
                           GtkListItem              *list_item,
                           gpointer                  user_data)
{
  WeftReportView *self = user_data;
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *label = gtk_widget_get_first_child (box);
  GtkWidget *button = gtk_widget_get_last_child (box);
  GtkStringObject *row = gtk_list_item_get_item (list_item);
  guint position = gtk_list_item_get_position (list_item);
  const char *text = gtk_string_object_get_string (row);
  const char *file = position < self->files->len ? g_ptr_array_index (self->files, position) : "";
  g_autofree char *button_name = g_strdup_printf (_("Show in Files: %s"), text);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  text, -1);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_string (file));
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  button_name, -1);
}

static void
weft_report_view_dispose (GObject *object)
{
  WeftReportView *self = WEFT_REPORT_VIEW (object);

  /* The template's root is a bound child and AdwBin's child: let the

   * bin drop it first, or its dispose unparents it a second time. */

  adw_bin_set_child (ADW_BIN (self), NULL);

  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_REPORT_VIEW);
  g_clear_object (&self->rows);
  g_clear_pointer (&self->files, g_ptr_array_unref);
  g_clear_pointer (&self->root, g_free);

  G_OBJECT_CLASS (weft_report_view_parent_class)->dispose (object);
}

static void
weft_report_view_class_init (WeftReportViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_report_view_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/weft/Weft/ui/weft-report-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftReportView, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftReportView, list_view);

  gtk_widget_class_install_action (widget_class, "report.show-in-files", "s",
                                   weft_report_view_show_in_files);
}

static void
weft_report_view_init (WeftReportView *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkNoSelection) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = gtk_string_list_new (NULL);
  self->files = g_ptr_array_new_with_free_func (g_free);

  g_signal_connect (factory, "setup", G_CALLBACK (weft_report_view_setup_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (weft_report_view_bind_row), self);
  gtk_list_view_set_factory (self->list_view, factory);
  g_object_unref (factory);
  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->rows)));
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (selection));
}
