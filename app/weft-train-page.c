/* weft-train-page.c — the Train page: training settings, start/pause/stop, live plots, the project's runs and the fusion comparison.
 * Until there is something to show it shows an empty state. */

#include "weft-config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "weft-json.h"
#include <glib/gstdio.h>

#include "embed/weft-embed.h"
#include "graph/weft-checkpoint.h"
#include "weft-error.h"
#include "train/weft-trainer.h"
#include "weft-bar-chart.h"
#include "weft-compare-dialog.h"
#include "weft-heatmap.h"
#include "weft-plot.h"
#include "weft-run-item.h"
#include "weft-train-page.h"

/* Series of the live plots, in the order they are added. */
enum { LOSS_RAW, LOSS_SMOOTH, LOSS_VAL, LOSS_N };
enum { METRIC_ACC, METRIC_R1, METRIC_R5, METRIC_N };
enum { GRAD_IMAGE, GRAD_TEXT, GRAD_AUDIO, GRAD_REST, GRAD_N };

/* How the smoothed loss follows the raw one (an exponential moving
 * average, as TensorBoard's smoothing slider). */
#define SMOOTHING 0.95

/* A run taken out of the project whose folder is kept until the deletion
 * is final: the "Undo" toast went away, or the project was saved. */
typedef struct {
  JsonObject *run;
  char       *id;
  guint       index;
  AdwToast   *toast;
} PendingDelete;

/* Columns of the runs table. */
enum { COL_OVERLAY, COL_TEMPLATE, COL_STATE, COL_STARTED, COL_BEST, COL_PARAMS, COL_DURATION };

struct _WeftTrainPage
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkStack       *stack;
  AdwStatusPage  *empty_status;
  GtkWidget      *empty_dataset_button;
  GtkWidget      *template_box;
  GtkDropDown    *template_dropdown;
  AdwComboRow    *optimizer_row;
  AdwComboRow    *schedule_row;
  GtkSpinButton  *lr_spin;
  GtkSpinButton  *batch_spin;
  GtkSpinButton  *epochs_spin;
  GtkSpinButton  *decay_spin;
  GtkSpinButton  *seed_spin;
  GtkSpinButton  *val_spin;
  GtkSwitch      *show_raw_switch;
  GtkSwitch      *show_smooth_switch;
  GtkSwitch      *show_val_switch;
  GtkColumnView  *runs_view;
  GtkStack       *runs_stack;
  GtkWidget      *compare_button;
  GtkWidget      *start_button;
  GtkWidget      *pause_button;
  GtkWidget      *resume_button;
  GtkWidget      *stop_button;
  GtkProgressBar *progress_bar;
  GtkLabel       *status_label;
  GtkRevealer    *banner_revealer;
  GtkLabel       *banner_label;
  GtkImage       *banner_icon;
  WeftPlot       *loss_plot;
  WeftPlot       *metric_plot;
  WeftPlot       *lr_plot;
  WeftPlot       *grad_plot;
  WeftHeatmap    *heatmap;

  /* Owned */
  WeftProject    *project;
  WeftFeatures   *features;
  GStrv           template_names;
  GHashTable     *overlay;          /* run ids whose curves are overlaid */
  GListStore     *runs_store;       /* WeftRunItem, newest first */
  GtkSingleSelection *runs_selection;
  PendingDelete  *pending;          /* a deletion that can still be undone */

  /* The run in progress (all NULL when idle) */
  WeftTrainer    *trainer;
  WeftGraph      *graph;            /* the trainer borrows it */
  WeftFeatures   *run_features;     /* the trainer borrows them */
  char           *run_id;
  JsonObject     *run;              /* the run record as it grows */
  guint           refresh_id;
  guint           scroll_id;
  guint           n_steps_seen, n_epochs_seen, n_grads_seen, n_lrs_seen;
  gint64          steps_per_epoch;
  double          ema;
  gint64          sim_step;
  gboolean        loading_settings;
  guint           n_runs_shown;

  /* Frame timing for tests/bench/ui-train (WEFT_FRAME_STATS=FILE) */
  GArray         *frame_us;
  gint64          frame_start;

  /* Borrowed */
  const WeftDataset *dataset;
  WeftCompareDialog *compare_dialog;  /* weak: the comparison in progress */
};

G_DEFINE_FINAL_TYPE (WeftTrainPage, weft_train_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update_state (WeftTrainPage *self);
static void rebuild_runs (WeftTrainPage *self);

/* ---- helpers ---- */

static gboolean
spec_has_node_type (const WeftSpec *spec, const char *type)
{
  for (guint i = 0; spec && i < spec->nodes->len; i++)
    if (g_str_equal (((WeftSpecNode *) g_ptr_array_index (spec->nodes, i))->type, type))
      return TRUE;
  return FALSE;
}

static gboolean
spec_is_contrastive (const WeftSpec *spec)
{
  return spec_has_node_type (spec, "infonce") || spec_has_node_type (spec, "triplet");
}

static gboolean
spec_has_classifier (const WeftSpec *spec)
{
  return spec_has_node_type (spec, "cross_entropy");
}

/* Settings that suit the model: contrastive models want larger batches
 * (more negatives per step) and AdamW; the heavier fusions a gentler rate. */
static void
defaults_for_spec (const WeftSpec *spec, WeftTrainConfig *c)
{
  weft_train_config_init (c);
  if (spec_is_contrastive (spec))
    {
      weft_optim_config_init_default (&c->optim, WEFT_OPTIM_ADAMW);
      c->batch_size = 128;
      c->epochs = 10;
      c->optim.schedule = WEFT_SCHEDULE_COSINE;
    }
  else if (spec_has_node_type (spec, "tensor_fusion") || spec_has_node_type (spec, "cross_attention"))
    c->optim.lr = 5e-4f;
  if (spec_has_node_type (spec, "mse") && !spec_has_classifier (spec))
    c->epochs = 10;
}

static void
show_banner (WeftTrainPage *self, const char *icon, const char *message, gboolean error)
{
  gtk_image_set_from_icon_name (self->banner_icon, icon);
  gtk_label_set_text (self->banner_label, message);
  if (error)
    gtk_widget_add_css_class (gtk_revealer_get_child (self->banner_revealer), "error");
  else
    gtk_widget_remove_css_class (gtk_revealer_get_child (self->banner_revealer), "error");
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
}

static char *
format_seconds (double s)
{
  if (!isfinite (s) || s < 0)
    return g_strdup ("–");
  if (s < 60)
    return g_strdup_printf (_("%.0f s"), s);
  if (s < 3600)
    return g_strdup_printf (_("%d min %02d s"), (int) s / 60, (int) s % 60);
  return g_strdup_printf (_("%d h %02d min"), (int) s / 3600, ((int) s % 3600) / 60);
}

static void
set_double_member (JsonObject *o, const char *name, double v)
{
  /* JSON has no NaN: leave a missing metric out. */
  if (isfinite (v))
    json_object_set_double_member (o, name, v);
  else
    json_object_set_null_member (o, name);
}

static int
find_run (WeftProject *project, const char *id)
{
  guint n = weft_project_get_n_runs (project);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = weft_project_get_run (project, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (r, "id", ""), id) == 0)
        return (int) i;
    }
  return -1;
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  return g_date_time_format_iso8601 (now);
}

/* ---- settings ---- */

static void
settings_to_widgets (WeftTrainPage *self, const WeftTrainConfig *c)
{
  self->loading_settings = TRUE;
  adw_combo_row_set_selected (self->optimizer_row, c->optim.kind);
  adw_combo_row_set_selected (self->schedule_row, c->optim.schedule);
  gtk_spin_button_set_value (self->lr_spin, c->optim.lr);
  gtk_spin_button_set_value (self->batch_spin, c->batch_size);
  gtk_spin_button_set_value (self->epochs_spin, c->epochs);
  gtk_spin_button_set_value (self->decay_spin, c->optim.weight_decay);
  gtk_spin_button_set_value (self->seed_spin, (double) c->seed);
  gtk_spin_button_set_value (self->val_spin, c->val_share);
  self->loading_settings = FALSE;
}

/* The settings shown: the project's stored ones (so members the page has no
 * widget for, such as clip_norm, survive) with the widgets' values on top. */
static void
settings_from_widgets (WeftTrainPage *self, WeftTrainConfig *c)
{
  JsonObject *stored = self->project ? weft_project_get_training (self->project) : NULL;
  WeftOptimKind kind = adw_combo_row_get_selected (self->optimizer_row);

  weft_train_config_init (c);
  if (stored != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!weft_train_config_from_json (c, stored, &error))
        weft_train_config_init (c);
    }
  if (c->optim.kind != kind)
    {
      WeftOptimConfig o = c->optim;
      weft_optim_config_init_default (&c->optim, kind);
      c->optim.clip_norm = o.clip_norm;
      c->optim.warmup_steps = o.warmup_steps;
    }
  c->optim.schedule = MIN (adw_combo_row_get_selected (self->schedule_row), WEFT_SCHEDULE_COSINE);
  c->optim.lr = gtk_spin_button_get_value (self->lr_spin);
  c->optim.weight_decay = gtk_spin_button_get_value (self->decay_spin);
  c->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
  c->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  c->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  c->val_share = gtk_spin_button_get_value (self->val_spin);
  g_clear_pointer (&c->checkpoint_path, g_free);
}

