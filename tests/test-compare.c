/* test-compare.c — evaluation with a modality removed or noised at test
 * time, and the fusion comparison: results, runs saved in a project, cancel. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "tensor/weft-blas.h"
#include "train/weft-compare.h"
#include "train/weft-metrics.h"
#include "weft-error.h"

/* The image carries the label; the audio is noise. */
static const char *image_only_json =
  "{\"weft_model\": 1, \"name\": \"tiny-image\","
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"ienc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 16, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"ienc\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";

static const char *fusion_json =
  "{\"weft_model\": 1, \"name\": \"tiny-fusion\","
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"audio\", \"modality\": \"audio\"},"
  "              {\"id\": \"text\", \"modality\": \"text\", \"text_form\": \"bow\"},"
  "              {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"ienc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 16, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"aenc\", \"type\": \"mlp\", \"inputs\": [\"audio\"], \"params\": {\"hidden\": 16, \"out\": 8, \"dropout\": 0}},"
  "  {\"id\": \"tenc\", \"type\": \"dense\", \"inputs\": [\"text\"], \"params\": {\"units\": 8}},"
  "  {\"id\": \"cat\", \"type\": \"concat\", \"inputs\": [\"ienc\", \"aenc\", \"tenc\"]},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"cat\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";

/* Three classes: the image is a class pattern plus noise, the audio and
 * the text (token ids) are noise unrelated to the label. Train, validation
 * and test splits. */
static WeftFeatures *
synthetic (int n, guint32 seed)
{
  WeftFeatures *f = weft_features_new (n);
  float *x = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, 4, 4));
  float *a = weft_features_add_column (f, WEFT_MODALITY_AUDIO, weft_shape_2 (3, 4));
  float *t = weft_features_add_column (f, WEFT_MODALITY_TEXT, weft_shape_1 (5));
  float *y = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  f->n_classes = 3;
  f->vocab_size = 12;
  for (int i = 0; i < n; i++)
    {
      int c = i % 3;
      y[i] = c;
      for (int k = 0; k < 16; k++)
        x[i * 16 + k] = (k % 3 == c ? 1.f : 0.f) + 0.4f * (float) g_rand_double_range (r, -1, 1);
      for (int k = 0; k < 12; k++)
        a[i * 12 + k] = (float) g_rand_double_range (r, -1, 1);
      for (int k = 0; k < 5; k++)
        t[i * 5 + k] = k < 3 ? (float) g_rand_int_range (r, 0, 12) : -1.f;
    }
  weft_features_assign_split (f, 0.15, 0.25, seed);
  return f;
}

static WeftGraph *
compile (const char *json, WeftFeatures *f, int batch)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) s = weft_spec_parse_data (json, -1, &error);
  g_assert_no_error (error);
  WeftBinding b;
  weft_features_get_binding (f, &b);
  WeftGraph *g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, batch, 3);
  return g;
}

static void
config (WeftTrainConfig *c, int epochs)
{
  weft_train_config_init (c);
  c->epochs = epochs;
  c->batch_size = 16;
  c->seed = 7;
  c->threads = 1;
  c->optim.lr = 0.01f;
}

static WeftGraph *
trained (const char *json, WeftFeatures *f, int epochs)
{
  WeftTrainConfig c;
  config (&c, epochs);
  WeftGraph *g = compile (json, f, c.batch_size);
  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  g_assert_true (weft_trainer_start (t, NULL));
  weft_trainer_join (t);
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  g_assert_cmpint (p.state, ==, WEFT_TRAIN_FINISHED);
  weft_progress_clear (&p);
  return g;
}

