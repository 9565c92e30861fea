/* test-trainer.c — the training loop: it learns, it is bit-for-bit
 * deterministic for a seed on one thread, it stops a diverging run with
 * advice and keeps the last good weights, pause/resume/stop work from the
 * main thread, and progress arrives on the caller's main context. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include <glib/gstdio.h>

#include "graph/weft-checkpoint.h"
#include "tensor/weft-blas.h"
#include "tensor/weft-rng.h"
#include "train/weft-trainer.h"
#include "weft-error.h"

static const char *mlp_json =
  "{\"weft_model\": 1,"
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"enc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 32, \"out\": 16, \"dropout\": 0.1}},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"enc\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";

/* Three classes of 4x4 "images": class mean patterns plus noise. */
static WeftFeatures *
blobs (int n, guint32 seed)
{
  WeftFeatures *f = weft_features_new (n);
  float *x = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, 4, 4));
  float *y = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  f->n_classes = 3;
  for (int i = 0; i < n; i++)
    {
      int c = i % 3;
      y[i] = c;
      for (int k = 0; k < 16; k++)
        x[i * 16 + k] = (k % 3 == c ? 1.f : 0.f) + 0.5f * (float) g_rand_double_range (r, -1, 1);
    }
  weft_features_assign_split (f, 0.2, 0.0, seed);
  return f;
}

typedef struct {
  WeftGraph *g;
  WeftFeatures *f;
  WeftTrainer *t;
} Run;

static void
run_setup (Run *run, WeftTrainConfig *c)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) s = weft_spec_parse_data (mlp_json, -1, &error);
  g_assert_no_error (error);
  run->f = blobs (600, 3);
  WeftBinding b;
  weft_features_get_binding (run->f, &b);
  run->g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (run->g, c->batch_size, c->seed);
  run->t = weft_trainer_new (run->g, run->f, c);
}

static void
run_clear (Run *run)
{
  g_clear_object (&run->t);
  g_clear_pointer (&run->g, weft_graph_free);
  g_clear_pointer (&run->f, weft_features_free);
}

static void
base_config (WeftTrainConfig *c)
{
  weft_train_config_init (c);
  c->epochs = 6;
  c->batch_size = 16;
  c->seed = 5;
  c->threads = 1;
  c->optim.lr = 0.01f;
}

static void
test_learns (void)
{
  WeftTrainConfig c;
  base_config (&c);
  Run run = { 0 };
  run_setup (&run, &c);
  GError *error = NULL;
  g_assert_true (weft_trainer_start (run.t, &error));
  weft_trainer_join (run.t);
  WeftProgress p;
  weft_trainer_get_progress (run.t, &p);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_FINISHED);
  g_assert_cmpint (p.epochs_done, ==, 6);
  g_autoptr(GArray) h = weft_trainer_dup_history (run.t);
  g_assert_cmpuint (h->len, ==, 6);
  WeftEpochMetrics *first = &g_array_index (h, WeftEpochMetrics, 0);
  WeftEpochMetrics *last = &g_array_index (h, WeftEpochMetrics, 5);
  g_assert_cmpfloat (last->train_loss, <, first->train_loss);
  g_assert_cmpfloat (last->val_accuracy, >, 0.9);
  g_assert_cmpfloat (last->samples_per_s, >, 0);
  g_assert_true (isnan (last->val_recall1));
  g_autoptr(GArray) steps = weft_trainer_dup_step_losses (run.t, 0);
  g_assert_cmpuint (steps->len, ==, 6 * (480 / 16));
  weft_progress_clear (&p);
  run_clear (&run);
}

static GArray *
losses_of_run (guint64 seed)
{
  WeftTrainConfig c;
  base_config (&c);
  c.seed = seed;
  c.epochs = 2;
  Run run = { 0 };
  run_setup (&run, &c);
  g_assert_true (weft_trainer_start (run.t, NULL));
  weft_trainer_join (run.t);
  GArray *a = weft_trainer_dup_step_losses (run.t, 0);
  run_clear (&run);
  return a;
}

static void
test_deterministic (void)
{
  g_autoptr(GArray) a = losses_of_run (5);
  g_autoptr(GArray) b = losses_of_run (5);
  g_autoptr(GArray) c = losses_of_run (6);
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpmem (a->data, a->len * sizeof (float), b->data, b->len * sizeof (float));
  g_assert_true (memcmp (a->data, c->data, a->len * sizeof (float)) != 0);
}