static void
load_settings (WeftTrainPage *self)
{
  WeftTrainConfig c;
  JsonObject *stored = self->project ? weft_project_get_training (self->project) : NULL;

  defaults_for_spec (self->project ? weft_project_get_model (self->project) : NULL, &c);
  if (stored != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!weft_train_config_from_json (&c, stored, &error))
        defaults_for_spec (weft_project_get_model (self->project), &c);
    }
  settings_to_widgets (self, &c);
  weft_train_config_clear (&c);
}

static void
settings_changed_cb (WeftTrainPage *self)
{
  WeftTrainConfig c;

  if (self->loading_settings || self->project == NULL)
    return;
  /* An optimizer switch brings that optimizer's usual learning rate. */
  settings_from_widgets (self, &c);
  g_autoptr(JsonObject) json = weft_train_config_to_json (&c);
  json_object_remove_member (json, "checkpoint_path");
  weft_project_set_training (self->project, json);
  weft_train_config_clear (&c);
}

static void
optimizer_changed_cb (WeftTrainPage *self)
{
  WeftOptimConfig o;

  if (self->loading_settings)
    return;
  weft_optim_config_init_default (&o, adw_combo_row_get_selected (self->optimizer_row));
  self->loading_settings = TRUE;
  gtk_spin_button_set_value (self->lr_spin, o.lr);
  gtk_spin_button_set_value (self->decay_spin, o.weight_decay);
  self->loading_settings = FALSE;
  settings_changed_cb (self);
}

static void
reset_settings (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  WeftTrainConfig c;

  defaults_for_spec (self->project ? weft_project_get_model (self->project) : NULL, &c);
  settings_to_widgets (self, &c);
  weft_train_config_clear (&c);
  settings_changed_cb (self);
}

/* ---- live plots ---- */

static void
setup_plots (WeftTrainPage *self)
{
  weft_plot_truncate_series (self->loss_plot, 0);
  weft_plot_add_series (self->loss_plot, _("step loss"), WEFT_PLOT_FAINT, 0);
  weft_plot_add_series (self->loss_plot, _("smoothed"), WEFT_PLOT_LINE, 0);
  weft_plot_add_series (self->loss_plot, _("validation"), WEFT_PLOT_LINE_POINTS, 1);
  weft_plot_axis_set_label (weft_plot_get_x_axis (self->loss_plot), _("epoch"));
  weft_plot_set_series_visible (self->loss_plot, LOSS_RAW, gtk_switch_get_active (self->show_raw_switch));
  weft_plot_set_series_visible (self->loss_plot, LOSS_SMOOTH, gtk_switch_get_active (self->show_smooth_switch));
  weft_plot_set_series_visible (self->loss_plot, LOSS_VAL, gtk_switch_get_active (self->show_val_switch));

  weft_plot_truncate_series (self->metric_plot, 0);
  weft_plot_add_series (self->metric_plot, _("accuracy"), WEFT_PLOT_LINE_POINTS, 2);
  weft_plot_add_series (self->metric_plot, _("Recall@1"), WEFT_PLOT_LINE_POINTS, 3);
  weft_plot_add_series (self->metric_plot, _("Recall@5"), WEFT_PLOT_LINE_POINTS, 4);
  weft_plot_axis_set_label (weft_plot_get_x_axis (self->metric_plot), _("epoch"));

  weft_plot_truncate_series (self->lr_plot, 0);
  weft_plot_add_series (self->lr_plot, _("learning rate"), WEFT_PLOT_LINE, 3);
  weft_plot_axis_set_label (weft_plot_get_x_axis (self->lr_plot), _("epoch"));

  weft_plot_truncate_series (self->grad_plot, 0);
  weft_plot_add_series (self->grad_plot, _("image"), WEFT_PLOT_LINE, 0);
  weft_plot_add_series (self->grad_plot, _("text"), WEFT_PLOT_LINE, 1);
  weft_plot_add_series (self->grad_plot, _("audio"), WEFT_PLOT_LINE, 2);
  weft_plot_add_series (self->grad_plot, _("fusion"), WEFT_PLOT_LINE, 5);
  weft_plot_axis_set_label (weft_plot_get_x_axis (self->grad_plot), _("epoch"));

  weft_heatmap_set_matrix (self->heatmap, NULL, 0, 0, NULL, NULL);
  self->sim_step = 0;
  self->n_steps_seen = self->n_epochs_seen = self->n_grads_seen = self->n_lrs_seen = 0;
  self->ema = NAN;
}

static void
add_epoch_points (WeftTrainPage *self, const WeftEpochMetrics *m)
{
  weft_plot_append (self->loss_plot, LOSS_VAL, m->epoch, m->val_loss);
  weft_plot_append (self->metric_plot, METRIC_ACC, m->epoch, m->val_accuracy);
  weft_plot_append (self->metric_plot, METRIC_R1, m->epoch, m->val_recall1);
  weft_plot_append (self->metric_plot, METRIC_R5, m->epoch, m->val_recall5);
}

/* A finished run's curves, drawn in the live series (the run shown when
 * nothing trains) or as dashed overlays. */
static void
plot_run (WeftTrainPage *self, JsonObject *run, gboolean overlay, guint color)
{
  JsonArray *epochs = json_object_get_array_member (run, "epochs");
  const char *name = json_object_get_string_member_with_default (run, "template", NULL);
  g_autofree char *label = NULL;
  guint n = epochs ? json_array_get_length (epochs) : 0;
  guint loss_s = 0, val_s = 0, acc_s = 0, lr_s = 0;

  if (name == NULL)
    name = _("model");
  if (overlay)
    {
      g_autofree char *when = g_strndup (json_object_get_string_member_with_default (run, "started", ""), 16);
      label = g_strdup_printf ("%s %s", name, when + MIN (strlen (when), 11));
      g_autofree char *l1 = g_strdup_printf (_("%s train"), label);
      g_autofree char *l2 = g_strdup_printf (_("%s validation"), label);
      loss_s = weft_plot_add_series (self->loss_plot, l1, WEFT_PLOT_DASHED, color);
      val_s = weft_plot_add_series (self->loss_plot, l2, WEFT_PLOT_DASHED, color);
      acc_s = weft_plot_add_series (self->metric_plot, label, WEFT_PLOT_DASHED, color);
      lr_s = weft_plot_add_series (self->lr_plot, label, WEFT_PLOT_DASHED, color);
    }
  else
    {
      loss_s = LOSS_SMOOTH;
      val_s = LOSS_VAL;
      acc_s = METRIC_ACC;
      lr_s = 0;
    }

  g_autofree double *x = g_new (double, MAX (n, 1));
  g_autofree double *train = g_new (double, MAX (n, 1));
  g_autofree double *val = g_new (double, MAX (n, 1));
  g_autofree double *acc = g_new (double, MAX (n, 1));
  g_autofree double *r1 = g_new (double, MAX (n, 1));
  g_autofree double *r5 = g_new (double, MAX (n, 1));
  g_autofree double *lr = g_new (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      JsonObject *e = json_array_get_object_element (epochs, i);
      x[i] = weft_json_get_double (e, "epoch");
      train[i] = weft_json_get_double (e, "train_loss");
      val[i] = weft_json_get_double (e, "val_loss");
      acc[i] = weft_json_get_double (e, "val_accuracy");
      r1[i] = weft_json_get_double (e, "val_recall1");
      r5[i] = weft_json_get_double (e, "val_recall5");
      lr[i] = weft_json_get_double (e, "lr");
    }
  /* Contrastive runs have no accuracy: overlay their Recall@1 instead. */
  gboolean has_acc = FALSE;
  for (guint i = 0; i < n; i++)
    has_acc |= isfinite (acc[i]);
  weft_plot_append_many (self->loss_plot, loss_s, x, train, n);
  weft_plot_append_many (self->loss_plot, val_s, x, val, n);
  weft_plot_append_many (self->metric_plot, acc_s, x, has_acc || !overlay ? acc : r1, n);
  if (!overlay)
    {
      weft_plot_append_many (self->metric_plot, METRIC_R1, x, r1, n);
      weft_plot_append_many (self->metric_plot, METRIC_R5, x, r5, n);
    }
  weft_plot_append_many (self->lr_plot, lr_s, x, lr, n);
}

