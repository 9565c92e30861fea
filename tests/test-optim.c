/* test-optim.c — replays PyTorch optimizer runs (tests/fixtures/optim.json,
 * from tests/parity/optim_gen.py) through weft-optim, and checks schedules,
 * the config JSON, checkpoint resume and frozen segments.
 *
 * Tolerances: parameters, moment buffers and grad norms within
 * 1e-5·|torch| + 1e-6 (float32 with and without fused multiply-add over 20
 * updates); learning rates within 1e-6 relative (float vs double).
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "train/weft-optim.h"
#include "weft-error.h"

static JsonObject *fixture;  /* the root of optim.json */

static void
floats_from (JsonArray *a, float *dst, gsize n)
{
  g_assert_nonnull (a);
  g_assert_cmpuint (json_array_get_length (a), ==, n);
  for (gsize i = 0; i < n; i++)
    dst[i] = (float) json_array_get_double_element (a, i);
}

/* Largest error in units of the tolerance (passes when <= 1). */
static double
worst (const float *got, JsonArray *want, gsize n, double rel, double abs)
{
  double w = 0;
  for (gsize i = 0; i < n; i++)
    {
      double t = json_array_get_double_element (want, i);
      double e = fabs (got[i] - t) / (abs + rel * fabs (t));
      w = isnan (e) ? INFINITY : MAX (w, e);
    }
  return w;
}

static void
assert_close (const char *what, int step, const float *got, JsonArray *want, gsize n)
{
  double w = worst (got, want, n, 1e-5, 1e-6);
  if (w > 1)
    g_error ("%s after update %d: off from PyTorch by %.3g times the tolerance", what, step, w);
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  GError *error = NULL;
  json_parser_load_from_data (p, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
config_from_fixture (WeftOptimConfig *c, JsonObject *case_)
{
  GError *error = NULL;
  weft_optim_config_init_default (c, WEFT_OPTIM_ADAM);
  g_assert_true (weft_optim_config_from_json (c, json_object_get_object_member (case_, "config"), &error));
  g_assert_no_error (error);
}

/* Builds an optimizer over p/g with the fixture's segments. */
static WeftOptim *
optim_from_fixture (const WeftOptimConfig *c, float *p, float *g)
{
  gsize n = json_object_get_int_member (fixture, "n");
  WeftOptim *o = weft_optim_new (c, p, g, n);
  JsonArray *segs = json_object_get_array_member (fixture, "segments");
  for (guint i = 0; i < json_array_get_length (segs); i++)
    {
      JsonObject *s = json_array_get_object_element (segs, i);
      weft_optim_add_segment (o, json_object_get_int_member (s, "offset"),
                              json_object_get_int_member (s, "len"),
                              json_object_get_boolean_member (s, "decay"));
    }
  return o;
}

/* Whether arena index i is in no segment (frozen). */
static gboolean
is_frozen (gsize i)
{
  JsonArray *segs = json_object_get_array_member (fixture, "segments");
  for (guint k = 0; k < json_array_get_length (segs); k++)
    {
      JsonObject *s = json_array_get_object_element (segs, k);
      gsize off = json_object_get_int_member (s, "offset");
      if (i >= off && i < off + json_object_get_int_member (s, "len"))
        return FALSE;
    }
  return TRUE;
}

static void
test_trajectory (gconstpointer data)
{
  JsonObject *tc = (JsonObject *) data;
  gsize n = json_object_get_int_member (fixture, "n");
  WeftOptimConfig c;
  config_from_fixture (&c, tc);

  g_autofree float *p = g_new (float, n);
  g_autofree float *p0 = g_new (float, n);
  g_autofree float *g = g_new (float, n);
  g_autofree float *g_copy = g_new (float, n);
  floats_from (json_object_get_array_member (tc, "params0"), p0, n);
  memcpy (p, p0, n * sizeof (float));
  g_autoptr(WeftOptim) o = optim_from_fixture (&c, p, g);

  JsonArray *grads = json_object_get_array_member (tc, "grads");
  JsonArray *params = json_object_get_array_member (tc, "params");
  JsonArray *norms = json_object_get_array_member (tc, "norms");
  JsonArray *lrs = json_object_get_array_member (tc, "lrs");
  int steps = json_array_get_length (grads);
  double worst_p = 0;

  g_assert_cmpint (steps, >=, 20);
  for (int k = 0; k < steps; k++)
    {
      floats_from (json_array_get_array_element (grads, k), g, n);
      memcpy (g_copy, g, n * sizeof (float));
      float norm = weft_optim_step (o);

      g_assert_cmpint (weft_optim_get_step (o), ==, k + 1);
      double want_norm = json_array_get_double_element (norms, k);
      g_assert_cmpfloat_with_epsilon (norm, want_norm, 1e-6 + 1e-5 * want_norm);
      double want_lr = json_array_get_double_element (lrs, k);
      g_assert_cmpfloat_with_epsilon (weft_optim_get_lr (o), want_lr, 1e-6 * want_lr);
      g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, k), want_lr, 1e-6 * want_lr);

      JsonArray *want = json_array_get_array_element (params, k);
      assert_close ("the parameters", k + 1, p, want, n);
      worst_p = MAX (worst_p, worst (p, want, n, 1e-5, 1e-6));

      /* The grads are read only (clipping is folded into the update), and
       * frozen floats keep their exact value. */
      g_assert_cmpmem (g, n * sizeof (float), g_copy, n * sizeof (float));
      for (gsize i = 0; i < n; i++)
        if (is_frozen (i))
          g_assert_cmpfloat (p[i], ==, p0[i]);
    }
  g_test_message ("worst parameter error: %.3g of the tolerance", worst_p);

  JsonObject *state = json_object_get_object_member (tc, "state");
  const char *names[] = { "exp_avg", "exp_avg_sq", "momentum_buffer" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      float *s = weft_optim_get_state (o, names[i]);
      if (!json_object_has_member (state, names[i]))
        {
          g_assert_null (s);
          continue;
        }
      g_assert_nonnull (s);
      assert_close (names[i], steps, s, json_object_get_array_member (state, names[i]), n);
      for (gsize k = 0; k < n; k++)
        if (is_frozen (k))
          g_assert_cmpfloat (s[k], ==, 0.f);
    }
  g_assert_null (weft_optim_get_state (o, "no_such_state"));
}

