/* weft-property-panel.c — the property panel of the architecture editor.
 * Every widget comes from the block's schema in core/nn, so a new block
 * needs nothing here. */
#include <glib/gi18n.h>

#include "weft-property-panel.h"
#include "weft-canvas.h"

struct _WeftPropertyPanel
{
  GtkBox parent_instance;

  /* Owned widgets */
  GtkLabel *title;
  GtkLabel *subtitle;
  GtkLabel *blurb;
  GtkLabel *report;
  GtkLabel *error;
  GtkBox *content;           /* rebuilt for each node */

  char *id;
};

G_DEFINE_FINAL_TYPE (WeftPropertyPanel, weft_property_panel, GTK_TYPE_BOX)

enum {
  SIGNAL_PARAM_CHANGED,
  SIGNAL_FROZEN_CHANGED,
  SIGNAL_SHARE_CHANGED,
  SIGNAL_CONNECT,
  SIGNAL_DISCONNECT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
emit_param (WeftPropertyPanel *self, const char *name, JsonNode *value)
{
  g_signal_emit (self, signals[SIGNAL_PARAM_CHANGED], 0, self->id, name, value);
  json_node_unref (value);
}

static void
spin_changed_cb (GtkSpinButton *spin, WeftPropertyPanel *self)
{
  const WeftParamSpec *ps = g_object_get_data (G_OBJECT (spin), "param");
  JsonNode *v = json_node_new (JSON_NODE_VALUE);

  if (ps->kind == WEFT_PARAM_INT)
    json_node_set_int (v, gtk_spin_button_get_value_as_int (spin));
  else
    json_node_set_double (v, gtk_spin_button_get_value (spin));
  emit_param (self, ps->name, v);
}

static void
switch_changed_cb (GtkSwitch *sw, GParamSpec *pspec, WeftPropertyPanel *self)
{
  const WeftParamSpec *ps = g_object_get_data (G_OBJECT (sw), "param");
  JsonNode *v = json_node_new (JSON_NODE_VALUE);

  json_node_set_boolean (v, gtk_switch_get_active (sw));
  emit_param (self, ps->name, v);
}

static void
dropdown_changed_cb (GtkDropDown *dd, GParamSpec *pspec, WeftPropertyPanel *self)
{
  const WeftParamSpec *ps = g_object_get_data (G_OBJECT (dd), "param");
  guint i = gtk_drop_down_get_selected (dd);
  JsonNode *v = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (v, ps->choices[i]);
  emit_param (self, ps->name, v);
}

static void
frozen_changed_cb (GtkSwitch *sw, GParamSpec *pspec, WeftPropertyPanel *self)
{
  g_signal_emit (self, signals[SIGNAL_FROZEN_CHANGED], 0, self->id, gtk_switch_get_active (sw));
}

static void
share_changed_cb (GtkDropDown *dd, GParamSpec *pspec, WeftPropertyPanel *self)
{
  GtkStringObject *item = gtk_drop_down_get_selected_item (dd);
  guint i = gtk_drop_down_get_selected (dd);
  g_signal_emit (self, signals[SIGNAL_SHARE_CHANGED], 0, self->id,
                 i == 0 || item == NULL ? NULL : gtk_string_object_get_string (item));
}

static void
connect_clicked_cb (GtkButton *button, WeftPropertyPanel *self)
{
  const char *dst = g_object_get_data (G_OBJECT (button), "dst");
  int port = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "port"));
  g_autofree char *src = g_strdup (self->id);
  g_autofree char *dst_id = g_strdup (dst);
  GtkWidget *popover = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_POPOVER);

  if (popover)
    gtk_popover_popdown (GTK_POPOVER (popover));
  g_signal_emit (self, signals[SIGNAL_CONNECT], 0, src, dst_id, port);
}

static void
disconnect_clicked_cb (GtkButton *button, WeftPropertyPanel *self)
{
  int port = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "port"));
  g_autofree char *dst = g_strdup (self->id);
  g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, dst, port);
}

