/* weft-model-page.c — the Model page: the architecture editor (block palette, node canvas, property panel) bound to the project's model spec.
 * Every edit makes a new spec, recorded for undo, checked by the engine and written back to the project. */

#include "weft-config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "weft-model-page.h"
#include "weft-canvas.h"
#include "weft-edit-history.h"
#include "weft-property-panel.h"
#include "graph/weft-layout.h"
#include "export/weft-export-pytorch.h"

struct _WeftModelPage
{
  AdwBin       parent_instance;

  /* Template widgets */
  GtkStack    *stack;
  AdwStatusPage *empty_status;
  GtkListBox  *palette;
  WeftCanvas  *canvas;
  WeftPropertyPanel *panel;
  GtkLabel    *totals_label;
  GtkRevealer *banner_revealer;
  GtkLabel    *banner_label;
  GtkBox      *template_box;
  GtkMenuButton *template_button;

  /* Borrowed: the project's copy we last wrote or read, to tell our own
   * "changed" echoes from edits made elsewhere (a reload). */
  const WeftSpec *project_model;

  /* Owned */
  WeftProject *project;
  gulong       changed_id;
  WeftSpec    *spec;          /* the model being edited, never NULL */
  WeftInspection *insp;      /* the engine's report on spec */
  WeftEditHistory *history;
  WeftBinding  binding;
  gboolean     has_binding;
};

G_DEFINE_FINAL_TYPE (WeftModelPage, weft_model_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void refresh (WeftModelPage *self, gboolean rebuild_panel);

/* -- spec helpers --------------------------------------------------------- */

static gboolean
id_taken (const WeftSpec *spec, const char *id)
{
  return weft_spec_find_node (spec, id) || weft_spec_find_input (spec, id);
}

/* "dense", "dense_2", ...: short ids people can read on the canvas. */
static char *
unique_id (const WeftSpec *spec, const char *base)
{
  if (!id_taken (spec, base))
    return g_strdup (base);
  for (int i = 2;; i++)
    {
      char *id = g_strdup_printf ("%s_%d", base, i);
      if (!id_taken (spec, id))
        return id;
      g_free (id);
    }
}

static WeftSpecNode *
find_node_mut (WeftSpec *spec, const char *id)
{
  return (WeftSpecNode *) weft_spec_find_node (spec, id);
}

static void
remove_ids (WeftSpec *spec, GHashTable *gone)
{
  for (guint i = spec->nodes->len; i-- > 0;)
    if (g_hash_table_contains (gone, ((WeftSpecNode *) g_ptr_array_index (spec->nodes, i))->id))
      g_ptr_array_remove_index (spec->nodes, i);
  for (guint i = spec->inputs->len; i-- > 0;)
    if (g_hash_table_contains (gone, ((WeftSpecInput *) g_ptr_array_index (spec->inputs, i))->id))
      g_ptr_array_remove_index (spec->inputs, i);
  for (guint i = spec->losses->len; i-- > 0;)
    if (g_hash_table_contains (gone, g_array_index (spec->losses, WeftSpecLoss, i).node))
      g_array_remove_index (spec->losses, i);

  /* Connections into what is left lose their ends; ties are cut. */
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      WeftSpecNode *n = g_ptr_array_index (spec->nodes, i);
      g_autoptr(GStrvBuilder) kept = g_strv_builder_new ();
      for (int k = 0; n->inputs && n->inputs[k]; k++)
        if (!g_hash_table_contains (gone, n->inputs[k]))
          g_strv_builder_add (kept, n->inputs[k]);
      g_strfreev (n->inputs);
      n->inputs = g_strv_builder_end (kept);
      if (n->share_weights_with && g_hash_table_contains (gone, n->share_weights_with))
        g_clear_pointer (&n->share_weights_with, g_free);
    }
  if (spec->layout)
    {
      GHashTableIter iter;
      gpointer key;
      g_hash_table_iter_init (&iter, gone);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (json_object_has_member (spec->layout, key))
          json_object_remove_member (spec->layout, key);
    }
}

/* Adds a block ("block:TYPE") or a dataset input ("input:MODALITY") at
 * (x, y); returns its new id. */
