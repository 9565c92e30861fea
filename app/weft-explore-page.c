/* weft-explore-page.c — the Explore page: the map of a run's joint embedding
 * space, its neighbours, search, evaluation, epoch timeline and exports. */

#include "weft-config.h"

#include <math.h>
#include <string.h>

#include <cairo-svg.h>
#include <glib/gi18n.h>

#include "embed/weft-knn.h"
#include "embed/weft-pca.h"
#include "embed/weft-tsne.h"
#include "export/weft-export-tsv.h"
#include "graph/weft-checkpoint.h"

#include "weft-eval-panel.h"
#include "weft-explore-page.h"
#include "weft-hover-card.h"
#include "weft-map-view.h"

#define WEFT_EXPLORE_MAX_ROWS      20000  /* samples embedded from a checkpoint */
#define WEFT_EXPLORE_N_NEIGHBOURS  5
#define WEFT_EXPLORE_MAX_LISTED    200    /* selection rows listed */
#define WEFT_EXPLORE_MAX_CORRECT   20000  /* points "correctness" is computed for */

typedef enum {
  COLOUR_LABEL,
  COLOUR_MODALITY,
  COLOUR_SPLIT,
  COLOUR_CORRECTNESS,
} WeftColourMode;

struct _WeftExplorePage
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkStack       *stack;
  AdwStatusPage  *empty_status;
  AdwStatusPage  *loading_status;
  GtkProgressBar *loading_progress;
  GtkDropDown    *run_dropdown;
  GtkDropDown    *projection_dropdown;
  GtkDropDown    *colour_dropdown;
  GtkButton      *stop_button;
  GtkLabel       *status_label;
  GtkToggleButton *lasso_button;
  GtkOverlay     *map_overlay;
  WeftMapView    *map;
  WeftHoverCard  *hover_card;
  GtkBox         *timeline_box;
  GtkScale       *timeline_scale;
  GtkAdjustment  *timeline_adjustment;
  GtkLabel       *timeline_label;
  GtkSearchEntry *search_entry;
  GtkStack       *side_stack;
  GtkListBox     *neighbour_list;
  GtkListBox     *selection_list;
  WeftEvalPanel  *eval_panel;

  /* Owned */
  WeftProject    *project;
  WeftFeatures   *features;
  GPtrArray      *run_ids;        /* char*, in drop-down order */
  char           *run_id;         /* the run shown */
  char           *embed_dir;
  char           *checkpoint;
  WeftEmbedding  *embedding;
  WeftEmbedPoint *points;         /* (n_points) which sample/space each map point is */
  int             n_points;
  int             dim;
  float          *vectors;        /* (n_points, dim) stacked */
  float          *xy;             /* (n_points, 2) the final map */
  int            *point_of;       /* (spaces, n) map point of a sample in a space, -1 */
  WeftTsne       *tsne;
  guint           tsne_serial;
  guint           tick_id;
  GCancellable   *cancellable;    /* embedding computation and t-SNE */
  double          compute_fraction;  /* written by the worker, read by the tick */
  GMutex          compute_lock;
  WeftGraph      *graph;          /* for queries, loaded on the first search */
  GArray         *epochs;         /* int */
  GHashTable     *epoch_maps;     /* epoch -> float* (n_points, 2), aligned */
  gulong          project_changed_id;

  /* Borrowed */
  const WeftDataset *dataset;
};