static void
test_missing_modality (void)
{
  g_autoptr(WeftFeatures) f = synthetic (600, 1);
  g_autoptr(WeftGraph) g = trained (fusion_json, f, 8);
  int n;
  g_autofree int *rows = weft_features_split_rows (f, WEFT_SPLIT_TEST, &n);
  g_assert_cmpint (n, >, 100);

  WeftEvalResult plain, none, no_image, no_audio, no_text;
  WeftPerturb p;
  weft_evaluate (g, f, rows, n, 0, &plain);
  weft_perturb_init (&p);
  weft_evaluate_perturbed (g, f, rows, n, &p, &none);
  g_assert_cmpfloat (none.accuracy, ==, plain.accuracy);
  g_assert_cmpfloat (none.loss, ==, plain.loss);
  weft_evaluate_perturbed (g, f, rows, n, NULL, &none);
  g_assert_cmpfloat (none.accuracy, ==, plain.accuracy);
  g_assert_cmpfloat (plain.accuracy, >, 0.9);

  /* Without the modality that carries the label the model guesses; without
   * the ones that carry nothing it barely notices. */
  p.drop = 1u << WEFT_MODALITY_IMAGE;
  weft_evaluate_perturbed (g, f, rows, n, &p, &no_image);
  p.drop = 1u << WEFT_MODALITY_AUDIO;
  weft_evaluate_perturbed (g, f, rows, n, &p, &no_audio);
  p.drop = 1u << WEFT_MODALITY_TEXT;
  weft_evaluate_perturbed (g, f, rows, n, &p, &no_text);
  g_test_message ("accuracy %.3f, without image %.3f, audio %.3f, text %.3f",
                  plain.accuracy, no_image.accuracy, no_audio.accuracy, no_text.accuracy);
  g_assert_cmpfloat (no_image.accuracy, <, 0.6);
  g_assert_cmpfloat (no_audio.accuracy, >, plain.accuracy - 0.15);
  g_assert_cmpfloat (no_text.accuracy, >, plain.accuracy - 0.15);

  /* Image noise: a little hardly matters, a lot ruins it; the same seed
   * gives the same result. */
  WeftEvalResult small, big, again;
  weft_perturb_init (&p);
  p.image_sigma = 0.05;
  weft_evaluate_perturbed (g, f, rows, n, &p, &small);
  p.image_sigma = 4;
  weft_evaluate_perturbed (g, f, rows, n, &p, &big);
  weft_evaluate_perturbed (g, f, rows, n, &p, &again);
  g_assert_cmpfloat (small.accuracy, >, plain.accuracy - 0.05);
  g_assert_cmpfloat (big.accuracy, <, plain.accuracy - 0.2);
  g_assert_cmpfloat (big.accuracy, ==, again.accuracy);
  g_assert_cmpfloat (big.loss, ==, again.loss);
}

/* What the model is fed: removed modalities look like rows without them,
 * and audio noise has the power the SNR asks for. */
static void
test_perturb_inputs (void)
{
  g_autoptr(WeftFeatures) f = synthetic (60, 2);
  g_autoptr(WeftGraph) g = compile (fusion_json, f, 32);
  int idx[32];
  for (int i = 0; i < 32; i++)
    idx[i] = i;
  gsize ni, na, nt;
  float *img = weft_graph_get_input (g, WEFT_MODALITY_IMAGE, &ni);
  float *aud = weft_graph_get_input (g, WEFT_MODALITY_AUDIO, &na);
  float *txt = weft_graph_get_input (g, WEFT_MODALITY_TEXT, &nt);
  g_assert_cmpuint (nt, ==, 12);     /* bag of words over the vocabulary */

  WeftPerturb p;
  weft_perturb_init (&p);
  p.drop = (1u << WEFT_MODALITY_IMAGE) | (1u << WEFT_MODALITY_TEXT);
  weft_features_gather (f, g, idx, 32);
  g_autofree float *clean_audio = g_memdup2 (aud, 32 * na * sizeof (float));
  weft_perturb_apply (&p, g, 32, 0);
  for (gsize i = 0; i < 32 * ni; i++)
    g_assert_cmpfloat (img[i], ==, 0.f);
  for (gsize i = 0; i < 32 * nt; i++)
    g_assert_cmpfloat (txt[i], ==, 0.f);
  g_assert_cmpmem (aud, 32 * na * sizeof (float), clean_audio, 32 * na * sizeof (float));

  /* 10 dB: noise power a tenth of the signal's. */
  weft_perturb_init (&p);
  p.audio_snr_db = 10;
  weft_perturb_apply (&p, g, 32, 0);
  double signal = 0, noise = 0;
  for (gsize i = 0; i < 32 * na; i++)
    {
      signal += (double) clean_audio[i] * clean_audio[i];
      noise += (double) (aud[i] - clean_audio[i]) * (aud[i] - clean_audio[i]);
    }
  g_test_message ("measured SNR %.2f dB", 10 * log10 (signal / noise));
  g_assert_cmpfloat (fabs (10 * log10 (signal / noise) - 10), <, 0.6);

  /* Token ids: a removed caption is all padding. */
  static const char *ids_json =
    "{\"weft_model\": 1,"
    " \"inputs\": [{\"id\": \"text\", \"modality\": \"text\"}, {\"id\": \"label\", \"modality\": \"label\"}],"
    " \"nodes\": [{\"id\": \"emb\", \"type\": \"embedding_bag\", \"inputs\": [\"text\"], \"params\": {\"dim\": 4}},"
    "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"emb\"]},"
    "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";
  g_autoptr(WeftGraph) h = compile (ids_json, f, 32);
  weft_features_gather (f, h, idx, 32);
  float *ids = weft_graph_get_input (h, WEFT_MODALITY_TEXT, &nt);
  g_assert_cmpuint (nt, ==, 5);
  g_assert_cmpfloat (ids[0], >=, 0.f);
  weft_perturb_init (&p);
  p.drop = 1u << WEFT_MODALITY_TEXT;
  weft_perturb_apply (&p, h, 32, 0);
  for (gsize i = 0; i < 32 * nt; i++)
    g_assert_cmpfloat (ids[i], ==, -1.f);
}