static char *
add_to_spec (WeftSpec *spec, const char *what, double x, double y)
{
  char *id = NULL;

  if (g_str_has_prefix (what, "input:"))
    {
      const char *modality = what + strlen ("input:");
      for (int m = 0; weft_modality_choices[m]; m++)
        if (g_str_equal (weft_modality_choices[m], modality))
          {
            WeftSpecInput *in = g_new0 (WeftSpecInput, 1);
            id = unique_id (spec, modality);
            in->id = g_strdup (id);
            in->modality = m;
            g_ptr_array_add (spec->inputs, in);
          }
    }
  else if (g_str_has_prefix (what, "block:"))
    {
      const char *type = what + strlen ("block:");
      const WeftBlock *b = weft_block_lookup (type);
      if (b && !(b->flags & WEFT_BLOCK_INPUT))
        {
          WeftSpecNode *n = g_new0 (WeftSpecNode, 1);
          id = unique_id (spec, type);
          n->id = g_strdup (id);
          n->type = g_strdup (type);
          n->inputs = g_new0 (char *, 1);
          g_ptr_array_add (spec->nodes, n);
          if (b->flags & WEFT_BLOCK_LOSS)
            {
              WeftSpecLoss l = { g_strdup (id), 1.0 };
              g_array_append_val (spec->losses, l);
            }
        }
    }
  if (id)
    weft_layout_set (spec, id, x, y);
  return id;
}

/* -- edits ---------------------------------------------------------------- */

static void
write_back (WeftModelPage *self)
{
  if (self->project == NULL)
    return;
  g_signal_handler_block (self->project, self->changed_id);
  /* An editor emptied of everything means "no model", as in a new project. */
  if (self->spec->inputs->len == 0 && self->spec->nodes->len == 0)
    weft_project_set_model (self->project, NULL);
  else
    weft_project_set_model (self->project, self->spec);
  self->project_model = weft_project_get_model (self->project);
  g_signal_handler_unblock (self->project, self->changed_id);
}

/* Takes @next: records the old spec for undo, shows and saves the new one. */
static void
commit (WeftModelPage *self, WeftSpec *next, const char *label,
        const char *merge_key, gboolean rebuild_panel)
{
  WeftSpec *old = self->spec;

  weft_edit_history_record (self->history, old, label, merge_key);
  self->spec = next;
  refresh (self, rebuild_panel);
  weft_spec_free (old);
  write_back (self);
}

static void
add_block (WeftModelPage *self, const char *what, double x, double y, gboolean by_keyboard)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  g_autofree char *id = add_to_spec (next, what, x, y);

  if (id == NULL)
    {
      weft_spec_free (next);
      return;
    }
  g_autofree char *label = g_strdup_printf (_("Add %s"), id);
  commit (self, next, label, NULL, FALSE);
  weft_canvas_select (self->canvas, id, FALSE);
  if (by_keyboard)
    weft_canvas_focus_node (self->canvas, id);
}

static void
delete_selection (WeftModelPage *self)
{
  g_autoptr(GPtrArray) sel = weft_canvas_dup_selection (self->canvas);
  g_autoptr(GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);

  if (sel->len == 0)
    return;
  WeftSpec *next = weft_spec_copy (self->spec);
  for (guint i = 0; i < sel->len; i++)
    g_hash_table_add (gone, sel->pdata[i]);
  remove_ids (next, gone);
  commit (self, next, _("Delete"), NULL, TRUE);
}

static void
canvas_connect_cb (WeftModelPage *self, const char *src, const char *dst, int port)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  WeftSpecNode *n = find_node_mut (next, dst);

  if (n == NULL || g_str_equal (src, dst))
    {
      weft_spec_free (next);
      return;
    }
  int count = n->inputs ? g_strv_length (n->inputs) : 0;
  if (port < count)
    {
      g_free (n->inputs[port]);
      n->inputs[port] = g_strdup (src);
    }
  else
    {
      n->inputs = g_renew (char *, n->inputs, count + 2);
      n->inputs[count] = g_strdup (src);
      n->inputs[count + 1] = NULL;
    }
  g_autofree char *label = g_strdup_printf (_("Connect %s to %s"), src, dst);
  commit (self, next, label, NULL, TRUE);
}

static void
canvas_disconnect_cb (WeftModelPage *self, const char *dst, int port)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  WeftSpecNode *n = find_node_mut (next, dst);
  int count = n && n->inputs ? g_strv_length (n->inputs) : 0;

  if (port < 0 || port >= count)
    {
      weft_spec_free (next);
      return;
    }
  g_free (n->inputs[port]);
  memmove (&n->inputs[port], &n->inputs[port + 1], (count - port) * sizeof (char *));
  g_autofree char *label = g_strdup_printf (_("Disconnect %s"), dst);
  commit (self, next, label, NULL, TRUE);
}