static void
update_overlays (WeftTrainPage *self)
{
  guint n = self->project ? weft_project_get_n_runs (self->project) : 0;
  guint color = 0;

  weft_plot_truncate_series (self->loss_plot, LOSS_N);
  weft_plot_truncate_series (self->metric_plot, METRIC_N);
  weft_plot_truncate_series (self->lr_plot, 1);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = weft_project_get_run (self->project, i);
      const char *id = json_object_get_string_member_with_default (r, "id", "");
      if (g_hash_table_contains (self->overlay, id) && g_strcmp0 (id, self->run_id) != 0)
        plot_run (self, r, TRUE, 3 + (color++ % (WEFT_PLOT_N_COLORS - 3)));
    }
}

/* When nothing trains, the plots show the newest run of the project. */
static void
show_latest_run (WeftTrainPage *self)
{
  guint n = self->project ? weft_project_get_n_runs (self->project) : 0;

  if (self->trainer != NULL)
    return;
  setup_plots (self);
  if (n > 0)
    plot_run (self, weft_project_get_run (self->project, n - 1), FALSE, 0);
  update_overlays (self);
}

static void
update_progress (WeftTrainPage *self, const WeftProgress *p)
{
  g_autofree char *eta = format_seconds (p->eta);
  g_autofree char *text = NULL;
  const char *state = p->state == WEFT_TRAIN_PAUSED ? _("Paused · ") : "";

  gtk_progress_bar_set_fraction (self->progress_bar,
                                 p->total_steps > 0 ? (double) p->step / p->total_steps : 0);
  text = g_strdup_printf (_("%sEpoch %d of %d · step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                            " · %.0f samples/s · %s left · loss %.4f"),
                          state, MAX (p->epoch, 1), p->epochs, p->step, p->total_steps,
                          p->samples_per_s, eta, p->loss);
  gtk_label_set_text (self->status_label, text);
}

/* Appends what the trainer published since the last call. Runs from a
 * 100 ms timeout, so the plots grow ten times a second whatever the step
 * rate, and a fast model never floods the main loop. */
static void
refresh (WeftTrainPage *self)
{
  WeftProgress p;

  if (self->trainer == NULL)
    return;

  weft_trainer_get_progress (self->trainer, &p);
  if (p.steps_per_epoch > 0)
    self->steps_per_epoch = p.steps_per_epoch;
  double spe = MAX (1, self->steps_per_epoch);
  update_progress (self, &p);

  g_autoptr(GArray) losses = weft_trainer_dup_step_losses (self->trainer, self->n_steps_seen);
  if (losses->len > 0)
    {
      g_autofree double *x = g_new (double, losses->len);
      g_autofree double *y = g_new (double, losses->len);
      g_autofree double *s = g_new (double, losses->len);
      for (guint i = 0; i < losses->len; i++)
        {
          double v = g_array_index (losses, float, i);
          x[i] = (self->n_steps_seen + i + 1) / spe;
          y[i] = v;
          self->ema = isnan (self->ema) ? v : SMOOTHING * self->ema + (1 - SMOOTHING) * v;
          s[i] = self->ema;
        }
      weft_plot_append_many (self->loss_plot, LOSS_RAW, x, y, losses->len);
      weft_plot_append_many (self->loss_plot, LOSS_SMOOTH, x, s, losses->len);
      self->n_steps_seen += losses->len;
    }

  g_autoptr(GArray) lrs = weft_trainer_dup_step_lrs (self->trainer, self->n_lrs_seen);
  if (lrs->len > 0)
    {
      g_autofree double *x = g_new (double, lrs->len);
      g_autofree double *y = g_new (double, lrs->len);
      for (guint i = 0; i < lrs->len; i++)
        {
          x[i] = (self->n_lrs_seen + i + 1) / spe;
          y[i] = g_array_index (lrs, float, i);
        }
      weft_plot_append_many (self->lr_plot, 0, x, y, lrs->len);
      self->n_lrs_seen += lrs->len;
    }

  g_autoptr(GArray) grads = weft_trainer_dup_grad_norms (self->trainer, self->n_grads_seen);
  if (grads->len > 0)
    {
      static const int modality[GRAD_N] = { WEFT_MODALITY_IMAGE, WEFT_MODALITY_TEXT, WEFT_MODALITY_AUDIO, -1 };
      g_autofree double *x = g_new (double, grads->len);
      g_autofree double *y = g_new (double, grads->len);
      for (guint i = 0; i < grads->len; i++)
        x[i] = g_array_index (grads, WeftGradNorms, i).step / spe;
      for (guint k = 0; k < GRAD_N; k++)
        {
          guint n = 0;
          for (guint i = 0; i < grads->len; i++)
            {
              const WeftGradNorms *gn = &g_array_index (grads, WeftGradNorms, i);
              double v = modality[k] < 0 ? gn->rest : gn->branch[modality[k]];
              if (isfinite (v))
                {
                  x[n] = gn->step / spe;
                  y[n++] = v;
                }
            }
          weft_plot_append_many (self->grad_plot, k, x, y, n);
        }
      self->n_grads_seen += grads->len;
    }

  if (gtk_widget_get_visible (GTK_WIDGET (self->heatmap)))
    {
      WeftSimilarity sim;
      if (weft_trainer_get_similarity (self->trainer, &sim) && sim.step != self->sim_step)
        {
          self->sim_step = sim.step;
          weft_heatmap_set_matrix (self->heatmap, sim.value, sim.n, WEFT_SIMILARITY_MAX, sim.a, sim.b);
        }
    }

  g_autoptr(GArray) history = weft_trainer_dup_history (self->trainer);
  if (history->len > self->n_epochs_seen)
    {
      JsonArray *epochs = json_object_get_array_member (self->run, "epochs");
      for (guint i = self->n_epochs_seen; i < history->len; i++)
        {
          const WeftEpochMetrics *m = &g_array_index (history, WeftEpochMetrics, i);
          add_epoch_points (self, m);
          json_array_add_object_element (epochs, weft_epoch_metrics_to_json (m));
        }
      self->n_epochs_seen = history->len;
      /* The record is rewritten after every epoch, so a crash or a closed
       * window still leaves the curves so far in the project. */
      int idx = find_run (self->project, self->run_id);
      if (idx >= 0)
        weft_project_replace_run (self->project, idx, self->run);
      rebuild_runs (self);
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.pause", p.state == WEFT_TRAIN_RUNNING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.resume", p.state == WEFT_TRAIN_PAUSED);
  gtk_widget_set_visible (self->pause_button, p.state != WEFT_TRAIN_PAUSED);
  gtk_widget_set_visible (self->resume_button, p.state == WEFT_TRAIN_PAUSED);
  weft_progress_clear (&p);
}

static gboolean
refresh_cb (gpointer data)
{
  refresh (WEFT_TRAIN_PAGE (data));
  return G_SOURCE_CONTINUE;
}

/* ---- training ---- */

static void write_frame_stats (WeftTrainPage *self);

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Per-epoch embeddings of a fixed subset of rows, for the Explore page's
 * timeline: written by the trainer's epoch hook on the worker thread. */
#define EMBED_ROWS 2000

typedef struct {
  char *dir;
  int *rows;
  int n, epochs;
} EmbedHook;

static void
embed_hook_free (gpointer data)
{
  EmbedHook *h = data;

  g_free (h->dir);
  g_free (h->rows);
  g_free (h);
}

static void
embed_hook (WeftTrainer *trainer, WeftGraph *graph, const WeftFeatures *features,
            int epoch, gpointer data)
{
  EmbedHook *h = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftEmbedding) e = weft_embed_compute (graph, features, h->rows, h->n,
                                                   NULL, NULL, NULL, &error);

  /* A model without an embedding (a plain classifier may still have one;
   * an autoencoder's may be missing) simply has no timeline. */
  if (e == NULL)
    return;
  g_autofree char *path = weft_embedding_file_name (h->dir, epoch);
  if (!weft_embedding_save (e, path, &error))
    g_warning ("%s", error->message);
}

/* final.emb is the last good epoch's file: the weights the run keeps. */
static void
write_final_embedding (const char *dir, int epochs_done)
{
  g_autofree char *last = weft_embedding_file_name (dir, epochs_done);
  g_autofree char *final = weft_embedding_file_name (dir, 0);
  g_autofree char *data = NULL;
  gsize len;

  if (epochs_done > 0 && g_file_get_contents (last, &data, &len, NULL))
    g_file_set_contents (final, data, len, NULL);
}

static void
write_step_losses (WeftTrainPage *self, const char *run_dir)
{
  g_autoptr(GArray) losses = weft_trainer_dup_step_losses (self->trainer, 0);
  g_autoptr(GString) csv = g_string_new ("step,loss\n");
  g_autofree char *path = g_build_filename (run_dir, "steps.csv", NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < losses->len; i++)
    g_string_append_printf (csv, "%u,%.6g\n", i + 1, g_array_index (losses, float, i));
  if (!g_file_set_contents (path, csv->str, csv->len, &error))
    g_warning ("%s", error->message);
}

