/* weft-cli.c — Weft without a screen: validate a model spec, train it on a
 * dataset, and evaluate a checkpoint. Scripts read the last line, which is
 * always the final metrics as name=value pairs. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "data/weft-audio.h"
#include "data/weft-dataset.h"
#include "data/weft-dataset.h"
#include "data/weft-features.h"
#include "data/weft-featurize.h"
#include "data/weft-image.h"
#include "data/weft-text.h"
#include "export/weft-export-pytorch.h"
#include "embed/weft-embed.h"
#include "embed/weft-knn.h"
#include "export/weft-export-tsv.h"
#include "graph/weft-checkpoint.h"
#include "graph/weft-graph.h"
#include "tensor/weft-blas.h"
#include "train/weft-compare.h"
#include "train/weft-metrics.h"
#include "train/weft-trainer.h"
#include "weft-error.h"

static int
die (const char *what, GError *error)
{
  g_printerr ("weft-cli %s: %s\n", what, error->message);
  g_error_free (error);
  return 1;
}

static void
on_featurize_progress (double fraction, const char *message, gpointer user_data)
{
  if (!isatty (STDOUT_FILENO))
    return;
  g_print ("\r\033[K%3.0f%%  %s", fraction * 100, message ? message : "");
  fflush (stdout);
}

/* A dataset folder (or Fashion-MNIST IDX files) to features. Issues found
 * while reading are counted on stderr; `weft-cli inspect` lists them. */
static WeftFeatures *
load_features (const char *dir, const WeftFeatureSettings *settings, GError **error)
{
  if (dir == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "--data DIR is required");
      return NULL;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: no such folder", dir);
      return NULL;
    }
  if (weft_features_is_idx_dir (dir))
    return weft_features_load_idx (dir, error);

  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  /* Image sizes are checked from the header when each image is decoded;
   * probing every header here too would double the cost of a reopen. */
  limits.probe_images = FALSE;
  g_autoptr(WeftDataset) ds = weft_dataset_open (dir, &limits, NULL, error);
  if (ds == NULL)
    return NULL;
  g_autofree char *cache = weft_features_default_cache_dir ();
  WeftFeatures *f = weft_featurize (ds, settings, cache, 0, on_featurize_progress, NULL, NULL, error);
  if (isatty (STDOUT_FILENO))
    g_print ("\r\033[K");
  if (f && ds->issues->len > 0)
    g_printerr ("weft-cli: %s: %u problem%s found, %d row%s left out (see weft-cli inspect)\n",
                dir, ds->issues->len, ds->issues->len == 1 ? "" : "s",
                ds->n_skipped, ds->n_skipped == 1 ? "" : "s");
  if (f && f->name == NULL)
    f->name = g_path_get_basename (ds->root);
  return f;
}

/* Feature options shared by train and validate. */
typedef struct {
  int image_size, channels, mel_bands, frames, text_length, vocab_size;
} FeatureArgs;

#define FEATURE_ENTRIES(fa) \
  { "image-size", 0, 0, G_OPTION_ARG_INT, &(fa).image_size, "Images are scaled to this many pixels square (default 32)", "N" }, \
  { "channels", 0, 0, G_OPTION_ARG_INT, &(fa).channels, "1 for grey, 3 for colour (default 3)", "N" }, \
  { "mel-bands", 0, 0, G_OPTION_ARG_INT, &(fa).mel_bands, "Mel bands of the audio spectrogram (default 40)", "N" }, \
  { "frames", 0, 0, G_OPTION_ARG_INT, &(fa).frames, "Spectrogram frames of 10 ms kept per clip (default 100)", "N" }, \
  { "text-length", 0, 0, G_OPTION_ARG_INT, &(fa).text_length, "Words kept per caption (default 16)", "N" }, \
  { "vocab-size", 0, 0, G_OPTION_ARG_INT, &(fa).vocab_size, "Largest vocabulary (default 5000)", "N" }

static gboolean
feature_settings_from_args (WeftFeatureSettings *s, const FeatureArgs *fa, GError **error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  if (fa->image_size > 0) json_object_set_int_member (o, "image_size", fa->image_size);
  if (fa->channels > 0) json_object_set_int_member (o, "image_channels", fa->channels);
  if (fa->mel_bands > 0) json_object_set_int_member (o, "mel_bands", fa->mel_bands);
  if (fa->frames > 0) json_object_set_int_member (o, "frames", fa->frames);
  if (fa->text_length > 0) json_object_set_int_member (o, "text_length", fa->text_length);
  if (fa->vocab_size > 0) json_object_set_int_member (o, "vocab_max_size", fa->vocab_size);
  return weft_feature_settings_from_json (s, o, error);
}

/* Re-expresses token ids and labels of f in the checkpoint's vocabulary and
 * classes, so a model is evaluated with the words and labels it learnt. */
static void
align_to_checkpoint (WeftFeatures *f, const WeftCheckpointInfo *info)
{
  if (info->vocab && f->vocab && f->text.data)
    {
      g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
      for (int i = 0; info->vocab[i]; i++)
        g_hash_table_insert (ids, info->vocab[i], GINT_TO_POINTER (i + 1));
      int n_f = g_strv_length (f->vocab);
      gsize n = (gsize) f->n_rows * weft_shape_size (&f->text.shape);
      for (gsize i = 0; i < n; i++)
        {
          int id = (int) f->text.data[i];
          if (id < 0)
            continue;
          int mapped = id < n_f ? GPOINTER_TO_INT (g_hash_table_lookup (ids, f->vocab[id])) - 1 : -1;
          f->text.data[i] = mapped >= 0 ? mapped : 0;   /* 0 is <unk> */
        }
      f->vocab_size = g_strv_length (info->vocab);
      g_strfreev (f->vocab);
      f->vocab = g_strdupv (info->vocab);
      /* The idf must follow the new ids: the checkpoint's own weights when
       * it has them, else the training rows' in the checkpoint's words. */
      if (f->idf || info->idf)
        {
          g_clear_pointer (&f->idf, g_free);
          f->idf = g_new (float, MAX (f->vocab_size, 1));
          if (info->idf && info->idf_size == f->vocab_size)
            memcpy (f->idf, info->idf, f->vocab_size * sizeof (float));
          else
            {
              int L = f->text.shape.d[0], n_train = 0;
              g_autofree float *train = g_new (float, (gsize) MAX (f->n_rows, 1) * L);
              for (int r = 0; r < f->n_rows; r++)
                if (f->split[r] == WEFT_SPLIT_TRAIN && (f->text.present == NULL || f->text.present[r]))
                  memcpy (train + (gsize) n_train++ * L, f->text.data + (gsize) r * L, L * sizeof (float));
              weft_text_idf (train, n_train, L, f->vocab_size, f->idf);
            }
        }
    }
  /* Sounds standardised with the training set's statistics, not this
   * dataset's, when the checkpoint carries them. */
  if (info->audio_mean && f->audio_mean && f->audio_std && f->audio.data && f->audio.shape.n == 2
      && info->audio_bands == f->audio.shape.d[0]
      && (memcmp (info->audio_mean, f->audio_mean, info->audio_bands * sizeof (float)) != 0
          || memcmp (info->audio_std, f->audio_std, info->audio_bands * sizeof (float)) != 0))
    {
      int bands = f->audio.shape.d[0], frames = f->audio.shape.d[1];
      for (int r = 0; r < f->n_rows; r++)
        {
          if (f->audio.present && !f->audio.present[r])
            continue;   /* a missing sound stays zeros */
          float *m = f->audio.data + (gsize) r * bands * frames;
          for (int b = 0; b < bands; b++)
            for (int t = 0; t < frames; t++)
              {
                float raw = m[b * frames + t] * f->audio_std[b] + f->audio_mean[b];
                m[b * frames + t] = (raw - info->audio_mean[b]) / info->audio_std[b];
              }
        }
      memcpy (f->audio_mean, info->audio_mean, bands * sizeof (float));
      memcpy (f->audio_std, info->audio_std, bands * sizeof (float));
    }
  if (info->classes && f->class_names && f->label)
    {
      int n_f = g_strv_length (f->class_names);
      for (int r = 0; r < f->n_rows; r++)
        {
          int y = (int) f->label[r], mapped = -1;
          for (int k = 0; y >= 0 && y < n_f && info->classes[k]; k++)
            if (g_str_equal (info->classes[k], f->class_names[y]))
              mapped = k;
          f->label[r] = mapped;
        }
      f->n_classes = g_strv_length (info->classes);
      g_strfreev (f->class_names);
      f->class_names = g_strdupv (info->classes);
    }
}