static void
canvas_moved_cb (WeftModelPage *self)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  gboolean moved = FALSE;

  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *list = pass ? next->nodes : next->inputs;
      for (guint i = 0; i < list->len; i++)
        {
          const char *id = pass ? ((WeftSpecNode *) list->pdata[i])->id
                                : ((WeftSpecInput *) list->pdata[i])->id;
          double x, y, ox, oy;
          if (weft_canvas_get_position (self->canvas, id, &x, &y) &&
              (!weft_layout_get (next, id, &ox, &oy) || ox != x || oy != y))
            {
              weft_layout_set (next, id, x, y);
              moved = TRUE;
            }
        }
    }
  if (!moved)
    {
      weft_spec_free (next);
      return;
    }
  commit (self, next, _("Move"), NULL, FALSE);
}

static void
canvas_drop_cb (WeftModelPage *self, const char *what, double x, double y)
{
  add_block (self, what, x, y, FALSE);
}

static void
param_changed_cb (WeftModelPage *self, const char *id, const char *name, JsonNode *value)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  WeftSpecNode *n = find_node_mut (next, id);
  WeftSpecInput *in = n ? NULL : (WeftSpecInput *) weft_spec_find_input (next, id);

  if (n)
    {
      if (n->params == NULL)
        n->params = json_object_new ();
      json_object_set_member (n->params, name, json_node_copy (value));
    }
  else if (in && g_str_equal (name, "modality") && json_node_get_value_type (value) == G_TYPE_STRING)
    {
      for (int m = 0; weft_modality_choices[m]; m++)
        if (g_str_equal (weft_modality_choices[m], json_node_get_string (value)))
          in->modality = m;
    }
  else
    {
      weft_spec_free (next);
      return;
    }
  g_autofree char *label = g_strdup_printf (_("Change %s of %s"), name, id);
  g_autofree char *key = g_strdup_printf ("param:%s:%s", id, name);
  commit (self, next, label, key, FALSE);
}

static void
frozen_changed_cb (WeftModelPage *self, const char *id, gboolean frozen)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  WeftSpecNode *n = find_node_mut (next, id);

  if (n == NULL || n->frozen == frozen)
    {
      weft_spec_free (next);
      return;
    }
  n->frozen = frozen;
  commit (self, next, frozen ? _("Freeze") : _("Unfreeze"), NULL, FALSE);
}

static void
share_changed_cb (WeftModelPage *self, const char *id, const char *other)
{
  WeftSpec *next = weft_spec_copy (self->spec);
  WeftSpecNode *n = find_node_mut (next, id);

  if (n == NULL || g_strcmp0 (n->share_weights_with, other) == 0)
    {
      weft_spec_free (next);
      return;
    }
  g_free (n->share_weights_with);
  n->share_weights_with = g_strdup (other);
  commit (self, next, _("Share weights"), NULL, FALSE);
}

/* -- showing -------------------------------------------------------------- */

static void
selection_changed_cb (WeftModelPage *self)
{
  g_autoptr(GPtrArray) sel = weft_canvas_dup_selection (self->canvas);

  weft_property_panel_show (self->panel, self->spec, self->insp,
                            sel->len == 1 ? sel->pdata[0] : NULL, sel->len);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.delete", sel->len > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.copy", sel->len > 0);
}

static void
update_actions (WeftModelPage *self)
{
  const char *u = weft_edit_history_get_undo_label (self->history);
  const char *r = weft_edit_history_get_redo_label (self->history);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.undo", u != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.redo", r != NULL);
  /* Only a model the engine accepts can be written as PyTorch. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "model.export-pytorch",
                                 self->insp && self->insp->error == NULL);
}

static void
refresh (WeftModelPage *self, gboolean rebuild_panel)
{
  WeftBinding def;
  WeftInspection *old = self->insp;

  if (!self->has_binding)
    weft_binding_init_default (&def);
  self->insp = weft_inspect (self->spec, self->has_binding ? &self->binding : &def);
  weft_canvas_set_spec (self->canvas, self->spec, self->insp);
  weft_inspection_free (old);

  g_autofree char *params = weft_format_count (self->insp->total_params);
  g_autofree char *flops = weft_format_count (self->insp->total_flops);
  g_autofree char *totals = NULL;
  if (self->spec->nodes->len == 0 && self->spec->inputs->len == 0)
    totals = g_strdup (_("Empty model: add inputs from the palette, or start from a template"));
  else
    totals = g_strdup_printf (_("%s · %s parameters (%" G_GSIZE_FORMAT ") · %s FLOPs per sample"),
                              self->insp->error ? _("Invalid") : _("Valid"),
                              params, self->insp->total_params, flops);
  gtk_label_set_text (self->totals_label, totals);

  /* An empty or unfinished model is normal while building: the banner
   * still says what the engine needs next. */
  gboolean show = self->insp->error != NULL && self->spec->nodes->len + self->spec->inputs->len > 0;
  /* Cleared when hidden too: a hidden label still reaches screen readers. */
  gtk_label_set_text (self->banner_label, show ? self->insp->error : "");
  gtk_revealer_set_reveal_child (self->banner_revealer, show);

  if (rebuild_panel)
    selection_changed_cb (self);
  else
    weft_property_panel_update_report (self->panel, self->spec, self->insp);
  update_actions (self);
}