/* tests/bench/ui-train: the training speed as weft-cli reports it (median
 * samples/s over epochs 2.., the first warms caches), then quit. */
static void
bench_report (WeftTrainPage *self)
{
  g_autoptr(GArray) h = weft_trainer_dup_history (self->trainer);
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = h->len > 1 ? 1 : 0; i < h->len; i++)
    g_array_append_val (v, g_array_index (h, WeftEpochMetrics, i).samples_per_s);
  g_array_sort (v, compare_doubles);
  double median = v->len == 0 ? 0 : v->len % 2 ? g_array_index (v, double, v->len / 2) :
    0.5 * (g_array_index (v, double, v->len / 2 - 1) + g_array_index (v, double, v->len / 2));
  g_print ("bench: epochs=%u samples_per_s=%.1f\n", h->len, median);
  write_frame_stats (self);
  g_application_quit (g_application_get_default ());
}

static void
finish_run (WeftTrainPage *self)
{
  WeftProgress p;
  g_autofree char *finished = now_iso8601 ();
  static const char *const states[] = {
    [WEFT_TRAIN_IDLE] = "stopped", [WEFT_TRAIN_RUNNING] = "stopped",
    [WEFT_TRAIN_PAUSED] = "stopped", [WEFT_TRAIN_FINISHED] = "finished",
    [WEFT_TRAIN_STOPPED] = "stopped", [WEFT_TRAIN_FAILED] = "failed",
  };

  weft_trainer_join (self->trainer);
  refresh (self);
  weft_trainer_get_progress (self->trainer, &p);

  json_object_set_string_member (self->run, "finished", finished);
  json_object_set_string_member (self->run, "state", states[p.state]);
  if (p.message)
    json_object_set_string_member (self->run, "message", p.message);

  JsonObject *final = json_object_new ();
  if (p.epochs_done > 0)
    {
      set_double_member (final, "accuracy", p.last.val_accuracy);
      set_double_member (final, "recall1", p.last.val_recall1);
      set_double_member (final, "recall5", p.last.val_recall5);
      set_double_member (final, "val_loss", p.last.val_loss);
      set_double_member (final, "train_loss", p.last.train_loss);
    }
  json_object_set_int_member (final, "parameters", weft_graph_param_count (self->graph));
  json_object_set_double_member (final, "seconds", p.elapsed);
  json_object_set_int_member (final, "epochs_done", p.epochs_done);
  json_object_set_object_member (self->run, "final", final);
  /* Without one good epoch there are no weights worth pointing at. */
  if (p.epochs_done == 0)
    json_object_remove_member (self->run, "checkpoint");

  g_autofree char *run_dir = weft_project_dup_run_dir (self->run_id, NULL);
  if (run_dir != NULL)
    {
      g_autofree char *emb = g_build_filename (run_dir, "embeddings", NULL);
      write_step_losses (self, run_dir);
      write_final_embedding (emb, p.epochs_done);
    }

  int idx = find_run (self->project, self->run_id);
  if (idx >= 0)
    weft_project_replace_run (self->project, idx, self->run);

  if (p.state == WEFT_TRAIN_FAILED)
    show_banner (self, "dialog-error-symbolic", p.message ? p.message : _("Training failed."), TRUE);
  else if (p.state == WEFT_TRAIN_STOPPED)
    show_banner (self, "dialog-information-symbolic", p.message ? p.message : _("Training stopped."), FALSE);
  {
    g_autofree char *took = format_seconds (p.elapsed);
    g_autofree char *text = g_strdup_printf (p.state == WEFT_TRAIN_FINISHED ?
                                             _("Finished %d epochs in %s") :
                                             p.state == WEFT_TRAIN_FAILED ?
                                             _("Failed after %d epochs (%s)") :
                                             _("Stopped after %d epochs (%s)"),
                                             p.epochs_done, took);
    gtk_label_set_text (self->status_label, text);
  }
  weft_progress_clear (&p);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (g_getenv ("WEFT_BENCH_TRAIN") != NULL)
    bench_report (self);
  /* A "finished" idle may still be queued (finish_run also runs from
   * dispose and set_project): it must not reach this page. */
  g_signal_handlers_disconnect_by_data (self->trainer, self);
  g_clear_object (&self->trainer);
  g_clear_pointer (&self->graph, weft_graph_free);
  g_clear_pointer (&self->run_features, weft_features_free);
  g_clear_pointer (&self->run, json_object_unref);
  g_clear_pointer (&self->run_id, g_free);
  rebuild_runs (self);
  update_state (self);
}

static void
trainer_finished_cb (WeftTrainer *trainer, WeftTrainPage *self)
{
  if (trainer == self->trainer)
    finish_run (self);
}

static gboolean
start_training (WeftTrainPage *self, GError **error)
{
  const WeftSpec *spec = weft_project_get_model (self->project);
  WeftTrainConfig c;
  WeftBinding b;
  g_autofree char *run_dir = NULL, *base_dir = NULL;
  g_autofree char *started = now_iso8601 ();
  JsonObject *features_json;
  int n_val;

  g_return_val_if_fail (self->trainer == NULL, FALSE);

  if (spec == NULL || self->features == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_TRAIN,
                   _("Open a dataset and choose a model before training."));
      return FALSE;
    }

  settings_from_widgets (self, &c);
  self->run_id = weft_project_new_run_id ();
  run_dir = weft_project_dup_run_dir (self->run_id, error);
  if (run_dir == NULL)
    goto fail;
  c.checkpoint_path = g_build_filename (run_dir, "model.safetensors", NULL);
  features_json = weft_project_get_features (self->project);
  g_clear_pointer (&c.features, json_object_unref);
  c.features = features_json ? json_object_ref (features_json) : NULL;

  /* The run keeps its own reference: refeaturising cannot pull these
   * features from under the worker. */
  self->run_features = weft_features_ref (self->features);
  g_free (weft_features_split_rows (self->run_features, WEFT_SPLIT_VALIDATION, &n_val));
  if (n_val == 0 && c.val_share > 0)
    weft_features_carve_validation (self->run_features, c.val_share, c.seed);

  weft_features_get_binding (self->run_features, &b);
  self->graph = weft_graph_compile (spec, &b, error);
  if (self->graph == NULL)
    goto fail;
  weft_graph_allocate (self->graph, c.batch_size, c.seed);
  if (weft_project_get_file (self->project) != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (weft_project_get_file (self->project));
      base_dir = g_file_get_path (parent);
    }
  else
    base_dir = g_strdup (weft_project_get_dataset (self->project));
  if (!weft_checkpoint_load_transfers (self->graph, base_dir, error))
    goto fail;

  self->trainer = weft_trainer_new (self->graph, self->run_features, &c);
  {
    EmbedHook *h = g_new0 (EmbedHook, 1);
    h->dir = g_build_filename (run_dir, "embeddings", NULL);
    h->rows = weft_embed_sample_rows (self->run_features, EMBED_ROWS, c.seed, &h->n);
    h->epochs = c.epochs;
    weft_trainer_set_epoch_hook (self->trainer, embed_hook, h, embed_hook_free);
  }
  g_signal_connect (self->trainer, "finished", G_CALLBACK (trainer_finished_cb), self);
  if (!weft_trainer_start (self->trainer, error))
    goto fail;

  /* The run record, kept in the project from the first step on. */
  self->run = json_object_new ();
  json_object_set_string_member (self->run, "id", self->run_id);
  if (spec->name)
    json_object_set_string_member (self->run, "template", spec->name);
  else
    json_object_set_null_member (self->run, "template");
  json_object_set_string_member (self->run, "started", started);
  json_object_set_string_member (self->run, "state", "running");
  {
    g_autoptr(JsonObject) settings = weft_train_config_to_json (&c);
    json_object_remove_member (settings, "checkpoint_path");
    json_object_set_object_member (self->run, "settings", json_object_ref (settings));
  }
  json_object_set_member (self->run, "model", weft_spec_to_json (spec));
  json_object_set_array_member (self->run, "epochs", json_array_new ());
  json_object_set_string_member (self->run, "checkpoint", c.checkpoint_path);
  {
    g_autofree char *emb = g_build_filename (run_dir, "embeddings", NULL);
    json_object_set_string_member (self->run, "embeddings", emb);
  }
  json_object_set_int_member (self->run, "parameters", weft_graph_param_count (self->graph));
  weft_project_add_run (self->project, self->run);

  gtk_widget_set_visible (GTK_WIDGET (self->heatmap), weft_trainer_has_similarity (self->trainer));
  gtk_widget_set_visible (GTK_WIDGET (self->metric_plot), TRUE);
  weft_plot_set_title (self->metric_plot, spec_has_classifier (spec) ?
                       _("Validation Accuracy") : _("Validation Recall"));
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  setup_plots (self);
  update_overlays (self);
  self->steps_per_epoch = 0;
  self->refresh_id = g_timeout_add (100, refresh_cb, self);
  weft_train_config_clear (&c);
  rebuild_runs (self);
  update_state (self);
  return TRUE;

