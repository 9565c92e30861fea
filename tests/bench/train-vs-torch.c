/* train-vs-torch.c — Weft's side of the training benchmark: trains one of
 * the reference models on Fashion-MNIST (plus the peer's synthetic audio and
 * captions) with the peer's protocol and prints its samples/s and accuracy.
 * The driver script tests/bench/train-vs-torch runs both sides. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/weft-features.h"
#include "tensor/weft-blas.h"
#include "train/weft-trainer.h"

static gboolean
read_raw (const char *dir, const char *name, gsize bytes, void *dst)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL) || len != bytes)
    {
      g_printerr ("%s: missing or of the wrong size (run the driver script)\n", path);
      return FALSE;
    }
  memcpy (dst, data, bytes);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *model = NULL, *spec_dir = NULL, *peer_dir = NULL;
  int threads = 2, epochs = 4, batch = 64;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "mlp, cnn, fusion or clip", "NAME" },
    { "specs", 0, 0, G_OPTION_ARG_FILENAME, &spec_dir, "Folder of the bench model specs", "DIR" },
    { "peer-data", 0, 0, G_OPTION_ARG_FILENAME, &peer_dir, "Folder written by peer_data.py", "DIR" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "N" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Batch size", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— Weft side of the training benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !model || !spec_dir)
    {
      g_printerr ("%s\n", error ? error->message : "--model and --specs are required");
      return 2;
    }

  g_autoptr(WeftFeatures) f = weft_features_load_idx ("/usr/share/datasets/fashion-mnist", &error);
  if (f == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  /* The peer evaluates on the 10k test images: make them the validation
   * rows so the trainer reports that accuracy after each epoch. */
  for (int i = 0; i < f->n_rows; i++)
    if (f->split[i] == WEFT_SPLIT_TEST)
      f->split[i] = WEFT_SPLIT_VALIDATION;
  if (g_str_equal (model, "fusion"))
    {
      float *a = weft_features_add_column (f, WEFT_MODALITY_AUDIO, weft_shape_2 (40, 32));
      if (!read_raw (peer_dir, "audio.f32", (gsize) f->n_rows * 1280 * 4, a))
        return 1;
    }
  if (g_str_equal (model, "clip"))
    {
      float *t = weft_features_add_column (f, WEFT_MODALITY_TEXT, weft_shape_1 (8));
      g_autofree gint32 *ids = g_new (gint32, (gsize) f->n_rows * 8);
      if (!read_raw (peer_dir, "captions.i32", (gsize) f->n_rows * 8 * 4, ids))
        return 1;
      for (gsize i = 0; i < (gsize) f->n_rows * 8; i++)
        t[i] = (float) ids[i];
      f->vocab_size = 1000;
      g_clear_pointer (&f->label, g_free);
    }

  g_autofree char *path = g_strdup_printf ("%s/%s.json", spec_dir, model);
  g_autoptr(WeftSpec) spec = weft_spec_load (path, &error);
  if (spec == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  if (g == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  WeftTrainConfig c;
  weft_train_config_init (&c);
  if (g_str_equal (model, "mlp"))
    {
      weft_optim_config_init_default (&c.optim, WEFT_OPTIM_SGD);
      c.optim.lr = 0.05f;
      c.optim.momentum = 0.9f;
    }
  else
    weft_optim_config_init_default (&c.optim, WEFT_OPTIM_ADAM);
  c.epochs = epochs;
  c.batch_size = batch;
  c.seed = 0;
  c.threads = threads;
  weft_graph_allocate (g, batch, c.seed);

  g_autoptr(WeftTrainer) t = weft_trainer_new (g, f, &c);
  if (!weft_trainer_start (t, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  weft_trainer_join (t);
  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  if (p.state != WEFT_TRAIN_FINISHED)
    {
      g_printerr ("training did not finish: %s\n", p.message ? p.message : "?");
      return 1;
    }
  g_autoptr(GArray) h = weft_trainer_dup_history (t);
  /* Peer protocol: samples/s = median of whole epochs 2..4. */
  double v[3];
  int nv = 0;
  for (guint i = 1; i < h->len && nv < 3; i++)
    v[nv++] = g_array_index (h, WeftEpochMetrics, i).samples_per_s;
  for (int i = 0; i < nv; i++)
    for (int j = i + 1; j < nv; j++)
      if (v[j] < v[i])
        {
          double tmp = v[i]; v[i] = v[j]; v[j] = tmp;
        }
  double sps = nv == 3 ? v[1] : nv ? v[nv - 1] : g_array_index (h, WeftEpochMetrics, 0).samples_per_s;
  const WeftEpochMetrics *last = &g_array_index (h, WeftEpochMetrics, h->len - 1);
  printf ("weft model=%s batch=%d threads=%d samples_per_s=%.0f loss=%.4f accuracy=%.4f recall1=%.4f\n",
          model, batch, weft_blas_get_threads (), sps, last->train_loss,
          isnan (last->val_accuracy) ? -1 : last->val_accuracy,
          isnan (last->val_recall1) ? -1 : last->val_recall1);
  weft_progress_clear (&p);
  return 0;
}