G_DEFINE_FINAL_TYPE (WeftExplorePage, weft_explore_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void weft_explore_page_refresh_runs (WeftExplorePage *self);
static void weft_explore_page_load_run (WeftExplorePage *self);

/* ---- Helpers ---- */

static const WeftSample *
weft_explore_page_sample (WeftExplorePage *self,
                          int              s)
{
  int idx;

  if (self->embedding == NULL || self->dataset == NULL || s < 0 || s >= self->embedding->n)
    return NULL;
  idx = self->embedding->sample_index ? self->embedding->sample_index[s] : -1;
  if (idx < 0 || idx >= (int) self->dataset->samples->len)
    return NULL;
  return g_ptr_array_index (self->dataset->samples, idx);
}

static WeftEmbedSpace *
weft_explore_page_space (WeftExplorePage *self,
                         int              k)
{
  return g_ptr_array_index (self->embedding->spaces, k);
}

static const char *
weft_explore_page_class_name (WeftExplorePage *self,
                              int              s)
{
  int label = self->embedding->label ? self->embedding->label[s] : -1;

  if (label < 0)
    return NULL;
  if (self->embedding->class_names != NULL
      && label < (int) g_strv_length (self->embedding->class_names))
    return self->embedding->class_names[label];
  return NULL;
}

static const char *
weft_split_name (int split)
{
  switch (split)
    {
    case WEFT_SPLIT_TRAIN: return _("train");
    case WEFT_SPLIT_VALIDATION: return _("validation");
    case WEFT_SPLIT_TEST: return _("test");
    default: return _("no split");
    }
}

/* "the cat · validation · text point" */
static char *
weft_explore_page_describe (WeftExplorePage *self,
                            int              point)
{
  const WeftEmbedPoint *p = &self->points[point];
  const WeftSample *sample = weft_explore_page_sample (self, p->sample);
  const char *label = weft_explore_page_class_name (self, p->sample);
  GString *s = g_string_new (NULL);

  if (label != NULL)
    g_string_append_printf (s, "%s · ", label);
  g_string_append_printf (s, "%s · ", weft_split_name (self->embedding->split[p->sample]));
  g_string_append_printf (s, _("%s point"), weft_explore_page_space (self, p->space)->name);
  if (sample == NULL)
    g_string_append_printf (s, _(" · sample %d"), p->sample);
  return g_string_free (s, FALSE);
}

static char *
weft_explore_page_sample_title (WeftExplorePage *self,
                                int              s)
{
  const WeftSample *sample = weft_explore_page_sample (self, s);
  const char *label = weft_explore_page_class_name (self, s);

  if (sample != NULL && sample->text != NULL)
    return g_strdup (sample->text);
  if (sample != NULL)
    return g_strdup (sample->id);
  if (label != NULL)
    return g_strdup_printf (_("Sample %d (%s)"), s, label);
  return g_strdup_printf (_("Sample %d"), s);
}

static void
weft_explore_page_set_status (WeftExplorePage *self,
                              const char      *text)
{
  gtk_label_set_text (self->status_label, text ? text : "");
}

/* ---- Styling the map ---- */

static void
weft_explore_page_compute_correct (WeftExplorePage *self,
                                   guint8          *colour)
{
  WeftEmbedding *e = self->embedding;
  int n_joint = 0, other[WEFT_EMBED_MAX_SPACES];

  for (guint k = 0; k < e->spaces->len; k++)
    if (weft_explore_page_space (self, k)->joint)
      other[n_joint++] = k;

  for (int i = 0; i < self->n_points; i++)
    {
      const WeftEmbedPoint *p = &self->points[i];
      const char *from = weft_explore_page_space (self, p->space)->name;
      int idx = -1;
      float sim;

      colour[i] = WEFT_MAP_COLOUR_NONE;
      if (self->n_points > WEFT_EXPLORE_MAX_CORRECT)
        continue;
      if (n_joint >= 2)
        {
          /* Joint models: right when the nearest point of another modality
           * is the sample's own partner. */
          int to = other[0] == p->space ? other[1] : other[0];

          if (weft_embedding_neighbours (e, from, p->sample, weft_explore_page_space (self, to)->name,
                                         1, &idx, &sim) == 1)
            colour[i] = idx == p->sample ? 0 : 1;
        }
      else if (e->label != NULL && e->label[p->sample] >= 0)
        {
          /* One space: right when the nearest neighbour shares the label. */
          if (weft_embedding_neighbours (e, from, p->sample, from, 1, &idx, &sim) == 1)
            colour[i] = e->label[idx] == e->label[p->sample] ? 0 : 1;
        }
    }
}

static void
weft_explore_page_restyle (WeftExplorePage *self)
{
  WeftColourMode mode = gtk_drop_down_get_selected (self->colour_dropdown);
  g_autofree guint8 *colour = NULL;
  g_autofree guint8 *marker = NULL;
  g_autoptr(GPtrArray) legend = g_ptr_array_new_with_free_func (g_free);
  WeftEmbedding *e = self->embedding;

  if (e == NULL || self->n_points == 0)
    return;
  colour = g_new (guint8, self->n_points);
  marker = g_new (guint8, self->n_points);
  for (int i = 0; i < self->n_points; i++)
    {
      const WeftEmbedPoint *p = &self->points[i];
      int modality = weft_explore_page_space (self, p->space)->modality;

      marker[i] = modality == WEFT_MODALITY_IMAGE ? WEFT_MAP_MARKER_CIRCLE
                : modality == WEFT_MODALITY_TEXT ? WEFT_MAP_MARKER_SQUARE
                : modality == WEFT_MODALITY_AUDIO ? WEFT_MAP_MARKER_TRIANGLE
                : WEFT_MAP_MARKER_DIAMOND;
      switch (mode)
        {
        case COLOUR_MODALITY:
          colour[i] = (guint8) p->space;
          break;
        case COLOUR_SPLIT:
          colour[i] = e->split[p->sample] <= WEFT_SPLIT_TEST ? e->split[p->sample] : WEFT_MAP_COLOUR_NONE;
          break;
        case COLOUR_CORRECTNESS:
          break;
        case COLOUR_LABEL:
        default:
          {
            int label = e->label ? e->label[p->sample] : -1;

            colour[i] = label < 0 ? WEFT_MAP_COLOUR_NONE
                      : label < WEFT_MAP_N_COLOURS ? (guint8) label
                      : WEFT_MAP_N_COLOURS - 1;
          }
          break;
        }
    }

  switch (mode)
    {
    case COLOUR_MODALITY:
      for (guint k = 0; k < e->spaces->len; k++)
        {
          WeftEmbedSpace *sp = weft_explore_page_space (self, k);
          const char *shape = sp->modality == WEFT_MODALITY_IMAGE ? "●"
                            : sp->modality == WEFT_MODALITY_TEXT ? "■"
                            : sp->modality == WEFT_MODALITY_AUDIO ? "▲" : "◆";

          g_ptr_array_add (legend, g_strdup_printf ("%s %s", sp->name, shape));
        }
      break;
    case COLOUR_SPLIT:
      for (int k = 0; k <= WEFT_SPLIT_TEST; k++)
        g_ptr_array_add (legend, g_strdup (weft_split_name (k)));
      break;
    case COLOUR_CORRECTNESS:
      weft_explore_page_compute_correct (self, colour);
      g_ptr_array_add (legend, g_strdup (_("nearest partner right")));
      g_ptr_array_add (legend, g_strdup (_("nearest partner wrong")));
      break;
    case COLOUR_LABEL:
    default:
      if (e->class_names != NULL)
        {
          int n = g_strv_length (e->class_names);

          for (int k = 0; k < MIN (n, WEFT_MAP_N_COLOURS); k++)
            g_ptr_array_add (legend, g_strdup (k == WEFT_MAP_N_COLOURS - 1 && n > WEFT_MAP_N_COLOURS
                                               ? _("other classes") : e->class_names[k]));
        }
      break;
    }

  weft_map_view_set_style (self->map, colour, marker);
  weft_map_view_set_legend (self->map, (const char * const *) legend->pdata, legend->len);
}

/* ---- Projection ---- */

static void
weft_explore_page_stop_tsne (WeftExplorePage *self)
{
  if (self->tsne != NULL)
    weft_tsne_stop (self->tsne);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), FALSE);
}

static void
weft_explore_page_show_xy (WeftExplorePage *self,
                           const float     *xy)
{
  weft_map_view_set_points (self->map, xy, self->n_points);
}

static gboolean
weft_explore_page_on_tsne_tick (gpointer user_data)
{
  WeftExplorePage *self = user_data;
  int iteration = 0;
  guint serial;

  if (self->tsne == NULL)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  serial = weft_tsne_get_snapshot (self->tsne, self->xy, &iteration);
  if (serial != 0 && serial != self->tsne_serial)
    {
      g_autofree char *text = g_strdup_printf (_("t-SNE settling: %.0f%%"),
                                               100 * weft_tsne_get_fraction (self->tsne));

      self->tsne_serial = serial;
      /* Only the final map is live; an earlier epoch stays as it is. */
      if (gtk_adjustment_get_value (self->timeline_adjustment) >= gtk_adjustment_get_upper (self->timeline_adjustment))
        weft_explore_page_show_xy (self, self->xy);
      weft_explore_page_set_status (self, text);
    }
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  WeftExplorePage *self;     /* a reference */
  WeftTsne *tsne;            /* freed here once the page let go of it */
} WeftTsneRun;

static void
on_tsne_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  WeftTsneRun *run = user_data;
  WeftExplorePage *self = run->self;
  WeftTsne *tsne = run->tsne;
  g_autoptr(GError) error = NULL;
  gboolean done;

  g_free (run);
  done = weft_tsne_run_finish (tsne, result, &error);
  if (self->tsne != tsne)
    {
      /* A newer run or another projection replaced it. */
      weft_tsne_free (tsne);
      g_object_unref (self);
      return;
    }
  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), FALSE);
  memcpy (self->xy, weft_tsne_get_positions (tsne), sizeof (float) * 2 * self->n_points);
  if (gtk_adjustment_get_value (self->timeline_adjustment) >= gtk_adjustment_get_upper (self->timeline_adjustment))
    weft_explore_page_show_xy (self, self->xy);
  g_hash_table_remove_all (self->epoch_maps);
  if (done)
    {
      g_autoptr(GError) save_error = NULL;
      g_autofree char *path = weft_embedding_file_name (self->embed_dir, 0);

      /* Keep the finished map with the run so that it opens at once next
       * time. */
      weft_embedding_set_xy (self->embedding, self->points, self->n_points, self->xy, "tsne");
      if (self->embed_dir != NULL && !weft_embedding_save (self->embedding, path, &save_error))
        g_message ("Could not keep the t-SNE map: %s", save_error->message);
      weft_explore_page_set_status (self, _("t-SNE map"));
    }
  else
    weft_explore_page_set_status (self, _("t-SNE stopped"));
  g_clear_pointer (&self->tsne, weft_tsne_free);
  g_object_unref (self);
}