static void
test_schedule (gconstpointer data)
{
  JsonObject *tc = (JsonObject *) data;
  WeftOptimConfig c;
  config_from_fixture (&c, tc);

  JsonArray *steps = json_object_get_array_member (tc, "steps");
  JsonArray *lrs = json_object_get_array_member (tc, "lr");
  for (guint i = 0; i < json_array_get_length (steps); i++)
    {
      int k = json_array_get_int_element (steps, i);
      double want = json_array_get_double_element (lrs, i);
      float got = weft_optim_lr_at (&c, k);
      if (fabs (got - want) > 1e-6 * want + 1e-30)  /* 0.5^100 is 0 in float */
        g_error ("lr at step %d is %.9g, PyTorch's LambdaLR gives %.9g", k, got, want);
    }
}

/* A warm-up that starts at lr/W and a cosine that ends at min_lr, by hand. */
static void
test_schedule_by_hand (void)
{
  WeftOptimConfig c;
  weft_optim_config_init_default (&c, WEFT_OPTIM_ADAMW);
  c.lr = 0.1f;
  c.min_lr = 0.01f;
  c.schedule = WEFT_SCHEDULE_COSINE;
  c.warmup_steps = 4;
  c.total_steps = 14;
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 0), 0.025f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 3), 0.1f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 4), 0.1f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 9), 0.055f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 14), 0.01f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 1000), 0.01f, 1e-8);

  c.schedule = WEFT_SCHEDULE_STEP;
  c.warmup_steps = 0;
  c.step_size = 3;
  c.gamma = 0.5f;
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 2), 0.1f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 3), 0.05f, 1e-8);
  g_assert_cmpfloat_with_epsilon (weft_optim_lr_at (&c, 7), 0.025f, 1e-8);
}

