/* weft-optim.c — SGD, Adam and AdamW over segments of the parameter arena,
 * with global-norm clipping and warm-up / step / cosine schedules. */
#include "weft-optim.h"

#include <math.h>
#include <string.h>

#include "weft-error.h"

typedef struct {
  gsize offset, len;
  gboolean decay;
} Segment;

struct _WeftOptim {
  WeftOptimConfig cfg;
  int step;                  /* updates done */
  float last_lr;

  /* Borrowed */
  float *params;             /* (n) */
  float *grads;              /* (n) */
  gsize n;

  /* Owned */
  float *exp_avg;            /* (n) Adam, AdamW; else NULL */
  float *exp_avg_sq;         /* (n) Adam, AdamW; else NULL */
  float *momentum_buffer;    /* (n) SGD with momentum; else NULL */
  GArray *segments;          /* Segment */
};

/* ---- configuration ---------------------------------------------------- */

static const char *const kind_names[] = { "sgd", "adam", "adamw", NULL };
static const char *const schedule_names[] = { "constant", "step", "cosine", NULL };

/* The per-kind fields, reset when a JSON switches the kind. */
static void
set_kind_defaults (WeftOptimConfig *c, WeftOptimKind kind)
{
  c->kind = kind;
  c->lr = kind == WEFT_OPTIM_SGD ? 0.05f : 1e-3f;
  c->momentum = 0.9f;
  c->nesterov = FALSE;
  c->beta1 = 0.9f;
  c->beta2 = 0.999f;
  c->eps = 1e-8f;
  c->weight_decay = kind == WEFT_OPTIM_ADAMW ? 0.01f : 0.f;
}

void
weft_optim_config_init_default (WeftOptimConfig *c, WeftOptimKind kind)
{
  g_return_if_fail (c != NULL);
  g_return_if_fail (kind <= WEFT_OPTIM_ADAMW);

  memset (c, 0, sizeof *c);
  set_kind_defaults (c, kind);
  c->clip_norm = 0.f;
  c->schedule = WEFT_SCHEDULE_CONSTANT;
  c->warmup_steps = 0;
  c->step_size = 1000;
  c->gamma = 0.1f;
  c->total_steps = 0;
  c->min_lr = 0.f;
}

static const char *
describe_node (JsonNode *node)
{
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "a list";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "text";
    case G_TYPE_BOOLEAN:
      return "true/false";
    default:
      return "a number";
    }
}

static gboolean
is_number (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* Reads key into *dst if present: a finite number, representable as a
 * float, from min to max; *_open excludes that bound (max may be inf). */
static gboolean
read_float (JsonObject *o, const char *key, const char *what, float *dst,
            double min, gboolean min_open, double max, gboolean max_open, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (!node)
    return TRUE;
  if (!is_number (node))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "%s (%s) must be a number, not %s", key, what, describe_node (node));
      return FALSE;
    }
  double v = json_node_get_double (node);
  if (!isfinite ((float) v))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "%s (%s) is too large: %g", key, what, v);
      return FALSE;
    }
  if ((min_open ? v <= min : v < min)
      || (max_open ? v >= max : v > max))
    {
      g_autofree char *upper = isfinite (max)
        ? g_strdup_printf (" and %s %g", max_open ? "below" : "at most", max)
        : g_strdup ("");
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "%s (%s) must be %s %g%s, not %g",
                   key, what, min_open ? "above" : "at least", min, upper, v);
      return FALSE;
    }
  *dst = (float) v;
  return TRUE;
}

/* Reads a whole number in [min, G_MAXINT]; 10.0 counts as 10. */
static gboolean
read_int (JsonObject *o, const char *key, const char *what, int *dst, int min, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (!node)
    return TRUE;
  double v = is_number (node) ? json_node_get_double (node) : NAN;
  if (!(v >= min && v <= G_MAXINT && v == floor (v)))
    {
      if (is_number (node))
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                     "%s (%s) must be a whole number from %d to %d, not %g",
                     key, what, min, G_MAXINT, v);
      else
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                     "%s (%s) must be a whole number, not %s", key, what, describe_node (node));
      return FALSE;
    }
  *dst = (int) v;
  return TRUE;
}