/* Reads the project's model: a new document with a fresh history. */
static void
load_from_project (WeftModelPage *self)
{
  const WeftSpec *model = self->project ? weft_project_get_model (self->project) : NULL;
  WeftSpec *old = self->spec;

  self->project_model = model;
  self->spec = model ? weft_spec_copy (model) : weft_spec_new ();
  /* Hand-written specs come without positions. */
  if (!weft_layout_is_complete (self->spec))
    weft_layout_arrange (self->spec, TRUE);
  weft_edit_history_clear (self->history);
  weft_canvas_select (self->canvas, NULL, FALSE);
  refresh (self, TRUE);
  weft_spec_free (old);
  weft_canvas_zoom_fit (self->canvas);

  gtk_stack_set_visible_child_name (self->stack, self->project ? "editor" : "empty");
}

static void
project_changed_cb (WeftModelPage *self)
{
  if (weft_project_get_model (self->project) != self->project_model)
    load_from_project (self);
}

/* -- palette and templates ------------------------------------------------ */

static GtkWidget *
palette_row (const char *what, const char *title, const char *blurb)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *t = gtk_label_new (title);
  GtkWidget *b = gtk_label_new (blurb);
  GtkWidget *add = gtk_button_new_from_icon_name ("list-add-symbolic");
  g_autofree char *a11y = g_strdup_printf (_("Add %s"), title);
  GtkDragSource *drag = gtk_drag_source_new ();

  gtk_label_set_xalign (GTK_LABEL (t), 0);
  gtk_widget_add_css_class (t, "heading");
  gtk_label_set_xalign (GTK_LABEL (b), 0);
  gtk_label_set_wrap (GTK_LABEL (b), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (b), 30);
  gtk_label_set_lines (GTK_LABEL (b), 3);
  gtk_label_set_ellipsize (GTK_LABEL (b), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (b, "palette-blurb");
  gtk_widget_add_css_class (b, "dim-label");
  gtk_box_append (GTK_BOX (text), t);
  gtk_box_append (GTK_BOX (text), b);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (box), text);

  gtk_widget_add_css_class (add, "flat");
  gtk_widget_set_valign (add, GTK_ALIGN_CENTER);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (add), "model.add-block");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (add), "s", what);
  gtk_widget_set_tooltip_text (add, a11y);
  gtk_accessible_update_property (GTK_ACCESSIBLE (add), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  gtk_box_append (GTK_BOX (box), add);

  gtk_widget_set_tooltip_text (row, blurb);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  g_object_set_data_full (G_OBJECT (row), "what", g_strdup (what), g_free);

  gtk_drag_source_set_content (drag, gdk_content_provider_new_typed (G_TYPE_STRING, what));
  gtk_drag_source_set_actions (drag, GDK_ACTION_COPY);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (drag));
  return row;
}

static void
palette_header (GtkListBox *list, const char *group)
{
  GtkWidget *row = gtk_list_box_row_new ();
  g_autofree char *title = g_strdup (group);
  title[0] = g_ascii_toupper (title[0]);
  GtkWidget *label = gtk_label_new (title);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "palette-group");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  gtk_list_box_append (list, row);
}

/* The palette is the registry: groups and blurbs come from core/nn. The
 * Input block appears once per modality, since that is how people think
 * of it (an Image input, a Label input). */
static void
build_palette (WeftModelPage *self)
{
  const char *group = NULL;

  for (const WeftBlock *const *b = weft_block_list (); *b; b++)
    {
      if (g_strcmp0 (group, (*b)->group) != 0)
        {
          group = (*b)->group;
          palette_header (self->palette, group);
        }
      if ((*b)->flags & WEFT_BLOCK_INPUT)
        {
          for (int m = 0; weft_modality_choices[m]; m++)
            {
              g_autofree char *what = g_strdup_printf ("input:%s", weft_modality_choices[m]);
              g_autofree char *title = g_strdup_printf ("%s input", weft_modality_choices[m]);
              title[0] = g_ascii_toupper (title[0]);
              gtk_list_box_append (self->palette, palette_row (what, title, (*b)->blurb));
            }
          continue;
        }
      g_autofree char *what = g_strdup_printf ("block:%s", (*b)->type);
      gtk_list_box_append (self->palette, palette_row (what, (*b)->title, (*b)->blurb));
    }
}