static void
weft_explore_page_project (WeftExplorePage *self)
{
  gboolean want_tsne = gtk_drop_down_get_selected (self->projection_dropdown) == 1;
  WeftTsneConfig config;
  WeftTsneRun *run;

  if (self->embedding == NULL || self->n_points == 0)
    return;
  if (self->tsne != NULL)
    {
      WeftTsne *old = g_steal_pointer (&self->tsne);

      /* Its callback sees it is no longer ours and frees it. */
      weft_tsne_stop (old);
    }
  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), FALSE);
  g_hash_table_remove_all (self->epoch_maps);

  /* A stored map of the chosen kind opens at once. */
  if (g_strcmp0 (self->embedding->projection, want_tsne ? "tsne" : "pca") == 0)
    {
      for (int i = 0; i < self->n_points; i++)
        {
          WeftEmbedSpace *sp = weft_explore_page_space (self, self->points[i].space);

          self->xy[2 * i] = sp->xy ? sp->xy[2 * self->points[i].sample] : NAN;
          self->xy[2 * i + 1] = sp->xy ? sp->xy[2 * self->points[i].sample + 1] : NAN;
        }
      weft_explore_page_show_xy (self, self->xy);
      weft_explore_page_set_status (self, want_tsne ? _("t-SNE map") : _("PCA map"));
      return;
    }

  /* PCA first: instant, and t-SNE's starting point. */
  if (self->n_points >= 2 && self->dim >= 2)
    weft_pca (self->vectors, self->n_points, self->dim, 2, self->xy, NULL, NULL);
  else
    for (int i = 0; i < 2 * self->n_points; i++)
      self->xy[i] = 0;
  weft_explore_page_show_xy (self, self->xy);
  weft_explore_page_set_status (self, _("PCA map"));
  if (!want_tsne || self->n_points < 4)
    return;

  weft_tsne_config_init (&config);
  config.cosine = TRUE;
  config.seed = 1;
  config.pca_init = TRUE;
  self->tsne = weft_tsne_new (self->vectors, self->n_points, self->dim, &config);
  self->tsne_serial = 0;
  run = g_new0 (WeftTsneRun, 1);
  run->self = g_object_ref (self);
  run->tsne = self->tsne;
  weft_tsne_run_async (self->tsne, self->cancellable, on_tsne_done, run);
  self->tick_id = g_timeout_add (100, weft_explore_page_on_tsne_tick, self);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), TRUE);
  weft_explore_page_set_status (self, _("t-SNE starting…"));
}

/* ---- The timeline ---- */

static const float *
weft_explore_page_epoch_map (WeftExplorePage *self,
                             int              epoch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftEmbedding) e = NULL;
  g_autofree char *path = NULL;
  g_autofree float *X = NULL;
  g_autofree WeftEmbedPoint *pts = NULL;
  float *xy;
  int n = 0, d = 0;

  xy = g_hash_table_lookup (self->epoch_maps, GINT_TO_POINTER (epoch));
  if (xy != NULL)
    return xy;

  path = weft_embedding_file_name (self->embed_dir, epoch);
  e = weft_embedding_load (path, &error);
  if (e == NULL)
    {
      weft_explore_page_set_status (self, error->message);
      return NULL;
    }
  X = weft_embedding_stack (e, self->embedding->spaces->len > 0 && weft_embedding_joint_dim (self->embedding) == 0
                               ? weft_explore_page_space (self, 0)->name : NULL,
                            &n, &d, &pts);
  if (X == NULL || n != self->n_points)
    {
      weft_explore_page_set_status (self, _("That epoch's embeddings cover other samples; it cannot be shown on this map."));
      return NULL;
    }
  xy = g_new (float, 2 * n);
  if (n >= 2 && d >= 2)
    weft_pca (X, n, d, 2, xy, NULL, NULL);
  else
    memset (xy, 0, sizeof (float) * 2 * n);
  /* Turned, scaled and shifted onto the final map so that scrubbing shows
   * the space forming rather than spinning. */
  weft_procrustes_align (xy, self->xy, n, NULL, TRUE);
  g_hash_table_insert (self->epoch_maps, GINT_TO_POINTER (epoch), xy);
  return xy;
}

static void
on_timeline_changed (GtkAdjustment   *adjustment,
                     WeftExplorePage *self)
{
  int pos = (int) lround (gtk_adjustment_get_value (adjustment));
  int n = self->epochs ? (int) self->epochs->len : 0;
  g_autofree char *text = NULL;

  if (self->embedding == NULL)
    return;
  if (pos >= n)
    {
      text = g_strdup (_("Final"));
      weft_explore_page_show_xy (self, self->xy);
    }
  else
    {
      int epoch = g_array_index (self->epochs, int, pos);
      const float *xy = weft_explore_page_epoch_map (self, epoch);

      text = g_strdup_printf (_("Epoch %d"), epoch);
      if (xy != NULL)
        weft_explore_page_show_xy (self, xy);
    }
  gtk_label_set_text (self->timeline_label, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->timeline_scale),
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, text, -1);
}

static void
weft_explore_page_setup_timeline (WeftExplorePage *self)
{
  g_clear_pointer (&self->epochs, g_array_unref);
  g_hash_table_remove_all (self->epoch_maps);
  if (self->embed_dir != NULL)
    self->epochs = weft_embedding_list_epochs (self->embed_dir);
  if (self->epochs == NULL || self->epochs->len == 0)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->timeline_box), FALSE);
      return;
    }
  g_signal_handlers_block_by_func (self->timeline_adjustment, on_timeline_changed, self);
  gtk_adjustment_configure (self->timeline_adjustment, self->epochs->len, 0, self->epochs->len, 1, 1, 0);
  g_signal_handlers_unblock_by_func (self->timeline_adjustment, on_timeline_changed, self);
  gtk_scale_clear_marks (self->timeline_scale);
  for (guint k = 0; k <= self->epochs->len; k++)
    gtk_scale_add_mark (self->timeline_scale, k, GTK_POS_BOTTOM, NULL);
  gtk_label_set_text (self->timeline_label, _("Final"));
  gtk_widget_set_visible (GTK_WIDGET (self->timeline_box), TRUE);
}

/* ---- Showing an embedding ---- */

static void
weft_explore_page_clear_embedding (WeftExplorePage *self)
{
  weft_explore_page_stop_tsne (self);
  if (self->tsne != NULL)
    g_steal_pointer (&self->tsne);  /* freed by its callback */
  weft_eval_panel_set_run (self->eval_panel, NULL, NULL, NULL);
  weft_hover_card_set_sample (self->hover_card, NULL, NULL);
  weft_map_view_set_points (self->map, NULL, 0);
  g_clear_pointer (&self->embedding, weft_embedding_free);
  g_clear_pointer (&self->points, g_free);
  g_clear_pointer (&self->vectors, g_free);
  g_clear_pointer (&self->xy, g_free);
  g_clear_pointer (&self->point_of, g_free);
  g_clear_pointer (&self->graph, weft_graph_free);
  self->n_points = 0;
  g_hash_table_remove_all (self->epoch_maps);
}

