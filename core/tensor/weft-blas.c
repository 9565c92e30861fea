/* weft-blas.c — wraps cblas/LAPACK so that the rest of the core never
 * includes them, and keeps the thread-count policy in one place. */
#include "weft-blas.h"

#include <cblas.h>
#include <stdlib.h>

/* OpenBLAS extensions (declared in its cblas.h, repeated for clarity). */
extern void openblas_set_num_threads (int num_threads);
extern int  openblas_get_num_threads (void);
/* LAPACK, Fortran calling convention. */
extern void ssyevd_ (const char *jobz, const char *uplo, const int *n, float *a,
                     const int *lda, float *w, float *work, const int *lwork,
                     int *iwork, const int *liwork, int *info);

void
weft_sgemm (gboolean trans_a, gboolean trans_b,
            int M, int N, int K,
            float alpha, const float *A, int lda,
            const float *B, int ldb,
            float beta, float *C, int ldc)
{
  if (M == 0 || N == 0)
    return;
  cblas_sgemm (CblasRowMajor,
               trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans,
               M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
weft_saxpy (int n, float alpha, const float *x, float *y)
{
  cblas_saxpy (n, alpha, x, 1, y, 1);
}

float
weft_sdot (int n, const float *x, const float *y)
{
  return cblas_sdot (n, x, 1, y, 1);
}

int
weft_blas_set_threads (int n)
{
  if (n <= 0)
    {
      const char *env = g_getenv ("WEFT_THREADS");
      if (env == NULL)
        env = g_getenv ("OPENBLAS_NUM_THREADS");
      n = env ? atoi (env) : 0;
      if (n <= 0)
        n = (int) g_get_num_processors ();
    }
  openblas_set_num_threads (n);
  return openblas_get_num_threads ();
}

int
weft_blas_get_threads (void)
{
  return openblas_get_num_threads ();
}

gboolean
weft_ssyev (int n, float *A, float *w)
{
  /* Row-major symmetric A equals its column-major self, and LAPACK leaves
   * eigenvectors in columns, i.e. in rows of our row-major view. */
  int info = 0, lwork = -1, liwork = -1, iwork_q = 0;
  float work_q = 0;
  ssyevd_ ("V", "U", &n, A, &n, w, &work_q, &lwork, &iwork_q, &liwork, &info);
  if (info != 0)
    return FALSE;
  lwork = (int) work_q;
  liwork = iwork_q;
  g_autofree float *work = g_new (float, lwork);
  g_autofree int *iwork = g_new (int, liwork);
  ssyevd_ ("V", "U", &n, A, &n, w, work, &lwork, iwork, &liwork, &info);
  return info == 0;
}
