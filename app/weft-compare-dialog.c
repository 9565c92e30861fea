/* weft-compare-dialog.c — the "Compare Fusion Strategies" window over the core's
 * WeftCompare runner: template choice, overall progress with cancel, table and bar chart. */

#include "weft-config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "train/weft-compare.h"
#include "weft-bar-chart.h"
#include "weft-compare-dialog.h"

struct _WeftCompareDialog
{
  AdwWindow        parent_instance;

  /* Template widgets */
  GtkStack        *stack;
  AdwPreferencesGroup *templates_group;
  GtkSpinButton   *epochs_spin;
  AdwStatusPage   *progress_status;
  GtkProgressBar  *progress_bar;
  GtkLabel        *progress_label;
  GtkLabel        *summary_label;
  GtkGrid         *table;
  WeftBarChart    *chart;

  /* Owned */
  WeftProject     *project;
  WeftFeatures    *features;
  WeftTrainConfig  config;
  WeftCompare     *compare;
  GPtrArray       *checks;          /* GtkSwitch*, data "path" */
  gboolean         close_when_done;
};

G_DEFINE_FINAL_TYPE (WeftCompareDialog, weft_compare_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_RUNS_ADDED, N_SIGNALS };
static guint signals[N_SIGNALS];

enum { PROP_0, PROP_RUNNING, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* Modalities a table column is given for, in display order. */
static const struct { WeftModality m; const char *label; } modalities[] = {
  { WEFT_MODALITY_IMAGE, N_("no image") },
  { WEFT_MODALITY_AUDIO, N_("no audio") },
  { WEFT_MODALITY_TEXT,  N_("no text") },
};

static GtkWidget *
cell (const char *text, gboolean header, gboolean numeric)
{
  GtkWidget *l = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (l), numeric ? 1 : 0);
  if (header)
    gtk_widget_add_css_class (l, "heading");
  if (numeric)
    gtk_widget_add_css_class (l, "numeric");
  return l;
}

static char *
fmt_acc (double v)
{
  return isfinite (v) ? g_strdup_printf ("%.3f", v) : g_strdup ("–");
}