static char *
human (double v)
{
  if (v >= 1e9)
    return g_strdup_printf ("%.2fG", v / 1e9);
  if (v >= 1e6)
    return g_strdup_printf ("%.2fM", v / 1e6);
  if (v >= 1e3)
    return g_strdup_printf ("%.1fk", v / 1e3);
  return g_strdup_printf ("%.0f", v);
}

/* ---- validate ---- */

static int
cmd_validate (int argc, char **argv)
{
  g_autofree char *data = NULL;
  FeatureArgs fa = { 0 };
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Bind shapes from this dataset (default: the demo shapes)", "DIR" },
    FEATURE_ENTRIES (fa),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("SPEC.json — check a model spec and print shapes, parameters and FLOPs");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("validate", error);
  if (argc != 2)
    {
      g_printerr ("weft-cli validate: give one model spec file (see --help)\n");
      return 2;
    }
  g_autoptr(WeftSpec) spec = weft_spec_load (argv[1], &error);
  if (spec == NULL)
    return die ("validate", error);
  WeftBinding b;
  if (data)
    {
      WeftFeatureSettings fs;
      weft_feature_settings_init (&fs);
      if (!feature_settings_from_args (&fs, &fa, &error))
        return die ("validate", error);
      g_autoptr(WeftFeatures) f = load_features (data, &fs, &error);
      if (f == NULL)
        return die ("validate", error);
      weft_features_get_binding (f, &b);
    }
  else
    weft_binding_init_default (&b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  if (g == NULL)
    return die ("validate", error);

  g_print ("%-24s %-16s %-18s %12s %12s\n", "node", "type", "output", "params", "FLOPs");
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      WeftShape s;
      if (!weft_graph_describe (g, in->id, &s, NULL, NULL))
        continue;
      g_autofree char *ss = weft_shape_to_string (&s);
      g_print ("%-24s %-16s %-18s %12s %12s\n", in->id, "input", ss, "-", "-");
    }
  int n = weft_graph_get_n_nodes (g);
  for (int k = 0; k < n; k++)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, k);
      if (gn->modality >= 0)
        continue;
      WeftNode *node = gn->node;
      g_autofree char *ss = (node->block->flags & WEFT_BLOCK_LOSS) ? g_strdup ("scalar")
                                                                  : weft_shape_to_string (&node->out_shape);
      gsize p = gn->owner == k ? weft_node_param_count (node) : 0;
      guint64 fl = node->block->flops ? node->block->flops (node) : 0;
      g_autofree char *ps = human (p), *fs = human (fl);
      g_autofree char *name = g_str_equal (node->id, gn->spec_id) ? g_strdup (node->id)
                                                                  : g_strdup_printf ("  %s", node->id);
      const char *note = gn->owner != k ? " (shared)" : gn->frozen ? " (frozen)" : "";
      g_print ("%-24s %-16s %-18s %12s %12s%s\n", name, node->block->type, ss, ps, fs, note);
    }
  g_autofree char *tp = human (weft_graph_param_count (g));
  g_autofree char *tf = human (weft_graph_flops (g));
  g_print ("total: %s parameters, %s FLOPs per sample (forward)\n", tp, tf);
  g_print ("valid=1 params=%" G_GSIZE_FORMAT " flops=%" G_GUINT64_FORMAT "\n",
           weft_graph_param_count (g), weft_graph_flops (g));
  return 0;
}

/* ---- train ---- */

typedef struct {
  WeftTrainer *trainer;
  GMainLoop *loop;
  gboolean tty;
  int last_epoch_printed;
} TrainUi;

static void
print_epoch (const WeftEpochMetrics *m, int epochs, gboolean tty)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "epoch %d/%d  loss %.4f", m->epoch, epochs, m->train_loss);
  if (!isnan (m->val_loss))
    g_string_append_printf (s, "  val_loss %.4f", m->val_loss);
  if (!isnan (m->val_accuracy))
    g_string_append_printf (s, "  val_accuracy %.4f", m->val_accuracy);
  if (!isnan (m->val_recall1))
    g_string_append_printf (s, "  val_R@1 %.4f  val_R@5 %.4f", m->val_recall1, m->val_recall5);
  g_string_append_printf (s, "  %.0f samples/s  %.1f s", m->samples_per_s, m->seconds);
  g_print ("%s%s\n", tty ? "\r\033[K" : "", s->str);
  g_string_free (s, TRUE);
}

static void
on_progress (WeftTrainer *t, TrainUi *ui)
{
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  if (p.epochs_done > ui->last_epoch_printed)
    {
      g_autoptr(GArray) h = weft_trainer_dup_history (t);
      for (guint i = ui->last_epoch_printed; i < h->len; i++)
        print_epoch (&g_array_index (h, WeftEpochMetrics, i), p.epochs, ui->tty);
      ui->last_epoch_printed = h->len;
    }
  if (ui->tty && p.state == WEFT_TRAIN_RUNNING && p.steps_per_epoch > 0)
    {
      double frac = (double) p.step / MAX (p.total_steps, 1);
      int width = 30, full = (int) (frac * width);
      char bar[64];
      for (int i = 0; i < width; i++)
        bar[i] = i < full ? '#' : '.';
      bar[width] = 0;
      g_print ("\r\033[Kepoch %d/%d [%s] %3.0f%%  loss %.4f  %.0f samples/s  eta %.0f s",
               p.epoch, p.epochs, bar, frac * 100, p.loss, p.samples_per_s, p.eta);
      fflush (stdout);
    }
  weft_progress_clear (&p);
}

static void
on_finished (WeftTrainer *t, TrainUi *ui)
{
  g_main_loop_quit (ui->loop);
}

static TrainUi *the_ui;

static gboolean
on_sigint (gpointer data)
{
  if (the_ui)
    weft_trainer_stop (the_ui->trainer);
  return G_SOURCE_CONTINUE;
}

/* --dump-outputs of train and eval: the engine's outputs on the first
 * rows, as one batch, for checking an exported model against. */
static gboolean
dump_engine_outputs (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                   int dump_rows, const char *path, GError **error)
{
  if (dump_rows < 1)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "--dump-rows must be at least 1");
      return FALSE;
    }
  n = MIN (MIN (n, dump_rows), weft_graph_get_max_batch (g));
  return weft_export_reference_outputs (g, f, rows, n, path, error);
}

/* The training options that train and compare share (a negative number
 * or NULL: not given, the config's default stays). */
typedef struct {
  const char *optimizer;
  double lr, weight_decay, clip;
  const char *schedule;
  int warmup, epochs, batch, seed;
  double val_share;
  int threads;
} TrainOptions;