/* Reads a name from choices into *dst (its index). */
static gboolean
read_choice (JsonObject *o, const char *key, const char *what, const char *const *choices,
             int *dst, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (!node)
    return TRUE;
  const char *s = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                  ? json_node_get_string (node) : NULL;
  for (int i = 0; s && choices[i]; i++)
    if (g_ascii_strcasecmp (s, choices[i]) == 0)
      {
        *dst = i;
        return TRUE;
      }
  g_autofree char *list = g_strjoinv (", ", (char **) choices);
  if (s)
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                 "%s (%s) must be one of %s, not \"%s\"", key, what, list, s);
  else
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                 "%s (%s) must be one of %s, not %s", key, what, list, describe_node (node));
  return FALSE;
}

gboolean
weft_optim_config_from_json (WeftOptimConfig *c, JsonObject *o, GError **error)
{
  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (o != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Work on a copy so that a bad value leaves c as it was. */
  WeftOptimConfig t = *c;
  int kind = t.kind, schedule = t.schedule;

  if (!read_choice (o, "optimizer", "training algorithm", kind_names, &kind, error))
    return FALSE;
  if (kind != (int) t.kind)
    set_kind_defaults (&t, (WeftOptimKind) kind);

  JsonNode *nest = json_object_get_member (o, "nesterov");
  if (nest)
    {
      if (!JSON_NODE_HOLDS_VALUE (nest) || json_node_get_value_type (nest) != G_TYPE_BOOLEAN)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                       "nesterov (Nesterov momentum) must be true or false, not %s",
                       describe_node (nest));
          return FALSE;
        }
      t.nesterov = json_node_get_boolean (nest);
    }

  if (!read_float (o, "lr", "learning rate", &t.lr, 0, TRUE, INFINITY, FALSE, error)
      || !read_float (o, "momentum", "SGD momentum", &t.momentum, 0, FALSE, 1, TRUE, error)
      || !read_float (o, "beta1", "Adam's first moment decay", &t.beta1, 0, FALSE, 1, TRUE, error)
      || !read_float (o, "beta2", "Adam's second moment decay", &t.beta2, 0, FALSE, 1, TRUE, error)
      || !read_float (o, "eps", "Adam's epsilon", &t.eps, 0, TRUE, INFINITY, FALSE, error)
      || !read_float (o, "weight_decay", "weight decay", &t.weight_decay, 0, FALSE, INFINITY, FALSE, error)
      || !read_float (o, "clip_norm", "gradient clipping norm, 0 for none", &t.clip_norm,
                      0, FALSE, INFINITY, FALSE, error)
      || !read_choice (o, "schedule", "learning-rate schedule", schedule_names, &schedule, error)
      || !read_int (o, "warmup_steps", "warm-up steps", &t.warmup_steps, 0, error)
      || !read_int (o, "step_size", "steps between learning-rate drops", &t.step_size, 1, error)
      || !read_float (o, "gamma", "learning-rate drop factor", &t.gamma, 0, TRUE, INFINITY, FALSE, error)
      || !read_int (o, "total_steps", "total steps", &t.total_steps, 0, error)
      || !read_float (o, "min_lr", "final learning rate", &t.min_lr, 0, FALSE, INFINITY, FALSE, error))
    return FALSE;
  t.schedule = (WeftScheduleKind) schedule;

  /* Checks between keys, once all are read. */
  if (t.kind == WEFT_OPTIM_SGD && t.nesterov && t.momentum <= 0.f)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "Nesterov momentum needs a momentum above 0");
      return FALSE;
    }
  if (t.schedule == WEFT_SCHEDULE_COSINE && t.min_lr > t.lr)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "min_lr (final learning rate, %g) must not be above the learning rate (%g)",
                   t.min_lr, t.lr);
      return FALSE;
    }
  *c = t;
  return TRUE;
}

/* The double nearest the shortest decimal that reads back as f, so that
 * 1e-3f is written 0.001 and not 0.0010000000474974513. */
static double
float_for_json (float f)
{
  static const char *const formats[] = { "%.6g", "%.7g", "%.8g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      double d = g_ascii_strtod (g_ascii_formatd (buf, sizeof buf, formats[i], f), NULL);
      /* json-glib 1.6 appends ".0" to a number printed without a '.', so
       * 1e-08 would be written 1e-08.0, which no parser reads back: keep
       * the float's own (longer) value for those. */
      g_ascii_dtostr (buf, sizeof buf, d);
      if ((float) d == f && (strchr (buf, '.') || !strpbrk (buf, "eE")))
        return d;
    }
  return f;
}