fail:
  weft_train_config_clear (&c);
  g_clear_object (&self->trainer);
  g_clear_pointer (&self->graph, weft_graph_free);
  g_clear_pointer (&self->run_features, weft_features_free);
  g_clear_pointer (&self->run_id, g_free);
  return FALSE;
}

/* ---- actions ---- */

static void
train_start (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  g_autoptr(GError) error = NULL;

  if (self->trainer != NULL)
    return;
  if (!start_training (self, &error))
    show_banner (self, "dialog-error-symbolic", error->message, TRUE);
}

static void
train_pause (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);

  if (self->trainer == NULL)
    return;
  weft_trainer_pause (self->trainer);
  gtk_widget_set_visible (self->pause_button, FALSE);
  gtk_widget_set_visible (self->resume_button, TRUE);
  gtk_widget_action_set_enabled (widget, "train.pause", FALSE);
  gtk_widget_action_set_enabled (widget, "train.resume", TRUE);
}

static void
train_resume (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);

  if (self->trainer == NULL)
    return;
  weft_trainer_resume (self->trainer);
  gtk_widget_set_visible (self->pause_button, TRUE);
  gtk_widget_set_visible (self->resume_button, FALSE);
  gtk_widget_action_set_enabled (widget, "train.pause", TRUE);
  gtk_widget_action_set_enabled (widget, "train.resume", FALSE);
}

/* One shortcut (Ctrl+P) for both. */
static void
train_toggle_pause (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);

  if (self->trainer == NULL)
    return;
  if (gtk_widget_get_visible (self->resume_button))
    train_resume (widget, NULL, NULL);
  else
    train_pause (widget, NULL, NULL);
}

static void
train_stop (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);

  if (self->trainer == NULL)
    return;
  gtk_label_set_text (self->status_label, _("Stopping…"));
  weft_trainer_stop (self->trainer);
}

static void
dismiss_banner (GtkWidget *widget, const char *action_name, GVariant *param)
{
  gtk_revealer_set_reveal_child (WEFT_TRAIN_PAGE (widget)->banner_revealer, FALSE);
}

static void
use_template (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  guint i = gtk_drop_down_get_selected (self->template_dropdown);
  g_autoptr(GError) error = NULL;

  if (self->project == NULL || self->template_names == NULL || i >= g_strv_length (self->template_names))
    return;
  g_autofree char *file = g_strconcat (self->template_names[i], ".json", NULL);
  g_autofree char *path = g_build_filename (WEFT_SOURCE_DIR, "data", "models", file, NULL);
  g_autoptr(WeftSpec) spec = weft_spec_load (path, &error);
  if (spec == NULL)
    {
      show_banner (self, "dialog-error-symbolic", error->message, TRUE);
      return;
    }
  weft_project_set_model (self->project, spec);
  reset_settings (widget, NULL, NULL);
  update_state (self);
}

/* ---- CSV ---- */

static void
csv_value (GString *s, JsonObject *o, const char *name)
{
  double v = weft_json_get_double (o, name);

  g_string_append_c (s, ',');
  if (isfinite (v))
    g_string_append_printf (s, "%.6g", v);
}

static char *
runs_to_csv (WeftProject *project)
{
  static const char *const cols[] = { "train_loss", "val_loss", "val_accuracy", "val_recall1",
                                      "val_recall5", "samples_per_s", "seconds", "lr" };
  GString *s = g_string_new ("run,template,epoch");
  guint n = weft_project_get_n_runs (project);

  for (guint k = 0; k < G_N_ELEMENTS (cols); k++)
    g_string_append_printf (s, ",%s", cols[k]);
  g_string_append_c (s, '\n');
  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = weft_project_get_run (project, i);
      JsonArray *epochs = json_object_get_array_member (r, "epochs");
      for (guint j = 0; epochs && j < json_array_get_length (epochs); j++)
        {
          JsonObject *e = json_array_get_object_element (epochs, j);
          g_string_append_printf (s, "%s,%s,%d",
                                  json_object_get_string_member_with_default (r, "id", ""),
                                  json_object_get_string_member_with_default (r, "template", ""),
                                  (int) weft_json_get_double (e, "epoch"));
          for (guint k = 0; k < G_N_ELEMENTS (cols); k++)
            csv_value (s, e, cols[k]);
          g_string_append_c (s, '\n');
        }
    }
  return g_string_free (s, FALSE);
}

static gboolean
write_csv (WeftProject *project, const char *path, GError **error)
{
  g_autofree char *csv = runs_to_csv (project);

  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents (path, csv, -1, error);
}

