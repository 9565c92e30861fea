/* test-trainer.c — the training loop: it learns, it is bit-for-bit
 * deterministic for a seed on one thread, it stops a diverging run with
 * advice and keeps the last good weights, pause/resume/stop work from the
 * main thread, and progress arrives on the caller's main context. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "tensor/weft-blas.h"
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
  return g_test_run ();
}