static void
palette_activated_cb (WeftModelPage *self, GtkListBoxRow *row)
{
  const char *what = g_object_get_data (G_OBJECT (row), "what");
  double x, y;

  if (what == NULL)
    return;
  weft_canvas_get_free_spot (self->canvas, &x, &y);
  add_block (self, what, x, y, TRUE);
}

static char *
templates_dir (void)
{
  return g_build_filename (WEFT_SOURCE_DIR, "data", "models", NULL);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
build_templates (WeftModelPage *self)
{
  g_autofree char *dir = templates_dir ();
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strndup (name, strlen (name) - 5));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *stem = names->pdata[i];
      g_autofree char *file = g_strdup_printf ("%s/%s.json", dir, stem);
      g_autoptr(WeftSpec) spec = weft_spec_load (file, NULL);
      if (spec == NULL)
        continue;
      g_autofree char *title = g_strdelimit (g_strdup (stem), "-", ' ');
      title[0] = g_ascii_toupper (title[0]);
      GtkWidget *button = gtk_button_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *t = gtk_label_new (title);
      GtkWidget *desc = gtk_label_new (spec->description ? spec->description : "");
      g_autofree char *a11y = g_strdup_printf (_("Template %s"), title);

      gtk_label_set_xalign (GTK_LABEL (t), 0);
      gtk_widget_add_css_class (t, "heading");
      gtk_label_set_xalign (GTK_LABEL (desc), 0);
      gtk_label_set_wrap (GTK_LABEL (desc), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (desc), 44);
      gtk_widget_add_css_class (desc, "dim-label");
      gtk_box_append (GTK_BOX (box), t);
      gtk_box_append (GTK_BOX (box), desc);
      gtk_button_set_child (GTK_BUTTON (button), box);
      gtk_widget_add_css_class (button, "flat");
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "model.load-template");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", stem);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
      gtk_box_append (self->template_box, button);
    }
}

/* -- actions -------------------------------------------------------------- */

static void
add_block_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  double x, y;

  weft_canvas_get_free_spot (self->canvas, &x, &y);
  add_block (self, g_variant_get_string (param, NULL), x, y, FALSE);
}

static void
load_template_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  const char *stem = g_variant_get_string (param, NULL);
  g_autofree char *dir = templates_dir ();
  g_autofree char *file = g_strdup_printf ("%s/%s.json", dir, stem);
  g_autoptr(GError) error = NULL;
  WeftSpec *spec;

  gtk_menu_button_popdown (self->template_button);
  if (strchr (stem, '/') || !(spec = weft_spec_load (file, &error)))
    {
      gtk_label_set_text (self->banner_label, error ? error->message : _("No such template"));
      gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
      return;
    }
  if (!weft_layout_is_complete (spec))
    weft_layout_arrange (spec, TRUE);
  g_autofree char *label = g_strdup_printf (_("Load template %s"), stem);
  weft_canvas_select (self->canvas, NULL, FALSE);
  commit (self, spec, label, NULL, TRUE);
  weft_canvas_zoom_fit (self->canvas);
}

static void
undo_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  gboolean redo = g_str_equal (name, "model.redo");
  WeftSpec *spec = redo ? weft_edit_history_redo (self->history, self->spec)
                        : weft_edit_history_undo (self->history, self->spec);
  WeftSpec *old = self->spec;

  if (spec == NULL)
    return;
  self->spec = spec;
  refresh (self, TRUE);
  weft_spec_free (old);
  write_back (self);
}

static void
delete_action (GtkWidget *widget, const char *name, GVariant *param)
{
  delete_selection (WEFT_MODEL_PAGE (widget));
}

static void
arrange_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  WeftSpec *next = weft_spec_copy (self->spec);

  weft_layout_arrange (next, FALSE);
  commit (self, next, _("Arrange"), NULL, FALSE);
  weft_canvas_zoom_fit (self->canvas);
}