static void
csv_response_cb (GtkNativeDialog *dialog, int response, WeftTrainPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->project != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;
      if (path && !write_csv (self->project, path, &error))
        show_banner (self, "dialog-error-symbolic", error->message, TRUE);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
export_csv (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  const char *test_dir = g_getenv ("WEFT_TEST_EXPORT_DIR");

  if (self->project == NULL)
    return;
  if (test_dir != NULL)
    {
      g_autofree char *path = g_build_filename (test_dir, "metrics.csv", NULL);
      g_autoptr(GError) error = NULL;
      if (!write_csv (self->project, path, &error))
        show_banner (self, "dialog-error-symbolic", error->message, TRUE);
      return;
    }
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (_("Export Metrics"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "metrics.csv");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (csv_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- compare ---- */

static void
compare_done_cb (WeftCompareDialog *dialog, WeftTrainPage *self)
{
  rebuild_runs (self);
  show_latest_run (self);
}

static void
train_compare (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  WeftTrainConfig c;
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->project == NULL || self->features == NULL || self->trainer != NULL)
    return;
  settings_from_widgets (self, &c);
  WeftCompareDialog *dialog = weft_compare_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                       self->project, self->features, &c);
  g_signal_connect_object (dialog, "runs-added", G_CALLBACK (compare_done_cb), self, 0);
  g_signal_connect_object (dialog, "notify::running", G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
  g_set_weak_pointer (&self->compare_dialog, dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  weft_train_config_clear (&c);
}

/* ---- runs table ---- */

static WeftRunItem *
selected_run (WeftTrainPage *self)
{
  return gtk_single_selection_get_selected_item (self->runs_selection);
}

static void
update_delete_action (WeftTrainPage *self)
{
  WeftRunItem *item = selected_run (self);

  /* The worker writes the running run's record and folder: it stays. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.delete-run",
                                 self->project != NULL && item != NULL &&
                                 !weft_run_item_get_running (item) &&
                                 g_strcmp0 (weft_run_item_get_id (item), self->run_id) != 0);
}

static void
overlay_toggled_cb (GtkSwitch *check, GParamSpec *pspec, WeftTrainPage *self)
{
  GtkListItem *list_item = g_object_get_data (G_OBJECT (check), "list-item");
  WeftRunItem *item = gtk_list_item_get_item (list_item);

  if (item == NULL)
    return;
  if (gtk_switch_get_active (check))
    g_hash_table_add (self->overlay, g_strdup (weft_run_item_get_id (item)));
  else
    g_hash_table_remove (self->overlay, weft_run_item_get_id (item));
  update_overlays (self);
}

static void
setup_overlay_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, WeftTrainPage *self)
{
  GtkWidget *check = gtk_switch_new ();

  gtk_widget_set_halign (check, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (check, _("Overlay this run's curves"));
  g_object_set_data (G_OBJECT (check), "list-item", list_item);
  g_signal_connect (check, "notify::active", G_CALLBACK (overlay_toggled_cb), self);
  gtk_list_item_set_child (list_item, check);
}

static void
bind_overlay_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, WeftTrainPage *self)
{
  WeftRunItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *check = gtk_list_item_get_child (list_item);
  g_autofree char *a11y = g_strdup_printf (_("Overlay run %s"), weft_run_item_get_title (item));

  g_signal_handlers_block_by_func (check, overlay_toggled_cb, self);
  gtk_switch_set_active (GTK_SWITCH (check), g_hash_table_contains (self->overlay, weft_run_item_get_id (item)));
  g_signal_handlers_unblock_by_func (check, overlay_toggled_cb, self);
  gtk_widget_set_sensitive (check, !weft_run_item_get_running (item));
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
}

static void
setup_text_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  int col = GPOINTER_TO_INT (data);
  GtkWidget *label = gtk_label_new (NULL);
  gboolean numeric = col == COL_BEST || col == COL_PARAMS || col == COL_DURATION;

  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1 : 0);
  /* Template names are short: a column as wide as the longest one beats
   * "image-o…"; only a custom model's long name may be cut. */
  if (col == COL_TEMPLATE)
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 12);
    }
  if (numeric || col == COL_STARTED)
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
bind_text_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  WeftRunItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  g_autofree char *text = NULL;
  double v;
  gboolean recall;

  gtk_widget_remove_css_class (label, "error");
  gtk_widget_remove_css_class (label, "accent");
  gtk_widget_set_tooltip_text (label, NULL);
  switch (GPOINTER_TO_INT (data))
    {
    case COL_TEMPLATE:
      text = g_strdup (weft_run_item_get_template (item));
      gtk_widget_set_tooltip_text (label, weft_run_item_get_title (item));
      break;
    case COL_STATE:
      text = g_strdup (weft_run_item_get_state (item));
      if (weft_run_item_get_running (item))
        gtk_widget_add_css_class (label, "accent");
      else if (g_str_equal (text, _("failed")))
        gtk_widget_add_css_class (label, "error");
      break;
    case COL_STARTED:
      /* The title's date and time, to the second. */
      text = g_strdup (weft_run_item_get_title (item) + strlen (weft_run_item_get_template (item)) + strlen (" · "));
      break;
    case COL_BEST:
      v = weft_run_item_get_best (item, &recall);
      text = !isfinite (v) ? g_strdup ("–") :
             recall ? g_strdup_printf (_("%.3f (R@1)"), v) : g_strdup_printf ("%.3f", v);
      if (isfinite (v))
        gtk_widget_set_tooltip_text (label, recall ? _("Best validation Recall@1") :
                                                     _("Best validation accuracy"));
      break;
    case COL_PARAMS:
      v = weft_run_item_get_parameters (item);
      text = !isfinite (v) ? g_strdup ("–") :
             v >= 1e6 ? g_strdup_printf (_("%.2fM"), v / 1e6) : g_strdup_printf (_("%.1fk"), v / 1e3);
      break;
    case COL_DURATION:
      v = weft_run_item_get_seconds (item);
      /* One epoch on a sample set is quicker than "0 s" suggests. */
      text = isfinite (v) && v < 1 ? g_strdup (_("< 1 s")) : format_seconds (v);
      break;
    default:
      g_assert_not_reached ();
    }
  gtk_label_set_text (GTK_LABEL (label), text);
}

/* NaN (no value) sorts after every number, whichever way. */
static int
compare_numbers (double a, double b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) - isnan (b);
  return (a > b) - (a < b);
}

static int
compare_runs (gconstpointer pa, gconstpointer pb, gpointer data)
{
  WeftRunItem *a = (WeftRunItem *) pa, *b = (WeftRunItem *) pb;
  int c = 0;

  switch (GPOINTER_TO_INT (data))
    {
    case COL_TEMPLATE:
      c = g_utf8_collate (weft_run_item_get_template (a), weft_run_item_get_template (b));
      break;
    case COL_STATE:
      c = g_utf8_collate (weft_run_item_get_state (a), weft_run_item_get_state (b));
      break;
    case COL_BEST:
      c = compare_numbers (weft_run_item_get_best (a, NULL), weft_run_item_get_best (b, NULL));
      break;
    case COL_PARAMS:
      c = compare_numbers (weft_run_item_get_parameters (a), weft_run_item_get_parameters (b));
      break;
    case COL_DURATION:
      c = compare_numbers (weft_run_item_get_seconds (a), weft_run_item_get_seconds (b));
      break;
    default:
      break;
    }
  /* Ties (and the Started column) in start order. */
  if (c == 0)
    c = g_strcmp0 (weft_run_item_get_started (a), weft_run_item_get_started (b));
  return c < 0 ? GTK_ORDERING_SMALLER : c > 0 ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static void
add_column (WeftTrainPage *self, int col, const char *title, gboolean expand, int fixed_width)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  if (col == COL_OVERLAY)
    {
      g_signal_connect (factory, "setup", G_CALLBACK (setup_overlay_cb), self);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_overlay_cb), self);
    }
  else
    {
      g_signal_connect (factory, "setup", G_CALLBACK (setup_text_cb), GINT_TO_POINTER (col));
      g_signal_connect (factory, "bind", G_CALLBACK (bind_text_cb), GINT_TO_POINTER (col));
    }
  column = gtk_column_view_column_new (title, factory);
  if (col != COL_OVERLAY)
    {
      GtkSorter *sorter = GTK_SORTER (gtk_custom_sorter_new (compare_runs, GINT_TO_POINTER (col), NULL));
      gtk_column_view_column_set_sorter (column, sorter);
      g_object_unref (sorter);
    }
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_column_set_resizable (column, col != COL_OVERLAY);
  if (fixed_width > 0)
    gtk_column_view_column_set_fixed_width (column, fixed_width);
  gtk_column_view_append_column (self->runs_view, column);
  g_object_unref (column);
}

/* After a click on a heading, the first rows of the new order are what a
 * person wants to see, wherever the table was scrolled to. In an idle: the
 * view first follows the row it was anchored on to its new place. */
static gboolean
scroll_runs_to_top (gpointer data)
{
  WeftTrainPage *self = data;
  GtkAdjustment *adj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->runs_view));

  self->scroll_id = 0;
  if (adj != NULL)
    gtk_adjustment_set_value (adj, gtk_adjustment_get_lower (adj));
  /* The rows are a list view inside the column view; its scroll-to-item
   * moves the anchor too, which a bare adjustment change may not. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->runs_view));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_VIEW (child) && g_list_model_get_n_items (G_LIST_MODEL (self->runs_selection)) > 0)
      gtk_widget_activate_action (child, "list.scroll-to-item", "u", 0);
  return G_SOURCE_REMOVE;
}

static void
runs_sorted_cb (WeftTrainPage *self)
{
  /* The sorter also changes while the view is being taken down. */
  if (self->runs_view != NULL && self->scroll_id == 0 && !gtk_widget_in_destruction (GTK_WIDGET (self)))
    self->scroll_id = g_idle_add (scroll_runs_to_top, self);
}

static void
setup_runs_view (WeftTrainPage *self)
{
  GtkSortListModel *sorted;
  GtkEventController *keys;

  add_column (self, COL_OVERLAY, _("Overlay"), FALSE, -1);
  add_column (self, COL_TEMPLATE, _("Template"), TRUE, -1);
  add_column (self, COL_STATE, _("State"), FALSE, -1);
  add_column (self, COL_STARTED, _("Started"), FALSE, -1);
  add_column (self, COL_BEST, _("Best"), FALSE, -1);
  add_column (self, COL_PARAMS, _("Params"), FALSE, -1);
  add_column (self, COL_DURATION, _("Duration"), FALSE, -1);

  /* The store is newest first, the order shown until a heading is clicked. */
  self->runs_store = g_list_store_new (WEFT_TYPE_RUN_ITEM);
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->runs_store)),
                                    g_object_ref (gtk_column_view_get_sorter (self->runs_view)));
  self->runs_selection = gtk_single_selection_new (G_LIST_MODEL (sorted));
  gtk_single_selection_set_autoselect (self->runs_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->runs_selection, TRUE);
  gtk_column_view_set_model (self->runs_view, GTK_SELECTION_MODEL (self->runs_selection));
  g_signal_connect_swapped (self->runs_selection, "notify::selected",
                            G_CALLBACK (update_delete_action), self);
  g_signal_connect_object (gtk_column_view_get_sorter (self->runs_view), "changed",
                           G_CALLBACK (runs_sorted_cb), self, G_CONNECT_SWAPPED);

  keys = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Delete, 0),
                                                          gtk_named_action_new ("train.delete-run")));
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_KP_Delete, 0),
                                                          gtk_named_action_new ("train.delete-run")));
  gtk_widget_add_controller (GTK_WIDGET (self->runs_view), keys);
}

static void
rebuild_runs (WeftTrainPage *self)
{
  guint n = self->project ? weft_project_get_n_runs (self->project) : 0;
  WeftRunItem *sel = selected_run (self);
  g_autofree char *selected_id = sel ? g_strdup (weft_run_item_get_id (sel)) : NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *shown = G_LIST_MODEL (self->runs_selection);
  guint select = GTK_INVALID_LIST_POSITION;

  self->n_runs_shown = n;
  /* Newest first: that is the one a person just started. */
  for (guint k = n; k-- > 0;)
    {
      JsonObject *r = weft_project_get_run (self->project, k);
      const char *id = json_object_get_string_member_with_default (r, "id", "");
      g_ptr_array_add (items, weft_run_item_new (r, g_strcmp0 (id, self->run_id) == 0));
    }
  g_list_store_splice (self->runs_store, 0, g_list_model_get_n_items (G_LIST_MODEL (self->runs_store)),
                       items->pdata, items->len);
  gtk_stack_set_visible_child_name (self->runs_stack, n > 0 ? "table" : "empty");

  /* A new epoch rewrites every row: the selection stays on its run. */
  for (guint i = 0; selected_id && i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr(WeftRunItem) item = g_list_model_get_item (shown, i);
      if (g_str_equal (weft_run_item_get_id (item), selected_id))
        select = i;
    }
  gtk_single_selection_set_selected (self->runs_selection, select);

  g_autofree char *desc = g_strdup_printf (ngettext ("%u run", "%u runs", n), n);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->runs_view), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  desc, -1);
  update_delete_action (self);
}