static void
weft_explore_page_show_embedding (WeftExplorePage *self,
                                  WeftEmbedding   *embedding)
{
  g_autofree int *group = NULL;
  WeftEmbedding *e;

  weft_explore_page_clear_embedding (self);
  self->embedding = e = embedding;
  /* The joint map when the model has one, else its first space alone. */
  self->vectors = weft_embedding_stack (e, weft_embedding_joint_dim (e) > 0 || e->spaces->len == 0
                                           ? NULL : weft_explore_page_space (self, 0)->name,
                                        &self->n_points, &self->dim, &self->points);
  if (self->vectors == NULL || self->n_points == 0)
    {
      adw_status_page_set_description (self->empty_status, _("This run's embeddings hold no points."));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  self->xy = g_new0 (float, 2 * self->n_points);
  self->point_of = g_new (int, e->spaces->len * e->n);
  for (guint k = 0; k < e->spaces->len * e->n; k++)
    self->point_of[k] = -1;
  group = g_new (int, self->n_points);
  for (int i = 0; i < self->n_points; i++)
    {
      self->point_of[self->points[i].space * e->n + self->points[i].sample] = i;
      group[i] = self->points[i].sample;
    }

  gtk_stack_set_visible_child_name (self->stack, "explore");
  weft_map_view_set_points (self->map, self->xy, self->n_points);
  weft_map_view_set_groups (self->map, group);
  weft_explore_page_restyle (self);
  weft_explore_page_setup_timeline (self);
  weft_explore_page_project (self);
  weft_eval_panel_set_run (self->eval_panel, e, self->checkpoint, self->features);
  /* Keyboard users land on the map: arrows walk its points. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self->map));
}

/* ---- Computing embeddings from a checkpoint ---- */

typedef struct
{
  char *checkpoint;
  char *embed_dir;
  WeftFeatures *features;
  WeftExplorePage *self;     /* only for the progress fraction under its lock */
} WeftComputeJob;

static void
weft_compute_job_free (WeftComputeJob *job)
{
  g_free (job->checkpoint);
  g_free (job->embed_dir);
  weft_features_free (job->features);
  g_object_unref (job->self);
  g_free (job);
}

static void
weft_compute_progress (double   fraction,
                       gpointer user_data)
{
  WeftComputeJob *job = user_data;

  g_mutex_lock (&job->self->compute_lock);
  job->self->compute_fraction = fraction;
  g_mutex_unlock (&job->self->compute_lock);
}

static void
weft_compute_run (GTask        *task,
                  gpointer      source,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  WeftComputeJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftGraph) graph = NULL;
  g_autoptr(WeftEmbedding) e = NULL;
  g_autofree int *rows = NULL;
  g_autofree char *path = NULL;
  int n = 0;

  graph = weft_checkpoint_load (job->checkpoint, 64, NULL, &error);
  if (graph == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  rows = weft_embed_sample_rows (job->features, WEFT_EXPLORE_MAX_ROWS, 1, &n);
  e = weft_embed_compute (graph, job->features, rows, n, weft_compute_progress, job,
                          cancellable, &error);
  if (e == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Kept with the run so that the next visit opens at once. */
  path = weft_embedding_file_name (job->embed_dir, 0);
  if (!weft_embedding_save (e, path, &error))
    g_message ("Could not keep the embeddings: %s", error->message);
  g_task_return_pointer (task, g_steal_pointer (&e), (GDestroyNotify) weft_embedding_free);
}

static gboolean
weft_explore_page_on_compute_tick (gpointer user_data)
{
  WeftExplorePage *self = user_data;
  double fraction;

  g_mutex_lock (&self->compute_lock);
  fraction = self->compute_fraction;
  g_mutex_unlock (&self->compute_lock);
  gtk_progress_bar_set_fraction (self->loading_progress, fraction);
  return G_SOURCE_CONTINUE;
}

static void
on_compute_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (source);
  WeftComputeJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  WeftEmbedding *e;

  e = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_strcmp0 (job->embed_dir, self->embed_dir) != 0)
    {
      /* Another run was chosen meanwhile. */
      g_clear_pointer (&e, weft_embedding_free);
      return;
    }
  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (e == NULL)
    {
      adw_status_page_set_description (self->empty_status,
                                       g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                       ? _("Computing the embeddings was cancelled.")
                                       : error->message);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  weft_explore_page_show_embedding (self, e);
}

static void
weft_explore_page_compute (WeftExplorePage *self)
{
  g_autoptr(GTask) task = NULL;
  WeftComputeJob *job;

  job = g_new0 (WeftComputeJob, 1);
  job->checkpoint = g_strdup (self->checkpoint);
  job->embed_dir = g_strdup (self->embed_dir);
  job->features = weft_features_ref (self->features);
  job->self = g_object_ref (self);
  self->compute_fraction = 0;
  gtk_progress_bar_set_fraction (self->loading_progress, 0);
  adw_status_page_set_description (self->loading_status,
                                   _("Running every sample through the trained encoders. This happens once per run."));
  gtk_stack_set_visible_child_name (self->stack, "loading");
  g_clear_handle_id (&self->tick_id, g_source_remove);
  self->tick_id = g_timeout_add (100, weft_explore_page_on_compute_tick, self);

  task = g_task_new (self, self->cancellable, on_compute_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) weft_compute_job_free);
  g_task_run_in_thread (task, weft_compute_run);
}

/* ---- Runs ---- */

static JsonObject *
weft_explore_page_find_run (WeftExplorePage *self,
                            const char      *id)
{
  guint n = self->project ? weft_project_get_n_runs (self->project) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonObject *run = weft_project_get_run (self->project, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (run, "id", ""), id) == 0)
        return run;
    }
  return NULL;
}