static void
zoom_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);

  if (g_str_equal (name, "model.zoom-in"))
    weft_canvas_zoom (self->canvas, 1.2);
  else if (g_str_equal (name, "model.zoom-out"))
    weft_canvas_zoom (self->canvas, 1 / 1.2);
  else if (g_str_equal (name, "model.zoom-fit"))
    weft_canvas_zoom_fit (self->canvas);
  else
    weft_canvas_zoom_reset (self->canvas);
}

/* Alt+arrows: moves the selection one grid step, for keyboard users. */
static void
nudge_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  g_autoptr(GPtrArray) sel = weft_canvas_dup_selection (self->canvas);
  int dx, dy;

  if (sel->len == 0)
    return;
  g_variant_get (param, "(ii)", &dx, &dy);
  WeftSpec *next = weft_spec_copy (self->spec);
  for (guint i = 0; i < sel->len; i++)
    {
      double x, y;
      weft_layout_get (next, sel->pdata[i], &x, &y);
      weft_layout_set (next, sel->pdata[i], MAX (0, x + dx * WEFT_CANVAS_GRID),
                       MAX (0, y + dy * WEFT_CANVAS_GRID));
    }
  commit (self, next, _("Move"), "nudge", FALSE);
}

static void
select_all_action (GtkWidget *widget, const char *name, GVariant *param)
{
  weft_canvas_select_all (WEFT_MODEL_PAGE (widget)->canvas);
}

/* Copy: the selected blocks as a model spec (connections to blocks outside
 * the selection are dropped), as text, so it can be pasted into another
 * window or a text editor. */
static void
copy_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  g_autoptr(GPtrArray) sel = weft_canvas_dup_selection (self->canvas);
  g_autoptr(GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(WeftSpec) part = weft_spec_copy (self->spec);
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);

  if (sel->len == 0)
    return;
  for (guint i = 0; i < sel->len; i++)
    g_hash_table_add (keep, sel->pdata[i]);
  for (guint i = 0; i < self->spec->inputs->len; i++)
    {
      WeftSpecInput *in = g_ptr_array_index (self->spec->inputs, i);
      if (!g_hash_table_contains (keep, in->id))
        g_hash_table_add (gone, in->id);
    }
  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      if (!g_hash_table_contains (keep, n->id))
        g_hash_table_add (gone, n->id);
    }
  remove_ids (part, gone);
  g_autofree char *text = weft_spec_to_string (part);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
}

static void
rename_ref (char **ref, GHashTable *map)
{
  const char *to = *ref ? g_hash_table_lookup (map, *ref) : NULL;
  if (to)
    {
      g_free (*ref);
      *ref = g_strdup (to);
    }
}

static void
paste_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(WeftModelPage) self = data;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  g_autoptr(WeftSpec) part = text ? weft_spec_parse_data (text, -1, NULL) : NULL;
  g_autoptr(GHashTable) map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_free);

  if (part == NULL || self->spec == NULL)
    return;
  WeftSpec *next = weft_spec_copy (self->spec);

  /* Fresh ids for everything pasted, then the references follow. */
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *list = pass ? part->nodes : part->inputs;
      for (guint i = 0; i < list->len; i++)
        {
          char **id = pass ? &((WeftSpecNode *) list->pdata[i])->id : &((WeftSpecInput *) list->pdata[i])->id;
          char *fresh = unique_id (next, *id);
          /* Reserve it so two pasted blocks never get the same id. */
          while (g_hash_table_contains (map, fresh) ||
                 g_ptr_array_find_with_equal_func (added, fresh, g_str_equal, NULL))
            {
              char *again = g_strdup_printf ("%s_copy", fresh);
              g_free (fresh);
              fresh = unique_id (next, again);
              g_free (again);
            }
          g_hash_table_insert (map, g_strdup (*id), g_strdup (fresh));
          g_ptr_array_add (added, fresh);
        }
    }
  while (part->inputs->len > 0)
    {
      WeftSpecInput *in = g_ptr_array_steal_index (part->inputs, 0);
      double x, y;
      weft_layout_get (part, in->id, &x, &y);
      rename_ref (&in->id, map);
      weft_layout_set (next, in->id, x + 40, y + 40);
      g_ptr_array_add (next->inputs, in);
    }
  while (part->nodes->len > 0)
    {
      WeftSpecNode *n = g_ptr_array_steal_index (part->nodes, 0);
      double x, y;
      weft_layout_get (part, n->id, &x, &y);
      rename_ref (&n->id, map);
      for (int k = 0; n->inputs && n->inputs[k]; k++)
        rename_ref (&n->inputs[k], map);
      rename_ref (&n->share_weights_with, map);
      weft_layout_set (next, n->id, x + 40, y + 40);
      const WeftBlock *b = weft_block_lookup (n->type);
      if (b && (b->flags & WEFT_BLOCK_LOSS))
        {
          WeftSpecLoss l = { g_strdup (n->id), 1.0 };
          g_array_append_val (next->losses, l);
        }
      g_ptr_array_add (next->nodes, n);
    }
  commit (self, next, _("Paste"), NULL, FALSE);
  weft_canvas_select (self->canvas, NULL, FALSE);
  for (guint i = 0; i < added->len; i++)
    weft_canvas_select (self->canvas, added->pdata[i], TRUE);
}