/* Stopping after 10 updates and going on from the saved params, state and
 * step count is bit-for-bit the same as 20 updates in a row. */
static void
test_resume (gconstpointer data)
{
  JsonObject *tc = (JsonObject *) data;
  gsize n = json_object_get_int_member (fixture, "n");
  JsonArray *grads = json_object_get_array_member (tc, "grads");
  const char *names[] = { "exp_avg", "exp_avg_sq", "momentum_buffer" };
  WeftOptimConfig c;
  config_from_fixture (&c, tc);

  g_autofree float *p = g_new (float, n);
  g_autofree float *q = g_new (float, n);
  g_autofree float *g = g_new (float, n);
  floats_from (json_object_get_array_member (tc, "params0"), p, n);
  memcpy (q, p, n * sizeof (float));

  g_autoptr(WeftOptim) a = optim_from_fixture (&c, p, g);
  for (int k = 0; k < 20; k++)
    {
      floats_from (json_array_get_array_element (grads, k), g, n);
      weft_optim_step (a);
    }

  WeftOptim *b1 = optim_from_fixture (&c, q, g);
  for (int k = 0; k < 10; k++)
    {
      floats_from (json_array_get_array_element (grads, k), g, n);
      weft_optim_step (b1);
    }
  g_autoptr(WeftOptim) b2 = optim_from_fixture (&c, q, g);
  int n_state = 0;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      float *from = weft_optim_get_state (b1, names[i]);
      float *to = weft_optim_get_state (b2, names[i]);
      g_assert_true ((from == NULL) == (to == NULL));
      if (from)
        {
          memcpy (to, from, n * sizeof (float));
          n_state++;
        }
    }
  g_assert_cmpint (n_state, >, 0);
  weft_optim_set_step (b2, weft_optim_get_step (b1));
  g_assert_cmpfloat (weft_optim_get_lr (b2), ==, weft_optim_get_lr (b1));
  weft_optim_free (b1);
  for (int k = 10; k < 20; k++)
    {
      floats_from (json_array_get_array_element (grads, k), g, n);
      weft_optim_step (b2);
    }
  g_assert_cmpint (weft_optim_get_step (b2), ==, 20);
  g_assert_cmpmem (p, n * sizeof (float), q, n * sizeof (float));
}

/* Weights outside every segment never change, for each optimizer with
 * decay and clipping on, over segments that start and end off the vector
 * width. */
static void
test_frozen (void)
{
  enum { N = 1000 };
  static const struct { gsize off, len; gboolean decay; } segs[] = {
    { 3, 97, TRUE }, { 101, 1, FALSE }, { 517, 250, TRUE }, { 990, 7, FALSE },
  };
  g_autofree float *p = g_new (float, N);
  g_autofree float *p0 = g_new (float, N);
  g_autofree float *g = g_new (float, N);
  gboolean in_seg[N] = { FALSE };

  for (guint s = 0; s < G_N_ELEMENTS (segs); s++)
    for (gsize i = segs[s].off; i < segs[s].off + segs[s].len; i++)
      in_seg[i] = TRUE;
  for (WeftOptimKind kind = WEFT_OPTIM_SGD; kind <= WEFT_OPTIM_ADAMW; kind++)
    {
      WeftOptimConfig c;
      weft_optim_config_init_default (&c, kind);
      c.weight_decay = 0.1f;
      c.clip_norm = 1.f;
      c.nesterov = kind == WEFT_OPTIM_SGD;
      GRand *r = g_rand_new_with_seed (7 + kind);
      for (gsize i = 0; i < N; i++)
        p[i] = p0[i] = (float) g_rand_double_range (r, -1, 1);
      g_autoptr(WeftOptim) o = weft_optim_new (&c, p, g, N);
      for (guint s = 0; s < G_N_ELEMENTS (segs); s++)
        weft_optim_add_segment (o, segs[s].off, segs[s].len, segs[s].decay);
      for (int step = 0; step < 5; step++)
        {
          for (gsize i = 0; i < N; i++)
            g[i] = (float) g_rand_double_range (r, -1, 1);
          weft_optim_step (o);
        }
      for (gsize i = 0; i < N; i++)
        if (in_seg[i])
          g_assert_cmpfloat (p[i], !=, p0[i]);
        else
          g_assert_cmpfloat (p[i], ==, p0[i]);
      g_rand_free (r);
    }
}