static void
test_divergence (void)
{
  WeftTrainConfig c;
  base_config (&c);
  weft_optim_config_init_default (&c.optim, WEFT_OPTIM_SGD);
  c.optim.lr = 1e30f;
  c.epochs = 3;
  Run run = { 0 };
  run_setup (&run, &c);
  gsize n;
  float *w = weft_graph_get_arena (run.g, NULL, &n);
  g_autofree float *before = g_memdup2 (w, n * sizeof (float));
  g_assert_true (weft_trainer_start (run.t, NULL));
  weft_trainer_join (run.t);
  WeftProgress p;
  weft_trainer_get_progress (run.t, &p);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_FAILED);
  g_assert_nonnull (strstr (p.message, "training diverged at epoch 1"));
  g_assert_nonnull (strstr (p.message, "lower learning rate"));
  /* Nothing good was learnt yet: the initial weights are back, all finite. */
  g_assert_cmpmem (before, n * sizeof (float), w, n * sizeof (float));
  weft_progress_clear (&p);
  run_clear (&run);
}

typedef struct {
  Run run;
  GMainLoop *loop;
  int progress, finished;
  gboolean paused_seen;
} Ctl;

static void
on_progress (WeftTrainer *t, Ctl *ctl)
{
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  ctl->progress++;
  if (ctl->progress == 3)
    weft_trainer_pause (t);
  if (p.state == WEFT_TRAIN_PAUSED && !ctl->paused_seen)
    {
      ctl->paused_seen = TRUE;
      weft_trainer_resume (t);
    }
  if (ctl->paused_seen && p.step > 40)
    weft_trainer_stop (t);
  weft_progress_clear (&p);
}

static void
on_finished (WeftTrainer *t, Ctl *ctl)
{
  ctl->finished++;
  g_main_loop_quit (ctl->loop);
}

static void
test_pause_resume_stop (void)
{
  WeftTrainConfig c;
  base_config (&c);
  c.epochs = 1000;
  Ctl ctl = { 0 };
  run_setup (&ctl.run, &c);
  ctl.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (ctl.run.t, "progress", G_CALLBACK (on_progress), &ctl);
  g_signal_connect (ctl.run.t, "finished", G_CALLBACK (on_finished), &ctl);
  g_assert_true (weft_trainer_start (ctl.run.t, NULL));
  g_main_loop_run (ctl.loop);
  weft_trainer_join (ctl.run.t);
  WeftProgress p;
  weft_trainer_get_progress (ctl.run.t, &p);
  g_assert_true (ctl.paused_seen);
  g_assert_cmpint (ctl.finished, ==, 1);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_STOPPED);
  g_assert_nonnull (strstr (p.message, "stopped during epoch"));
  g_assert_cmpint (p.epochs_done, <, 1000);
  weft_progress_clear (&p);
  g_main_loop_unref (ctl.loop);
  run_clear (&ctl.run);
}