static void
show_results (WeftCompareDialog *self)
{
  guint n = weft_compare_get_n_results (self->compare);
  guint present = 0;
  GtkWidget *child;
  WeftBinding b;

  weft_features_get_binding (self->features, &b);
  if (b.image.n > 0) present |= 1u << WEFT_MODALITY_IMAGE;
  if (b.audio.n > 0) present |= 1u << WEFT_MODALITY_AUDIO;
  if (b.text_length > 0) present |= 1u << WEFT_MODALITY_TEXT;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table))) != NULL)
    gtk_grid_remove (self->table, child);

  int col = 0;
  gtk_grid_attach (self->table, cell (_("Template"), TRUE, FALSE), col++, 0, 1, 1);
  gtk_grid_attach (self->table, cell (_("Accuracy"), TRUE, TRUE), col++, 0, 1, 1);
  for (guint k = 0; k < G_N_ELEMENTS (modalities); k++)
    if (present & (1u << modalities[k].m))
      gtk_grid_attach (self->table, cell (_(modalities[k].label), TRUE, TRUE), col++, 0, 1, 1);
  gtk_grid_attach (self->table, cell (_("Parameters"), TRUE, TRUE), col++, 0, 1, 1);
  gtk_grid_attach (self->table, cell (_("Time"), TRUE, TRUE), col++, 0, 1, 1);
  gtk_grid_attach (self->table, cell (_("State"), TRUE, FALSE), col++, 0, 1, 1);

  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GPtrArray) series = g_ptr_array_new ();
  g_ptr_array_add (series, (gpointer) _("all modalities"));
  for (guint k = 0; k < G_N_ELEMENTS (modalities); k++)
    if (present & (1u << modalities[k].m))
      g_ptr_array_add (series, (gpointer) _(modalities[k].label));

  double best_fusion = NAN, best_single = NAN;
  g_autofree char *best_fusion_name = NULL, *best_single_name = NULL;
  for (guint i = 0; i < n; i++)
    {
      WeftCompareResult r;
      if (!weft_compare_get_result (self->compare, i, &r))
        continue;
      g_autofree char *acc = fmt_acc (r.accuracy);
      g_autofree char *params = r.parameters >= 1000000 ?
        g_strdup_printf ("%.2fM", r.parameters / 1e6) : g_strdup_printf ("%.1fk", r.parameters / 1e3);
      g_autofree char *secs = g_strdup_printf (_("%.1f s"), r.seconds);
      const char *state = r.state == WEFT_TRAIN_FINISHED ? _("finished") :
                          r.state == WEFT_TRAIN_FAILED ? _("failed") : _("stopped");
      col = 0;
      gtk_grid_attach (self->table, cell (r.name, FALSE, FALSE), col++, i + 1, 1, 1);
      gtk_grid_attach (self->table, cell (acc, FALSE, TRUE), col++, i + 1, 1, 1);
      g_ptr_array_add (names, g_strdup (r.name));
      g_array_append_val (values, r.accuracy);
      for (guint k = 0; k < G_N_ELEMENTS (modalities); k++)
        if (present & (1u << modalities[k].m))
          {
            g_autofree char *v = fmt_acc (r.missing[modalities[k].m]);
            gtk_grid_attach (self->table, cell (v, FALSE, TRUE), col++, i + 1, 1, 1);
            g_array_append_val (values, r.missing[modalities[k].m]);
          }
      gtk_grid_attach (self->table, cell (params, FALSE, TRUE), col++, i + 1, 1, 1);
      gtk_grid_attach (self->table, cell (secs, FALSE, TRUE), col++, i + 1, 1, 1);
      GtkWidget *st = cell (state, FALSE, FALSE);
      if (r.message)
        gtk_widget_set_tooltip_text (st, r.message);
      gtk_grid_attach (self->table, st, col++, i + 1, 1, 1);

      /* A template reading one modality is a baseline; more is a fusion. */
      if (isfinite (r.accuracy))
        {
          gboolean single = (r.used & (r.used - 1)) == 0;
          double *best = single ? &best_single : &best_fusion;
          char **best_name = single ? &best_single_name : &best_fusion_name;
          if (!(r.accuracy <= *best))
            {
              *best = r.accuracy;
              g_free (*best_name);
              *best_name = g_strdup (r.name);
            }
        }
      weft_compare_result_clear (&r);
    }

  weft_bar_chart_set_title (self->chart, _("Test Accuracy, With All Modalities and With One Missing"));
  weft_bar_chart_set_data (self->chart, (const char *const *) names->pdata, names->len,
                           (const char *const *) series->pdata, series->len,
                           (const double *) values->data);

  g_autofree char *summary = NULL;
  if (isfinite (best_fusion) && isfinite (best_single))
    summary = g_strdup_printf (best_fusion > best_single ?
                               _("Fusion helps: %s reaches %.3f, the best single modality (%s) %.3f.") :
                               _("Fusion did not help here: %s reaches %.3f, the best single modality (%s) %.3f."),
                               best_fusion_name, best_fusion, best_single_name, best_single);
  else
    summary = g_strdup_printf (ngettext ("%u template compared.", "%u templates compared.", n), n);
  gtk_label_set_text (self->summary_label, summary);
  gtk_stack_set_visible_child_name (self->stack, "results");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "compare.export", n > 0);
}

static void
progress_cb (WeftCompare *compare, WeftCompareDialog *self)
{
  WeftCompareProgress p;

  weft_compare_get_progress (compare, &p);
  gtk_progress_bar_set_fraction (self->progress_bar, p.fraction);
  g_autofree char *title = g_strdup_printf (_("Training %s (%d of %d)"), p.name ? p.name : "…",
                                            p.index + 1, p.n);
  adw_status_page_set_title (self->progress_status, title);
  g_autofree char *text = p.message ? g_strdup (p.message) :
    g_strdup_printf (_("Epoch %d of %d · step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                       " · loss %.4f · %.0f samples/s"),
                     MAX (p.epoch, 1), p.epochs, p.step, p.total_steps, p.loss, p.samples_per_s);
  gtk_label_set_text (self->progress_label, text);
  weft_compare_progress_clear (&p);
}

static void
finished_cb (WeftCompare *compare, WeftCompareDialog *self)
{
  weft_compare_join (compare);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "compare.cancel", FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[SIGNAL_RUNS_ADDED], 0);
  if (self->close_when_done)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  show_results (self);
}

static void
compare_run (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (widget);
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < self->checks->len; i++)
    {
      GtkSwitch *c = g_ptr_array_index (self->checks, i);
      if (gtk_switch_get_active (c))
        g_ptr_array_add (paths, g_object_get_data (G_OBJECT (c), "path"));
    }
  if (paths->len == 0)
    return;
  g_ptr_array_add (paths, NULL);

  self->config.epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  self->compare = weft_compare_new (self->features, (const char *const *) paths->pdata, &self->config);
  weft_compare_set_project (self->compare, self->project);
  g_signal_connect (self->compare, "progress", G_CALLBACK (progress_cb), self);
  g_signal_connect (self->compare, "finished", G_CALLBACK (finished_cb), self);
  if (!weft_compare_start (self->compare, &error))
    {
      gtk_label_set_text (self->progress_label, error->message);
      g_clear_object (&self->compare);
      return;
    }
  gtk_widget_action_set_enabled (widget, "compare.run", FALSE);
  gtk_widget_action_set_enabled (widget, "compare.cancel", TRUE);
  gtk_stack_set_visible_child_name (self->stack, "progress");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* ---- CSV export ---- */