static gboolean
train_config_from_options (WeftTrainConfig *c, const TrainOptions *t, GError **error)
{
  weft_train_config_init (c);
  if (t->optimizer)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "optimizer", t->optimizer);
      if (!weft_optim_config_from_json (&c->optim, o, error))
        return FALSE;
      /* The chosen optimizer's own defaults (Adam's lr is not SGD's). */
      WeftOptimKind kind = c->optim.kind;
      weft_optim_config_init_default (&c->optim, kind);
    }
  g_autoptr(JsonObject) o = json_object_new ();
  if (t->lr >= 0) json_object_set_double_member (o, "lr", t->lr);
  if (t->weight_decay >= 0) json_object_set_double_member (o, "weight_decay", t->weight_decay);
  if (t->clip >= 0) json_object_set_double_member (o, "clip_norm", t->clip);
  if (t->schedule) json_object_set_string_member (o, "schedule", t->schedule);
  if (t->warmup >= 0) json_object_set_int_member (o, "warmup_steps", t->warmup);
  if (t->epochs >= 0) json_object_set_int_member (o, "epochs", t->epochs);
  if (t->batch >= 0) json_object_set_int_member (o, "batch_size", t->batch);
  if (t->seed >= 0) json_object_set_int_member (o, "seed", t->seed);
  if (t->val_share >= 0) json_object_set_double_member (o, "val_share", t->val_share);
  json_object_set_int_member (o, "threads", t->threads);
  return weft_train_config_from_json (c, o, error);
}

static int
cmd_train (int argc, char **argv)
{
  g_autofree char *data = NULL, *model = NULL, *out = NULL, *optimizer = NULL, *schedule = NULL;
  g_autofree char *dump = NULL;
  int epochs = -1, batch = -1, seed = -1, threads = 0, warmup = -1, dump_rows = 32;
  FeatureArgs fa = { 0 };
  double lr = -1, wd = -1, clip = -1, val_share = -1;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset folder", "DIR" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model spec (JSON)", "SPEC" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Passes over the training data (default 5)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Samples per step (default 64)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default: 0.001 for Adam, 0.05 for SGD)", "X" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "sgd, adam or adamw (default adam)", "NAME" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &wd, "Weight decay", "X" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &clip, "Clip the gradient norm to this value", "X" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "constant, step or cosine", "NAME" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Warm-up steps", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default: all cores)", "N" },
    { "val-share", 0, 0, G_OPTION_ARG_DOUBLE, &val_share, "Share of training rows held out for validation when the data has no validation split (default 0.1)", "X" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the checkpoint here (after every epoch)", "CKPT" },
    { "dump-outputs", 0, 0, G_OPTION_ARG_FILENAME, &dump, "After training, write the inputs and every node's output for the first rows (safetensors), to check an exported model against", "FILE" },
    { "dump-rows", 0, 0, G_OPTION_ARG_INT, &dump_rows, "Rows written by --dump-outputs (default 32, at most one batch)", "N" },
    FEATURE_ENTRIES (fa),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— train a model spec on a dataset");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("train", error);
  if (model == NULL)
    {
      g_printerr ("weft-cli train: --model SPEC is required (see --help)\n");
      return 2;
    }

  WeftTrainConfig c;
  TrainOptions to = { optimizer, lr, wd, clip, schedule, warmup, epochs, batch, seed,
                      val_share, threads };
  if (!train_config_from_options (&c, &to, &error))
    return die ("train", error);
  c.checkpoint_path = g_strdup (out);

  g_autoptr(WeftSpec) spec = weft_spec_load (model, &error);
  if (spec == NULL)
    return die ("train", error);
  WeftFeatureSettings fs;
  weft_feature_settings_init (&fs);
  if (!feature_settings_from_args (&fs, &fa, &error))
    return die ("train", error);
  c.features = weft_feature_settings_to_json (&fs);
  g_autoptr(WeftFeatures) f = load_features (data, &fs, &error);
  if (f == NULL)
    return die ("train", error);
  int n_val;
  g_autofree int *vr = weft_features_split_rows (f, WEFT_SPLIT_VALIDATION, &n_val);
  if (n_val == 0 && c.val_share > 0)
    weft_features_carve_validation (f, c.val_share, c.seed);

  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  if (g == NULL)
    return die ("train", error);
  weft_graph_allocate (g, c.batch_size, c.seed);
  g_autofree char *spec_dir = g_path_get_dirname (model);
  if (!weft_checkpoint_load_transfers (g, spec_dir, &error))
    return die ("train", error);

  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  TrainUi ui = { t, loop, isatty (STDOUT_FILENO), 0 };
  the_ui = &ui;
  g_signal_connect (t, "progress", G_CALLBACK (on_progress), &ui);
  g_signal_connect (t, "finished", G_CALLBACK (on_finished), &ui);
  g_unix_signal_add (SIGINT, on_sigint, NULL);
  int n_train;
  g_autofree int *tr = weft_features_split_rows (f, WEFT_SPLIT_TRAIN, &n_train);
  g_free (weft_features_split_rows (f, WEFT_SPLIT_VALIDATION, &n_val));
  g_autofree char *pc = human (weft_graph_param_count (g));
  g_print ("training %s on %s: %d training and %d validation rows, %s parameters, %d BLAS thread%s\n",
           spec->name ? spec->name : model, f->name ? f->name : data, n_train, n_val, pc,
           weft_blas_set_threads (threads), weft_blas_get_threads () == 1 ? "" : "s");
  if (!weft_trainer_start (t, &error))
    return die ("train", error);
  g_main_loop_run (loop);
  weft_trainer_join (t);
  the_ui = NULL;

  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  if (dump && p.state == WEFT_TRAIN_FINISHED)
    {
      g_autofree int *all = g_new (int, f->n_rows);
      for (int i = 0; i < f->n_rows; i++)
        all[i] = i;
      if (!dump_engine_outputs (g, f, all, f->n_rows, dump_rows, dump, &error))
        {
          weft_progress_clear (&p);
          weft_train_config_clear (&c);
          return die ("train", error);
        }
    }
  if (ui.tty)
    g_print ("\r\033[K");
  int rc = 0;
  if (p.state == WEFT_TRAIN_FAILED)
    {
      g_printerr ("weft-cli train: %s\n", p.message);
      rc = 1;
    }
  else if (p.state == WEFT_TRAIN_STOPPED)
    g_printerr ("weft-cli train: %s\n", p.message);

  GString *line = g_string_new (NULL);
  g_string_append_printf (line, "epochs=%d", p.epochs_done);
  if (p.epochs_done > 0)
    {
      const WeftEpochMetrics *m = &p.last;
      g_autoptr(GArray) h = weft_trainer_dup_history (t);
      double sps;
      /* samples/s: median over epochs 2.. (epoch 1 warms caches), as the
       * PyTorch reference protocol does. */
      g_autofree double *v = g_new (double, h->len);
      guint nv = 0;
      for (guint i = h->len > 1 ? 1 : 0; i < h->len; i++)
        v[nv++] = g_array_index (h, WeftEpochMetrics, i).samples_per_s;
      for (guint i = 0; i < nv; i++)
        for (guint j = i + 1; j < nv; j++)
          if (v[j] < v[i])
            {
              double tmp = v[i]; v[i] = v[j]; v[j] = tmp;
            }
      sps = nv ? (nv % 2 ? v[nv / 2] : 0.5 * (v[nv / 2 - 1] + v[nv / 2])) : 0;
      if (!isnan (m->val_accuracy))
        g_string_append_printf (line, " accuracy=%.4f", m->val_accuracy);
      if (!isnan (m->val_recall1))
        g_string_append_printf (line, " recall1=%.4f recall5=%.4f", m->val_recall1, m->val_recall5);
      g_string_append_printf (line, " loss=%.4f val_loss=%.4f samples_per_s=%.0f seconds=%.1f",
                              m->train_loss, m->val_loss, sps, p.elapsed);
      /* Share of the training time spent on the live-plot snapshots. */
      double train_s = 0;
      for (guint i = 0; i < h->len; i++)
        train_s += g_array_index (h, WeftEpochMetrics, i).seconds;
      if (train_s > 0)
        g_string_append_printf (line, " snapshot_share=%.4f", p.snapshot_seconds / train_s);
    }
  g_print ("%s\n", line->str);
  g_string_free (line, TRUE);
  weft_progress_clear (&p);
  weft_train_config_clear (&c);
  return rc;
}