/* The param's current value as a double (enum: the choice's index). */
static double
param_value (const WeftParamSpec *ps, JsonObject *params)
{
  JsonNode *m = params ? json_object_get_member (params, ps->name) : NULL;

  if (m == NULL || !JSON_NODE_HOLDS_VALUE (m))
    return ps->def;
  if (json_node_get_value_type (m) == G_TYPE_STRING && ps->choices)
    {
      const char *s = json_node_get_string (m);
      for (int i = 0; ps->choices[i]; i++)
        if (g_str_equal (ps->choices[i], s))
          return i;
      return ps->def;
    }
  if (json_node_get_value_type (m) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (m);
  return json_node_get_double (m);
}

static GtkWidget *
add_row (GtkListBox *list, const char *title, const char *tooltip, GtkWidget *suffix)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (tooltip)
    {
      gtk_widget_set_tooltip_text (row, tooltip);
      gtk_widget_set_tooltip_text (suffix, tooltip);
    }
  gtk_widget_set_valign (suffix, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), suffix);
  gtk_list_box_append (list, row);
  return row;
}

static GtkWidget *
param_widget (WeftPropertyPanel *self, const WeftParamSpec *ps, JsonObject *params)
{
  double v = param_value (ps, params);
  GtkWidget *w;

  switch (ps->kind)
    {
    case WEFT_PARAM_BOOL:
      w = gtk_switch_new ();
      gtk_switch_set_active (GTK_SWITCH (w), v != 0);
      g_object_set_data (G_OBJECT (w), "param", (gpointer) ps);
      g_signal_connect (w, "notify::active", G_CALLBACK (switch_changed_cb), self);
      break;
    case WEFT_PARAM_ENUM:
      w = gtk_drop_down_new_from_strings ((const char *const *) ps->choices);
      gtk_drop_down_set_selected (GTK_DROP_DOWN (w), (guint) v);
      g_object_set_data (G_OBJECT (w), "param", (gpointer) ps);
      g_signal_connect (w, "notify::selected", G_CALLBACK (dropdown_changed_cb), self);
      break;
    default:
      {
        gboolean is_int = ps->kind == WEFT_PARAM_INT;
        double step = is_int ? 1 : (ps->max - ps->min > 10 ? 0.1 : 0.01);
        w = gtk_spin_button_new_with_range (ps->min, ps->max, step);
        gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), is_int ? 0 : 4);
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), v);
        gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (w), TRUE);
        g_object_set_data (G_OBJECT (w), "param", (gpointer) ps);
        g_signal_connect (w, "value-changed", G_CALLBACK (spin_changed_cb), self);
      }
      break;
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (w), GTK_ACCESSIBLE_PROPERTY_LABEL, ps->name, -1);
  return w;
}

static GtkListBox *
add_group (WeftPropertyPanel *self, const char *heading)
{
  GtkWidget *label = gtk_label_new (heading);
  GtkWidget *list = gtk_list_box_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_margin_top (label, 12);
  gtk_box_append (self->content, label);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_box_append (self->content, list);
  return GTK_LIST_BOX (list);
}

/* "Connect Output To…": every input port of another node that is free (or
 * the next port of a variadic block). The engine judges the shapes after. */
static GtkWidget *
connect_menu (WeftPropertyPanel *self, const WeftSpec *spec)
{
  GtkWidget *button = gtk_menu_button_new ();
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  int n_targets = 0;

  gtk_menu_button_set_label (GTK_MENU_BUTTON (button), _("Connect Output To…"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Connect Output To…"), -1);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroll), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroll), 420);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), box);
  gtk_popover_set_child (GTK_POPOVER (popover), scroll);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (button), popover);

  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      int count = weft_canvas_port_count (n);
      int connected = n->inputs ? g_strv_length (n->inputs) : 0;
      if (g_str_equal (n->id, self->id))
        continue;
      for (int k = connected; k < count; k++)
        {
          g_autofree char *label = g_strdup_printf ("%s: %s", n->id, weft_canvas_port_name (n->type, k));
          g_autofree char *a11y = g_strdup_printf (_("Connect to %s"), label);
          GtkWidget *item = gtk_button_new_with_label (label);
          gtk_widget_add_css_class (item, "flat");
          gtk_label_set_xalign (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (item))), 0);
          gtk_accessible_update_property (GTK_ACCESSIBLE (item), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
          g_object_set_data_full (G_OBJECT (item), "dst", g_strdup (n->id), g_free);
          g_object_set_data (G_OBJECT (item), "port", GINT_TO_POINTER (k));
          g_signal_connect (item, "clicked", G_CALLBACK (connect_clicked_cb), self);
          gtk_box_append (GTK_BOX (box), item);
          n_targets++;
        }
    }
  if (n_targets == 0)
    {
      GtkWidget *none = gtk_label_new (_("No free input ports: add a block first"));
      gtk_widget_add_css_class (none, "dim-label");
      gtk_box_append (GTK_BOX (box), none);
    }
  return button;
}