static void
csv_field (GString *s, const char *text)
{
  /* RFC 4180: a field with a comma, quote or line break is quoted, its
   * quotes doubled. */
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (s, text);
      return;
    }
  g_string_append_c (s, '"');
  for (const char *c = text; *c; c++)
    {
      if (*c == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *c);
    }
  g_string_append_c (s, '"');
}

static void
csv_number (GString *s, double v)
{
  g_string_append_c (s, ',');
  if (isfinite (v))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      /* A dot whatever the locale: the file is for other programs. */
      g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
    }
}

/* The results table as CSV: one row per compared template, the same
 * columns as on screen (a modality the dataset lacks has no column). */
static char *
results_to_csv (WeftCompareDialog *self)
{
  static const char *const keys[] = {
    [WEFT_MODALITY_IMAGE] = "accuracy_no_image",
    [WEFT_MODALITY_AUDIO] = "accuracy_no_audio",
    [WEFT_MODALITY_TEXT] = "accuracy_no_text",
  };
  GString *s = g_string_new ("template,accuracy");
  guint n = weft_compare_get_n_results (self->compare);
  guint present = 0;
  WeftBinding b;

  weft_features_get_binding (self->features, &b);
  if (b.image.n > 0) present |= 1u << WEFT_MODALITY_IMAGE;
  if (b.audio.n > 0) present |= 1u << WEFT_MODALITY_AUDIO;
  if (b.text_length > 0) present |= 1u << WEFT_MODALITY_TEXT;
  for (guint k = 0; k < G_N_ELEMENTS (modalities); k++)
    if (present & (1u << modalities[k].m))
      g_string_append_printf (s, ",%s", keys[modalities[k].m]);
  g_string_append (s, ",parameters,seconds,state,run\n");

  for (guint i = 0; i < n; i++)
    {
      WeftCompareResult r;
      if (!weft_compare_get_result (self->compare, i, &r))
        continue;
      csv_field (s, r.name ? r.name : "");
      csv_number (s, r.accuracy);
      for (guint k = 0; k < G_N_ELEMENTS (modalities); k++)
        if (present & (1u << modalities[k].m))
          csv_number (s, r.missing[modalities[k].m]);
      g_string_append_printf (s, ",%" G_GINT64_FORMAT, (gint64) r.parameters);
      csv_number (s, r.seconds);
      g_string_append (s, r.state == WEFT_TRAIN_FINISHED ? ",finished," :
                          r.state == WEFT_TRAIN_FAILED ? ",failed," : ",stopped,");
      csv_field (s, r.run_id ? r.run_id : "");
      g_string_append_c (s, '\n');
      weft_compare_result_clear (&r);
    }
  return g_string_free (s, FALSE);
}

static void
write_results (WeftCompareDialog *self, const char *path)
{
  g_autofree char *csv = results_to_csv (self);
  g_autoptr(GError) error = NULL;

  /* g_file_set_contents writes a temporary file and renames it over. */
  if (!g_file_set_contents (path, csv, -1, &error))
    gtk_label_set_text (self->summary_label, error->message);
}