/* ---- deleting a run ---- */

static void
pending_delete_free (PendingDelete *p)
{
  json_object_unref (p->run);
  g_free (p->id);
  g_clear_object (&p->toast);
  g_free (p);
}

static void
delete_dir_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (weft_project_delete_run_dir (data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
delete_dir_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("%s", error->message);
}

/* The deletion can no longer be undone: the run's files go too, on a
 * worker (a run folder holds an embedding file per epoch). */
static void
finalize_delete (WeftTrainPage *self)
{
  PendingDelete *p = g_steal_pointer (&self->pending);
  AdwToast *toast;
  GTask *task;

  if (p == NULL)
    return;
  toast = p->toast ? g_object_ref (p->toast) : NULL;
  task = g_task_new (NULL, NULL, delete_dir_done, NULL);
  g_task_set_task_data (task, g_strdup (p->id), g_free);
  g_task_run_in_thread (task, delete_dir_thread);
  g_object_unref (task);
  pending_delete_free (p);
  /* Saved, or another run deleted: the old "Undo" no longer applies. */
  if (toast != NULL)
    {
      adw_toast_dismiss (toast);
      g_object_unref (toast);
    }
}

static void
undo_delete_cb (AdwToast *toast, WeftTrainPage *self)
{
  PendingDelete *p = self->pending;

  if (p == NULL || p->toast != toast || self->project == NULL)
    return;
  self->pending = NULL;
  weft_project_insert_run (self->project, MIN (p->index, weft_project_get_n_runs (self->project)), p->run);
  pending_delete_free (p);
  rebuild_runs (self);
  update_overlays (self);
}

static void
toast_dismissed_cb (AdwToast *toast, WeftTrainPage *self)
{
  if (self->pending != NULL && self->pending->toast == toast)
    finalize_delete (self);
}

static void
project_modified_cb (WeftTrainPage *self)
{
  if (self->pending != NULL && !weft_project_get_modified (self->project))
    finalize_delete (self);
}

static void
delete_run_now (WeftTrainPage *self, const char *id)
{
  int idx = self->project ? find_run (self->project, id) : -1;
  GtkWidget *overlay;
  PendingDelete *p;

  if (idx < 0 || g_strcmp0 (id, self->run_id) == 0)
    return;
  finalize_delete (self);

  p = g_new0 (PendingDelete, 1);
  p->run = json_object_ref (weft_project_get_run (self->project, idx));
  p->id = g_strdup (id);
  p->index = idx;
  self->pending = p;
  g_hash_table_remove (self->overlay, id);
  weft_project_remove_run (self->project, idx);
  rebuild_runs (self);
  update_overlays (self);

  overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (overlay == NULL)
    {
      finalize_delete (self);
      return;
    }
  g_autoptr(WeftRunItem) item = weft_run_item_new (p->run, FALSE);
  g_autofree char *title = g_strdup_printf (_("Deleted run “%s”"), weft_run_item_get_title (item));
  p->toast = adw_toast_new (title);
  adw_toast_set_button_label (p->toast, _("_Undo"));
  adw_toast_set_priority (p->toast, ADW_TOAST_PRIORITY_HIGH);
  /* A little longer than a plain notice: time to read which run it was. */
  adw_toast_set_timeout (p->toast, 8);
  g_signal_connect_object (p->toast, "button-clicked", G_CALLBACK (undo_delete_cb), self, 0);
  g_signal_connect_object (p->toast, "dismissed", G_CALLBACK (toast_dismissed_cb), self, 0);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), g_object_ref (p->toast));
}

static void
delete_response_cb (AdwMessageDialog *dialog, const char *response, WeftTrainPage *self)
{
  if (g_str_equal (response, "delete"))
    delete_run_now (self, g_object_get_data (G_OBJECT (dialog), "run-id"));
}

static void
train_delete_run (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);
  WeftRunItem *item = selected_run (self);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog;

  if (item == NULL || weft_run_item_get_running (item))
    return;
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Delete Run?"), NULL);
  /* The window's title is what a screen reader announces. */
  gtk_window_set_title (GTK_WINDOW (dialog), _("Delete Run?"));
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” and its files (weights, embeddings) will be deleted. "
                                    "You can undo this until the notification goes away."),
                                  weft_run_item_get_title (item));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "run-id", g_strdup (weft_run_item_get_id (item)), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- state ---- */

static void
update_state (WeftTrainPage *self)
{
  const WeftSpec *spec = self->project ? weft_project_get_model (self->project) : NULL;
  guint n_runs = self->project ? weft_project_get_n_runs (self->project) : 0;
  gboolean training = self->trainer != NULL;
  gboolean comparing = self->compare_dialog != NULL && weft_compare_dialog_get_running (self->compare_dialog);
  gboolean can_train = spec != NULL && self->features != NULL && !training && !comparing;

  if (spec != NULL && (self->features != NULL || n_runs > 0 || training))
    gtk_stack_set_visible_child_name (self->stack, "train");
  else
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      if (self->features == NULL)
        {
          adw_status_page_set_description (self->empty_status,
            _("Training runs here, on your computer, while the loss and accuracy curves grow live; "
              "you can pause or stop it at any step. Open a dataset and build a model first."));
          gtk_widget_set_visible (self->empty_dataset_button, TRUE);
          gtk_widget_set_visible (self->template_box, FALSE);
        }
      else
        {
          adw_status_page_set_description (self->empty_status,
            _("The dataset is ready. Build a model on the Model page, or start from a template."));
          gtk_widget_set_visible (self->empty_dataset_button, FALSE);
          gtk_widget_set_visible (self->template_box, TRUE);
        }
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start", can_train);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.compare", self->features != NULL && !training && !comparing);
  /* Both would share the two cores and the project's runs: one at a time,
   * and the disabled button says why. */
  gtk_widget_set_tooltip_text (self->start_button, comparing ?
                               _("A Comparison Is Training; Wait for It or Cancel It to Start a Run") :
                               _("Start Training (Ctrl+Return)"));
  gtk_widget_set_tooltip_text (self->compare_button, training ?
                               _("A Run Is Training; Stop It to Compare Templates") :
                               _("Train Several Templates With the Same Settings (Ctrl+Shift+C)"));
  if (comparing && !training)
    gtk_label_set_text (self->status_label, _("A comparison is training"));
  else if (!comparing && g_str_equal (gtk_label_get_text (self->status_label), _("A comparison is training")))
    gtk_label_set_text (self->status_label, _("Ready"));
  update_delete_action (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.stop", training);
  if (!training)
    {
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.pause", FALSE);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.resume", FALSE);
      gtk_widget_set_visible (self->pause_button, TRUE);
      gtk_widget_set_visible (self->resume_button, FALSE);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->optimizer_row), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->schedule_row), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->lr_spin), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->batch_spin), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->epochs_spin), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->decay_spin), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->seed_spin), !training);
  gtk_widget_set_sensitive (GTK_WIDGET (self->val_spin), !training);
  if (!training && self->features == NULL && spec != NULL)
    gtk_label_set_text (self->status_label, _("Open the project's dataset to train"));
  else if (!training && g_str_equal (gtk_label_get_text (self->status_label),
                                     _("Open the project's dataset to train")))
    gtk_label_set_text (self->status_label, _("Ready"));
}

static void
project_changed_cb (WeftTrainPage *self)
{
  /* Runs added or removed elsewhere (the compare dialog, the CLI). */
  if (self->project && weft_project_get_n_runs (self->project) != self->n_runs_shown && self->trainer == NULL)
    {
      rebuild_runs (self);
      show_latest_run (self);
    }
  update_state (self);
}

static void
show_switch_cb (WeftTrainPage *self)
{
  weft_plot_set_series_visible (self->loss_plot, LOSS_RAW, gtk_switch_get_active (self->show_raw_switch));
  weft_plot_set_series_visible (self->loss_plot, LOSS_SMOOTH, gtk_switch_get_active (self->show_smooth_switch));
  weft_plot_set_series_visible (self->loss_plot, LOSS_VAL, gtk_switch_get_active (self->show_val_switch));
}

/* g_ptr_array_sort hands pointers to the elements. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static void
load_templates (WeftTrainPage *self)
{
  g_autofree char *dir = g_build_filename (WEFT_SOURCE_DIR, "data", "models", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strndup (name, strlen (name) - 5));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  self->template_names = (GStrv) g_ptr_array_steal (names, NULL);
  GtkStringList *model = gtk_string_list_new ((const char *const *) self->template_names);
  gtk_drop_down_set_model (self->template_dropdown, G_LIST_MODEL (model));
  g_object_unref (model);
  for (guint i = 0; self->template_names[i]; i++)
    if (g_str_equal (self->template_names[i], "late-fusion"))
      gtk_drop_down_set_selected (self->template_dropdown, i);
}

/* ---- frame timing (benchmark only) ---- */