static const char *
block_title_of (const WeftSpec *spec, const char *id, const WeftBlock **block)
{
  const WeftSpecNode *n = weft_spec_find_node (spec, id);
  *block = n ? weft_block_lookup (n->type) : weft_block_lookup ("input");
  return *block ? (*block)->title : (n ? n->type : "Input");
}

void
weft_property_panel_update_report (WeftPropertyPanel *self, const WeftSpec *spec,
                                   const WeftInspection *insp)
{
  const WeftInspectNode *info = self->id && insp ? weft_inspection_lookup (insp, self->id) : NULL;
  const char *error = insp && self->id && g_strcmp0 (insp->error_id, self->id) == 0 ? insp->error : NULL;

  if (info && info->known)
    {
      g_autofree char *shape = weft_shape_to_string (&info->shape);
      g_autofree char *params = weft_format_count (info->params);
      g_autofree char *flops = weft_format_count (info->flops);
      g_autofree char *text = g_strdup_printf (_("Output %s\n%s parameters · %s FLOPs per sample"),
                                               shape, params, flops);
      gtk_label_set_text (self->report, text);
    }
  else
    gtk_label_set_text (self->report, self->id ? _("Output shape unknown until the model above it is valid") : "");
  gtk_label_set_text (self->error, error ? error : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error), error != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->report), self->id != NULL);
}

void
weft_property_panel_show (WeftPropertyPanel *self, const WeftSpec *spec,
                          const WeftInspection *insp, const char *id, guint n_selected)
{
  GtkWidget *child;
  const WeftBlock *block = NULL;

  g_return_if_fail (WEFT_IS_PROPERTY_PANEL (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->content))))
    gtk_box_remove (self->content, child);
  g_free (self->id);
  self->id = g_strdup (id);

  if (id == NULL || spec == NULL)
    {
      g_autofree char *text = n_selected > 1
        ? g_strdup_printf (ngettext ("%u block selected", "%u blocks selected", n_selected), n_selected)
        : g_strdup (_("No Block Selected"));
      gtk_label_set_text (self->title, text);
      gtk_label_set_text (self->subtitle, "");
      gtk_label_set_text (self->blurb, n_selected > 1
                          ? _("Press Delete to remove them, or Ctrl+C to copy them.")
                          : _("Select a block on the canvas to see and change its settings. Add blocks from the palette on the left."));
      weft_property_panel_update_report (self, spec, insp);
      return;
    }

  const WeftSpecNode *node = weft_spec_find_node (spec, id);
  const WeftSpecInput *input = node ? NULL : weft_spec_find_input (spec, id);
  gtk_label_set_text (self->title, id);
  gtk_label_set_text (self->subtitle, block_title_of (spec, id, &block));
  gtk_label_set_text (self->blurb, block ? block->blurb : "");
  weft_property_panel_update_report (self, spec, insp);

  /* Connections. */
  GtkListBox *links = add_group (self, _("Connections"));
  if (node)
    {
      for (int k = 0; node->inputs && node->inputs[k]; k++)
        {
          GtkWidget *b = gtk_button_new_from_icon_name ("edit-delete-symbolic");
          g_autofree char *a11y = g_strdup_printf (_("Disconnect %s from %s"), node->inputs[k], node->id);
          g_autofree char *title = g_strdup_printf ("%s ← %s", weft_canvas_port_name (node->type, k),
                                                    node->inputs[k]);
          gtk_widget_add_css_class (b, "flat");
          gtk_accessible_update_property (GTK_ACCESSIBLE (b), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
          g_object_set_data (G_OBJECT (b), "port", GINT_TO_POINTER (k));
          g_signal_connect (b, "clicked", G_CALLBACK (disconnect_clicked_cb), self);
          add_row (links, title, a11y, b);
        }
    }
  if (node == NULL || block == NULL || !(block->flags & WEFT_BLOCK_LOSS))
    add_row (links, _("Output"), _("Feed this block's output into another block's input"),
             connect_menu (self, spec));

  /* Parameters from the schema. */
  if (input)
    {
      GtkListBox *list = add_group (self, _("Parameters"));
      for (int i = 0; block && i < block->n_params; i++)
        {
          const WeftParamSpec *ps = &block->params[i];
          g_autoptr(JsonObject) params = json_object_new ();
          if (g_str_equal (ps->name, "modality"))
            json_object_set_string_member (params, "modality", weft_modality_choices[input->modality]);
          add_row (list, ps->name, ps->blurb, param_widget (self, ps, params));
        }
    }
  else if (block && block->n_params > 0)
    {
      GtkListBox *list = add_group (self, _("Parameters"));
      for (int i = 0; i < block->n_params; i++)
        {
          const WeftParamSpec *ps = &block->params[i];
          g_autofree char *tip = ps->bind != WEFT_PARAM_BIND_NONE
            ? g_strdup_printf (_("%s (0: taken from the dataset)"), ps->blurb)
            : g_strdup (ps->blurb);
          add_row (list, ps->name, tip, param_widget (self, ps, node->params));
        }
    }

  /* Structure: frozen (transfer learning) and shared weights (siamese). */
  if (node && block && !(block->flags & (WEFT_BLOCK_LOSS | WEFT_BLOCK_INPUT)))
    {
      GtkListBox *list = add_group (self, _("Weights"));
      GtkWidget *sw = gtk_switch_new ();
      gtk_switch_set_active (GTK_SWITCH (sw), node->frozen);
      gtk_accessible_update_property (GTK_ACCESSIBLE (sw), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Frozen"), -1);
      g_signal_connect (sw, "notify::active", G_CALLBACK (frozen_changed_cb), self);
      add_row (list, _("Frozen"), _("Keep these weights fixed during training (transfer learning)"), sw);
      if (node->weights_from_checkpoint)
        {
          g_autofree char *from = g_strdup_printf (_("Weights from %s"), node->weights_from_checkpoint);
          GtkWidget *l = gtk_label_new ("❄");
          add_row (list, from, NULL, l);
        }

      g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
      guint selected = 0;
      gtk_string_list_append (names, _("None"));
      for (guint i = 0; i < spec->nodes->len; i++)
        {
          const WeftSpecNode *o = g_ptr_array_index (spec->nodes, i);
          if (o == node || !g_str_equal (o->type, node->type))
            continue;
          gtk_string_list_append (names, o->id);
          if (g_strcmp0 (node->share_weights_with, o->id) == 0)
            selected = g_list_model_get_n_items (G_LIST_MODEL (names)) - 1;
        }
      GtkWidget *dd = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (names)), NULL);
      gtk_drop_down_set_selected (GTK_DROP_DOWN (dd), selected);
      gtk_accessible_update_property (GTK_ACCESSIBLE (dd), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Share weights with"), -1);
      g_signal_connect (dd, "notify::selected", G_CALLBACK (share_changed_cb), self);
      add_row (list, _("Share weights with"),
               _("Use the same weights as another block of the same kind (siamese encoders)"), dd);
    }
}