JsonObject *
weft_optim_config_to_json (const WeftOptimConfig *c)
{
  g_return_val_if_fail (c != NULL, NULL);

  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "optimizer", kind_names[c->kind]);
  json_object_set_double_member (o, "lr", float_for_json (c->lr));
  json_object_set_double_member (o, "momentum", float_for_json (c->momentum));
  json_object_set_boolean_member (o, "nesterov", c->nesterov);
  json_object_set_double_member (o, "beta1", float_for_json (c->beta1));
  json_object_set_double_member (o, "beta2", float_for_json (c->beta2));
  json_object_set_double_member (o, "eps", float_for_json (c->eps));
  json_object_set_double_member (o, "weight_decay", float_for_json (c->weight_decay));
  json_object_set_double_member (o, "clip_norm", float_for_json (c->clip_norm));
  json_object_set_string_member (o, "schedule", schedule_names[c->schedule]);
  json_object_set_int_member (o, "warmup_steps", c->warmup_steps);
  json_object_set_int_member (o, "step_size", c->step_size);
  json_object_set_double_member (o, "gamma", float_for_json (c->gamma));
  json_object_set_int_member (o, "total_steps", c->total_steps);
  json_object_set_double_member (o, "min_lr", float_for_json (c->min_lr));
  return o;
}

/* ---- schedule ---------------------------------------------------------- */

/* In double, as torch's LambdaLR computes it; the optimizer rounds each
 * scalar to float where torch does. */
static double
lr_at (const WeftOptimConfig *c, int step)
{
  double lr = c->lr;
  int W = c->warmup_steps;

  step = MAX (step, 0);
  if (step < W)
    return lr * (step + 1) / W;
  int s = step - W;
  switch (c->schedule)
    {
    case WEFT_SCHEDULE_STEP:
      return lr * pow (c->gamma, s / MAX (c->step_size, 1));
    case WEFT_SCHEDULE_COSINE:
      {
        int S = c->total_steps - W;
        if (S < 1)
          return lr;
        double min_lr = c->min_lr;
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + cos (G_PI * MIN (s, S) / S));
      }
    case WEFT_SCHEDULE_CONSTANT:
    default:
      return lr;
    }
}

float
weft_optim_lr_at (const WeftOptimConfig *c, int step)
{
  g_return_val_if_fail (c != NULL, 0.f);
  return (float) lr_at (c, step);
}

/* ---- kernels ------------------------------------------------------------
 * One pass over a segment per update, every scalar hoisted out of the loop.
 * The loops run in chunks of LANES with a fixed inner count so that GCC's
 * -O2 vectoriser (which will not add an epilogue) turns each chunk into
 * vector code; the remainder runs the same element code. The segment
 * functions are never inlined: GCC forgets restrict once they are, and would
 * then need a run-time alias check it does not add at -O2. Flags passed as
 * constants to the always-inline helpers compile to separate branch-free
 * loops. Adam's sqrtf vectorises only with -fno-math-errno (otherwise
 * GCC keeps a scalar call per element to set errno). */

#define LANES 8

/* Σ x² in double: lanes of partial sums keep it vectorisable. */
static double
sum_squares (const float *restrict x, gsize n)
{
  double acc[LANES] = { 0 };
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++)
      acc[k] += (double) x[i + k] * x[i + k];
  for (; i < n; i++)
    acc[0] += (double) x[i] * x[i];
  double s = 0;
  for (int k = 0; k < LANES; k++)
    s += acc[k];
  return s;
}

/* SGD on element k. Roundings follow torch: grad·c, then d = g + wd·p,
 * buf = buf·μ + d, d = d + μ·buf (Nesterov), p = p + (−lr)·d. */
G_ALWAYS_INLINE static inline void
sgd_one (float *restrict p, const float *restrict g, float *restrict buf, gsize k,
         float gscale, float wd, float mu, float neg_lr,
         gboolean momentum, gboolean nesterov)
{
  float d = g[k] * gscale + wd * p[k];
  if (momentum)
    {
      float b = buf[k] * mu + d;
      buf[k] = b;
      d = nesterov ? d + mu * b : b;
    }
  p[k] = p[k] + neg_lr * d;
}