static void
test_config_json (void)
{
  WeftTrainConfig a, b;
  weft_train_config_init (&a);
  a.epochs = 7;
  a.batch_size = 32;
  a.seed = 99;
  a.val_share = 0.25;
  g_autoptr(JsonObject) o = weft_train_config_to_json (&a);
  weft_train_config_init (&b);
  GError *error = NULL;
  g_assert_true (weft_train_config_from_json (&b, o, &error));
  g_assert_no_error (error);
  g_assert_cmpint (b.epochs, ==, 7);
  g_assert_cmpint (b.batch_size, ==, 32);
  g_assert_cmpuint (b.seed, ==, 99);
  g_assert_cmpfloat (b.val_share, ==, 0.25);
  json_object_set_int_member (o, "epochs", 0);
  g_assert_false (weft_train_config_from_json (&b, o, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
  g_clear_error (&error);
}

/* Settings go into project files and checkpoints as text: every value
 * must read back, also those printed in exponent form (json-glib 1.6
 * writes a bare 1e-08 as the unreadable 1e-08.0). */
static void
test_config_json_text (void)
{
  WeftTrainConfig a, b;
  weft_train_config_init (&a);
  a.optim.eps = 1e-8f;
  a.optim.lr = 1e-5f;
  a.optim.min_lr = 1e-20f;
  a.optim.weight_decay = 3e-4f;
  g_autoptr(JsonObject) o = weft_train_config_to_json (&a);
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  weft_train_config_init (&b);
  g_assert_true (weft_train_config_from_json (&b, json_node_get_object (json_parser_get_root (parser)), &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (b.optim.eps, ==, a.optim.eps);
  g_assert_cmpfloat (b.optim.lr, ==, a.optim.lr);
  g_assert_cmpfloat (b.optim.min_lr, ==, a.optim.min_lr);
  g_assert_cmpfloat (b.optim.weight_decay, ==, a.optim.weight_decay);
  /* Round values still print short. */
  g_assert_nonnull (strstr (text, "\"beta2\":0.999,"));
}

/* ---- live snapshots ---- */

/* Two branches (image, audio) joined by concat; "iencx" is image only,
 * "aenc" audio only, "head" and "cls" are the rest. */
static const char *two_branch_json =
  "{\"weft_model\": 1,"
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"audio\", \"modality\": \"audio\"},"
  "              {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"ienc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 12, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"aenc\", \"type\": \"mlp\", \"inputs\": [\"audio\"], \"params\": {\"hidden\": 12, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"cat\", \"type\": \"concat\", \"inputs\": [\"ienc\", \"aenc\"]},"
  "  {\"id\": \"head\", \"type\": \"dense\", \"inputs\": [\"cat\"], \"params\": {\"units\": 8}},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"head\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";

/* Image and audio embeddings trained to match (CLIP style). */
static const char *contrastive_json =
  "{\"weft_model\": 1,"
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"audio\", \"modality\": \"audio\"}],"
  " \"nodes\": [{\"id\": \"ienc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 16, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"aenc\", \"type\": \"mlp\", \"inputs\": [\"audio\"], \"params\": {\"hidden\": 16, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"nce\", \"type\": \"infonce\", \"inputs\": [\"ienc\", \"aenc\"]}]}";

/* Blobs plus an audio column that is a fixed mix of the image (so the two
 * modalities can be matched) with a little noise. */
static WeftFeatures *
paired_blobs (int n, guint32 seed)
{
  WeftFeatures *f = blobs (n, seed);
  float *a = weft_features_add_column (f, WEFT_MODALITY_AUDIO, weft_shape_2 (2, 6));
  g_autoptr(GRand) r = g_rand_new_with_seed (seed + 1);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 12; k++)
      {
        const float *x = f->image.data + (gsize) i * 16;
        a[i * 12 + k] = x[k] - 0.5f * x[(k * 5 + 3) % 16]
                        + 0.05f * (float) g_rand_double_range (r, -1, 1);
      }
  return f;
}

static WeftGraph *
compile_for (const char *json, WeftFeatures *f, const WeftTrainConfig *c)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) s = weft_spec_parse_data (json, -1, &error);
  g_assert_no_error (error);
  WeftBinding b;
  weft_features_get_binding (f, &b);
  WeftGraph *g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, c->batch_size, c->seed);
  return g;
}

/* Rows of the trainer's first batch: the same seeded shuffle. */
static int *
first_batch (WeftFeatures *f, const WeftTrainConfig *c)
{
  int n;
  int *rows = weft_features_split_rows (f, WEFT_SPLIT_TRAIN, &n);
  WeftRng rng;
  weft_rng_init (&rng, c->seed);
  weft_rng_shuffle (&rng, rows, n);
  return rows;
}

