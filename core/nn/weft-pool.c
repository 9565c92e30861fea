/* weft-pool.c — MaxPool and AvgPool over windows (2-D on images, 1-D along
 * sequences; no padding, floor mode as PyTorch) and GlobalPool. */
#include "weft-block.h"

#include <math.h>
#include <string.h>

enum { P_KERNEL, P_STRIDE, P_WINDOW };
enum { WINDOW_AUTO, WINDOW_1D, WINDOW_2D };

static const char *const window_choices[] = { "auto", "1d", "2d", NULL };

static const WeftParamSpec pool_params[] = {
  { "kernel", WEFT_PARAM_INT, 2, 1, 32, NULL,
    "Size of the window summarised into one value (2 halves the size)." },
  { "stride", WEFT_PARAM_INT, 0, 0, 32, NULL,
    "Step between two windows; 0 uses the window size, so windows do not overlap." },
  { "window", WEFT_PARAM_ENUM, WINDOW_AUTO, 0, 2, window_choices,
    "2d pools squares of an image (channels, height, width); 1d pools along the length "
    "of a sequence (channels, length). Auto picks 2d for 3-D inputs and 1d otherwise." },
};

static const char *const pool_ports[] = { "in", NULL };

/* Both dimensionalities run as 2-D pooling over planes; 1-D pooling is a
 * plane of height 1 with a window of height 1. */
typedef struct {
  int C, H, W;     /* planes and their size */
  int KH, KW, SH, SW;
  int OH, OW;
} PoolGeom;

static gboolean
pool_is_2d (const WeftNode *node)
{
  int window = (int) node->p[P_WINDOW];
  if (window == WINDOW_AUTO)
    return node->in_shape[0].n == 3;
  return window == WINDOW_2D;
}

static PoolGeom
pool_geom (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  int k = (int) node->p[P_KERNEL];
  int st = node->p[P_STRIDE] > 0 ? (int) node->p[P_STRIDE] : k;
  PoolGeom g;

  g.W = s->d[s->n - 1];
  g.KW = k, g.SW = st;
  if (pool_is_2d (node))
    {
      g.C = s->n == 3 ? s->d[0] : 1;
      g.H = s->d[s->n - 2];
      g.KH = k, g.SH = st;
    }
  else
    {
      g.C = s->n == 2 ? s->d[0] : 1;
      g.H = 1;
      g.KH = 1, g.SH = 1;
    }
  g.OH = (g.H - g.KH) / g.SH + 1;
  g.OW = (g.W - g.KW) / g.SW + 1;
  return g;
}

static gboolean
pool_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int k = (int) node->p[P_KERNEL];
  g_autofree char *str = weft_shape_to_string (s);

  if (pool_is_2d (node))
    {
      if (s->n < 2 || s->n > 3)
        return weft_node_error (node, error,
                                "2-D pooling needs an image (channels, height, width) or a "
                                "(height, width) grid; input 1 has shape %s", str);
    }
  else if (s->n > 2)
    return weft_node_error (node, error,
                            "1-D pooling needs a sequence (channels, length); input 1 has "
                            "shape %s (choose the 2d window for images)", str);

  PoolGeom g = pool_geom (node);
  if (pool_is_2d (node) && (g.H < k || g.W < k))
    return weft_node_error (node, error, "input 1 is %dx%d, smaller than the %dx%d kernel",
                            g.H, g.W, k, k);
  if (!pool_is_2d (node) && g.W < k)
    return weft_node_error (node, error, "input 1 has length %d, shorter than the kernel of %d",
                            g.W, k);

  /* Same rank as the input: only the pooled dims shrink. */
  node->out_shape = *s;
  node->out_shape.d[s->n - 1] = g.OW;
  if (pool_is_2d (node))
    node->out_shape.d[s->n - 2] = g.OH;
  return TRUE;
}

/* MaxPool keeps nothing for backward: the winner of a window is found
 * again there as the first element equal to the output, which is also the
 * element PyTorch picks (the first maximum in row-major order). A NaN
 * wins a window, as in PyTorch; backward then routes to the last NaN.
 *
 * One plane; called with constant KH, KW for the usual 2-wide windows so
 * that the window loops unroll into plain compares. */
