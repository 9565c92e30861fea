/* tsne-bench.c — the Weft side of tests/bench/tsne: PCA to 50 then t-SNE of
 * chosen Fashion-MNIST rows, timed, the map written for the driver to score.
 * usage: tsne-bench-bin IDX_DIR ROWS.i32 OUT.f32 [THREADS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/weft-features.h"
#include "embed/weft-pca.h"
#include "embed/weft-tsne.h"
#include "tensor/weft-blas.h"

int
main (int argc, char **argv)
{
  if (argc < 4)
    {
      fprintf (stderr, "usage: %s IDX_DIR ROWS.i32 OUT.f32 [THREADS]\n", argv[0]);
      return 2;
    }
  int threads = argc > 4 ? atoi (argv[4]) : 2;
  weft_blas_set_threads (threads);
  GError *error = NULL;
  g_autoptr(WeftFeatures) f = weft_features_load_idx (argv[1], &error);
  if (f == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_autofree char *raw = NULL;
  gsize len = 0;
  if (!g_file_get_contents (argv[2], &raw, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  int n = (int) (len / 4);
  const gint32 *rows = (const gint32 *) raw;
  int d = (int) weft_shape_size (&f->image.shape);
  g_autofree float *X = g_new (float, (gsize) n * d);
  for (int i = 0; i < n; i++)
    memcpy (X + (gsize) i * d, f->image.data + (gsize) rows[i] * d, (gsize) d * sizeof (float));

  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree float *Z = g_new (float, (gsize) n * 50);
  weft_pca (X, n, d, 50, Z, NULL, NULL);
  double t_pca = g_timer_elapsed (timer, NULL);
  WeftTsneConfig c;
  weft_tsne_config_init (&c);
  c.threads = threads;
  g_autoptr(WeftTsne) t = weft_tsne_new (Z, n, 50, &c);
  if (!weft_tsne_run (t, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  double total = g_timer_elapsed (timer, NULL);
  if (!g_file_set_contents (argv[3], (const char *) weft_tsne_get_positions (t),
                            (gssize) n * 2 * sizeof (float), &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("WEFT n=%d pca50_s=%.3f tsne_s=%.3f total_s=%.3f\n", n, t_pca, total - t_pca, total);
  return 0;
}