static void
test_snapshot_grad_norms (void)
{
  WeftTrainConfig c;
  base_config (&c);
  c.epochs = 2;
  c.optim.schedule = WEFT_SCHEDULE_COSINE;
  c.optim.warmup_steps = 3;
  g_autoptr(WeftFeatures) f = paired_blobs (300, 11);
  g_autoptr(WeftGraph) g = compile_for (two_branch_json, f, &c);
  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  g_assert_true (weft_trainer_start (t, NULL));
  weft_trainer_join (t);
  g_assert_false (weft_trainer_has_similarity (t));
  g_assert_cmpuint (weft_trainer_get_branch_mask (t), ==,
                    (1u << WEFT_MODALITY_IMAGE) | (1u << WEFT_MODALITY_AUDIO));

  /* Every step has a loss and a learning rate, and the rate follows the
   * schedule the optimizer documents. */
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_FINISHED);
  g_autoptr(GArray) losses = weft_trainer_dup_step_losses (t, 0);
  g_autoptr(GArray) lrs = weft_trainer_dup_step_lrs (t, 0);
  g_assert_cmpuint (lrs->len, ==, losses->len);
  g_assert_cmpuint (lrs->len, ==, p.total_steps);
  WeftOptimConfig oc = c.optim;
  oc.total_steps = (int) p.total_steps;
  for (guint i = 0; i < lrs->len; i++)
    g_assert_cmpfloat_with_epsilon (g_array_index (lrs, float, i), weft_optim_lr_at (&oc, i), 1e-7);
  g_assert_cmpfloat (g_array_index (lrs, float, 1), <, g_array_index (lrs, float, 3));
  g_autoptr(GArray) tail = weft_trainer_dup_step_lrs (t, lrs->len - 2);
  g_assert_cmpuint (tail->len, ==, 2);

  g_autoptr(GArray) norms = weft_trainer_dup_grad_norms (t, 0);
  g_assert_cmpuint (norms->len, ==, 1 + p.total_steps / WEFT_GRAD_NORM_EVERY);
  const WeftGradNorms *first = &g_array_index (norms, WeftGradNorms, 0);
  g_assert_cmpint (first->step, ==, 1);
  g_assert_cmpint (g_array_index (norms, WeftGradNorms, 1).step, ==, WEFT_GRAD_NORM_EVERY);
  g_assert_true (isnan (first->branch[WEFT_MODALITY_TEXT]));
  g_assert_true (isnan (first->branch[WEFT_MODALITY_LABEL]));

  /* Step 1 again by hand, on a fresh copy of the same model: the norms are
   * those of the weights named after each branch's nodes. */
  g_autoptr(WeftGraph) h = compile_for (two_branch_json, f, &c);
  g_autofree int *rows = first_batch (f, &c);
  weft_features_gather (f, h, rows, c.batch_size);
  weft_graph_forward (h, c.batch_size, TRUE);
  weft_graph_backward (h, c.batch_size);
  double img = 0, aud = 0, rest = 0;
  for (guint i = 0; i < weft_graph_get_n_weights (h); i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (h, i);
      if (w->grad == NULL)
        continue;
      double s = 0;
      for (gsize j = 0; j < w->size; j++)
        s += (double) w->grad[j] * w->grad[j];
      if (g_str_has_prefix (w->name, "ienc"))
        img += s;
      else if (g_str_has_prefix (w->name, "aenc"))
        aud += s;
      else
        rest += s;
    }
  g_assert_cmpfloat (img, >, 0);
  g_assert_cmpfloat (aud, >, 0);
  g_assert_cmpfloat_with_epsilon (first->branch[WEFT_MODALITY_IMAGE], sqrt (img), 1e-5 * sqrt (img) + 1e-7);
  g_assert_cmpfloat_with_epsilon (first->branch[WEFT_MODALITY_AUDIO], sqrt (aud), 1e-5 * sqrt (aud) + 1e-7);
  g_assert_cmpfloat_with_epsilon (first->rest, sqrt (rest), 1e-5 * sqrt (rest) + 1e-7);
  g_assert_cmpfloat_with_epsilon (first->total, sqrt (img + aud + rest), 1e-5 * sqrt (img + aud + rest));
  g_assert_cmpfloat (p.snapshot_seconds, >=, 0);
  g_assert_cmpfloat (p.snapshot_seconds, <, p.elapsed);
  weft_progress_clear (&p);

  /* The masks behind the branches. */
  g_autofree guint *mask = g_new0 (guint, weft_graph_get_n_nodes (h));
  weft_graph_modality_masks (h, mask);
  g_assert_cmpuint (mask[weft_graph_find_output (h, "ienc")], ==, 1u << WEFT_MODALITY_IMAGE);
  g_assert_cmpuint (mask[weft_graph_find_output (h, "aenc")], ==, 1u << WEFT_MODALITY_AUDIO);
  g_assert_cmpuint (mask[weft_graph_find_output (h, "head")], ==,
                    (1u << WEFT_MODALITY_IMAGE) | (1u << WEFT_MODALITY_AUDIO));
}