static void
weft_explore_page_load_run (WeftExplorePage *self)
{
  guint pos = gtk_drop_down_get_selected (self->run_dropdown);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  WeftEmbedding *e;
  JsonObject *run;

  if (self->run_ids == NULL || pos >= self->run_ids->len)
    return;
  if (g_strcmp0 (self->run_id, g_ptr_array_index (self->run_ids, pos)) == 0 && self->embedding != NULL)
    return;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  weft_explore_page_clear_embedding (self);
  g_free (self->run_id);
  self->run_id = g_strdup (g_ptr_array_index (self->run_ids, pos));
  run = weft_explore_page_find_run (self, self->run_id);
  g_clear_pointer (&self->embed_dir, g_free);
  g_clear_pointer (&self->checkpoint, g_free);
  if (run == NULL)
    return;
  if (json_object_has_member (run, "checkpoint") && !json_object_get_null_member (run, "checkpoint"))
    self->checkpoint = g_strdup (json_object_get_string_member (run, "checkpoint"));
  if (json_object_has_member (run, "embeddings") && !json_object_get_null_member (run, "embeddings"))
    self->embed_dir = g_strdup (json_object_get_string_member (run, "embeddings"));
  else
    {
      /* Runs recorded before embeddings were kept: use the run folder. */
      g_autofree char *dir = weft_project_dup_run_dir (self->run_id, NULL);

      if (dir != NULL)
        self->embed_dir = g_build_filename (dir, "embeddings", NULL);
    }

  path = self->embed_dir ? weft_embedding_file_name (self->embed_dir, 0) : NULL;
  if (path != NULL && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      e = weft_embedding_load (path, &error);
      if (e != NULL)
        {
          weft_explore_page_show_embedding (self, e);
          return;
        }
      g_message ("%s", error->message);
    }
  if (self->checkpoint != NULL && self->features != NULL
      && g_file_test (self->checkpoint, G_FILE_TEST_EXISTS))
    {
      weft_explore_page_compute (self);
      return;
    }
  adw_status_page_set_description (self->empty_status,
                                   self->features == NULL
                                   ? _("This run's embeddings have not been computed yet. Open its dataset to compute them from the trained model.")
                                   : _("This run kept no trained model to compute embeddings from."));
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static int
weft_compare_runs (gconstpointer a,
                   gconstpointer b)
{
  JsonObject *ra = *(JsonObject **) a, *rb = *(JsonObject **) b;
  const char *fa = json_object_get_string_member_with_default (ra, "finished", "");
  const char *fb = json_object_get_string_member_with_default (rb, "finished", "");
  int c = g_strcmp0 (fb, fa);

  /* Newest first; ids are time-sortable too. */
  if (c != 0)
    return c;
  return g_strcmp0 (json_object_get_string_member_with_default (rb, "id", ""),
                    json_object_get_string_member_with_default (ra, "id", ""));
}

static void
weft_explore_page_refresh_runs (WeftExplorePage *self)
{
  g_autoptr(GPtrArray) runs = g_ptr_array_new ();
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint n = self->project ? weft_project_get_n_runs (self->project) : 0;
  guint keep = 0;
  gboolean same = self->run_ids != NULL;

  for (guint i = 0; i < n; i++)
    {
      JsonObject *run = weft_project_get_run (self->project, i);
      const char *state = json_object_get_string_member_with_default (run, "state", "finished");

      /* A run still training has nothing final to show yet. */
      if (g_strcmp0 (state, "running") == 0 || g_strcmp0 (state, "failed") == 0)
        continue;
      if (!json_object_has_member (run, "checkpoint") && !json_object_has_member (run, "embeddings"))
        continue;
      g_ptr_array_add (runs, run);
    }
  g_ptr_array_sort (runs, weft_compare_runs);
  for (guint i = 0; i < runs->len; i++)
    {
      JsonObject *run = g_ptr_array_index (runs, i);
      const char *id = json_object_get_string_member_with_default (run, "id", "run");
      const char *template = json_object_has_member (run, "template") && !json_object_get_null_member (run, "template")
                             ? json_object_get_string_member (run, "template") : NULL;
      const char *finished = json_object_get_string_member_with_default (run, "finished", "");
      g_autofree char *when = g_strndup (finished, 16);
      g_autofree char *name = NULL;

      if (when[0] != '\0' && strlen (when) > 10)
        when[10] = ' ';
      name = g_strdup_printf ("%s%s%s", template ? template : id, when[0] ? " · " : "", when);
      gtk_string_list_append (names, name);
      g_ptr_array_add (ids, g_strdup (id));
      if (g_strcmp0 (id, self->run_id) == 0)
        keep = i;
      if (same && (i >= self->run_ids->len || g_strcmp0 (id, g_ptr_array_index (self->run_ids, i)) != 0))
        same = FALSE;
    }
  if (same && ids->len == self->run_ids->len)
    return;

  g_clear_pointer (&self->run_ids, g_ptr_array_unref);
  self->run_ids = g_steal_pointer (&ids);
  if (self->run_ids->len == 0)
    {
      weft_explore_page_clear_embedding (self);
      g_clear_pointer (&self->run_id, g_free);
      adw_status_page_set_description (self->empty_status,
                                       _("After training, walk through the learned joint embedding space here: hover a point to see its image, read its caption and hear its sound, click it to list its nearest neighbours, or type a sentence to find the closest images and sounds. Train a model first."));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      gtk_drop_down_set_model (self->run_dropdown, G_LIST_MODEL (names));
      return;
    }
  gtk_drop_down_set_model (self->run_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->run_dropdown, keep);
  weft_explore_page_load_run (self);
}

static void
on_project_changed (WeftProject     *project,
                    WeftExplorePage *self)
{
  weft_explore_page_refresh_runs (self);
}

/* ---- Map interaction ---- */

static void
on_get_child_position (GtkOverlay      *overlay,
                       GtkWidget       *widget,
                       GdkRectangle    *allocation,
                       WeftExplorePage *self)
{
  GdkRectangle point;
  int width = gtk_widget_get_width (GTK_WIDGET (overlay));
  int height = gtk_widget_get_height (GTK_WIDGET (overlay));
  int min_w, nat_w, min_h, nat_h;
  int shown = weft_map_view_get_hover (self->map);

  if (widget != GTK_WIDGET (self->hover_card))
    return;
  if (shown < 0)
    shown = weft_map_view_get_active (self->map);
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat_w, NULL, NULL);
  gtk_widget_measure (widget, GTK_ORIENTATION_VERTICAL, nat_w, &min_h, &nat_h, NULL, NULL);
  allocation->width = nat_w;
  allocation->height = nat_h;
  if (!weft_map_view_get_point_rect (self->map, shown, &point))
    {
      allocation->x = 12;
      allocation->y = height - nat_h - 12;
      return;
    }
  /* Beside the point, on whichever side has room; else below or above it,
   * never over it. */
  allocation->x = point.x + point.width + 12;
  allocation->y = CLAMP (point.y - nat_h / 2, 0, MAX (0, height - nat_h));
  if (allocation->x + nat_w <= width)
    return;
  allocation->x = point.x - nat_w - 12;
  if (allocation->x >= 0)
    return;
  allocation->x = CLAMP (point.x - nat_w / 2, 0, MAX (0, width - nat_w));
  allocation->y = point.y + point.height + 12;
  if (allocation->y + nat_h > height)
    allocation->y = MAX (0, point.y - nat_h - 12);
}

static void
weft_explore_page_update_card (WeftExplorePage *self)
{
  int shown = weft_map_view_get_hover (self->map);
  g_autofree char *detail = NULL;
  const WeftSample *sample;

  if (shown < 0)
    shown = weft_map_view_get_active (self->map);
  if (shown < 0 || shown >= self->n_points)
    {
      weft_hover_card_set_sample (self->hover_card, NULL, NULL);
      return;
    }
  detail = weft_explore_page_describe (self, shown);
  sample = weft_explore_page_sample (self, self->points[shown].sample);
  if (sample == NULL)
    {
      /* Without the dataset open: the card still names the point. */
      WeftSample bare = { 0 };
      g_autofree char *title = weft_explore_page_sample_title (self, self->points[shown].sample);

      bare.id = title;
      weft_hover_card_set_sample (self->hover_card, &bare, detail);
    }
  else
    weft_hover_card_set_sample (self->hover_card, sample, detail);
  gtk_widget_queue_allocate (GTK_WIDGET (self->map_overlay));
}

static void
on_hover_changed (WeftMapView     *map,
                  int              point,
                  WeftExplorePage *self)
{
  weft_explore_page_update_card (self);
  if (point >= 0 && point < self->n_points)
    {
      g_autofree char *title = weft_explore_page_sample_title (self, self->points[point].sample);
      g_autofree char *detail = weft_explore_page_describe (self, point);
      g_autofree char *text = g_strdup_printf ("%s (%s)", title, detail);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self->map),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
    }
}

static GtkWidget *
weft_explore_page_list_header (const char *text)
{
  GtkWidget *label = gtk_label_new (text);
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_margin_top (label, 8);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  return row;
}

/* A row naming a point; activating it makes that point the active one. */
static GtkWidget *
weft_explore_page_point_row (WeftExplorePage *self,
                             int              point,
                             int              sample,
                             double           similarity)
{
  g_autofree char *title = weft_explore_page_sample_title (self, sample);
  g_autofree char *text = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (title);
  const char *class_name = weft_explore_page_class_name (self, sample);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  if (!isnan (similarity))
    {
      g_autofree char *sim = g_strdup_printf ("%.2f", similarity);
      GtkWidget *value = gtk_label_new (sim);

      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_add_css_class (value, "dim-label");
      gtk_box_append (GTK_BOX (box), value);
      text = g_strdup_printf (_("%s, similarity %s%s%s"), title, sim,
                              class_name ? ", " : "", class_name ? class_name : "");
    }
  else
    text = g_strdup_printf ("%s%s%s", title, class_name ? ", " : "", class_name ? class_name : "");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  g_object_set_data (G_OBJECT (row), "weft-point", GINT_TO_POINTER (point + 1));
  return row;
}