/* ---- compare ---- */

typedef struct {
  WeftCompare *compare;
  GMainLoop *loop;
  gboolean tty;
} CompareUi;

static CompareUi *the_compare_ui;

static gboolean
compare_on_sigint (gpointer data)
{
  if (the_compare_ui)
    weft_compare_cancel (the_compare_ui->compare);
  return G_SOURCE_CONTINUE;
}

static void
compare_on_progress (WeftCompare *cmp, CompareUi *ui)
{
  if (!ui->tty)
    return;
  WeftCompareProgress p;
  weft_compare_get_progress (cmp, &p);
  if (p.running)
    {
      g_print ("\r\033[K[%d/%d] %s  epoch %d/%d  step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
               "  loss %.4f  %3.0f%% overall",
               p.index + 1, p.n, p.name ? p.name : "", p.epoch, p.epochs, p.step, p.total_steps,
               p.loss, p.fraction * 100);
      fflush (stdout);
    }
  weft_compare_progress_clear (&p);
}

static void
compare_on_result (WeftCompare *cmp, guint i, CompareUi *ui)
{
  WeftCompareResult r;
  if (!weft_compare_get_result (cmp, i, &r))
    return;
  g_print ("%s%s: %s", ui->tty ? "\r\033[K" : "", r.name,
           r.state == WEFT_TRAIN_FINISHED ? "finished" : r.state == WEFT_TRAIN_STOPPED ? "stopped" : "failed");
  if (!isnan (r.accuracy))
    g_print (", accuracy %.4f", r.accuracy);
  for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
    if ((r.used & (1u << m)) && !isnan (r.missing[m]))
      g_print (", without %s %.4f", weft_modality_choices[m], r.missing[m]);
  g_print (", %.1f s\n", r.seconds);
  if (r.state != WEFT_TRAIN_FINISHED && r.message)
    g_printerr ("weft-cli compare: %s: %s\n", r.name, r.message);
  weft_compare_result_clear (&r);
}

static void
compare_on_finished (WeftCompare *cmp, CompareUi *ui)
{
  g_main_loop_quit (ui->loop);
}

/* A template given by name is looked up in the templates folder: the
 * option, $WEFT_TEMPLATES_DIR, ./data/models, then next to the program in
 * a build tree or an installation. */
static char *
compare_find_template (const char *name, const char *dir, GError **error)
{
  if (strchr (name, G_DIR_SEPARATOR) || g_str_has_suffix (name, ".json"))
    {
      if (g_file_test (name, G_FILE_TEST_IS_REGULAR))
        return g_strdup (name);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: no such model template", name);
      return NULL;
    }
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe ? g_path_get_dirname (exe) : g_strdup (".");
  g_autofree char *in_build = g_build_filename (exe_dir, "..", "..", "data", "models", NULL);
  g_autofree char *installed = g_build_filename (exe_dir, "..", "share", "weft", "models", NULL);
  const char *dirs[] = { dir, g_getenv ("WEFT_TEMPLATES_DIR"), "data/models", in_build, installed };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      if (dirs[i] == NULL)
        continue;
      char *path = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
      if (dir != NULL)
        break;               /* an explicit folder is the only place looked in */
    }
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO,
               "no model template named %s (give a .json file, or --templates-dir)", name);
  return NULL;
}

