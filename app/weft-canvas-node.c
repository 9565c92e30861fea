/* weft-canvas-node.c — one block on the architecture canvas. The canvas
 * handles the pointer (the node does not take clicks); the button part
 * gives focus, activation and an accessible name. */
#include "weft-canvas-node.h"

struct _WeftCanvasNode
{
  GtkButton parent_instance;

  /* Owned widgets (children of the button's box) */
  GtkLabel *title;
  GtkLabel *subtitle;
  GtkLabel *info;
  GtkLabel *badge;
  GtkLabel *error;

  char *id;
};

G_DEFINE_FINAL_TYPE (WeftCanvasNode, weft_canvas_node, GTK_TYPE_BUTTON)

static void
weft_canvas_node_finalize (GObject *object)
{
  WeftCanvasNode *self = WEFT_CANVAS_NODE (object);

  g_free (self->id);
  G_OBJECT_CLASS (weft_canvas_node_parent_class)->finalize (object);
}

static void
weft_canvas_node_class_init (WeftCanvasNodeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = weft_canvas_node_finalize;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "canvasnode");
}

static GtkLabel *
add_label (GtkBox *box, const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, css_class);
  gtk_box_append (box, label);
  return GTK_LABEL (label);
}

static void
weft_canvas_node_init (WeftCanvasNode *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_box_append (GTK_BOX (box), head);
  self->title = add_label (GTK_BOX (head), "node-title");
  gtk_widget_set_hexpand (GTK_WIDGET (self->title), TRUE);
  self->badge = add_label (GTK_BOX (head), "node-badge");
  self->subtitle = add_label (GTK_BOX (box), "node-block");
  self->info = add_label (GTK_BOX (box), "node-info");
  self->error = add_label (GTK_BOX (box), "node-error");
  gtk_label_set_wrap (self->error, TRUE);
  gtk_label_set_max_width_chars (self->error, 28);
  gtk_label_set_ellipsize (self->title, PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (self->title, 22);
  gtk_button_set_child (GTK_BUTTON (self), box);

  /* The canvas handles pointer input (drag, connect, box-select). */
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self), "canvas-node");
}

GtkWidget *
weft_canvas_node_new (const char *id)
{
  WeftCanvasNode *self = g_object_new (WEFT_TYPE_CANVAS_NODE, NULL);
  self->id = g_strdup (id);
  gtk_label_set_text (self->title, id);
  return GTK_WIDGET (self);
}

const char *
weft_canvas_node_get_id (WeftCanvasNode *self)
{
  g_return_val_if_fail (WEFT_IS_CANVAS_NODE (self), NULL);
  return self->id;
}

void
weft_canvas_node_update (WeftCanvasNode *self, const char *block_title,
                         const char *info, const char *error,
                         const char *badge, gboolean is_input, gboolean is_loss)
{
  g_return_if_fail (WEFT_IS_CANVAS_NODE (self));

  gtk_label_set_text (self->subtitle, block_title);
  gtk_label_set_text (self->info, info ? info : "");
  gtk_widget_set_visible (GTK_WIDGET (self->info), info != NULL);
  gtk_label_set_text (self->error, error ? error : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error), error != NULL);
  gtk_label_set_text (self->badge, badge ? badge : "");
  gtk_widget_set_visible (GTK_WIDGET (self->badge), badge != NULL);

  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self), "invalid");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "invalid");
  if (is_input)
    gtk_widget_add_css_class (GTK_WIDGET (self), "input-node");
  if (is_loss)
    gtk_widget_add_css_class (GTK_WIDGET (self), "loss-node");

  /* Screen readers hear the id and block first, then the state. */
  g_autofree char *label = g_strdup_printf ("Node %s (%s)", self->id, block_title);
  g_autofree char *desc = g_strjoin (". ", info ? info : "", error ? error : "", badge ? badge : "", NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc,
                                  -1);
}

void
weft_canvas_node_set_selected (WeftCanvasNode *self, gboolean selected)
{
  if (selected)
    gtk_widget_add_css_class (GTK_WIDGET (self), "selected");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "selected");
}