typedef struct {
  char *dir;
  char *paths[4];
} Templates;

static void
templates_init (Templates *t)
{
  GError *error = NULL;
  t->dir = g_dir_make_tmp ("weft-compare-XXXXXX", &error);
  g_assert_no_error (error);
  t->paths[0] = g_build_filename (t->dir, "tiny-image.json", NULL);
  t->paths[1] = g_build_filename (t->dir, "tiny-fusion.json", NULL);
  t->paths[2] = g_build_filename (t->dir, "broken.json", NULL);
  g_assert_true (g_file_set_contents (t->paths[0], image_only_json, -1, NULL));
  g_assert_true (g_file_set_contents (t->paths[1], fusion_json, -1, NULL));
  g_assert_true (g_file_set_contents (t->paths[2], "{\"weft_model\": 1, \"nodes\": [", -1, NULL));
}

static void
templates_clear (Templates *t)
{
  for (int i = 0; t->paths[i]; i++)
    {
      g_unlink (t->paths[i]);
      g_free (t->paths[i]);
    }
  g_rmdir (t->dir);
  g_free (t->dir);
}

typedef struct {
  GMainLoop *loop;
  int progress, added, finished;
  gboolean cancel_on_progress;
  guint last_added;
} Watch;

static void
on_progress (WeftCompare *cmp, Watch *w)
{
  w->progress++;
  WeftCompareProgress p;
  weft_compare_get_progress (cmp, &p);
  g_assert_cmpfloat (p.fraction, >=, 0);
  g_assert_cmpfloat (p.fraction, <=, 1);
  if (w->cancel_on_progress && p.step > 3)
    {
      /* The page can watch the template in training. */
      g_autoptr(WeftTrainer) t = weft_compare_dup_trainer (cmp);
      if (t)
        {
          g_autoptr(GArray) losses = weft_trainer_dup_step_losses (t, 0);
          g_assert_cmpuint (losses->len, >, 0);
        }
      weft_compare_cancel (cmp);
    }
  weft_compare_progress_clear (&p);
}

static void
on_added (WeftCompare *cmp, guint i, Watch *w)
{
  g_assert_cmpuint (i, ==, (guint) w->added);
  w->added++;
}

static void
on_finished (WeftCompare *cmp, Watch *w)
{
  w->finished++;
  g_main_loop_quit (w->loop);
}

/* Run folders go under $XDG_DATA_HOME, set to a temporary folder in main
 * (before any thread, and before GLib caches it). */
static char *data_home;