static int
cmd_compare (int argc, char **argv)
{
  g_autofree char *templates = NULL, *templates_dir = NULL, *project_path = NULL, *optimizer = NULL;
  int epochs = -1, batch = -1, seed = -1, threads = 0;
  double lr = -1, clip = -1, val_share = -1;
  FeatureArgs fa = { 0 };
  GOptionEntry entries[] = {
    { "templates", 'T', 0, G_OPTION_ARG_STRING, &templates, "Comma-separated template names or .json files", "A,B,C" },
    { "templates-dir", 0, 0, G_OPTION_ARG_FILENAME, &templates_dir, "Folder of the named templates", "DIR" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Passes over the training data (default 5)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Samples per step (default 64)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default 0.001 for Adam)", "X" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "sgd, adam or adamw (default adam)", "NAME" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &clip, "Clip the gradient norm to this value", "X" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed, the same for every template (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default: all cores)", "N" },
    { "val-share", 0, 0, G_OPTION_ARG_DOUBLE, &val_share, "Share of training rows held out for validation when the data has none (default 0.1)", "X" },
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_path, "Save every template's run in this project (.weft)", "FILE" },
    FEATURE_ENTRIES (fa),
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DATASET — train several templates with the same settings and compare them");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("compare", error);
  if (argc != 2 || templates == NULL)
    {
      g_printerr ("weft-cli compare: give one DATASET folder and --templates A,B,C (see --help)\n");
      return 2;
    }

  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) names = g_strsplit (templates, ",", -1);
  for (int i = 0; names[i]; i++)
    {
      g_strstrip (names[i]);
      if (*names[i] == 0)
        continue;
      char *path = compare_find_template (names[i], templates_dir, &error);
      if (path == NULL)
        return die ("compare", error);
      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);

  WeftTrainConfig c;
  TrainOptions to = { optimizer, lr, -1, clip, NULL, -1, epochs, batch, seed, val_share, threads };
  if (!train_config_from_options (&c, &to, &error))
    return die ("compare", error);

  WeftFeatureSettings fs;
  weft_feature_settings_init (&fs);
  if (!feature_settings_from_args (&fs, &fa, &error))
    return die ("compare", error);
  c.features = weft_feature_settings_to_json (&fs);
  g_autoptr(WeftFeatures) f = load_features (argv[1], &fs, &error);
  if (f == NULL)
    return die ("compare", error);
  int n_val;
  g_free (weft_features_split_rows (f, WEFT_SPLIT_VALIDATION, &n_val));
  if (n_val == 0 && c.val_share > 0)
    weft_features_carve_validation (f, c.val_share, c.seed);

  g_autoptr(WeftProject) project = NULL;
  g_autoptr(GFile) project_file = project_path ? g_file_new_for_commandline_arg (project_path) : NULL;
  if (project_file)
    {
      project = g_file_query_exists (project_file, NULL)
                ? weft_project_load (project_file, &error) : weft_project_new ();
      if (project == NULL)
        return die ("compare", error);
      if (weft_project_get_dataset (project) == NULL)
        {
          g_autofree char *abs = g_canonicalize_filename (argv[1], NULL);
          weft_project_set_dataset (project, abs);
        }
    }

  g_autoptr(WeftCompare) cmp = weft_compare_new (f, (const char *const *) paths->pdata, &c);
  if (project)
    weft_compare_set_project (cmp, project);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  CompareUi ui = { cmp, loop, isatty (STDOUT_FILENO) };
  the_compare_ui = &ui;
  g_signal_connect (cmp, "progress", G_CALLBACK (compare_on_progress), &ui);
  g_signal_connect (cmp, "result-added", G_CALLBACK (compare_on_result), &ui);
  g_signal_connect (cmp, "finished", G_CALLBACK (compare_on_finished), &ui);
  g_unix_signal_add (SIGINT, compare_on_sigint, NULL);
  int n_train;
  g_free (weft_features_split_rows (f, WEFT_SPLIT_TRAIN, &n_train));
  g_print ("comparing %u templates on %s: %d training rows, %d epochs, batch %d, seed %" G_GUINT64_FORMAT "\n",
           paths->len - 1, f->name ? f->name : argv[1], n_train, c.epochs, c.batch_size, c.seed);
  if (!weft_compare_start (cmp, &error))
    return die ("compare", error);
  g_main_loop_run (loop);
  weft_compare_join (cmp);
  the_compare_ui = NULL;
  if (ui.tty)
    g_print ("\r\033[K");

  g_autofree char *table = weft_compare_format_table (cmp);
  g_print ("\n%s\n", table);

  /* The last line: per template name.metric=value, then how the best
   * fusion (two or more modalities) did against the best single one. */
  GString *line = g_string_new (NULL);
  double best_fusion = NAN, best_single = NAN;
  const char *best_fusion_name = NULL;
  int rc = 0;
  guint n = weft_compare_get_n_results (cmp);
  g_autoptr(GArray) results = g_array_new (FALSE, TRUE, sizeof (WeftCompareResult));
  g_array_set_clear_func (results, (GDestroyNotify) weft_compare_result_clear);
  g_string_append_printf (line, "templates=%u", n);
  for (guint i = 0; i < n; i++)
    {
      WeftCompareResult r;
      weft_compare_get_result (cmp, i, &r);
      g_array_append_val (results, r);
      WeftCompareResult *rr = &g_array_index (results, WeftCompareResult, i);
      if (rr->state == WEFT_TRAIN_FAILED)
        rc = 1;
      if (!isnan (rr->accuracy))
        g_string_append_printf (line, " %s.accuracy=%.4f", rr->name, rr->accuracy);
      for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
        if ((rr->used & (1u << m)) && !isnan (rr->missing[m]))
          g_string_append_printf (line, " %s.without_%s=%.4f", rr->name, weft_modality_choices[m], rr->missing[m]);
      g_string_append_printf (line, " %s.parameters=%" G_GSIZE_FORMAT " %s.seconds=%.1f",
                              rr->name, rr->parameters, rr->name, rr->seconds);
      if (isnan (rr->accuracy))
        continue;
      if (g_bit_nth_lsf (rr->used, -1) == g_bit_nth_msf (rr->used, -1))
        best_single = isnan (best_single) ? rr->accuracy : MAX (best_single, rr->accuracy);
      else if (isnan (best_fusion) || rr->accuracy > best_fusion)
        {
          best_fusion = rr->accuracy;
          best_fusion_name = rr->name;
        }
    }
  if (best_fusion_name)
    g_string_append_printf (line, " best_fusion=%s", best_fusion_name);
  if (!isnan (best_fusion) && !isnan (best_single))
    g_string_append_printf (line, " fusion_gain=%.4f", best_fusion - best_single);

  if (project)
    {
      if (!weft_project_save (project, project_file, &error))
        {
          g_string_free (line, TRUE);
          weft_train_config_clear (&c);
          return die ("compare", error);
        }
      g_print ("%u run%s saved in %s\n", n, n == 1 ? "" : "s", project_path);
    }
  g_print ("%s\n", line->str);
  g_string_free (line, TRUE);
  weft_train_config_clear (&c);
  return rc;
}

/* ---- eval ---- */

/* ---- retrieval metrics (eval) and embeddings (embed) ---- */

/* Embeds the first rows (at most 1000) and appends i2t_r1= ... for every
 * pair of modalities the model embeds; with `table`, first prints each
 * direction and its worst failures. */
static gboolean
append_retrieval (GString *line, WeftGraph *g, const WeftFeatures *f,
                  const int *rows, int n, gboolean table, GError **error)
{
  g_autoptr(GArray) targets = weft_embed_find_targets (g);
  int per_modality = 0;
  for (guint i = 0; i < targets->len; i++)
    per_modality += g_array_index (targets, WeftEmbedTarget, i).modality >= 0 &&
                    g_array_index (targets, WeftEmbedTarget, i).joint;
  if (per_modality < 2)
    {
      if (table)
        g_print ("the model embeds no two modalities in one space: no retrieval metrics\n");
      return TRUE;
    }
  g_autoptr(WeftEmbedding) e = weft_embed_compute (g, f, rows, MIN (n, 1000), NULL, NULL,
                                                   NULL, error);
  if (e == NULL)
    return FALSE;
  g_autoptr(GArray) m = weft_embedding_retrieval (e, 0);
  for (guint i = 0; i < m->len; i++)
    {
      const WeftRetrievalMetrics *r = &g_array_index (m, WeftRetrievalMetrics, i);
      g_string_append_printf (line, " %s_r1=%.4f %s_r5=%.4f %s_r10=%.4f %s_medr=%.1f",
                              r->name, r->recall[0], r->name, r->recall[1],
                              r->name, r->recall[2], r->name, r->median_rank);
      if (!table)
        continue;
      g_print ("%s (%s -> %s, %d queries): R@1 %.1f%%  R@5 %.1f%%  R@10 %.1f%%  median rank %.1f\n",
               r->name, r->query, r->target, r->n, 100 * r->recall[0], 100 * r->recall[1],
               100 * r->recall[2], r->median_rank);
      WeftRetrievalFailure w[3];
      int nw = weft_embedding_worst_failures (e, r->query, r->target, 0, 3, w);
      for (int k = 0; k < nw; k++)
        g_print ("  worst: row %d, its partner ranked %d (similarity %.3f); first: rows %d %d %d\n",
                 e->row[w[k].query], w[k].rank, w[k].true_sim,
                 w[k].top[0] >= 0 ? e->row[w[k].top[0]] : -1,
                 w[k].top[1] >= 0 ? e->row[w[k].top[1]] : -1,
                 w[k].top[2] >= 0 ? e->row[w[k].top[2]] : -1);
    }
  return TRUE;
}