static void
paste_action (GtkWidget *widget, const char *name, GVariant *param)
{
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL, paste_done_cb,
                                 g_object_ref (widget));
}

/* The newest finished run's checkpoint, if it trained exactly this model:
 * then the export carries its weights' loader and feature settings. */
static const char *
matching_checkpoint (WeftModelPage *self)
{
  g_autofree char *mine = weft_spec_to_string (self->spec);

  for (guint i = weft_project_get_n_runs (self->project); i-- > 0;)
    {
      JsonObject *run = weft_project_get_run (self->project, i);
      JsonNode *model = json_object_get_member (run, "model");
      const char *ckpt = json_object_get_string_member_with_default (run, "checkpoint", NULL);
      if (model == NULL || ckpt == NULL || !g_file_test (ckpt, G_FILE_TEST_EXISTS))
        continue;
      g_autoptr(WeftSpec) trained = weft_spec_from_json (model, NULL);
      g_autofree char *theirs = trained ? weft_spec_to_string (trained) : NULL;
      if (g_strcmp0 (mine, theirs) == 0)
        return ckpt;
    }
  return NULL;
}

static void
toast (WeftModelPage *self, const char *text)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (text));
}

static void
export_to (WeftModelPage *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) error = NULL;
  const char *ckpt = self->project ? matching_checkpoint (self) : NULL;
  gboolean ok;

  if (ckpt)
    ok = weft_export_pytorch (ckpt, path, &error);
  else
    {
      WeftBinding def;
      weft_binding_init_default (&def);
      g_autoptr(WeftGraph) g = weft_graph_compile (self->spec, self->has_binding ? &self->binding : &def,
                                                   &error);
      JsonObject *features = self->project ? weft_project_get_features (self->project) : NULL;
      g_autofree char *source = NULL;
      if (g)
        source = weft_export_pytorch_source (g, features, NULL, NULL, NULL, &error);
      ok = source && g_file_set_contents (path, source, -1, &error);
    }
  if (!ok)
    {
      gtk_label_set_text (self->banner_label, error->message);
      gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
      return;
    }
  g_autofree char *base = g_file_get_basename (file);
  g_autofree char *text = ckpt ? g_strdup_printf (_("Exported %s with its trained weights"), base)
                               : g_strdup_printf (_("Exported %s (architecture only: train it to get weights)"), base);
  toast (self, text);
}