G_ALWAYS_INLINE static inline void
sgd_run (float *restrict p, const float *restrict g, float *restrict buf, gsize n,
         float gscale, float wd, float mu, float neg_lr,
         gboolean momentum, gboolean nesterov)
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (gsize k = i; k < i + LANES; k++)
      sgd_one (p, g, buf, k, gscale, wd, mu, neg_lr, momentum, nesterov);
  for (; i < n; i++)
    sgd_one (p, g, buf, i, gscale, wd, mu, neg_lr, momentum, nesterov);
}

/* p, g, buf: (n) segment views. wd is 0 on segments without decay:
 * g + 0·p is g, so one loop serves both. */
G_NO_INLINE static void
sgd_segment (float *restrict p, const float *restrict g, float *restrict buf, gsize n,
             float gscale, float wd, float mu, float neg_lr, gboolean nesterov)
{
  if (buf == NULL)
    sgd_run (p, g, NULL, n, gscale, wd, 0.f, neg_lr, FALSE, FALSE);
  else if (nesterov)
    sgd_run (p, g, buf, n, gscale, wd, mu, neg_lr, TRUE, TRUE);
  else
    sgd_run (p, g, buf, n, gscale, wd, mu, neg_lr, TRUE, FALSE);
}

typedef struct {
  float gscale;      /* clip coefficient */
  float l2;          /* Adam: wd on decay segments, else 0 */
  float keep;        /* AdamW: 1 − lr·wd on decay segments, else 1 */
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float bc2_sqrt;    /* √(1 − β2^t) */
  float eps;
  float neg_step;    /* −lr / (1 − β1^t) */
} AdamScalars;

/* Adam and AdamW on element k. Roundings follow torch: g = g + wd·p;
 * p = p·keep; m = m·β1 + (1−β1)·g; v = v·β2 + (1−β2)·g·g;
 * p = p + (−step)·m / (√v / √bc2 + ε). */
G_ALWAYS_INLINE static inline void
adam_one (float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
          gsize k, const AdamScalars *s)
{
  float gk = g[k] * s->gscale + s->l2 * p[k];
  float pk = p[k] * s->keep;
  float mk = m[k] * s->beta1 + s->one_minus_beta1 * gk;
  float vk = v[k] * s->beta2 + s->one_minus_beta2 * gk * gk;
  m[k] = mk;
  v[k] = vk;
  p[k] = pk + s->neg_step * mk / (sqrtf (vk) / s->bc2_sqrt + s->eps);
}

/* p, g, m, v: (n) segment views. */
G_NO_INLINE static void
adam_segment (float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
              gsize n, const AdamScalars *scalars)
{
  const AdamScalars s = *scalars;   /* a local copy: provably not aliased by p */
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (gsize k = i; k < i + LANES; k++)
      adam_one (p, g, m, v, k, &s);
  for (; i < n; i++)
    adam_one (p, g, m, v, i, &s);
}

/* ---- the optimizer ----------------------------------------------------- */

WeftOptim *
weft_optim_new (const WeftOptimConfig *c, float *params, float *grads, gsize n)
{
  g_return_val_if_fail (c != NULL, NULL);
  g_return_val_if_fail (c->kind <= WEFT_OPTIM_ADAMW, NULL);
  g_return_val_if_fail (n == 0 || (params != NULL && grads != NULL), NULL);

  WeftOptim *o = g_new0 (WeftOptim, 1);
  o->cfg = *c;
  o->params = params;
  o->grads = grads;
  o->n = n;
  o->segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  if (c->kind == WEFT_OPTIM_SGD)
    {
      if (c->momentum > 0.f)
        o->momentum_buffer = g_new0 (float, MAX (n, 1));
    }
  else
    {
      o->exp_avg = g_new0 (float, MAX (n, 1));
      o->exp_avg_sq = g_new0 (float, MAX (n, 1));
    }
  weft_optim_set_step (o, 0);
  return o;
}