static int
cmd_embed (int argc, char **argv)
{
  g_autofree char *out = NULL, *split = NULL, *projection = NULL;
  int max = 0, threads = 0, batch = 256;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder for vectors.tsv, metadata.tsv and final.emb", "DIR" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split, "all (default), train, validation or test", "NAME" },
    { "max", 'n', 0, G_OPTION_ARG_INT, &max, "Embed at most this many samples, a seeded random subset", "N" },
    { "projection", 'p', 0, G_OPTION_ARG_STRING, &projection, "Also compute a 2-D map: pca or tsne (written to map.tsv)", "NAME" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Samples per pass (default 256)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("CHECKPOINT DATASET — write a model's embeddings for TensorBoard's projector");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("embed", error);
  if (argc != 3 || out == NULL)
    {
      g_printerr ("weft-cli embed: give CHECKPOINT DATASET and --out DIR (see --help)\n");
      return 2;
    }
  if (projection && !g_str_equal (projection, "pca") && !g_str_equal (projection, "tsne"))
    {
      g_printerr ("weft-cli embed: --projection is pca or tsne\n");
      return 2;
    }
  if (batch < 1 || batch > 65536)
    {
      g_printerr ("weft-cli embed: --batch must be between 1 and 65536\n");
      return 2;
    }
  weft_blas_set_threads (threads);
  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) g = weft_checkpoint_load (argv[1], batch, &info, &error);
  if (g == NULL)
    return die ("embed", error);
  WeftFeatureSettings fs;
  weft_feature_settings_init (&fs);
  if (info.training && json_object_has_member (info.training, "features") &&
      !weft_feature_settings_from_json (&fs, json_object_get_object_member (info.training, "features"), &error))
    {
      weft_checkpoint_info_clear (&info);
      return die ("embed", error);
    }
  g_autoptr(WeftFeatures) f = load_features (argv[2], &fs, &error);
  if (f == NULL)
    {
      weft_checkpoint_info_clear (&info);
      return die ("embed", error);
    }
  align_to_checkpoint (f, &info);
  weft_checkpoint_info_clear (&info);
  /* The captions for metadata.tsv (the features keep only token ids). */
  g_autoptr(WeftDataset) ds = NULL;
  if (!weft_features_is_idx_dir (argv[2]))
    {
      WeftDatasetLimits limits;
      weft_dataset_limits_init (&limits);
      limits.probe_images = FALSE;
      ds = weft_dataset_open (argv[2], &limits, NULL, NULL);
    }

  int n = 0;
  g_autofree int *rows = NULL;
  if (split == NULL || g_str_equal (split, "all"))
    rows = weft_embed_sample_rows (f, max, 1, &n);
  else
    {
      WeftSplit which;
      if (g_str_equal (split, "test")) which = WEFT_SPLIT_TEST;
      else if (g_str_equal (split, "validation")) which = WEFT_SPLIT_VALIDATION;
      else if (g_str_equal (split, "train")) which = WEFT_SPLIT_TRAIN;
      else
        {
          g_printerr ("weft-cli embed: unknown split '%s' (all, train, validation or test)\n", split);
          return 2;
        }
      rows = weft_features_split_rows (f, which, &n);
      if (max > 0 && n > max)
        n = max;
    }
  if (n == 0)
    {
      g_printerr ("weft-cli embed: the dataset has no rows in that split\n");
      return 1;
    }
  g_autoptr(WeftEmbedding) e = weft_embed_compute (g, f, rows, n, NULL, NULL, NULL, &error);
  if (e == NULL)
    return die ("embed", error);
  if (projection && !weft_embedding_project (e, projection, NULL, &error))
    return die ("embed", error);
  int written = 0;
  if (!weft_export_tsv (e, ds, NULL, out, &written, &error))
    return die ("embed", error);
  g_autofree char *emb = weft_embedding_file_name (out, 0);
  if (!weft_embedding_save (e, emb, &error))
    return die ("embed", error);
  if (projection)
    {
      /* map.tsv: x and y per line, aligned with metadata.tsv. */
      GString *map = g_string_new ("x\ty\n");
      int joint = weft_embedding_joint_dim (e);
      for (guint k = 0; k < e->spaces->len; k++)
        {
          const WeftEmbedSpace *sp = g_ptr_array_index (e->spaces, k);
          if (!sp->joint || sp->dim != joint || sp->xy == NULL)
            continue;
          for (int i = 0; i < e->n; i++)
            if (sp->present[i])
              g_string_append_printf (map, "%.6g\t%.6g\n", sp->xy[2 * i], sp->xy[2 * i + 1]);
        }
      g_autofree char *path = g_build_filename (out, "map.tsv", NULL);
      gboolean ok = g_file_set_contents (path, map->str, (gssize) map->len, &error);
      g_string_free (map, TRUE);
      if (!ok)
        return die ("embed", error);
    }
  GString *names = g_string_new (NULL);
  for (guint k = 0; k < e->spaces->len; k++)
    {
      const WeftEmbedSpace *sp = g_ptr_array_index (e->spaces, k);
      g_string_append_printf (names, "%s%s", k ? "," : "", sp->name);
    }
  g_print ("samples=%d vectors=%d dim=%d spaces=%s\n", e->n, written,
           weft_embedding_joint_dim (e), names->str);
  g_string_free (names, TRUE);
  return 0;
}

static int
cmd_eval (int argc, char **argv)
{
  g_autofree char *data = NULL, *ckpt = NULL, *split = NULL, *dump = NULL;
  int batch = 256, threads = 0, dump_rows = 32;
  gboolean retrieval = FALSE;
  GOptionEntry entries[] = {
    { "retrieval", 'r', 0, G_OPTION_ARG_NONE, &retrieval, "Print Recall@1/5/10 and median rank for every direction (image->text, ...) with the worst failures", NULL },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset folder", "DIR" },
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &ckpt, "Checkpoint written by train", "CKPT" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split, "test, validation, train or all (default: test if present, else validation)", "NAME" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Samples per pass (default 256)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "N" },
    { "dump-outputs", 0, 0, G_OPTION_ARG_FILENAME, &dump, "Also write the inputs and every node's output for the first rows of the split (safetensors), to check an exported model against", "FILE" },
    { "dump-rows", 0, 0, G_OPTION_ARG_INT, &dump_rows, "Rows written by --dump-outputs (default 32)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— evaluate a checkpoint on a dataset");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("eval", error);
  if (ckpt == NULL)
    {
      g_printerr ("weft-cli eval: --checkpoint CKPT is required (see --help)\n");
      return 2;
    }
  if (batch < 1 || batch > 65536)
    {
      g_printerr ("weft-cli eval: --batch must be between 1 and 65536\n");
      return 2;
    }
  weft_blas_set_threads (threads);
  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) g = weft_checkpoint_load (ckpt, batch, &info, &error);
  if (g == NULL)
    return die ("eval", error);
  /* Featurise exactly as for training. */
  WeftFeatureSettings fs;
  weft_feature_settings_init (&fs);
  if (info.training && json_object_has_member (info.training, "features") &&
      !weft_feature_settings_from_json (&fs, json_object_get_object_member (info.training, "features"), &error))
    return die ("eval", error);
  g_autoptr(WeftFeatures) f = load_features (data, &fs, &error);
  if (f == NULL)
    {
      weft_checkpoint_info_clear (&info);
      return die ("eval", error);
    }
  align_to_checkpoint (f, &info);
  weft_checkpoint_info_clear (&info);

  WeftBinding have;
  weft_features_get_binding (f, &have);
  const WeftSpec *spec = weft_graph_get_spec (g);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      gsize need = 0, got = 0;
      if (weft_graph_get_input (g, in->modality, &need) == NULL)
        continue;
      switch (in->modality)
        {
        case WEFT_MODALITY_IMAGE: got = have.image.n ? weft_shape_size (&have.image) : 0; break;
        case WEFT_MODALITY_AUDIO: got = have.audio.n ? weft_shape_size (&have.audio) : 0; break;
        case WEFT_MODALITY_TEXT: got = in->text_bow ? (gsize) have.vocab_size : (gsize) have.text_length; break;
        default: got = have.n_classes ? 1 : 0; break;
        }
      if (got != need)
        {
          g_printerr ("weft-cli eval: the checkpoint expects %s features of size %" G_GSIZE_FORMAT
                      ", the dataset gives %" G_GSIZE_FORMAT "\n",
                      weft_modality_choices[in->modality], need, got);
          return 1;
        }
    }

  WeftSplit which = WEFT_SPLIT_TEST;
  int n;
  g_autofree int *rows = NULL;
  if (split == NULL)
    {
      rows = weft_features_split_rows (f, WEFT_SPLIT_TEST, &n);
      if (n == 0)
        {
          g_free (rows);
          rows = weft_features_split_rows (f, WEFT_SPLIT_VALIDATION, &n);
          which = WEFT_SPLIT_VALIDATION;
        }
    }
  else if (g_str_equal (split, "all"))
    {
      n = f->n_rows;
      rows = g_new (int, MAX (n, 1));
      for (int i = 0; i < n; i++)
        rows[i] = i;
    }
  else
    {
      if (g_str_equal (split, "test")) which = WEFT_SPLIT_TEST;
      else if (g_str_equal (split, "validation")) which = WEFT_SPLIT_VALIDATION;
      else if (g_str_equal (split, "train")) which = WEFT_SPLIT_TRAIN;
      else
        {
          g_printerr ("weft-cli eval: unknown split '%s' (test, validation, train or all)\n", split);
          return 2;
        }
      rows = weft_features_split_rows (f, which, &n);
    }
  if (n == 0)
    {
      g_printerr ("weft-cli eval: the dataset has no rows in that split\n");
      return 1;
    }
  if (dump && !dump_engine_outputs (g, f, rows, n, dump_rows, dump, &error))
    return die ("eval", error);
  g_autoptr(GTimer) timer = g_timer_new ();
  WeftEvalResult r;
  weft_evaluate (g, f, rows, n, 1000, &r);
  double secs = g_timer_elapsed (timer, NULL);
  GString *line = g_string_new (NULL);
  g_string_append_printf (line, "rows=%d", n);
  if (!isnan (r.accuracy))
    g_string_append_printf (line, " accuracy=%.4f", r.accuracy);
  if (!append_retrieval (line, g, f, rows, n, retrieval, &error))
    return die ("eval", error);
  g_string_append_printf (line, " loss=%.4f samples_per_s=%.0f", r.loss, n / MAX (secs, 1e-9));
  g_print ("%s\n", line->str);
  g_string_free (line, TRUE);
  return 0;
}