static void
weft_list_box_clear (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static const char *
weft_space_plural (const WeftEmbedSpace *sp)
{
  switch (sp->modality)
    {
    case WEFT_MODALITY_IMAGE: return _("Nearest images");
    case WEFT_MODALITY_TEXT: return _("Nearest texts");
    case WEFT_MODALITY_AUDIO: return _("Nearest sounds");
    default: return _("Nearest fused points");
    }
}

/* Lists the neighbours of a vector (query) or of a sample in every joint
 * space, and rings them on the map. */
static void
weft_explore_page_list_neighbours (WeftExplorePage *self,
                                   const char      *title,
                                   const float     *vector,
                                   int              from_space,
                                   int              sample)
{
  g_autoptr(GArray) ring = g_array_new (FALSE, FALSE, sizeof (int));
  WeftEmbedding *e = self->embedding;

  weft_list_box_clear (self->neighbour_list);
  gtk_list_box_append (self->neighbour_list, weft_explore_page_list_header (title));
  for (guint k = 0; k < e->spaces->len; k++)
    {
      WeftEmbedSpace *sp = weft_explore_page_space (self, k);
      int idx[WEFT_EXPLORE_N_NEIGHBOURS];
      float sim[WEFT_EXPLORE_N_NEIGHBOURS];
      int found;

      if (!sp->joint && (int) k != from_space)
        continue;
      if (vector != NULL)
        {
          if (sp->dim != self->dim)
            continue;
          found = weft_embedding_neighbours_of (e, vector, sp->name, WEFT_EXPLORE_N_NEIGHBOURS, idx, sim);
        }
      else
        found = weft_embedding_neighbours (e, weft_explore_page_space (self, from_space)->name, sample,
                                           sp->name, WEFT_EXPLORE_N_NEIGHBOURS, idx, sim);
      if (found <= 0)
        continue;
      gtk_list_box_append (self->neighbour_list, weft_explore_page_list_header (weft_space_plural (sp)));
      for (int j = 0; j < found; j++)
        {
          int point = self->point_of[k * e->n + idx[j]];

          gtk_list_box_append (self->neighbour_list,
                               weft_explore_page_point_row (self, point, idx[j], sim[j]));
          if (point >= 0)
            g_array_append_val (ring, point);
        }
    }
  weft_map_view_set_highlight (self->map, (const int *) ring->data, ring->len);
  gtk_stack_set_visible_child_name (self->side_stack, "neighbours");
}

static void
on_point_activated (WeftMapView     *map,
                    int              point,
                    WeftExplorePage *self)
{
  g_autofree char *title = NULL;
  g_autofree char *name = NULL;

  weft_explore_page_update_card (self);
  if (point < 0 || point >= self->n_points)
    {
      weft_map_view_set_highlight (self->map, NULL, 0);
      return;
    }
  name = weft_explore_page_sample_title (self, self->points[point].sample);
  title = g_strdup_printf (_("Neighbours of “%s” (%s)"), name,
                           weft_explore_page_space (self, self->points[point].space)->name);
  weft_explore_page_list_neighbours (self, title, NULL, self->points[point].space,
                                     self->points[point].sample);
}

static void
on_list_row_activated (GtkListBox      *list,
                       GtkListBoxRow   *row,
                       WeftExplorePage *self)
{
  int point = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "weft-point")) - 1;

  if (point < 0)
    return;
  /* Show it without replacing the list being read. */
  weft_map_view_set_hover (self->map, point);
}

static void
on_selection_changed (WeftMapView     *map,
                      WeftExplorePage *self)
{
  int n_selected = 0;
  const guint8 *mask = weft_map_view_get_selection (self->map, &n_selected);
  g_autofree char *title = NULL;
  int listed = 0;

  weft_list_box_clear (self->selection_list);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "explore.export-selection", n_selected > 0);
  if (mask == NULL)
    return;
  title = g_strdup_printf (ngettext ("%d point selected", "%d points selected", n_selected), n_selected);
  gtk_list_box_append (self->selection_list, weft_explore_page_list_header (title));
  for (int i = 0; i < self->n_points && listed < WEFT_EXPLORE_MAX_LISTED; i++)
    if (mask[i])
      {
        gtk_list_box_append (self->selection_list,
                             weft_explore_page_point_row (self, i, self->points[i].sample, NAN));
        listed++;
      }
  gtk_stack_set_visible_child_name (self->side_stack, "selection");
}

static void
on_failure (WeftEvalPanel   *panel,
            int              sample,
            const char      *space,
            const char      *target,
            WeftExplorePage *self)
{
  WeftEmbedSpace *sp = weft_embedding_get_space (self->embedding, space);
  int k;

  if (sp == NULL)
    return;
  for (k = 0; k < (int) self->embedding->spaces->len; k++)
    if (weft_explore_page_space (self, k) == sp)
      break;
  weft_map_view_set_active (self->map, self->point_of[k * self->embedding->n + sample]);
}

/* ---- Search ---- */

static gboolean
weft_explore_page_ensure_graph (WeftExplorePage *self,
                                GError         **error)
{
  if (self->graph != NULL)
    return TRUE;
  if (self->checkpoint == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("This run kept no trained model to search with."));
      return FALSE;
    }
  if (self->features == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("Open the run's dataset to search with its vocabulary."));
      return FALSE;
    }
  self->graph = weft_checkpoint_load (self->checkpoint, 1, NULL, error);
  return self->graph != NULL;
}

static void
weft_explore_page_search_vector (WeftExplorePage *self,
                                 const char      *title,
                                 float           *vector,
                                 int              dim,
                                 GError          *error)
{
  if (vector == NULL)
    {
      weft_explore_page_set_status (self, error ? error->message : _("Nothing to search with."));
      return;
    }
  if (dim != self->dim)
    {
      weft_explore_page_set_status (self, _("The query lands in a space of another size than the map."));
      g_free (vector);
      return;
    }
  weft_explore_page_list_neighbours (self, title, vector, -1, -1);
  weft_explore_page_set_status (self, title);
  g_free (vector);
}

static void
on_search_activate (GtkSearchEntry  *entry,
                    WeftExplorePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  float *vector = NULL;
  int dim = 0;

  if (self->embedding == NULL || *text == '\0')
    {
      weft_map_view_set_highlight (self->map, NULL, 0);
      return;
    }
  if (weft_explore_page_ensure_graph (self, &error))
    vector = weft_embed_query_text (self->graph, self->features, text, &dim, &error);
  title = g_strdup_printf (_("Closest to “%s”"), text);
  weft_explore_page_search_vector (self, title, vector, dim, error);
}

static gboolean
on_drop (GtkDropTarget   *target,
         const GValue    *value,
         double           x,
         double           y,
         WeftExplorePage *self)
{
  GFile *file = g_value_get_object (value);
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  g_autofree char *type = NULL;
  g_autofree char *base = NULL;
  g_autofree char *title = NULL;
  g_autoptr(GError) error = NULL;
  float *vector = NULL;
  int dim = 0;

  if (path == NULL || self->embedding == NULL)
    return FALSE;
  type = g_content_type_guess (path, NULL, 0, NULL);
  base = g_path_get_basename (path);
  if (weft_explore_page_ensure_graph (self, &error))
    {
      if (g_content_type_is_a (type, "audio/*"))
        vector = weft_embed_query_audio (self->graph, self->features, path, NULL, &dim, &error);
      else
        vector = weft_embed_query_image (self->graph, self->features, path, &dim, &error);
    }
  title = g_strdup_printf (_("Closest to %s"), base);
  weft_explore_page_search_vector (self, title, vector, dim, error);
  return vector != NULL || error == NULL;
}