static void
before_paint_cb (GdkFrameClock *clock, WeftTrainPage *self)
{
  self->frame_start = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *clock, WeftTrainPage *self)
{
  gint64 us = g_get_monotonic_time () - self->frame_start;

  if (self->frame_start > 0 && self->trainer != NULL)
    g_array_append_val (self->frame_us, us);
}

static void
weft_train_page_realize (GtkWidget *widget)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (widget);

  GTK_WIDGET_CLASS (weft_train_page_parent_class)->realize (widget);
  if (self->frame_us != NULL)
    {
      GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
      g_signal_connect_object (clock, "before-paint", G_CALLBACK (before_paint_cb), self, 0);
      g_signal_connect_object (clock, "after-paint", G_CALLBACK (after_paint_cb), self, 0);
    }
}

static void
write_frame_stats (WeftTrainPage *self)
{
  const char *path = g_getenv ("WEFT_FRAME_STATS");
  GString *s;

  if (path == NULL || self->frame_us == NULL)
    return;
  s = g_string_new (NULL);
  for (guint i = 0; i < self->frame_us->len; i++)
    g_string_append_printf (s, "%" G_GINT64_FORMAT "\n", g_array_index (self->frame_us, gint64, i));
  g_file_set_contents (path, s->str, s->len, NULL);
  g_string_free (s, TRUE);
}

/* ---- object ---- */

static void
weft_train_page_dispose (GObject *object)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (object);

  /* Closing the window mid-run: stop the worker at its next step and wait
   * for it, so it never outlives the graph and features it borrows. */
  if (self->trainer != NULL)
    {
      weft_trainer_stop (self->trainer);
      finish_run (self);
    }
  write_frame_stats (self);
  g_clear_pointer (&self->frame_us, g_array_unref);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_handle_id (&self->scroll_id, g_source_remove);
  if (self->project)
    g_signal_handlers_disconnect_by_data (self->project, self);
  g_clear_object (&self->project);
  g_clear_pointer (&self->features, weft_features_free);
  g_clear_pointer (&self->template_names, g_strfreev);
  g_clear_pointer (&self->overlay, g_hash_table_unref);
  /* A deletion still undoable when the window closes keeps its files: the
   * saved project may still name them. */
  g_clear_pointer (&self->pending, pending_delete_free);
  g_clear_weak_pointer (&self->compare_dialog);
  if (self->runs_view != NULL)
    gtk_column_view_set_model (self->runs_view, NULL);
  g_clear_object (&self->runs_selection);
  g_clear_object (&self->runs_store);
  /* The template's root is a bound child and AdwBin's child: let the
   * bin drop it first, or its dispose unparents it a second time. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_TRAIN_PAGE);

  G_OBJECT_CLASS (weft_train_page_parent_class)->dispose (object);
}

static void
weft_train_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (object);

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
weft_train_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  WeftTrainPage *self = WEFT_TRAIN_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      weft_train_page_set_project (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_train_page_class_init (WeftTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_train_page_dispose;
  object_class->get_property = weft_train_page_get_property;
  object_class->set_property = weft_train_page_set_property;
  widget_class->realize = weft_train_page_realize;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, WEFT_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (WEFT_TYPE_PLOT);
  g_type_ensure (WEFT_TYPE_HEATMAP);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-train-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, empty_dataset_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, template_box);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, template_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, optimizer_row);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, schedule_row);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, decay_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, val_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, show_raw_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, show_smooth_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, show_val_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, runs_view);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, runs_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, compare_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, pause_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, resume_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, banner_label);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, banner_icon);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, loss_plot);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, metric_plot);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, lr_plot);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, grad_plot);
  gtk_widget_class_bind_template_child (widget_class, WeftTrainPage, heatmap);

  gtk_widget_class_install_action (widget_class, "train.start", NULL, train_start);
  gtk_widget_class_install_action (widget_class, "train.pause", NULL, train_pause);
  gtk_widget_class_install_action (widget_class, "train.resume", NULL, train_resume);
  gtk_widget_class_install_action (widget_class, "train.toggle-pause", NULL, train_toggle_pause);
  gtk_widget_class_install_action (widget_class, "train.stop", NULL, train_stop);
  gtk_widget_class_install_action (widget_class, "train.compare", NULL, train_compare);
  gtk_widget_class_install_action (widget_class, "train.export-csv", NULL, export_csv);
  gtk_widget_class_install_action (widget_class, "train.delete-run", NULL, train_delete_run);
  gtk_widget_class_install_action (widget_class, "train.reset-settings", NULL, reset_settings);
  gtk_widget_class_install_action (widget_class, "train.dismiss-banner", NULL, dismiss_banner);
  gtk_widget_class_install_action (widget_class, "train.use-template", NULL, use_template);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "train.start", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "train.start", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, GDK_CONTROL_MASK, "train.toggle-pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "train.stop", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_C, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "train.compare", NULL);
}

static void
weft_train_page_init (WeftTrainPage *self)
{
  GtkSpinButton *spins[6];

  gtk_widget_init_template (GTK_WIDGET (self));

  self->overlay = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_getenv ("WEFT_FRAME_STATS") != NULL)
    self->frame_us = g_array_new (FALSE, FALSE, sizeof (gint64));

  spins[0] = self->lr_spin;
  spins[1] = self->batch_spin;
  spins[2] = self->epochs_spin;
  spins[3] = self->decay_spin;
  spins[4] = self->seed_spin;
  spins[5] = self->val_spin;
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    g_signal_connect_swapped (spins[i], "value-changed", G_CALLBACK (settings_changed_cb), self);
  g_signal_connect_swapped (self->schedule_row, "notify::selected", G_CALLBACK (settings_changed_cb), self);
  g_signal_connect_swapped (self->optimizer_row, "notify::selected", G_CALLBACK (optimizer_changed_cb), self);
  g_signal_connect_swapped (self->show_raw_switch, "notify::active", G_CALLBACK (show_switch_cb), self);
  g_signal_connect_swapped (self->show_smooth_switch, "notify::active", G_CALLBACK (show_switch_cb), self);
  g_signal_connect_swapped (self->show_val_switch, "notify::active", G_CALLBACK (show_switch_cb), self);

  weft_heatmap_set_title (self->heatmap, _("In-Batch Similarity (matching pairs on the diagonal)"));
  load_templates (self);
  setup_plots (self);
  setup_runs_view (self);
  rebuild_runs (self);
  update_state (self);
}

void
weft_train_page_set_project (WeftTrainPage *self,
                             WeftProject *project)
{
  g_return_if_fail (WEFT_IS_TRAIN_PAGE (self));
  g_return_if_fail (project == NULL || WEFT_IS_PROJECT (project));

  if (project == self->project)
    return;
  /* A run belongs to the project it started in. */
  if (self->trainer != NULL)
    {
      weft_trainer_stop (self->trainer);
      finish_run (self);
    }
  if (self->project)
    g_signal_handlers_disconnect_by_data (self->project, self);
  /* An undoable deletion belongs to the project it was made in. */
  g_clear_pointer (&self->pending, pending_delete_free);
  g_set_object (&self->project, project);
  if (project)
    {
      g_signal_connect_swapped (project, "changed", G_CALLBACK (project_changed_cb), self);
      g_signal_connect_swapped (project, "notify::modified", G_CALLBACK (project_modified_cb), self);
    }
  g_hash_table_remove_all (self->overlay);
  load_settings (self);
  rebuild_runs (self);
  show_latest_run (self);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

WeftProject *
weft_train_page_get_project (WeftTrainPage *self)
{
  g_return_val_if_fail (WEFT_IS_TRAIN_PAGE (self), NULL);

  return self->project;
}

void
weft_train_page_set_features (WeftTrainPage      *self,
                              WeftFeatures      *features,
                              const WeftDataset *dataset)
{
  g_return_if_fail (WEFT_IS_TRAIN_PAGE (self));

  if (features != NULL)
    weft_features_ref (features);
  g_clear_pointer (&self->features, weft_features_free);
  self->features = features;
  self->dataset = dataset;
  update_state (self);

  /* tests/bench/ui-train starts training as soon as the data is ready. */
  if (features != NULL && self->trainer == NULL && g_getenv ("WEFT_BENCH_TRAIN") != NULL)
    {
      g_autoptr(GError) error = NULL;
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-page", "s", "train");
      if (!start_training (self, &error))
        g_printerr ("bench: %s\n", error->message);
    }
}

WeftFeatures *
weft_train_page_get_features (WeftTrainPage *self)
{
  g_return_val_if_fail (WEFT_IS_TRAIN_PAGE (self), NULL);

  return self->features;
}