static void
export_response_cb (GtkNativeDialog *chooser, int response, WeftCompareDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->compare != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        write_results (self, path);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
compare_export (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (widget);
  const char *test_dir = g_getenv ("WEFT_TEST_EXPORT_DIR");
  GtkFileChooserNative *chooser;

  if (self->compare == NULL || weft_compare_is_running (self->compare))
    return;
  /* Tests skip the chooser (it is another process's window). */
  if (test_dir != NULL)
    {
      g_autofree char *path = g_build_filename (test_dir, "comparison.csv", NULL);
      write_results (self, path);
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Export Results"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "comparison.csv");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
compare_cancel (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (widget);

  if (self->compare && weft_compare_is_running (self->compare))
    {
      gtk_label_set_text (self->progress_label, _("Cancelling…"));
      weft_compare_cancel (self->compare);
    }
}

static gboolean
weft_compare_dialog_close_request (GtkWindow *window)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (window);

  /* The worker borrows nothing from the window, but the results and the
   * runs it adds arrive through it: let it wind down first. */
  if (self->compare && weft_compare_is_running (self->compare))
    {
      self->close_when_done = TRUE;
      gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
      weft_compare_cancel (self->compare);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (weft_compare_dialog_parent_class)->close_request (window);
}

static void
weft_compare_dialog_dispose (GObject *object)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (object);

  if (self->compare)
    {
      g_signal_handlers_disconnect_by_data (self->compare, self);
      weft_compare_cancel (self->compare);
      weft_compare_join (self->compare);
      g_clear_object (&self->compare);
    }
  g_clear_object (&self->project);
  g_clear_pointer (&self->features, weft_features_free);
  g_clear_pointer (&self->checks, g_ptr_array_unref);
  weft_train_config_clear (&self->config);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_COMPARE_DIALOG);
  G_OBJECT_CLASS (weft_compare_dialog_parent_class)->dispose (object);
}

static void
weft_compare_dialog_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  WeftCompareDialog *self = WEFT_COMPARE_DIALOG (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, weft_compare_dialog_get_running (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_compare_dialog_class_init (WeftCompareDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = weft_compare_dialog_dispose;
  object_class->get_property = weft_compare_dialog_get_property;
  window_class->close_request = weft_compare_dialog_close_request;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_RUNS_ADDED] = g_signal_new ("runs-added", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 0);

  g_type_ensure (WEFT_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-compare-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, templates_group);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, progress_status);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, progress_label);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, summary_label);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, table);
  gtk_widget_class_bind_template_child (widget_class, WeftCompareDialog, chart);

  gtk_widget_class_install_action (widget_class, "compare.run", NULL, compare_run);
  gtk_widget_class_install_action (widget_class, "compare.cancel", NULL, compare_cancel);
  gtk_widget_class_install_action (widget_class, "compare.export", NULL, compare_export);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "compare.export", NULL);
}

static void
weft_compare_dialog_init (WeftCompareDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->checks = g_ptr_array_new ();
  weft_train_config_init (&self->config);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "compare.cancel", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "compare.export", FALSE);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Classification templates that compile against these features: the ones
 * whose accuracies can be set side by side. */
static void
add_templates (WeftCompareDialog *self)
{
  g_autofree char *dir = g_build_filename (WEFT_SOURCE_DIR, "data", "models", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  WeftBinding b;

  weft_features_get_binding (self->features, &b);
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (files, g_strdup (name));
  g_ptr_array_sort (files, compare_names);

  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (files, i), NULL);
      g_autoptr(WeftSpec) spec = weft_spec_load (path, NULL);
      gboolean classifier = FALSE;
      if (spec == NULL)
        continue;
      for (guint k = 0; k < spec->nodes->len; k++)
        classifier |= g_str_equal (((WeftSpecNode *) g_ptr_array_index (spec->nodes, k))->type, "cross_entropy");
      if (!classifier || spec->losses->len != 1)
        continue;
      g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, NULL);
      if (g == NULL)
        continue;

      g_autofree char *stem = g_strndup (g_ptr_array_index (files, i),
                                         strlen (g_ptr_array_index (files, i)) - 5);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_switch_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), stem);
      if (spec->description)
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), spec->description);
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, stem, -1);
      g_object_set_data_full (G_OBJECT (check), "path", g_steal_pointer (&path), g_free);
      /* The classic comparison: each single modality against a few fusions. */
      gtk_switch_set_active (GTK_SWITCH (check),
                             g_str_has_suffix (stem, "-only") || g_str_equal (stem, "late-fusion") ||
                             g_str_equal (stem, "early-fusion") || g_str_equal (stem, "gated-fusion"));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      adw_preferences_group_add (self->templates_group, row);
      g_ptr_array_add (self->checks, check);
    }
}

WeftCompareDialog *
weft_compare_dialog_new (GtkWindow *parent, WeftProject *project, WeftFeatures *features,
                         const WeftTrainConfig *config)
{
  WeftCompareDialog *self;

  g_return_val_if_fail (WEFT_IS_PROJECT (project), NULL);
  g_return_val_if_fail (features != NULL, NULL);

  self = g_object_new (WEFT_TYPE_COMPARE_DIALOG, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  self->features = weft_features_ref (features);
  self->config = *config;
  self->config.checkpoint_path = NULL;
  self->config.features = config->features ? json_object_ref (config->features) : NULL;
  if (self->config.features == NULL && weft_project_get_features (project) != NULL)
    self->config.features = json_object_ref (weft_project_get_features (project));
  gtk_spin_button_set_value (self->epochs_spin, config->epochs);
  add_templates (self);
  return self;
}

gboolean
weft_compare_dialog_get_running (WeftCompareDialog *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE_DIALOG (self), FALSE);

  return self->compare != NULL && weft_compare_is_running (self->compare);
}
