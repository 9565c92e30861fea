/* knn-bench.c — the Weft side of tests/bench/knn: exact top-10 cosine and
 * euclidean neighbours of 1,000 queries among 70,000 64-d N(0,1) vectors,
 * median of 5 runs, printed for the driver.  usage: knn-bench-bin [THREADS] */
#include <stdio.h>
#include <stdlib.h>

#include "embed/weft-knn.h"
#include "tensor/weft-blas.h"
#include "tensor/weft-rng.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 2;
  weft_blas_set_threads (threads);
  const int N = 70000, d = 64, q = 1000, k = 10, reps = 5;
  WeftRng rng;
  weft_rng_init (&rng, 0);
  g_autofree float *X = g_new (float, (gsize) N * d);
  g_autofree float *Q = g_new (float, (gsize) q * d);
  for (gsize i = 0; i < (gsize) N * d; i++)
    X[i] = weft_rng_normal (&rng);
  for (gsize i = 0; i < (gsize) q * d; i++)
    Q[i] = weft_rng_normal (&rng);
  g_autofree int *idx = g_new (int, q * k);
  g_autofree float *sim = g_new (float, q * k);
  for (int metric = 0; metric < 2; metric++)
    {
      double times[5];
      for (int r = 0; r < reps; r++)
        {
          gint64 t0 = g_get_monotonic_time ();
          if (metric == 0)
            weft_knn_cosine (Q, q, X, N, d, k, FALSE, threads, idx, sim, NULL, NULL);
          else
            weft_knn_euclidean (Q, q, X, N, d, k, FALSE, threads, idx, sim, NULL, NULL);
          times[r] = (g_get_monotonic_time () - t0) / 1e3;
        }
      qsort (times, reps, sizeof (double), cmp_double);
      printf ("WEFT %s query_ms=%.2f min_ms=%.2f max_ms=%.2f\n", metric == 0 ? "cosine" : "euclidean",
              times[reps / 2], times[0], times[reps - 1]);
    }
  return 0;
}