static inline G_ALWAYS_INLINE void
maxpool_plane (const PoolGeom *g, int KH, int KW, const float *x, float *y)
{
  for (int oh = 0; oh < g->OH; oh++)
    for (int ow = 0; ow < g->OW; ow++)
      {
        const float *xw = x + (gsize) oh * g->SH * g->W + ow * g->SW;
        float best = xw[0];
        int nan = 0;
        for (int kh = 0; kh < KH; kh++)
          for (int kw = 0; kw < KW; kw++)
            {
              float v = xw[(gsize) kh * g->W + kw];
              best = v > best ? v : best;
              nan |= isnan (v);
            }
        y[oh * g->OW + ow] = nan ? NAN : best;
      }
}

static void
maxpool_forward (WeftNode *node, const WeftPass *pass)
{
  PoolGeom g = pool_geom (node);
  int planes = pass->B * g.C;

  for (int pl = 0; pl < planes; pl++)
    {
      const float *x = node->in[0] + (gsize) pl * g.H * g.W;   /* (H, W) */
      float *y = node->out + (gsize) pl * g.OH * g.OW;         /* (OH, OW) */
      if (g.KH == 2 && g.KW == 2)
        maxpool_plane (&g, 2, 2, x, y);
      else if (g.KH == 1 && g.KW == 2)
        maxpool_plane (&g, 1, 2, x, y);
      else
        maxpool_plane (&g, g.KH, g.KW, x, y);
    }
}

/* Routes each output's gradient to its window's winner. Scanning the
 * window backwards with selects leaves the first match without a branch. */
static inline G_ALWAYS_INLINE void
maxpool_plane_backward (const PoolGeom *g, int KH, int KW, const float *x,
                        const float *y, const float *dy, float *dx)
{
  for (int oh = 0; oh < g->OH; oh++)
    for (int ow = 0; ow < g->OW; ow++)
      {
        gsize base = (gsize) oh * g->SH * g->W + ow * g->SW;
        float m = y[oh * g->OW + ow];
        gsize at = base;
        if (G_LIKELY (!isnan (m)))
          for (int kh = KH - 1; kh >= 0; kh--)
            for (int kw = KW - 1; kw >= 0; kw--)
              {
                gsize i = base + (gsize) kh * g->W + kw;
                at = x[i] == m ? i : at;
              }
        else
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
              {
                gsize i = base + (gsize) kh * g->W + kw;
                at = isnan (x[i]) ? i : at;
              }
        dx[at] += dy[oh * g->OW + ow];
      }
}

static void
maxpool_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  PoolGeom g = pool_geom (node);
  int planes = pass->B * g.C;

  for (int pl = 0; pl < planes; pl++)
    {
      const float *x = node->in[0] + (gsize) pl * g.H * g.W;          /* (H, W) */
      float *dx = node->din[0] + (gsize) pl * g.H * g.W;              /* (H, W) */
      const float *y = node->out + (gsize) pl * g.OH * g.OW;          /* (OH, OW) */
      const float *dy = node->dout + (gsize) pl * g.OH * g.OW;        /* (OH, OW) */
      if (g.KH == 2 && g.KW == 2)
        maxpool_plane_backward (&g, 2, 2, x, y, dy, dx);
      else if (g.KH == 1 && g.KW == 2)
        maxpool_plane_backward (&g, 1, 2, x, y, dy, dx);
      else
        maxpool_plane_backward (&g, g.KH, g.KW, x, y, dy, dx);
    }
}

static void
avgpool_forward (WeftNode *node, const WeftPass *pass)
{
  PoolGeom g = pool_geom (node);
  int planes = pass->B * g.C;
  float inv = 1.f / (g.KH * g.KW);

  for (int pl = 0; pl < planes; pl++)
    {
      const float *x = node->in[0] + (gsize) pl * g.H * g.W;
      float *y = node->out + (gsize) pl * g.OH * g.OW;
      for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
          {
            const float *xw = x + (gsize) oh * g.SH * g.W + ow * g.SW;
            float s = 0.f;
            for (int kh = 0; kh < g.KH; kh++)
              for (int kw = 0; kw < g.KW; kw++)
                s += xw[(gsize) kh * g.W + kw];
            y[oh * g.OW + ow] = s * inv;
          }
    }
}

static void
avgpool_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  PoolGeom g = pool_geom (node);
  int planes = pass->B * g.C;
  float inv = 1.f / (g.KH * g.KW);

  for (int pl = 0; pl < planes; pl++)
    {
      float *dx = node->din[0] + (gsize) pl * g.H * g.W;
      const float *dy = node->dout + (gsize) pl * g.OH * g.OW;
      for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
          {
            float *dw = dx + (gsize) oh * g.SH * g.W + ow * g.SW;
            float v = dy[oh * g.OW + ow] * inv;
            for (int kh = 0; kh < g.KH; kh++)
              for (int kw = 0; kw < g.KW; kw++)
                dw[(gsize) kh * g.W + kw] += v;
          }
    }
}