/* ---- export ---- */

static int
cmd_export (int argc, char **argv)
{
  g_autofree char *pytorch = NULL;
  GOptionEntry entries[] = {
    { "pytorch", 0, 0, G_OPTION_ARG_FILENAME, &pytorch, "Write the model as a PyTorch module (.py) that loads the checkpoint", "FILE.py" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("CHECKPOINT — take a trained model elsewhere");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("export", error);
  if (argc != 2 || pytorch == NULL)
    {
      g_printerr ("weft-cli export: give one CHECKPOINT and --pytorch FILE.py (see --help)\n");
      return 2;
    }
  if (!weft_export_pytorch (argv[1], pytorch, &error))
    return die ("export", error);
  g_print ("wrote %s\n", pytorch);
  return 0;
}

/* ---- inspect ---- */

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef struct {
  gint64 area;
  int width, height;
} ImageSize;

static int
compare_image_sizes (gconstpointer a, gconstpointer b)
{
  const ImageSize *x = a, *y = b;
  if (x->area != y->area)
    return (x->area > y->area) - (x->area < y->area);
  return (x->height > y->height) - (x->height < y->height);
}

static int
compare_issue_rows (gconstpointer a, gconstpointer b)
{
  const WeftIssue *x = *(WeftIssue *const *) a, *y = *(WeftIssue *const *) b;
  return (x->row > y->row) - (x->row < y->row);
}

/* min, median, max of values (sorted in place); FALSE when empty. */
static gboolean
summarise (GArray *values, double out[3])
{
  guint n = values->len;
  if (n == 0)
    return FALSE;
  g_array_sort (values, compare_doubles);
  const double *v = (const double *) values->data;
  out[0] = v[0];
  out[1] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  out[2] = v[n - 1];
  return TRUE;
}

static void
json_add_summary (JsonBuilder *b, const char *name, gboolean have, const double s[3])
{
  json_builder_set_member_name (b, name);
  if (!have)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "min");
  json_builder_add_double_value (b, s[0]);
  json_builder_set_member_name (b, "median");
  json_builder_add_double_value (b, s[1]);
  json_builder_set_member_name (b, "max");
  json_builder_add_double_value (b, s[2]);
  json_builder_end_object (b);
}

static void
json_add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static const char *
relative_to (const WeftDataset *ds, const char *path)
{
  gsize n = strlen (ds->root);
  return strncmp (path, ds->root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

static int
cmd_inspect (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print everything as one JSON object instead", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR — check a dataset folder: its layout, every problem found, and statistics");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return die ("inspect", error);
  if (argc != 2)
    {
      g_printerr ("weft-cli inspect: give one dataset folder (see --help)\n");
      return 2;
    }
  g_autoptr(WeftDataset) ds = weft_dataset_open (argv[1], NULL, NULL, &error);
  if (ds == NULL)
    return die ("inspect", error);

  guint n = ds->samples->len;
  int n_labels = ds->labels ? (int) g_strv_length (ds->labels) : 0;
  g_autofree int *per_label = g_new0 (int, n_labels + 1);   /* last: no label */
  int per_split[4] = { 0 };                                  /* train, validation, test, none */
  int n_image = 0, n_audio = 0, n_text = 0;
  g_autoptr(GArray) images = g_array_new (FALSE, FALSE, sizeof (ImageSize));
  g_autoptr(GArray) seconds = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) tokens = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GHashTable) vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  weft_audio_init ();
  for (guint i = 0; i < n; i++)
    {
      const WeftSample *s = g_ptr_array_index (ds->samples, i);
      int li = s->label ? weft_dataset_label_index (ds, s->label) : -1;
      per_label[li >= 0 ? li : n_labels]++;
      per_split[s->split >= 0 && s->split <= 2 ? s->split : 3]++;
      /* Sizes come from the headers, as the loader checks them; a file
       * that fails here is reported like any other problem. */
      if (s->image)
        {
          int w, h;
          g_autoptr(GError) e = NULL;
          n_image++;
          if (weft_image_probe (s->image, &w, &h, &e))
            {
              ImageSize size = { (gint64) w * h, w, h };
              g_array_append_val (images, size);
            }
          else
            weft_dataset_add_issue (ds, s->row, relative_to (ds, s->image), FALSE,
                                    "%s could not be read as an image (%s)",
                                    relative_to (ds, s->image), e->message);
        }
      if (s->audio)
        {
          double secs;
          g_autoptr(GError) e = NULL;
          n_audio++;
          if (weft_audio_probe (s->audio, &secs, &e))
            g_array_append_val (seconds, secs);
          else
            weft_dataset_add_issue (ds, s->row, relative_to (ds, s->audio), FALSE,
                                    "%s could not be read as a sound (%s)",
                                    relative_to (ds, s->audio), e->message);
        }
      if (s->text)
        {
          g_auto(GStrv) toks = weft_text_tokenize (s->text);
          double len = g_strv_length (toks);
          n_text++;
          g_array_append_val (tokens, len);
          for (int k = 0; toks[k]; k++)
            g_hash_table_add (vocab, g_strdup (toks[k]));
        }
    }
  g_ptr_array_sort (ds->issues, compare_issue_rows);

  double secs_s[3], tok_s[3];
  gboolean have_secs = summarise (seconds, secs_s);
  gboolean have_tok = summarise (tokens, tok_s);
  /* By area; the median of an even count is the lower middle image, so
   * that it is a size some image really has. */
  int sizes[3][2] = { { 0 } };
  gboolean have_size = images->len > 0;
  if (have_size)
    {
      g_array_sort (images, compare_image_sizes);
      guint at[3] = { 0, (images->len - 1) / 2, images->len - 1 };
      for (int k = 0; k < 3; k++)
        {
          sizes[k][0] = g_array_index (images, ImageSize, at[k]).width;
          sizes[k][1] = g_array_index (images, ImageSize, at[k]).height;
        }
    }
  const char *split_names[] = { "train", "validation", "test", "none" };
  guint vocab_size = g_hash_table_size (vocab);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "root");
      json_builder_add_string_value (b, ds->root);
      json_builder_set_member_name (b, "layout");
      json_builder_add_string_value (b, ds->manifest ? "manifest" : "class folders");
      json_builder_set_member_name (b, "manifest");
      if (ds->manifest)
        json_builder_add_string_value (b, ds->manifest);
      else
        json_builder_add_null_value (b);
      json_add_int (b, "rows", n);
      json_add_int (b, "skipped", ds->n_skipped);
      json_builder_set_member_name (b, "issues");
      json_builder_begin_array (b);
      for (guint i = 0; i < ds->issues->len; i++)
        {
          const WeftIssue *issue = g_ptr_array_index (ds->issues, i);
          g_autofree char *text = weft_issue_to_string (issue);
          json_builder_begin_object (b);
          json_add_int (b, "row", issue->row);
          json_builder_set_member_name (b, "file");
          if (issue->file)
            json_builder_add_string_value (b, issue->file);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, text);
          json_builder_set_member_name (b, "skipped");
          json_builder_add_boolean_value (b, issue->skipped);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "labels");
      json_builder_begin_array (b);
      for (int k = 0; k < n_labels; k++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "label");
          json_builder_add_string_value (b, ds->labels[k]);
          json_add_int (b, "rows", per_label[k]);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_add_int (b, "unlabelled", per_label[n_labels]);
      json_builder_set_member_name (b, "splits");
      json_builder_begin_object (b);
      for (int k = 0; k < 4; k++)
        json_add_int (b, split_names[k], per_split[k]);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "missing");
      json_builder_begin_object (b);
      json_add_int (b, "image", n - n_image);
      json_add_int (b, "audio", n - n_audio);
      json_add_int (b, "text", n - n_text);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "image_size");
      if (have_size)
        {
          const char *which[] = { "min", "median", "max" };
          json_builder_begin_object (b);
          for (int k = 0; k < 3; k++)
            {
              json_builder_set_member_name (b, which[k]);
              json_builder_begin_array (b);
              json_builder_add_int_value (b, sizes[k][0]);
              json_builder_add_int_value (b, sizes[k][1]);
              json_builder_end_array (b);
            }
          json_builder_end_object (b);
        }
      else
        json_builder_add_null_value (b);
      json_add_summary (b, "audio_seconds", have_secs, secs_s);
      json_add_summary (b, "text_tokens", have_tok, tok_s);
      json_add_int (b, "vocab", vocab_size);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      g_autofree char *text = json_to_string (root, TRUE);
      g_print ("%s\n", text);
      return 0;
    }

  g_print ("dataset %s\n", ds->root);
  if (ds->manifest)
    g_print ("layout: manifest %s\n", ds->manifest);
  else
    g_print ("layout: class folders (ROOT/LABEL/NAME.ext)\n");
  g_print ("rows: %u kept, %d skipped; %d with an image, %d with a sound, %d with a text\n",
           n, ds->n_skipped, n_image, n_audio, n_text);

  if (ds->issues->len == 0)
    g_print ("\nreport: no problems found\n");
  else
    g_print ("\nreport: %u problem%s\n", ds->issues->len, ds->issues->len == 1 ? "" : "s");
  for (guint i = 0; i < ds->issues->len; i++)
    {
      const WeftIssue *issue = g_ptr_array_index (ds->issues, i);
      g_autofree char *text = weft_issue_to_string (issue);
      g_print ("  %s%s\n", text, issue->skipped ? " (left out)" : "");
    }

  g_print ("\nstatistics\n");
  GString *line = g_string_new (NULL);
  for (int k = 0; k < n_labels; k++)
    g_string_append_printf (line, "%s%s %d", k ? ", " : "", ds->labels[k], per_label[k]);
  if (per_label[n_labels] > 0)
    g_string_append_printf (line, "%sno label %d", n_labels ? ", " : "", per_label[n_labels]);
  g_print ("  rows per label (%d): %s\n", n_labels, line->str);
  g_string_truncate (line, 0);
  for (int k = 0; k < 4; k++)
    g_string_append_printf (line, "%s%s %d", k ? ", " : "", split_names[k], per_split[k]);
  g_print ("  rows per split: %s\n", line->str);
  g_string_free (line, TRUE);
  g_print ("  missing: image %u, sound %u, text %u\n", n - n_image, n - n_audio, n - n_text);
  if (have_size)
    g_print ("  image size (pixels, by area): min %dx%d, median %dx%d, max %dx%d\n",
             sizes[0][0], sizes[0][1], sizes[1][0], sizes[1][1], sizes[2][0], sizes[2][1]);
  if (have_secs)
    g_print ("  sound length: min %.2f s, median %.2f s, max %.2f s\n", secs_s[0], secs_s[1], secs_s[2]);
  if (have_tok)
    g_print ("  text length (tokens): min %.0f, median %.1f, max %.0f; vocabulary %u\n",
             tok_s[0], tok_s[1], tok_s[2], vocab_size);
  g_print ("rows=%u skipped=%d issues=%u labels=%d images=%d sounds=%d texts=%d vocab=%u\n",
           n, ds->n_skipped, ds->issues->len, n_labels, n_image, n_audio, n_text, vocab_size);
  return 0;
}