static void
test_compare_two_templates (void)
{
  Templates tp = { 0 };
  templates_init (&tp);
  g_autoptr(WeftFeatures) f = synthetic (450, 3);
  WeftTrainConfig c;
  config (&c, 4);
  const char *paths[] = { tp.paths[0], tp.paths[1], tp.paths[2], NULL };
  g_autoptr(WeftCompare) cmp = weft_compare_new (f, paths, &c);
  g_autoptr(WeftProject) project = weft_project_new ();
  weft_compare_set_project (cmp, project);
  Watch w = { g_main_loop_new (NULL, FALSE) };
  g_signal_connect (cmp, "progress", G_CALLBACK (on_progress), &w);
  g_signal_connect (cmp, "result-added", G_CALLBACK (on_added), &w);
  g_signal_connect (cmp, "finished", G_CALLBACK (on_finished), &w);
  g_assert_cmpuint (weft_compare_get_n_templates (cmp), ==, 3);
  GError *error = NULL;
  g_assert_true (weft_compare_start (cmp, &error));
  g_assert_no_error (error);
  g_main_loop_run (w.loop);
  weft_compare_join (cmp);
  g_assert_false (weft_compare_is_running (cmp));
  g_assert_cmpint (w.finished, ==, 1);
  g_assert_cmpint (w.added, ==, 3);
  g_assert_cmpint (w.progress, >, 3);
  g_assert_cmpuint (weft_compare_get_n_results (cmp), ==, 3);

  WeftCompareResult img, fus, bad;
  g_assert_true (weft_compare_get_result (cmp, 0, &img));
  g_assert_true (weft_compare_get_result (cmp, 1, &fus));
  g_assert_true (weft_compare_get_result (cmp, 2, &bad));
  WeftCompareResult none;
  g_assert_false (weft_compare_get_result (cmp, 3, &none));
  g_assert_cmpstr (img.name, ==, "tiny-image");
  g_assert_cmpstr (fus.name, ==, "tiny-fusion");
  g_assert_cmpint (img.state, ==, WEFT_TRAIN_FINISHED);
  g_assert_cmpint (fus.state, ==, WEFT_TRAIN_FINISHED);
  g_assert_cmpint (img.eval_split, ==, WEFT_SPLIT_TEST);
  g_assert_cmpint (img.epochs_done, ==, 4);
  g_assert_cmpuint (img.used, ==, 1u << WEFT_MODALITY_IMAGE);
  g_assert_cmpuint (fus.used, ==, (1u << WEFT_MODALITY_IMAGE) | (1u << WEFT_MODALITY_AUDIO)
                                  | (1u << WEFT_MODALITY_TEXT));
  g_assert_cmpfloat (img.accuracy, >, 0.85);
  g_assert_cmpfloat (fus.accuracy, >, 0.85);
  g_assert_cmpuint (img.parameters, >, 0);
  g_assert_cmpuint (fus.parameters, >, img.parameters);
  g_assert_cmpfloat (img.seconds, >, 0);
  g_assert_cmpfloat (img.samples_per_s, >, 0);
  /* Removing the image sinks both; the image-only model does not read
   * audio, so removing it changes nothing. */
  g_assert_cmpfloat (img.missing[WEFT_MODALITY_IMAGE], <, 0.6);
  g_assert_cmpfloat (fus.missing[WEFT_MODALITY_IMAGE], <, 0.6);
  g_assert_cmpfloat (img.missing[WEFT_MODALITY_AUDIO], ==, img.accuracy);
  g_assert_cmpfloat (fus.missing[WEFT_MODALITY_AUDIO], >, fus.accuracy - 0.15);
  g_assert_true (isnan (img.missing[WEFT_MODALITY_LABEL]));

  /* A template that cannot be read fails alone, with a reason. */
  g_assert_cmpint (bad.state, ==, WEFT_TRAIN_FAILED);
  g_assert_nonnull (bad.message);
  g_assert_true (isnan (bad.accuracy));

  /* Runs: in the project, with the brief's record and a checkpoint; a
   * template that could not be read never became a run. */
  g_assert_cmpuint (weft_project_get_n_runs (project), ==, 2);
  g_assert_null (bad.run_id);
  JsonObject *run = weft_project_get_run (project, 1);
  g_assert_cmpstr (json_object_get_string_member (run, "id"), ==, fus.run_id);
  g_assert_cmpstr (json_object_get_string_member (run, "template"), ==, "tiny-fusion");
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "finished");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run, "epochs")), ==, 4);
  JsonObject *fin = json_object_get_object_member (run, "final");
  g_assert_cmpfloat (json_object_get_double_member (fin, "accuracy"), ==, fus.accuracy);
  g_assert_cmpfloat (json_object_get_double_member (fin, "accuracy_without_image"), ==,
                     fus.missing[WEFT_MODALITY_IMAGE]);
  g_assert_true (json_object_has_member (run, "model"));
  g_assert_true (json_object_has_member (run, "settings"));
  const char *ckpt = json_object_get_string_member (run, "checkpoint");
  g_assert_true (g_path_is_absolute (ckpt));
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (json_object_get_string_member (run, "comparison"), ==,
                   json_object_get_string_member (weft_project_get_run (project, 0), "comparison"));

  /* The project with these runs saves and loads again. */
  g_autofree char *pp = g_build_filename (tp.dir, "p.weft", NULL);
  g_autoptr(GFile) pf = g_file_new_for_path (pp);
  g_assert_true (weft_project_save (project, pf, &error));
  g_assert_no_error (error);
  g_autoptr(WeftProject) back = weft_project_load (pf, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (weft_project_get_n_runs (back), ==, 2);

  g_autofree char *table = weft_compare_format_table (cmp);
  g_test_message ("\n%s", table);
  g_assert_nonnull (strstr (table, "tiny-fusion"));
  g_assert_nonnull (strstr (table, "no audio"));

  /* Clean the run folders. */
  for (guint i = 0; i < 2; i++)
    {
      const char *k = json_object_get_string_member (weft_project_get_run (project, i), "checkpoint");
      g_autofree char *d = g_path_get_dirname (k);
      g_unlink (k);
      g_rmdir (d);
    }
  g_unlink (pp);
  {
    g_autofree char *runs = g_build_filename (data_home, "weft", "runs", NULL);
    g_autofree char *weft = g_build_filename (data_home, "weft", NULL);
    g_autoptr(GDir) d = g_dir_open (runs, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name (d)))
      {
        g_autofree char *sub = g_build_filename (runs, name, NULL);
        g_rmdir (sub);
      }
    g_rmdir (runs);
    g_rmdir (weft);
  }
  weft_compare_result_clear (&img);
  weft_compare_result_clear (&fus);
  weft_compare_result_clear (&bad);
  weft_train_config_clear (&c);
  g_main_loop_unref (w.loop);
  templates_clear (&tp);
}

