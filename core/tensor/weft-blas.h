/* weft-blas.h — the only door to BLAS/LAPACK: a row-major sgemm, a few
 * level-1 helpers, and the one place where the BLAS thread count is set. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* C (M, N) = alpha * op(A) (M, K) · op(B) (K, N) + beta * C, all row-major.
 * trans_a / trans_b say whether A is stored as (K, M) / B as (N, K);
 * lda, ldb, ldc are the row strides of A, B and C as stored. */
void weft_sgemm (gboolean trans_a, gboolean trans_b,
                 int M, int N, int K,
                 float alpha, const float *A, int lda,
                 const float *B, int ldb,
                 float beta, float *C, int ldc);

/* y += alpha * x */
void weft_saxpy (int n, float alpha, const float *x, float *y);
float weft_sdot (int n, const float *x, const float *y);

/* Sets the BLAS worker count; n <= 0 means the value of WEFT_THREADS or
 * OPENBLAS_NUM_THREADS if set, else the number of cores. Returns the count. */
int  weft_blas_set_threads (int n);
int  weft_blas_get_threads (void);

/* Symmetric eigen-decomposition (LAPACK ssyevd): A (n, n) row-major is
 * replaced by eigenvectors in its rows, eigenvalues ascending in w.
 * Returns FALSE if LAPACK reports failure. */
gboolean weft_ssyev (int n, float *A, float *w);

G_END_DECLS