/* ---- Exports ---- */

typedef void (*WeftExportFunc) (WeftExplorePage *self, const char *path, const char *kind);

static void
weft_explore_page_export_done (WeftExplorePage *self,
                               const char      *message,
                               GError          *error)
{
  weft_explore_page_set_status (self, error ? error->message : message);
}

static void
weft_export_tsv_to (WeftExplorePage *self,
                    const char      *path,
                    const char      *kind)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  int n = 0;

  if (weft_export_tsv (self->embedding, self->dataset, NULL, path, &n, &error))
    message = g_strdup_printf (ngettext ("Exported %d vector for TensorBoard", "Exported %d vectors for TensorBoard", n), n);
  weft_explore_page_export_done (self, message, error);
}

static void
weft_export_selection_to (WeftExplorePage *self,
                          const char      *path,
                          const char      *kind)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) chosen = g_array_new (FALSE, FALSE, sizeof (WeftEmbedPoint));
  const guint8 *mask = weft_map_view_get_selection (self->map, NULL);
  g_autofree char *message = NULL;

  for (int i = 0; mask != NULL && i < self->n_points; i++)
    if (mask[i])
      g_array_append_val (chosen, self->points[i]);
  if (weft_export_selection_csv (self->embedding, self->dataset, (WeftEmbedPoint *) chosen->data,
                                 chosen->len, path, &error))
    message = g_strdup_printf (ngettext ("Exported %u point", "Exported %u points", chosen->len), chosen->len);
  weft_explore_page_export_done (self, message, error);
}

static void
weft_export_map_to (WeftExplorePage *self,
                    const char      *path,
                    const char      *kind)
{
  int width = MAX (gtk_widget_get_width (GTK_WIDGET (self->map)), 400);
  int height = MAX (gtk_widget_get_height (GTK_WIDGET (self->map)), 300);
  gboolean svg = g_strcmp0 (kind, "svg") == 0;
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  surface = svg ? cairo_svg_surface_create (path, width, height)
                : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  /* The page's background, so the legend's colours read as on screen. */
  if (dark)
    cairo_set_source_rgb (cr, 0x24 / 255.0, 0x24 / 255.0, 0x24 / 255.0);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  weft_map_view_draw (self->map, cr, width, height);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  status = svg ? cairo_surface_status (surface) : cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);
  /* The draw above used a layer of the export's size: the screen's is
   * rebuilt on the next frame. */
  weft_map_view_invalidate (self->map);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, _("The map could not be written: %s"),
                                             cairo_status_to_string (status));

      weft_explore_page_export_done (self, NULL, error);
      return;
    }
  weft_explore_page_export_done (self, svg ? _("Map saved as SVG") : _("Map saved as PNG"), NULL);
}

typedef struct
{
  WeftExplorePage *self;
  WeftExportFunc func;
  char *kind;
} WeftExportRequest;

static void
on_export_response (GtkNativeDialog   *dialog,
                    int                response,
                    WeftExportRequest *req)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL && req->self->embedding != NULL)
        req->func (req->self, path, req->kind);
    }
  g_object_unref (req->self);
  g_free (req->kind);
  g_free (req);
  g_object_unref (dialog);
}

static void
weft_explore_page_ask_path (WeftExplorePage *self,
                            const char      *title,
                            gboolean         folder,
                            const char      *suggested,
                            WeftExportFunc   func,
                            const char      *kind)
{
  const char *test_dir = g_getenv ("WEFT_TEST_EXPORT_DIR");
  GtkFileChooserNative *dialog;
  WeftExportRequest *req;
  GtkRoot *root;

  if (self->embedding == NULL)
    return;
  /* Tests cannot drive the portal's dialog: they name a folder instead. */
  if (test_dir != NULL && *test_dir != '\0')
    {
      g_autofree char *path = folder ? g_build_filename (test_dir, "projector", NULL)
                                     : g_build_filename (test_dir, suggested, NULL);

      func (self, path, kind);
      return;
    }
  root = gtk_widget_get_root (GTK_WIDGET (self));
  dialog = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                               : GTK_FILE_CHOOSER_ACTION_SAVE,
                                        folder ? _("_Export") : _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (!folder)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  req = g_new0 (WeftExportRequest, 1);
  req->self = g_object_ref (self);
  req->func = func;
  req->kind = g_strdup (kind);
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), req);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Actions ---- */

static void
action_export_tsv (GtkWidget  *widget,
                   const char *name,
                   GVariant   *param)
{
  weft_explore_page_ask_path (WEFT_EXPLORE_PAGE (widget), _("Export for TensorBoard Projector"),
                              TRUE, NULL, weft_export_tsv_to, NULL);
}

static void
action_export_selection (GtkWidget  *widget,
                         const char *name,
                         GVariant   *param)
{
  weft_explore_page_ask_path (WEFT_EXPLORE_PAGE (widget), _("Export the Selection"),
                              FALSE, "selection.csv", weft_export_selection_to, NULL);
}

static void
action_export_map (GtkWidget  *widget,
                   const char *name,
                   GVariant   *param)
{
  const char *kind = g_variant_get_string (param, NULL);
  g_autofree char *file = g_strdup_printf ("map.%s", g_strcmp0 (kind, "svg") == 0 ? "svg" : "png");

  weft_explore_page_ask_path (WEFT_EXPLORE_PAGE (widget), _("Save the Map"),
                              FALSE, file, weft_export_map_to, kind);
}

static void
action_stop_projection (GtkWidget  *widget,
                        const char *name,
                        GVariant   *param)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (widget);

  if (self->tsne != NULL)
    weft_tsne_stop (self->tsne);
}

static void
action_cancel (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  g_cancellable_cancel (WEFT_EXPLORE_PAGE (widget)->cancellable);
}

static void
action_zoom (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (widget);

  if (g_str_equal (name, "explore.zoom-in"))
    weft_map_view_zoom (self->map, 1.25);
  else if (g_str_equal (name, "explore.zoom-out"))
    weft_map_view_zoom (self->map, 0.8);
  else
    weft_map_view_reset_view (self->map);
}

static void
action_lasso (GtkWidget  *widget,
              const char *name,
              GVariant   *param)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (widget);

  weft_map_view_set_lasso_mode (self->map, gtk_toggle_button_get_active (self->lasso_button));
}

static void
action_search (GtkWidget  *widget,
               const char *name,
               GVariant   *param)
{
  gtk_widget_grab_focus (GTK_WIDGET (WEFT_EXPLORE_PAGE (widget)->search_entry));
}

/* ---- Drop-downs ---- */

static void
on_run_selected (GObject         *dropdown,
                 GParamSpec      *pspec,
                 WeftExplorePage *self)
{
  weft_explore_page_load_run (self);
}

static void
on_projection_selected (GObject         *dropdown,
                        GParamSpec      *pspec,
                        WeftExplorePage *self)
{
  weft_explore_page_project (self);
}

static void
on_colour_selected (GObject         *dropdown,
                    GParamSpec      *pspec,
                    WeftExplorePage *self)
{
  weft_explore_page_restyle (self);
}

/* ---- GObject ---- */

