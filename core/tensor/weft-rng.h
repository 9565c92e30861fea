/* weft-rng.h — the seeded random number generator every random choice in the
 * core goes through (xoshiro128+ seeded by splitmix64); no global state. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 s[4];
  gboolean have_spare;
  float spare;
} WeftRng;

void   weft_rng_init     (WeftRng *rng, guint64 seed);
/* Derives an independent stream (e.g. one per node) from a seed and a key. */
void   weft_rng_init_key (WeftRng *rng, guint64 seed, const char *key);
guint64 weft_rng_next    (WeftRng *rng);
/* Uniform in [0, 1). */
float  weft_rng_uniform  (WeftRng *rng);
/* Uniform integer in [0, n). */
guint32 weft_rng_below   (WeftRng *rng, guint32 n);
/* Standard normal (Box–Muller). */
float  weft_rng_normal   (WeftRng *rng);
/* Fisher–Yates shuffle of an int array. */
void   weft_rng_shuffle  (WeftRng *rng, int *v, int n);

G_END_DECLS