/* No segments: nothing moves and the norm is 0. */
static void
test_no_segments (void)
{
  float p[4] = { 1, 2, 3, 4 }, g[4] = { 1, 1, 1, 1 };
  WeftOptimConfig c;
  weft_optim_config_init_default (&c, WEFT_OPTIM_ADAMW);
  g_autoptr(WeftOptim) o = weft_optim_new (&c, p, g, 4);
  g_assert_cmpfloat (weft_optim_step (o), ==, 0.f);
  g_assert_cmpfloat (p[0], ==, 1.f);
  g_assert_cmpfloat (p[3], ==, 4.f);
}

static void
test_config_defaults (void)
{
  WeftOptimConfig c;

  weft_optim_config_init_default (&c, WEFT_OPTIM_ADAM);
  g_assert_cmpint (c.kind, ==, WEFT_OPTIM_ADAM);
  g_assert_cmpfloat (c.lr, ==, 1e-3f);
  g_assert_cmpfloat (c.beta1, ==, 0.9f);
  g_assert_cmpfloat (c.beta2, ==, 0.999f);
  g_assert_cmpfloat (c.eps, ==, 1e-8f);
  g_assert_cmpfloat (c.weight_decay, ==, 0.f);
  g_assert_cmpfloat (c.clip_norm, ==, 0.f);
  g_assert_cmpint (c.schedule, ==, WEFT_SCHEDULE_CONSTANT);

  weft_optim_config_init_default (&c, WEFT_OPTIM_SGD);
  g_assert_cmpfloat (c.lr, ==, 0.05f);
  g_assert_cmpfloat (c.momentum, ==, 0.9f);
  g_assert_false (c.nesterov);

  weft_optim_config_init_default (&c, WEFT_OPTIM_ADAMW);
  g_assert_cmpfloat (c.lr, ==, 1e-3f);
  g_assert_cmpfloat (c.weight_decay, ==, 0.01f);
}

static void
assert_config_equal (const WeftOptimConfig *a, const WeftOptimConfig *b)
{
  g_assert_cmpint (a->kind, ==, b->kind);
  g_assert_cmpfloat (a->lr, ==, b->lr);
  g_assert_cmpfloat (a->momentum, ==, b->momentum);
  g_assert_cmpint (a->nesterov, ==, b->nesterov);
  g_assert_cmpfloat (a->beta1, ==, b->beta1);
  g_assert_cmpfloat (a->beta2, ==, b->beta2);
  g_assert_cmpfloat (a->eps, ==, b->eps);
  g_assert_cmpfloat (a->weight_decay, ==, b->weight_decay);
  g_assert_cmpfloat (a->clip_norm, ==, b->clip_norm);
  g_assert_cmpint (a->schedule, ==, b->schedule);
  g_assert_cmpint (a->warmup_steps, ==, b->warmup_steps);
  g_assert_cmpint (a->step_size, ==, b->step_size);
  g_assert_cmpfloat (a->gamma, ==, b->gamma);
  g_assert_cmpint (a->total_steps, ==, b->total_steps);
  g_assert_cmpfloat (a->min_lr, ==, b->min_lr);
}

/* to_json → text → from_json gives back every field exactly, for odd
 * values of each kind, read into a config of another kind. */