static void
export_response_cb (GtkNativeDialog *dialog, int response, WeftModelPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file)
        export_to (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
export_pytorch_action (GtkWidget *widget, const char *name, GVariant *param)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (widget);
  const char *test_path = g_getenv ("WEFT_TEST_EXPORT_PATH");
  GtkRoot *root = gtk_widget_get_root (widget);

  /* Tests cannot drive a file chooser; they name the file instead. */
  if (test_path && test_path[0])
    {
      g_autoptr(GFile) file = g_file_new_for_path (test_path);
      export_to (self, file);
      return;
    }
  GtkFileChooserNative *dialog =
    gtk_file_chooser_native_new (_("Export as PyTorch"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  g_autofree char *suggested = g_strdup_printf ("%s.py", self->spec->name ? self->spec->name : "model");
  g_strdelimit (suggested, "-", '_');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* -- class ---------------------------------------------------------------- */

static void
weft_model_page_dispose (GObject *object)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (object);

  if (self->project && self->changed_id)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_clear_object (&self->project);
  /* The template's root is a bound child and AdwBin's child: let the
   * bin drop it first, or its dispose unparents it a second time. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_MODEL_PAGE);
  g_clear_pointer (&self->insp, weft_inspection_free);
  g_clear_pointer (&self->spec, weft_spec_free);
  g_clear_pointer (&self->history, weft_edit_history_free);

  G_OBJECT_CLASS (weft_model_page_parent_class)->dispose (object);
}

static void
weft_model_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_model_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  WeftModelPage *self = WEFT_MODEL_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      weft_model_page_set_project (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_model_page_load_css (void)
{
  static gboolean done;
  GdkDisplay *display = gdk_display_get_default ();

  if (done || display == NULL)
    return;
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/org/weft/Weft/weft-model-page.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  done = TRUE;
}

static void
weft_model_page_class_init (WeftModelPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_model_page_dispose;
  object_class->get_property = weft_model_page_get_property;
  object_class->set_property = weft_model_page_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, WEFT_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (WEFT_TYPE_CANVAS);
  g_type_ensure (WEFT_TYPE_PROPERTY_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-model-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, palette);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, canvas);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, panel);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, totals_label);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, banner_label);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, template_box);
  gtk_widget_class_bind_template_child (widget_class, WeftModelPage, template_button);

  gtk_widget_class_install_action (widget_class, "model.add-block", "s", add_block_action);
  gtk_widget_class_install_action (widget_class, "model.load-template", "s", load_template_action);
  gtk_widget_class_install_action (widget_class, "model.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "model.redo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "model.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "model.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "model.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "model.select-all", NULL, select_all_action);
  gtk_widget_class_install_action (widget_class, "model.arrange", NULL, arrange_action);
  gtk_widget_class_install_action (widget_class, "model.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "model.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "model.zoom-reset", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "model.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "model.nudge", "(ii)", nudge_action);
  gtk_widget_class_install_action (widget_class, "model.export-pytorch", NULL, export_pytorch_action);

  /* Page shortcuts: they act only while focus is inside the Model page, and
   * after the focused widget (a text field keeps its own Ctrl+Z, Delete). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "model.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "model.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "model.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "model.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "model.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "model.copy", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "model.paste", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK, "model.select-all", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "model.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "model.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "model.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "model.zoom-reset", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_9, GDK_CONTROL_MASK, "model.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "model.arrange", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "model.nudge", "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "model.nudge", "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "model.nudge", "(ii)", 0, -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK, "model.nudge", "(ii)", 0, 1);
}

static void
weft_model_page_init (WeftModelPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  weft_model_page_load_css ();

  self->history = weft_edit_history_new ();
  self->spec = weft_spec_new ();

  build_palette (self);
  build_templates (self);
  g_signal_connect_swapped (self->palette, "row-activated", G_CALLBACK (palette_activated_cb), self);
  g_signal_connect_swapped (self->canvas, "selection-changed", G_CALLBACK (selection_changed_cb), self);
  g_signal_connect_swapped (self->canvas, "nodes-moved", G_CALLBACK (canvas_moved_cb), self);
  g_signal_connect_swapped (self->canvas, "connect", G_CALLBACK (canvas_connect_cb), self);
  g_signal_connect_swapped (self->canvas, "disconnect", G_CALLBACK (canvas_disconnect_cb), self);
  g_signal_connect_swapped (self->canvas, "drop-block", G_CALLBACK (canvas_drop_cb), self);
  g_signal_connect_swapped (self->panel, "param-changed", G_CALLBACK (param_changed_cb), self);
  g_signal_connect_swapped (self->panel, "frozen-changed", G_CALLBACK (frozen_changed_cb), self);
  g_signal_connect_swapped (self->panel, "share-changed", G_CALLBACK (share_changed_cb), self);
  g_signal_connect_swapped (self->panel, "connect", G_CALLBACK (canvas_connect_cb), self);
  g_signal_connect_swapped (self->panel, "disconnect", G_CALLBACK (canvas_disconnect_cb), self);

  refresh (self, TRUE);
}

void
weft_model_page_set_project (WeftModelPage *self,
                             WeftProject *project)
{
  g_return_if_fail (WEFT_IS_MODEL_PAGE (self));
  g_return_if_fail (project == NULL || WEFT_IS_PROJECT (project));

  if (self->project == project)
    return;
  if (self->project && self->changed_id)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_set_object (&self->project, project);
  if (project)
    self->changed_id = g_signal_connect_swapped (project, "changed",
                                                 G_CALLBACK (project_changed_cb), self);
  load_from_project (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

WeftProject *
weft_model_page_get_project (WeftModelPage *self)
{
  g_return_val_if_fail (WEFT_IS_MODEL_PAGE (self), NULL);

  return self->project;
}

void
weft_model_page_set_features (WeftModelPage *self,
                              const WeftFeatures *features)
{
  g_return_if_fail (WEFT_IS_MODEL_PAGE (self));

  self->has_binding = features != NULL;
  if (features)
    weft_features_get_binding (features, &self->binding);
  refresh (self, FALSE);
}
