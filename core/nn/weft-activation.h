/* weft-activation.h — element-wise activations shared by the activation
 * blocks and by the layers that fuse one into the pass after their GEMM. */
#pragma once

#include <math.h>
#include <glib.h>

typedef enum {
  WEFT_ACT_NONE,
  WEFT_ACT_RELU,
  WEFT_ACT_GELU,
  WEFT_ACT_TANH,
  WEFT_ACT_SIGMOID,
} WeftAct;

/* Choice list for an "activation" ENUM parameter, in WeftAct order. */
extern const char *const weft_act_choices[];

/* Exact GELU (erf form), as PyTorch's default. */
static inline float
weft_gelu (float x)
{
  return 0.5f * x * (1.f + erff (x * (float) M_SQRT1_2));
}

static inline float
weft_gelu_grad (float x)
{
  float cdf = 0.5f * (1.f + erff (x * (float) M_SQRT1_2));
  float pdf = expf (-0.5f * x * x) * 0.3989422804014327f;
  return cdf + x * pdf;
}

static inline float
weft_sigmoid (float x)
{
  return 1.f / (1.f + expf (-x));
}

/* y[i] = act(x[i]); x and y may alias. */
void weft_act_forward (WeftAct act, float *y, const float *x, gsize n);

/* dx[i] (+)= dy[i] * act'(x[i]) given y = act(x). GELU needs pre (x);
 * the others only y. With accumulate FALSE, dx is overwritten (dx may then
 * alias dy). */
void weft_act_backward (WeftAct act, float *dx, const float *dy,
                        const float *y, const float *pre, gsize n,
                        gboolean accumulate);

/* Whether act's backward needs the pre-activation (only GELU does). */
static inline gboolean
weft_act_needs_pre (WeftAct act)
{
  return act == WEFT_ACT_GELU;
}