static void
test_snapshot_similarity (void)
{
  WeftTrainConfig c;
  base_config (&c);
  c.epochs = 1;
  c.batch_size = 24;
  /* 6 steps: the matrix of step 1 is the last one published. */
  g_autoptr(WeftFeatures) f = paired_blobs (180, 4);
  g_autoptr(WeftGraph) g = compile_for (contrastive_json, f, &c);
  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  WeftSimilarity sim;
  g_assert_false (weft_trainer_get_similarity (t, &sim));
  g_assert_true (weft_trainer_start (t, NULL));
  weft_trainer_join (t);
  g_assert_true (weft_trainer_has_similarity (t));
  g_assert_true (weft_trainer_get_similarity (t, &sim));
  g_assert_cmpint (sim.step, ==, 1);
  g_assert_cmpint (sim.n, ==, WEFT_SIMILARITY_MAX);
  g_assert_cmpint (sim.modality_a, ==, WEFT_MODALITY_IMAGE);
  g_assert_cmpint (sim.modality_b, ==, WEFT_MODALITY_AUDIO);
  g_assert_cmpstr (sim.a, ==, "ienc");
  g_assert_cmpstr (sim.b, ==, "aenc");

  /* Entry (i, j) is the cosine between image i and sound j of the batch:
   * the diagonal holds the true pairs. */
  g_autoptr(WeftGraph) h = compile_for (contrastive_json, f, &c);
  g_autofree int *rows = first_batch (f, &c);
  weft_features_gather (f, h, rows, c.batch_size);
  weft_graph_forward (h, c.batch_size, TRUE);
  WeftNode *a = weft_graph_get_node (h, weft_graph_find_output (h, "ienc"))->node;
  WeftNode *b = weft_graph_get_node (h, weft_graph_find_output (h, "aenc"))->node;
  int d = (int) weft_node_out_size (a);
  for (int i = 0; i < sim.n; i++)
    for (int j = 0; j < sim.n; j++)
      {
        const float *x = a->out + i * d, *y = b->out + j * d;
        double xy = 0, xx = 0, yy = 0;
        for (int k = 0; k < d; k++)
          {
            xy += x[k] * y[k];
            xx += x[k] * x[k];
            yy += y[k] * y[k];
          }
        g_assert_cmpfloat_with_epsilon (sim.value[i * WEFT_SIMILARITY_MAX + j], xy / sqrt (xx * yy), 1e-5);
      }

  /* After learning, the true pairs stand out. */
  WeftTrainConfig c2 = c;
  c2.epochs = 40;
  c2.optim.lr = 0.01f;
  g_autoptr(WeftGraph) g2 = compile_for (contrastive_json, f, &c2);
  g_autoptr(WeftTrainer) t2 = weft_trainer_new (g2, f, &c2);
  g_assert_true (weft_trainer_start (t2, NULL));
  weft_trainer_join (t2);
  g_assert_true (weft_trainer_get_similarity (t2, &sim));
  g_assert_cmpint (sim.step % WEFT_SIMILARITY_EVERY, ==, 0);
  double diag = 0, off = 0;
  for (int i = 0; i < sim.n; i++)
    for (int j = 0; j < sim.n; j++)
      if (i == j)
        diag += sim.value[i * WEFT_SIMILARITY_MAX + j] / sim.n;
      else
        off += sim.value[i * WEFT_SIMILARITY_MAX + j] / (sim.n * (sim.n - 1));
  g_test_message ("similarity after learning: diagonal %.3f, off-diagonal %.3f", diag, off);
  g_assert_cmpfloat (diag, >, off + 0.3);
}

/* An epoch hook that poisons the weights after epoch 1, as a blow-up
 * would: epoch 2 diverges at once. */
static void
poison_after_first (WeftTrainer *t, WeftGraph *g, const WeftFeatures *f, int epoch, gpointer data)
{
  if (epoch != 1)
    return;
  gsize n;
  float *w = weft_graph_get_arena (g, NULL, &n);
  for (gsize i = 0; i < n; i++)
    w[i] = NAN;
  *(int *) data += 1;
}

static char *
tmp_dir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("weft-trainer-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d && g_dir_read_name (d))
    n++;
  return n;
}

