/* weft-rng.c — xoshiro256** with splitmix64 seeding: fast, reproducible
 * across platforms, and good enough for initialisation, dropout and shuffling. */
#include "weft-rng.h"

#include <math.h>

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
weft_rng_init (WeftRng *rng, guint64 seed)
{
  guint64 x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
  rng->have_spare = FALSE;
  rng->spare = 0.f;
}

void
weft_rng_init_key (WeftRng *rng, guint64 seed, const char *key)
{
  /* FNV-1a of the key, mixed into the seed, so that each node's stream
   * depends only on the seed and the node id, not on the graph order. */
  guint64 h = 0xcbf29ce484222325ULL;
  for (const char *c = key; c && *c; c++)
    h = (h ^ (guint8) *c) * 0x100000001b3ULL;
  weft_rng_init (rng, seed ^ h);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
weft_rng_next (WeftRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

float
weft_rng_uniform (WeftRng *rng)
{
  /* 24 high bits -> exactly representable floats in [0, 1). */
  return (weft_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

guint32
weft_rng_below (WeftRng *rng, guint32 n)
{
  g_assert (n > 0);
  /* Lemire's multiply-shift; the tiny bias is irrelevant for n << 2^32. */
  return (guint32) (((weft_rng_next (rng) >> 32) * (guint64) n) >> 32);
}

float
weft_rng_normal (WeftRng *rng)
{
  if (rng->have_spare)
    {
      rng->have_spare = FALSE;
      return rng->spare;
    }
  double u1 = ((weft_rng_next (rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = (weft_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
  double r = sqrt (-2.0 * log (u1));
  rng->spare = (float) (r * sin (2 * G_PI * u2));
  rng->have_spare = TRUE;
  return (float) (r * cos (2 * G_PI * u2));
}

void
weft_rng_shuffle (WeftRng *rng, int *v, int n)
{
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) weft_rng_below (rng, (guint32) i + 1);
      int t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
}