static void
weft_property_panel_finalize (GObject *object)
{
  g_free (WEFT_PROPERTY_PANEL (object)->id);
  G_OBJECT_CLASS (weft_property_panel_parent_class)->finalize (object);
}

static void
weft_property_panel_class_init (WeftPropertyPanelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = weft_property_panel_finalize;
  gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_GROUP);

  signals[SIGNAL_PARAM_CHANGED] =
    g_signal_new ("param-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, JSON_TYPE_NODE);
  signals[SIGNAL_FROZEN_CHANGED] =
    g_signal_new ("frozen-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
  signals[SIGNAL_SHARE_CHANGED] =
    g_signal_new ("share-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_CONNECT] =
    g_signal_new ("connect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT);
  signals[SIGNAL_DISCONNECT] =
    g_signal_new ("disconnect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
}

static GtkLabel *
panel_label (WeftPropertyPanel *self, const char *css_class)
{
  GtkWidget *l = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_wrap (GTK_LABEL (l), TRUE);
  gtk_label_set_selectable (GTK_LABEL (l), FALSE);
  if (css_class)
    gtk_widget_add_css_class (l, css_class);
  gtk_box_append (GTK_BOX (self), l);
  return GTK_LABEL (l);
}

static void
weft_property_panel_init (WeftPropertyPanel *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  gtk_widget_set_margin_start (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self), 12);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self), 12);

  self->title = panel_label (self, "title-3");
  self->subtitle = panel_label (self, "dim-label");
  self->blurb = panel_label (self, NULL);
  self->report = panel_label (self, "numeric");
  self->error = panel_label (self, "error");
  gtk_widget_set_visible (GTK_WIDGET (self->error), FALSE);
  self->content = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 6));
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->content));
}

GtkWidget *
weft_property_panel_new (void)
{
  return g_object_new (WEFT_TYPE_PROPERTY_PANEL, NULL);
}