static void
test_divergence_keeps_checkpoint (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *ckpt = g_build_filename (dir, "model.safetensors", NULL);
  WeftTrainConfig c;
  base_config (&c);
  c.epochs = 3;
  c.checkpoint_path = ckpt;
  Run run = { 0 };
  run_setup (&run, &c);
  int poisoned = 0;
  weft_trainer_set_epoch_hook (run.t, poison_after_first, &poisoned, NULL);
  g_assert_true (weft_trainer_start (run.t, NULL));
  weft_trainer_join (run.t);
  WeftProgress p;
  weft_trainer_get_progress (run.t, &p);
  g_assert_cmpint (poisoned, ==, 1);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_FAILED);
  g_assert_cmpint (p.epochs_done, ==, 1);
  g_assert_nonnull (strstr (p.message, "training diverged at epoch 2"));
  g_assert_nonnull (strstr (p.message, "Try a lower learning rate"));
  g_assert_nonnull (strstr (p.message, "end of epoch 1 were kept"));

  /* The weights in memory are epoch 1's again, and the checkpoint on disk
   * is that epoch's, whole and loadable. */
  GError *error = NULL;
  WeftCheckpointInfo info = { 0 };
  g_autoptr(WeftGraph) back = weft_checkpoint_load (ckpt, 16, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (info.training, "epochs_done"), ==, 1);
  gsize n, m;
  float *w = weft_graph_get_arena (run.g, NULL, &n);
  float *v = weft_graph_get_arena (back, NULL, &m);
  g_assert_cmpuint (n, ==, m);
  for (gsize i = 0; i < n; i++)
    g_assert_true (isfinite (w[i]));
  g_assert_cmpmem (w, n * sizeof (float), v, m * sizeof (float));
  g_assert_cmpuint (count_files (dir), ==, 1);
  weft_checkpoint_info_clear (&info);
  weft_progress_clear (&p);
  c.checkpoint_path = NULL;
  run_clear (&run);
  remove_dir (dir);
}

static void
on_progress_stop_after_epoch (WeftTrainer *t, Ctl *ctl)
{
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  if (p.epochs_done >= 2 && p.step > p.steps_per_epoch * 2 + 3)
    weft_trainer_stop (t);
  weft_progress_clear (&p);
}

static void
test_stop_leaves_whole_checkpoint (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *ckpt = g_build_filename (dir, "model.safetensors", NULL);
  WeftTrainConfig c;
  base_config (&c);
  c.epochs = 1000;
  c.checkpoint_path = ckpt;
  Ctl ctl = { 0 };
  run_setup (&ctl.run, &c);
  ctl.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (ctl.run.t, "progress", G_CALLBACK (on_progress_stop_after_epoch), &ctl);
  g_signal_connect (ctl.run.t, "finished", G_CALLBACK (on_finished), &ctl);
  g_assert_true (weft_trainer_start (ctl.run.t, NULL));
  g_main_loop_run (ctl.loop);
  weft_trainer_join (ctl.run.t);
  WeftProgress p;
  weft_trainer_get_progress (ctl.run.t, &p);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_STOPPED);
  g_assert_cmpint (p.epochs_done, >=, 2);

  /* Only the checkpoint, no temporary file, and it holds the last whole
   * epoch, which is also what the trainer kept in memory. */
  g_assert_cmpuint (count_files (dir), ==, 1);
  GError *error = NULL;
  WeftCheckpointInfo info = { 0 };
  g_autoptr(WeftGraph) back = weft_checkpoint_load (ckpt, 16, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (info.training, "epochs_done"), ==, p.epochs_done);
  gsize n, m;
  float *w = weft_graph_get_arena (ctl.run.g, NULL, &n);
  float *v = weft_graph_get_arena (back, NULL, &m);
  g_assert_cmpmem (w, n * sizeof (float), v, m * sizeof (float));
  weft_checkpoint_info_clear (&info);
  weft_progress_clear (&p);
  g_main_loop_unref (ctl.loop);
  c.checkpoint_path = NULL;
  run_clear (&ctl.run);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/trainer/learns-blobs", test_learns);
  g_test_add_func ("/trainer/deterministic-for-a-seed", test_deterministic);
  g_test_add_func ("/trainer/divergence-stops-and-keeps-weights", test_divergence);
  g_test_add_func ("/trainer/pause-resume-stop", test_pause_resume_stop);
  g_test_add_func ("/trainer/config-json", test_config_json);
  g_test_add_func ("/trainer/config-json-as-text", test_config_json_text);
  g_test_add_func ("/trainer/snapshot-grad-norms-and-lr", test_snapshot_grad_norms);
  g_test_add_func ("/trainer/snapshot-similarity", test_snapshot_similarity);
  g_test_add_func ("/trainer/divergence-keeps-last-good-checkpoint", test_divergence_keeps_checkpoint);
  g_test_add_func ("/trainer/stop-leaves-a-whole-checkpoint", test_stop_leaves_whole_checkpoint);
  return g_test_run ();
}
