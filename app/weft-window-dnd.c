/* weft-window-dnd.c — dropping a folder (from a file manager, as a file list
 * or a single file) onto a WeftWindow opens it as the dataset. */

#include "weft-config.h"

#include "weft-window-private.h"

static gboolean
weft_window_drop_cb (GtkDropTarget *target,
                     const GValue  *value,
                     double         x,
                     double         y,
                     WeftWindow    *self)
{
  GFile *folder = NULL;

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));

      /* One window shows one dataset: the first dropped item wins. */
      if (files != NULL)
        folder = files->data;
      g_slist_free (files);
    }
  else if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    {
      folder = g_value_get_object (value);
    }

  if (folder == NULL)
    return FALSE;

  weft_window_open_dataset (self, folder);
  return TRUE;
}

void
_weft_window_dnd_init (WeftWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);

  gtk_drop_target_set_gtypes (target, (GType[]) { GDK_TYPE_FILE_LIST, G_TYPE_FILE }, 2);
  g_signal_connect_object (target, "drop", G_CALLBACK (weft_window_drop_cb), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (target));
}