static void
weft_explore_page_dispose (GObject *object)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->project != NULL)
    g_clear_signal_handler (&self->project_changed_id, self->project);
  weft_explore_page_clear_embedding (self);
  g_clear_object (&self->project);
  g_clear_pointer (&self->features, weft_features_free);
  /* The template's root is a bound child and AdwBin's child: let the
   * bin drop it first, or its dispose unparents it a second time. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_EXPLORE_PAGE);

  G_OBJECT_CLASS (weft_explore_page_parent_class)->dispose (object);
}

static void
weft_explore_page_finalize (GObject *object)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->run_ids, g_ptr_array_unref);
  g_clear_pointer (&self->epochs, g_array_unref);
  g_clear_pointer (&self->epoch_maps, g_hash_table_unref);
  g_free (self->run_id);
  g_free (self->embed_dir);
  g_free (self->checkpoint);
  g_mutex_clear (&self->compute_lock);

  G_OBJECT_CLASS (weft_explore_page_parent_class)->finalize (object);
}

static void
weft_explore_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

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
weft_explore_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      weft_explore_page_set_project (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_explore_page_class_init (WeftExplorePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_explore_page_dispose;
  object_class->finalize = weft_explore_page_finalize;
  object_class->get_property = weft_explore_page_get_property;
  object_class->set_property = weft_explore_page_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, WEFT_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (WEFT_TYPE_MAP_VIEW);
  g_type_ensure (WEFT_TYPE_HOVER_CARD);
  g_type_ensure (WEFT_TYPE_EVAL_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-explore-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, loading_status);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, loading_progress);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, run_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, projection_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, colour_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, lasso_button);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, map_overlay);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, map);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, hover_card);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, timeline_box);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, timeline_scale);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, timeline_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, timeline_label);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, side_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, neighbour_list);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, selection_list);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, eval_panel);

  gtk_widget_class_install_action (widget_class, "explore.export-tsv", NULL, action_export_tsv);
  gtk_widget_class_install_action (widget_class, "explore.export-selection", NULL, action_export_selection);
  gtk_widget_class_install_action (widget_class, "explore.export-map", "s", action_export_map);
  gtk_widget_class_install_action (widget_class, "explore.stop-projection", NULL, action_stop_projection);
  gtk_widget_class_install_action (widget_class, "explore.cancel", NULL, action_cancel);
  gtk_widget_class_install_action (widget_class, "explore.zoom-in", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "explore.zoom-out", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "explore.zoom-fit", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "explore.lasso", NULL, action_lasso);
  gtk_widget_class_install_action (widget_class, "explore.search", NULL, action_search);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "explore.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "explore.lasso", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "explore.export-tsv", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK,
                                       "explore.stop-projection", NULL);
}

static void
on_lasso_toggled (GtkToggleButton *button,
                  WeftExplorePage *self)
{
  weft_map_view_set_lasso_mode (self->map, gtk_toggle_button_get_active (button));
}

static GtkWidget *
weft_explore_page_placeholder (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_widget_set_margin_top (label, 24);
  gtk_widget_set_margin_start (label, 18);
  gtk_widget_set_margin_end (label, 18);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static void
weft_explore_page_init (WeftExplorePage *self)
{
  GtkDropTarget *drop;

  g_mutex_init (&self->compute_lock);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->epoch_maps = g_hash_table_new_full (NULL, NULL, NULL, g_free);

  /* The lasso button toggles itself; its action only mirrors the state
   * for the keyboard shortcut. */
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->lasso_button), NULL);
  g_signal_connect (self->lasso_button, "toggled", G_CALLBACK (on_lasso_toggled), self);

  g_signal_connect (self->run_dropdown, "notify::selected", G_CALLBACK (on_run_selected), self);
  g_signal_connect (self->projection_dropdown, "notify::selected", G_CALLBACK (on_projection_selected), self);
  g_signal_connect (self->colour_dropdown, "notify::selected", G_CALLBACK (on_colour_selected), self);
  g_signal_connect (self->map, "hover-changed", G_CALLBACK (on_hover_changed), self);
  g_signal_connect (self->map, "point-activated", G_CALLBACK (on_point_activated), self);
  g_signal_connect (self->map, "selection-changed", G_CALLBACK (on_selection_changed), self);
  g_signal_connect (self->map_overlay, "get-child-position", G_CALLBACK (on_get_child_position), self);
  g_signal_connect (self->timeline_adjustment, "value-changed", G_CALLBACK (on_timeline_changed), self);
  /* Searching as one types: a query is one small forward pass. */
  g_signal_connect (self->search_entry, "activate", G_CALLBACK (on_search_activate), self);
  g_signal_connect (self->search_entry, "search-changed", G_CALLBACK (on_search_activate), self);
  g_signal_connect (self->neighbour_list, "row-activated", G_CALLBACK (on_list_row_activated), self);
  g_signal_connect (self->selection_list, "row-activated", G_CALLBACK (on_list_row_activated), self);
  g_signal_connect (self->eval_panel, "show-failure", G_CALLBACK (on_failure), self);

  gtk_list_box_set_placeholder (self->neighbour_list,
                                weft_explore_page_placeholder (_("Click a point, or press Enter on it, to list its nearest neighbours in every modality. Type a sentence above to find the closest images and sounds.")));
  gtk_list_box_set_placeholder (self->selection_list,
                                weft_explore_page_placeholder (_("Drag with Shift held (or turn on the lasso) to select points; the selection can be exported as CSV.")));

  drop = gtk_drop_target_new (G_TYPE_FILE, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->map), GTK_EVENT_CONTROLLER (drop));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "explore.export-selection", FALSE);
}

void
weft_explore_page_set_project (WeftExplorePage *self,
                               WeftProject *project)
{
  g_return_if_fail (WEFT_IS_EXPLORE_PAGE (self));
  g_return_if_fail (project == NULL || WEFT_IS_PROJECT (project));

  if (self->project == project)
    return;
  if (self->project != NULL)
    g_clear_signal_handler (&self->project_changed_id, self->project);
  g_set_object (&self->project, project);
  if (project != NULL)
    self->project_changed_id = g_signal_connect (project, "changed", G_CALLBACK (on_project_changed), self);
  g_clear_pointer (&self->run_ids, g_ptr_array_unref);
  g_clear_pointer (&self->run_id, g_free);
  weft_explore_page_clear_embedding (self);
  weft_explore_page_refresh_runs (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

WeftProject *
weft_explore_page_get_project (WeftExplorePage *self)
{
  g_return_val_if_fail (WEFT_IS_EXPLORE_PAGE (self), NULL);

  return self->project;
}

void
weft_explore_page_set_features (WeftExplorePage      *self,
                                WeftFeatures      *features,
                                const WeftDataset *dataset)
{
  gboolean had = self->features != NULL;

  g_return_if_fail (WEFT_IS_EXPLORE_PAGE (self));

  if (features != NULL)
    weft_features_ref (features);
  g_clear_pointer (&self->features, weft_features_free);
  self->features = features;
  self->dataset = dataset;
  g_clear_pointer (&self->graph, weft_graph_free);

  /* A run waiting for its dataset can now be embedded; a shown one gets
   * its thumbnails, captions and robustness checks. */
  if (features != NULL && !had && self->run_ids != NULL && self->run_ids->len > 0)
    {
      if (self->embedding == NULL)
        {
          g_clear_pointer (&self->run_id, g_free);
          weft_explore_page_load_run (self);
        }
      else
        weft_eval_panel_set_run (self->eval_panel, self->embedding, self->checkpoint, self->features);
    }
}

WeftFeatures *
weft_explore_page_get_features (WeftExplorePage *self)
{
  g_return_val_if_fail (WEFT_IS_EXPLORE_PAGE (self), NULL);

  return self->features;
}