static void
test_config_round_trip (void)
{
  for (WeftOptimKind kind = WEFT_OPTIM_SGD; kind <= WEFT_OPTIM_ADAMW; kind++)
    {
      WeftOptimConfig c, back;
      GError *error = NULL;

      weft_optim_config_init_default (&c, kind);
      c.lr = 0.0123f;
      c.momentum = 0.85f;
      c.nesterov = kind == WEFT_OPTIM_SGD;
      c.beta1 = 0.8f;
      c.beta2 = 0.98f;
      c.eps = 1e-6f;
      c.weight_decay = 3e-4f;
      c.clip_norm = 1.5f;
      c.schedule = (WeftScheduleKind) kind;
      c.warmup_steps = 17;
      c.step_size = 33;
      c.gamma = 0.7f;
      c.total_steps = 1234;
      c.min_lr = 1e-5f;

      g_autoptr(JsonObject) o = weft_optim_config_to_json (&c);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);
      g_autofree char *text = json_to_string (node, FALSE);
      g_test_message ("%s", text);
      g_autoptr(JsonObject) parsed = parse_object (text);

      weft_optim_config_init_default (&back, (kind + 1) % 3);
      g_assert_true (weft_optim_config_from_json (&back, parsed, &error));
      g_assert_no_error (error);
      assert_config_equal (&c, &back);
    }
}

/* Missing keys keep what was there, unknown keys are ignored, and naming
 * another optimizer brings that optimizer's defaults. */