static void
test_compare_cancel (void)
{
  Templates tp = { 0 };
  templates_init (&tp);
  g_autoptr(WeftFeatures) f = synthetic (450, 4);
  WeftTrainConfig c;
  config (&c, 10000);
  const char *paths[] = { tp.paths[1], tp.paths[0], NULL };
  g_autoptr(WeftCompare) cmp = weft_compare_new (f, paths, &c);
  Watch w = { g_main_loop_new (NULL, FALSE), .cancel_on_progress = TRUE };
  g_signal_connect (cmp, "progress", G_CALLBACK (on_progress), &w);
  g_signal_connect (cmp, "result-added", G_CALLBACK (on_added), &w);
  g_signal_connect (cmp, "finished", G_CALLBACK (on_finished), &w);
  g_autoptr(GTimer) timer = g_timer_new ();
  g_assert_true (weft_compare_start (cmp, NULL));
  g_main_loop_run (w.loop);
  weft_compare_join (cmp);
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 30);
  g_assert_cmpint (w.finished, ==, 1);
  /* The template in training stopped; the next never started. */
  g_assert_cmpuint (weft_compare_get_n_results (cmp), ==, 1);
  WeftCompareResult r;
  g_assert_true (weft_compare_get_result (cmp, 0, &r));
  g_assert_cmpint (r.state, ==, WEFT_TRAIN_STOPPED);
  g_assert_true (isnan (r.accuracy));
  g_assert_null (r.run_id);
  g_assert_nonnull (r.run);
  g_assert_cmpstr (json_object_get_string_member (r.run, "state"), ==, "stopped");
  WeftCompareProgress p;
  weft_compare_get_progress (cmp, &p);
  g_assert_false (p.running);
  g_assert_cmpstr (p.message, ==, "Comparison cancelled");
  weft_compare_progress_clear (&p);
  weft_compare_result_clear (&r);
  weft_train_config_clear (&c);
  g_main_loop_unref (w.loop);
  templates_clear (&tp);
}

/* Dropping the object while it runs cancels and waits, without leaks. */
static void
test_compare_unref_while_running (void)
{
  Templates tp = { 0 };
  templates_init (&tp);
  g_autoptr(WeftFeatures) f = synthetic (300, 5);
  WeftTrainConfig c;
  config (&c, 10000);
  const char *paths[] = { tp.paths[0], NULL };
  WeftCompare *cmp = weft_compare_new (f, paths, &c);
  g_assert_true (weft_compare_start (cmp, NULL));
  g_usleep (50000);
  g_object_unref (cmp);
  /* Idles it queued hold their own reference; run them out. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  weft_train_config_clear (&c);
  templates_clear (&tp);
}

int
main (int argc, char **argv)
{
  data_home = g_dir_make_tmp ("weft-compare-data-XXXXXX", NULL);
  g_assert_nonnull (data_home);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/compare/evaluate-without-a-modality", test_missing_modality);
  g_test_add_func ("/compare/perturb-feeds-missing-and-noisy-inputs", test_perturb_inputs);
  g_test_add_func ("/compare/two-templates-and-a-broken-one", test_compare_two_templates);
  g_test_add_func ("/compare/cancel", test_compare_cancel);
  g_test_add_func ("/compare/unref-while-running", test_compare_unref_while_running);
  int rc = g_test_run ();
  g_rmdir (data_home);
  g_free (data_home);
  return rc;
}