static guint64
pool_flops (const WeftNode *node)
{
  PoolGeom g = pool_geom (node);
  return (guint64) g.C * g.OH * g.OW * g.KH * g.KW;
}

const WeftBlock weft_block_maxpool = {
  .type = "maxpool", .group = "layers", .title = "MaxPool",
  .blurb = "Keeps the largest value of each small window, shrinking the picture or sequence while keeping the strongest responses.",
  .params = pool_params, .n_params = G_N_ELEMENTS (pool_params),
  .ports = pool_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = pool_infer, .forward = maxpool_forward,
  .backward = maxpool_backward, .flops = pool_flops,
};

const WeftBlock weft_block_avgpool = {
  .type = "avgpool", .group = "layers", .title = "AvgPool",
  .blurb = "Averages each small window, shrinking the picture or sequence smoothly.",
  .params = pool_params, .n_params = G_N_ELEMENTS (pool_params),
  .ports = pool_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = pool_infer, .forward = avgpool_forward,
  .backward = avgpool_backward, .flops = pool_flops,
};

/* ---- GlobalPool: (C, ...) -> (C), one value per channel ---- */

enum { P_MODE };
enum { MODE_AVG, MODE_MAX };

static const char *const mode_choices[] = { "avg", "max", NULL };

static const WeftParamSpec global_pool_params[] = {
  { "mode", WEFT_PARAM_ENUM, MODE_AVG, 0, 1, mode_choices,
    "Summarise each channel by its average (smooth, the usual choice) or by its largest value." },
};

static gboolean
global_pool_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  if (s->n < 2)
    {
      g_autofree char *str = weft_shape_to_string (s);
      return weft_node_error (node, error,
                              "GlobalPool needs channels with positions to pool, such as an "
                              "image (channels, height, width) or a sequence (channels, length); "
                              "input 1 has shape %s", str);
    }
  node->out_shape = weft_shape_1 (s->d[0]);
  if (node->p[P_MODE] == MODE_MAX)
    node->scratch_per_sample = s->d[0];  /* winning position per channel, exact below 2^24 */
  return TRUE;
}

static void
global_pool_forward (WeftNode *node, const WeftPass *pass)
{
  int rows = pass->B * node->out_shape.d[0];
  gsize S = weft_node_in_size (node, 0) / node->out_shape.d[0];
  gboolean max = node->p[P_MODE] == MODE_MAX;

  for (int r = 0; r < rows; r++)
    {
      const float *x = node->in[0] + r * S; /* (S) */
      if (max)
        {
          float best = -INFINITY;
          gsize at = 0;
          for (gsize i = 0; i < S; i++)
            if (x[i] > best || isnan (x[i]))
              {
                best = x[i];
                at = i;
              }
          node->out[r] = best;
          node->scratch[r] = (float) at;
        }
      else
        {
          float s = 0.f;
          for (gsize i = 0; i < S; i++)
            s += x[i];
          node->out[r] = s / S;
        }
    }
}

static void
global_pool_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  int rows = pass->B * node->out_shape.d[0];
  gsize S = weft_node_in_size (node, 0) / node->out_shape.d[0];

  for (int r = 0; r < rows; r++)
    {
      float *dx = node->din[0] + r * S;
      if (node->p[P_MODE] == MODE_MAX)
        dx[(gsize) node->scratch[r]] += node->dout[r];
      else
        {
          float v = node->dout[r] / S;
          for (gsize i = 0; i < S; i++)
            dx[i] += v;
        }
    }
}

static guint64
global_pool_flops (const WeftNode *node)
{
  return weft_node_in_size (node, 0);
}

const WeftBlock weft_block_global_pool = {
  .type = "global_pool", .group = "layers", .title = "GlobalPool",
  .blurb = "Summarises each channel over all positions (the whole image or sequence) into one number, giving a vector of channels.",
  .params = global_pool_params, .n_params = G_N_ELEMENTS (global_pool_params),
  .ports = pool_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = global_pool_infer, .forward = global_pool_forward,
  .backward = global_pool_backward, .flops = global_pool_flops,
};