static void
usage (void)
{
  g_print ("Usage: weft-cli COMMAND [OPTIONS]\n\n"
           "Commands:\n"
           "  validate SPEC.json      check a model spec; print shapes, parameters, FLOPs\n"
           "  train --data DIR --model SPEC.json [--epochs N --batch N --lr X --seed N --out CKPT]\n"
           "  eval --data DIR --checkpoint CKPT [--retrieval]\n"
           "  embed CKPT DATASET --out DIR [--projection pca|tsne]   embeddings as TSV\n"
           "  compare DATASET --templates A,B,C [--epochs N ...]   train templates alike, compare\n"
           "  inspect DIR [--json]    check a dataset folder: layout, problems, statistics\n"
           "  export CKPT --pytorch FILE.py   the model as a PyTorch module with a loader\n\n"
           "Each command has --help. The last line of train and eval is the final\n"
           "metrics as name=value pairs; inspect ends with the counts the same way.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Numbers in output and files always use a '.' decimal point. */
  setlocale (LC_NUMERIC, "C");

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      usage ();
      return argc < 2 ? 2 : 0;
    }
  const char *cmd = argv[1];
  argv[1] = g_strdup_printf ("weft-cli %s", cmd);
  if (g_str_equal (cmd, "validate"))
    return cmd_validate (argc - 1, argv + 1);
  if (g_str_equal (cmd, "train"))
    return cmd_train (argc - 1, argv + 1);
  if (g_str_equal (cmd, "compare"))
    return cmd_compare (argc - 1, argv + 1);
  if (g_str_equal (cmd, "embed"))
    return cmd_embed (argc - 1, argv + 1);
  if (g_str_equal (cmd, "eval"))
    return cmd_eval (argc - 1, argv + 1);
  if (g_str_equal (cmd, "inspect"))
    return cmd_inspect (argc - 1, argv + 1);
  if (g_str_equal (cmd, "export"))
    return cmd_export (argc - 1, argv + 1);
  g_printerr ("weft-cli: unknown command '%s'\n\n", cmd);
  usage ();
  return 2;
}
