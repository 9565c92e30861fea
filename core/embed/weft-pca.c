/* weft-pca.c — PCA from the covariance matrix's eigen-decomposition
 * (LAPACK ssyevd through weft-blas), and 2-D Procrustes alignment done in
 * complex numbers, where a rotation with scale is one multiplication. */
#include "weft-pca.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"

gboolean
weft_pca (const float *X, int n, int d, int k,
          float *out, float *components, float *variance)
{
  g_return_val_if_fail (n >= 1 && d >= 1 && k >= 1 && k <= d, FALSE);
  /* Centre in a copy; the mean in double so that large n stays exact. */
  g_autofree double *mean = g_new0 (double, d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      mean[j] += X[(gsize) i * d + j];
  for (int j = 0; j < d; j++)
    mean[j] /= n;
  g_autofree float *Xc = g_new (float, (gsize) n * d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      Xc[(gsize) i * d + j] = (float) (X[(gsize) i * d + j] - mean[j]);

  /* C (d, d) = Xcᵀ (d, n) · Xc (n, d) / (n - 1): Xc is stored (n, d) = (K, M),
   * hence trans_a. */
  g_autofree float *C = g_new (float, (gsize) d * d);
  weft_sgemm (TRUE, FALSE, d, d, n, 1.f / MAX (n - 1, 1), Xc, d, Xc, d, 0.f, C, d);
  g_autofree float *w = g_new (float, d);
  if (!weft_ssyev (d, C, w))
    return FALSE;

  /* Eigenvalues ascend: the last k rows of C are the axes we want. */
  g_autofree float *comp = g_new (float, (gsize) k * d);
  for (int c = 0; c < k; c++)
    {
      const float *v = C + (gsize) (d - 1 - c) * d;
      int arg = 0;
      for (int j = 1; j < d; j++)
        if (fabsf (v[j]) > fabsf (v[arg]))
          arg = j;
      float sign = v[arg] < 0 ? -1.f : 1.f;
      for (int j = 0; j < d; j++)
        comp[(gsize) c * d + j] = sign * v[j];
      if (variance)
        variance[c] = MAX (w[d - 1 - c], 0.f);
    }
  /* out (n, k) = Xc (n, d) · compᵀ (d, k): comp is stored (k, d), hence trans_b. */
  weft_sgemm (FALSE, TRUE, n, k, d, 1.f, Xc, d, comp, d, 0.f, out, k);
  if (components)
    memcpy (components, comp, (gsize) k * d * sizeof (float));
  return TRUE;
}

static inline gboolean
usable (const float *Y, const float *ref, const guint8 *mask, int i)
{
  return (mask == NULL || mask[i]) && isfinite (Y[2 * i]) && isfinite (Y[2 * i + 1])
         && isfinite (ref[2 * i]) && isfinite (ref[2 * i + 1]);
}

double
weft_procrustes_align (float *Y, const float *ref, int n, const guint8 *mask,
                       gboolean allow_reflection)
{
  /* Centroids of the usable points. */
  double my[2] = { 0, 0 }, mr[2] = { 0, 0 };
  int m = 0;
  for (int i = 0; i < n; i++)
    if (usable (Y, ref, mask, i))
      {
        my[0] += Y[2 * i]; my[1] += Y[2 * i + 1];
        mr[0] += ref[2 * i]; mr[1] += ref[2 * i + 1];
        m++;
      }
  if (m == 0)
    return NAN;
  my[0] /= m; my[1] /= m; mr[0] /= m; mr[1] /= m;

  /* As complex numbers z (centred Y) and w (centred ref), the best c in
   * Σ|c z − w|² is Σ conj(z) w / Σ|z|²: |c| is the scale, arg c the angle.
   * A reflection maps z to conj(z) first: then c = Σ z w / Σ|z|². */
  double zz = 0, pr = 0, pi = 0, qr = 0, qi = 0;
  for (int i = 0; i < n; i++)
    {
      if (!usable (Y, ref, mask, i))
        continue;
      double a = Y[2 * i] - my[0], b = Y[2 * i + 1] - my[1];
      double u = ref[2 * i] - mr[0], v = ref[2 * i + 1] - mr[1];
      zz += a * a + b * b;
      pr += a * u + b * v;  pi += a * v - b * u;   /* conj(z) w */
      qr += a * u - b * v;  qi += a * v + b * u;   /* z w */
    }
  gboolean reflect = FALSE;
  double cr = 1, ci = 0;
  if (m >= 2 && zz > 0)
    {
      /* Residual Σ|w|² − |Σ conj(z) w|² / Σ|z|²: the larger |p| wins. */
      reflect = allow_reflection && (qr * qr + qi * qi) > (pr * pr + pi * pi);
      cr = (reflect ? qr : pr) / zz;
      ci = (reflect ? qi : pi) / zz;
    }
  double err = 0;
  for (int i = 0; i < n; i++)
    {
      if (!isfinite (Y[2 * i]) || !isfinite (Y[2 * i + 1]))
        continue;
      double a = Y[2 * i] - my[0], b = Y[2 * i + 1] - my[1];
      if (reflect)
        b = -b;
      double x = cr * a - ci * b + mr[0];
      double y = cr * b + ci * a + mr[1];
      Y[2 * i] = (float) x;
      Y[2 * i + 1] = (float) y;
      if (usable (Y, ref, mask, i))
        err += (x - ref[2 * i]) * (x - ref[2 * i]) + (y - ref[2 * i + 1]) * (y - ref[2 * i + 1]);
    }
  return sqrt (err / m);
}
