/* test-templates.c — every model template in data/models compiles against
 * a synthetic dataset with all modalities and really trains: its loss falls
 * over a few epochs and stays finite. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "tensor/weft-blas.h"
#include "train/weft-trainer.h"

/* 240 rows, 4 classes; each modality carries the class, with noise. */
static WeftFeatures *
synthetic (void)
{
  const int n = 240, K = 4, V = 40, L = 16;
  WeftFeatures *f = weft_features_new (n);
  float *img = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, 28, 28));
  float *aud = weft_features_add_column (f, WEFT_MODALITY_AUDIO, weft_shape_2 (40, 100));
  float *txt = weft_features_add_column (f, WEFT_MODALITY_TEXT, weft_shape_1 (L));
  float *lab = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  g_autoptr(GRand) r = g_rand_new_with_seed (17);

  f->n_classes = K;
  f->vocab_size = V;
  for (int i = 0; i < n; i++)
    {
      int c = i % K;
      lab[i] = c;
      for (int k = 0; k < 28 * 28; k++)
        img[i * 784 + k] = (((k / 28) / 7) == c ? 0.3f : 0.1f) + 0.8f * (float) g_rand_double (r);
      for (int k = 0; k < 40 * 100; k++)
        aud[i * 4000 + k] = ((k / 100) / 10 == c ? 0.2f : -0.2f) + 2.f * (float) g_rand_double_range (r, -1, 1);
      for (int t = 0; t < L; t++)
        txt[i * L + t] = t < 6 ? (t < 1 && g_rand_boolean (r) ? 1 + c * 4 + g_rand_int_range (r, 0, 4) : g_rand_int_range (r, 20, V))
                               : -1.f;
    }
  weft_features_assign_split (f, 0.2, 0.0, 3);
  return f;
}

static void
test_template (gconstpointer data)
{
  const char *path = data;
  GError *error = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_load (path, &error);
  g_assert_no_error (error);
  g_autoptr(WeftFeatures) f = synthetic ();
  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  g_assert_no_error (error);

  WeftTrainConfig c;
  weft_train_config_init (&c);
  c.epochs = 4;
  c.batch_size = 16;
  c.threads = 1;
  c.seed = 4;
  c.optim.lr = 1e-3f;
  weft_graph_allocate (g, c.batch_size, c.seed);
  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  g_assert_true (weft_trainer_start (t, &error));
  weft_trainer_join (t);
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  if (p.state != WEFT_TRAIN_FINISHED)
    g_error ("%s: %s", path, p.message);
  g_autoptr(GArray) h = weft_trainer_dup_history (t);
  double first = g_array_index (h, WeftEpochMetrics, 0).train_loss;
  double last = g_array_index (h, WeftEpochMetrics, h->len - 1).train_loss;
  g_test_message ("%s: loss %.4f -> %.4f", path, first, last);
  g_assert_true (isfinite (last));
  g_assert_cmpfloat (last, <, first);
  weft_progress_clear (&p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "data", "models", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (paths, (GCompareFunc) g_strcmp0);
  g_assert_cmpuint (paths->len, >=, 14);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *p = g_ptr_array_index (paths, i);
      g_autofree char *base = g_path_get_basename (p);
      g_autofree char *tp = g_strdup_printf ("/templates/%s", base);
      g_test_add_data_func (tp, p, test_template);
    }
  return g_test_run ();
}