void
weft_optim_add_segment (WeftOptim *o, gsize offset, gsize len, gboolean decay)
{
  g_return_if_fail (o != NULL);
  g_return_if_fail (offset <= o->n && len <= o->n - offset);

  if (len == 0)
    return;
  for (guint i = 0; i < o->segments->len; i++)
    {
      const Segment *s = &g_array_index (o->segments, Segment, i);
      g_return_if_fail (offset >= s->offset + s->len || s->offset >= offset + len);
    }
  Segment seg = { offset, len, decay };
  g_array_append_val (o->segments, seg);
}

float
weft_optim_step (WeftOptim *o)
{
  g_return_val_if_fail (o != NULL, NAN);

  const WeftOptimConfig *c = &o->cfg;
  const Segment *segs = (const Segment *) o->segments->data;
  guint n_segs = o->segments->len;

  double sq = 0;
  for (guint i = 0; i < n_segs; i++)
    sq += sum_squares (o->grads + segs[i].offset, segs[i].len);
  float norm = (float) sqrt (sq);

  /* torch: clip_coef = max_norm / (norm + 1e-6), evaluated as
   * (1 / (norm + 1e-6)) · max_norm in float, clamped to 1. */
  float gscale = 1.f;
  if (c->clip_norm > 0.f)
    {
      float coef = (1.f / (norm + 1e-6f)) * c->clip_norm;
      if (coef < 1.f)
        gscale = coef;
    }

  double lr = lr_at (c, o->step);
  o->step++;
  o->last_lr = (float) lr;

  if (c->kind == WEFT_OPTIM_SGD)
    {
      for (guint i = 0; i < n_segs; i++)
        {
          gsize off = segs[i].offset;
          sgd_segment (o->params + off, o->grads + off,
                       o->momentum_buffer ? o->momentum_buffer + off : NULL, segs[i].len,
                       gscale, segs[i].decay ? c->weight_decay : 0.f,
                       c->momentum, (float) -lr, c->nesterov);
        }
      return norm;
    }

  /* Adam / AdamW: the scalar factors in double, rounded to float once, as
   * torch passes Python floats to its kernels. */
  double t = o->step;
  AdamScalars s = {
    .gscale = gscale,
    .beta1 = c->beta1,
    .one_minus_beta1 = (float) (1.0 - c->beta1),
    .beta2 = c->beta2,
    .one_minus_beta2 = (float) (1.0 - c->beta2),
    .bc2_sqrt = (float) sqrt (1.0 - pow (c->beta2, t)),
    .eps = c->eps,
    .neg_step = (float) (-lr / (1.0 - pow (c->beta1, t))),
  };
  float decay_l2 = c->kind == WEFT_OPTIM_ADAM ? c->weight_decay : 0.f;
  float decay_keep = c->kind == WEFT_OPTIM_ADAMW ? (float) (1.0 - lr * c->weight_decay) : 1.f;
  for (guint i = 0; i < n_segs; i++)
    {
      gsize off = segs[i].offset;
      s.l2 = segs[i].decay ? decay_l2 : 0.f;
      s.keep = segs[i].decay ? decay_keep : 1.f;
      adam_segment (o->params + off, o->grads + off, o->exp_avg + off, o->exp_avg_sq + off,
                    segs[i].len, &s);
    }
  return norm;
}

int
weft_optim_get_step (const WeftOptim *o)
{
  g_return_val_if_fail (o != NULL, 0);
  return o->step;
}

float
weft_optim_get_lr (const WeftOptim *o)
{
  g_return_val_if_fail (o != NULL, 0.f);
  return o->last_lr;
}

float *
weft_optim_get_state (WeftOptim *o, const char *name)
{
  g_return_val_if_fail (o != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (g_str_equal (name, "exp_avg"))
    return o->exp_avg;
  if (g_str_equal (name, "exp_avg_sq"))
    return o->exp_avg_sq;
  if (g_str_equal (name, "momentum_buffer"))
    return o->momentum_buffer;
  return NULL;
}

void
weft_optim_set_step (WeftOptim *o, int step)
{
  g_return_if_fail (o != NULL);
  g_return_if_fail (step >= 0);

  o->step = step;
  o->last_lr = (float) lr_at (&o->cfg, step > 0 ? step - 1 : 0);
}

void
weft_optim_free (WeftOptim *o)
{
  if (o == NULL)
    return;
  g_free (o->exp_avg);
  g_free (o->exp_avg_sq);
  g_free (o->momentum_buffer);
  g_array_unref (o->segments);
  g_free (o);
}
