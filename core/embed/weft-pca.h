/* weft-pca.h — principal component analysis through LAPACK (the covariance
 * matrix's eigenvectors), and Procrustes alignment of two 2-D maps. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Projects X (n, d) on its first k principal axes: out (n, k) receives the
 * centred coordinates. components (k, d) (may be NULL) receives the unit
 * axes, by decreasing variance; variance (k) (may be NULL) the variance
 * along each (divided by n - 1). Each axis's sign is fixed so that its
 * largest-magnitude coordinate is positive, so results are reproducible.
 * k <= min(n, d). FALSE only if LAPACK fails. Runs on the calling thread
 * (BLAS uses its thread count). */
gboolean weft_pca (const float *X, int n, int d, int k,
                   float *out, float *components, float *variance);

/* Aligns the 2-D map Y (n, 2) onto ref (n, 2) in place with the similarity
 * transform (rotation, uniform scale, translation; a reflection too when
 * allow_reflection) that minimises the squared distance between
 * corresponding points. Only points with mask[i] != 0 (mask NULL: all) and
 * finite coordinates in both maps decide the transform; every finite point
 * of Y is moved. With fewer than 2 usable points Y is only translated
 * (or left alone with none). Returns the residual RMS distance. */
double weft_procrustes_align (float *Y, const float *ref, int n, const guint8 *mask,
                              gboolean allow_reflection);

G_END_DECLS