static void
test_config_partial (void)
{
  WeftOptimConfig c;
  GError *error = NULL;

  weft_optim_config_init_default (&c, WEFT_OPTIM_ADAM);
  c.clip_norm = 2.f;
  g_autoptr(JsonObject) o = parse_object ("{\"optimizer\": \"sgd\", \"epochs\": 5, \"warmup_steps\": 10.0}");
  g_assert_true (weft_optim_config_from_json (&c, o, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.kind, ==, WEFT_OPTIM_SGD);
  g_assert_cmpfloat (c.lr, ==, 0.05f);
  g_assert_cmpfloat (c.momentum, ==, 0.9f);
  g_assert_cmpfloat (c.clip_norm, ==, 2.f);
  g_assert_cmpint (c.warmup_steps, ==, 10);

  g_autoptr(JsonObject) o2 = parse_object ("{\"lr\": 1, \"optimizer\": \"AdamW\"}");
  g_assert_true (weft_optim_config_from_json (&c, o2, &error));
  g_assert_cmpint (c.kind, ==, WEFT_OPTIM_ADAMW);
  g_assert_cmpfloat (c.lr, ==, 1.f);
  g_assert_cmpfloat (c.weight_decay, ==, 0.01f);
}

static void
test_config_bad_values (void)
{
  static const char *const bad[] = {
    "{\"optimizer\": \"rmsprop\"}",
    "{\"optimizer\": 3}",
    "{\"lr\": 0}",
    "{\"lr\": -0.1}",
    "{\"lr\": \"fast\"}",
    "{\"lr\": null}",
    "{\"lr\": 1e300}",
    "{\"momentum\": 1}",
    "{\"momentum\": -0.5}",
    "{\"nesterov\": 1}",
    "{\"optimizer\": \"sgd\", \"momentum\": 0, \"nesterov\": true}",
    "{\"beta1\": 1.5}",
    "{\"beta2\": [0.9]}",
    "{\"eps\": 0}",
    "{\"weight_decay\": -1}",
    "{\"clip_norm\": -1}",
    "{\"clip_norm\": true}",
    "{\"schedule\": \"linear\"}",
    "{\"warmup_steps\": -1}",
    "{\"warmup_steps\": 2.5}",
    "{\"step_size\": 0}",
    "{\"gamma\": 0}",
    "{\"total_steps\": 1e12}",
    "{\"min_lr\": -1}",
    "{\"schedule\": \"cosine\", \"lr\": 0.01, \"min_lr\": 0.1}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      WeftOptimConfig c, before;
      GError *error = NULL;

      weft_optim_config_init_default (&c, WEFT_OPTIM_ADAM);
      before = c;
      g_autoptr(JsonObject) o = parse_object (bad[i]);
      g_assert_false (weft_optim_config_from_json (&c, o, &error));
      g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
      g_test_message ("%s: %s", bad[i], error->message);
      g_assert_cmpuint (strlen (error->message), >, 10);
      assert_config_equal (&c, &before);
      g_clear_error (&error);
    }
}

/* Not a check: elements per second for each kind on a 4M arena, run with
 * -m perf. */
static void
test_speed (void)
{
  const gsize n = 4 << 20;
  g_autofree float *p = g_new (float, n);
  g_autofree float *g = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    {
      p[i] = (float) (i % 97) * 0.01f;
      g[i] = (float) (i % 89) * 1e-3f - 0.04f;
    }
  for (WeftOptimKind kind = WEFT_OPTIM_SGD; kind <= WEFT_OPTIM_ADAMW; kind++)
    {
      WeftOptimConfig c;
      weft_optim_config_init_default (&c, kind);
      c.weight_decay = 0.01f;
      c.clip_norm = 1.f;
      g_autoptr(WeftOptim) o = weft_optim_new (&c, p, g, n);
      weft_optim_add_segment (o, 0, n / 2, TRUE);
      weft_optim_add_segment (o, n / 2, n - n / 2, FALSE);
      weft_optim_step (o);
      g_autoptr(GTimer) t = g_timer_new ();
      for (int k = 0; k < 20; k++)
        weft_optim_step (o);
      double s = g_timer_elapsed (t, NULL) / 20;
      g_test_minimized_result (s, "%s: %.2f ms per step of %" G_GSIZE_FORMAT " floats (%.2f ns/float)",
                               kind == WEFT_OPTIM_SGD ? "SGD" : kind == WEFT_OPTIM_ADAM ? "Adam" : "AdamW",
                               s * 1e3, n, s * 1e9 / n);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  g_autofree char *path = g_build_filename (src ? src : ".", "tests", "fixtures", "optim.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  fixture = json_node_get_object (json_parser_get_root (parser));

  JsonArray *ts = json_object_get_array_member (fixture, "trajectories");
  for (guint i = 0; i < json_array_get_length (ts); i++)
    {
      JsonObject *tc = json_array_get_object_element (ts, i);
      const char *name = json_object_get_string_member (tc, "name");
      g_autofree char *p1 = g_strdup_printf ("/optim/trajectory/%s", name);
      g_test_add_data_func (p1, tc, test_trajectory);
      if (g_str_equal (name, "sgd-nesterov-decay") || g_str_equal (name, "adamw-clip-cosine")
          || g_str_equal (name, "adam-clip-decay"))
        {
          g_autofree char *p2 = g_strdup_printf ("/optim/resume/%s", name);
          g_test_add_data_func (p2, tc, test_resume);
        }
    }
  JsonArray *ss = json_object_get_array_member (fixture, "schedules");
  for (guint i = 0; i < json_array_get_length (ss); i++)
    {
      JsonObject *tc = json_array_get_object_element (ss, i);
      g_autofree char *p1 = g_strdup_printf ("/optim/schedule/%s", json_object_get_string_member (tc, "name"));
      g_test_add_data_func (p1, tc, test_schedule);
    }
  g_test_add_func ("/optim/schedule/by-hand", test_schedule_by_hand);
  g_test_add_func ("/optim/frozen", test_frozen);
  g_test_add_func ("/optim/no-segments", test_no_segments);
  g_test_add_func ("/optim/config/defaults", test_config_defaults);
  g_test_add_func ("/optim/config/round-trip", test_config_round_trip);
  g_test_add_func ("/optim/config/partial", test_config_partial);
  g_test_add_func ("/optim/config/bad-values", test_config_bad_values);
  if (g_test_perf ())
    g_test_add_func ("/optim/speed", test_speed);

  return g_test_run ();
}
