/* test-blocks.c — replays every PyTorch parity fixture through the C block
 * (outputs, input gradients, weight gradients must match PyTorch) and checks
 * every block's analytic gradients against central finite differences.
 *
 * Tolerances:
 *  - parity: |c - torch| <= 1e-4 + 1e-3·|torch| per element (float32 with
 *    different summation orders);
 *  - finite differences: eps = 1e-3 on each checked element, the loss
 *    L = Σ out·dout accumulated in double; an element passes when
 *    |fd - analytic| <= 2e-3 + 2e-2·max(|fd|, |analytic|).
 *    At most 48 elements per tensor are checked (chosen at random).
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "nn/weft-block.h"
#include "tensor/weft-blas.h"

typedef struct {
  char *group;
  JsonObject *c;     /* the case */
} Case;

typedef struct {
  WeftNode *node;
  int B;
  float *in[WEFT_MAX_INPUTS], *din[WEFT_MAX_INPUTS];
  float *out, *dout, *scratch;
  float *w[WEFT_MAX_WEIGHTS], *dw[WEFT_MAX_WEIGHTS];
} Rig;

static float *
floats_from (JsonArray *a, gsize expect)
{
  g_assert_nonnull (a);
  g_assert_cmpuint (json_array_get_length (a), ==, expect);
  float *v = g_new (float, MAX (expect, 1));
  for (gsize i = 0; i < expect; i++)
    v[i] = (float) json_array_get_double_element (a, i);
  return v;
}

static WeftShape
shape_from (JsonArray *a)
{
  WeftShape s = { 0 };
  s.n = json_array_get_length (a);
  g_assert_cmpint (s.n, <=, WEFT_MAX_DIMS);
  for (int i = 0; i < s.n; i++)
    s.d[i] = json_array_get_int_element (a, i);
  return s;
}

static void
rig_build (Rig *r, JsonObject *c)
{
  GError *error = NULL;
  JsonArray *ins = json_object_get_array_member (c, "inputs");
  WeftShape shapes[WEFT_MAX_INPUTS];
  int n_in = json_array_get_length (ins);

  for (int i = 0; i < n_in; i++)
    shapes[i] = shape_from (json_object_get_array_member (json_array_get_object_element (ins, i), "shape"));
  r->B = json_object_get_int_member (c, "batch");
  r->node = weft_node_new (json_object_get_string_member (c, "type"),
                           json_object_get_string_member (c, "name"),
                           json_object_get_object_member (c, "params"),
                           n_in, shapes, &error);
  g_assert_no_error (error);
  WeftNode *n = r->node;
  n->max_batch = r->B;
  for (int i = 0; i < n_in; i++)
    {
      JsonObject *io = json_array_get_object_element (ins, i);
      gsize sz = r->B * weft_node_in_size (n, i);
      r->in[i] = floats_from (json_object_get_array_member (io, "data"), sz);
      n->in[i] = r->in[i];
      if (!json_object_get_boolean_member (io, "int"))
        r->din[i] = g_new0 (float, sz);
      n->din[i] = r->din[i];
    }
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : r->B * weft_node_out_size (n);
  r->out = g_new0 (float, osz);
  r->dout = g_new0 (float, osz);
  n->out = r->out;
  n->dout = r->dout;
  gsize ssz = n->block->scratch_size ? n->block->scratch_size (n, r->B)
                                     : r->B * n->scratch_per_sample + n->scratch_fixed;
  r->scratch = g_new0 (float, MAX (ssz, 1));
  n->scratch = r->scratch;

  JsonArray *ws = json_object_get_array_member (c, "weights");
  g_assert_cmpint (json_array_get_length (ws), ==, n->n_w);
  for (int i = 0; i < n->n_w; i++)
    {
      JsonObject *wo = json_array_get_object_element (ws, i);
      g_assert_cmpstr (json_object_get_string_member (wo, "name"), ==, n->w_spec[i].name);
      WeftShape ws_shape = shape_from (json_object_get_array_member (wo, "shape"));
      g_autofree char *a = weft_shape_to_string (&ws_shape);
      g_autofree char *b = weft_shape_to_string (&n->w_spec[i].shape);
      g_assert_cmpstr (a, ==, b);
      gsize sz = weft_shape_size (&n->w_spec[i].shape);
      r->w[i] = floats_from (json_object_get_array_member (wo, "data"), sz);
      n->w[i] = r->w[i];
      if (!n->w_spec[i].buffer)
        r->dw[i] = g_new0 (float, sz);
      n->dw[i] = r->dw[i];
    }
}

static void
rig_free (Rig *r)
{
  for (int i = 0; i < WEFT_MAX_INPUTS; i++)
    {
      g_free (r->in[i]);
      g_free (r->din[i]);
    }
  for (int i = 0; i < WEFT_MAX_WEIGHTS; i++)
    {
      g_free (r->w[i]);
      g_free (r->dw[i]);
    }
  g_free (r->out);
  g_free (r->dout);
  g_free (r->scratch);
  weft_node_free (r->node);
}

static void
rig_forward (Rig *r, gboolean training)
{
  WeftPass pass = { r->B, training };
  weft_rng_init (&r->node->rng, 42);   /* same dropout mask every call */
  r->node->block->forward (r->node, &pass);
}

static void
rig_backward (Rig *r, gboolean training, const float *dout)
{
  WeftNode *n = r->node;
  WeftPass pass = { r->B, training };
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : r->B * weft_node_out_size (n);
  memcpy (r->dout, dout, osz * sizeof (float));
  for (int i = 0; i < n->n_in; i++)
    if (r->din[i])
      memset (r->din[i], 0, r->B * weft_node_in_size (n, i) * sizeof (float));
  for (int i = 0; i < n->n_w; i++)
    if (r->dw[i])
      memset (r->dw[i], 0, weft_shape_size (&n->w_spec[i].shape) * sizeof (float));
  n->block->backward (n, &pass);
}

static void
assert_close (const char *what, const float *got, JsonArray *want_a, gsize n)
{
  g_autofree float *want = floats_from (want_a, n);
  for (gsize i = 0; i < n; i++)
    {
      float tol = 1e-4f + 1e-3f * fabsf (want[i]);
      if (!(fabsf (got[i] - want[i]) <= tol))
        g_error ("%s[%zu]: C gives %.7g, PyTorch %.7g", what, i, got[i], want[i]);
    }
}

static void
test_parity (gconstpointer data)
{
  const Case *tc = data;
  JsonObject *c = tc->c;
  Rig r = { 0 };
  gboolean training = json_object_get_boolean_member (c, "training");

  rig_build (&r, c);
  WeftNode *n = r.node;
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : r.B * weft_node_out_size (n);

  rig_forward (&r, training);
  assert_close ("out", r.out, json_object_get_array_member (c, "out"), osz);

  if (json_object_has_member (c, "buffers_after"))
    {
      JsonObject *ba = json_object_get_object_member (c, "buffers_after");
      for (int i = 0; i < n->n_w; i++)
        if (json_object_has_member (ba, n->w_spec[i].name))
          assert_close (n->w_spec[i].name, r.w[i],
                        json_object_get_array_member (ba, n->w_spec[i].name),
                        weft_shape_size (&n->w_spec[i].shape));
    }

  g_autofree float *dout = floats_from (json_object_get_array_member (c, "dout"), osz);
  rig_backward (&r, training, dout);

  JsonArray *ins = json_object_get_array_member (c, "inputs");
  for (int i = 0; i < n->n_in; i++)
    {
      JsonObject *io = json_array_get_object_element (ins, i);
      JsonNode *g = json_object_get_member (io, "grad");
      if (r.din[i] && g && !JSON_NODE_HOLDS_NULL (g))
        {
          g_autofree char *what = g_strdup_printf ("d input %d", i + 1);
          assert_close (what, r.din[i], json_node_get_array (g), r.B * weft_node_in_size (n, i));
        }
    }
  JsonArray *ws = json_object_get_array_member (c, "weights");
  for (int i = 0; i < n->n_w; i++)
    if (r.dw[i])
      {
        g_autofree char *what = g_strdup_printf ("d %s", n->w_spec[i].name);
        assert_close (what, r.dw[i],
                      json_object_get_array_member (json_array_get_object_element (ws, i), "grad"),
                      weft_shape_size (&n->w_spec[i].shape));
      }
  rig_free (&r);
}

/* L = Σ out · dout, in double. */
static double
rig_loss (Rig *r, gboolean training, const float *dout)
{
  WeftNode *n = r->node;
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : r->B * weft_node_out_size (n);
  rig_forward (r, training);
  double L = 0;
  for (gsize i = 0; i < osz; i++)
    L += (double) r->out[i] * dout[i];
  return L;
}

static int
fd_check_tensor (Rig *r, gboolean training, const float *dout, const char *what,
                 float *x, const float *grad, gsize n, GRand *rand)
{
  const float eps = 1e-3f;
  int checked = MIN (n, 48);
  for (int k = 0; k < checked; k++)
    {
      gsize i = n <= 48 ? (gsize) k : (gsize) g_rand_int_range (rand, 0, (gint32) n);
      float keep = x[i];
      x[i] = keep + eps;
      double lp = rig_loss (r, training, dout);
      x[i] = keep - eps;
      double lm = rig_loss (r, training, dout);
      x[i] = keep;
      double fd = (lp - lm) / (2.0 * eps);
      double an = grad[i];
      double tol = 2e-3 + 2e-2 * MAX (fabs (fd), fabs (an));
      if (!(fabs (fd - an) <= tol))
        g_error ("%s[%zu]: analytic %.6g, finite difference %.6g", what, i, an, fd);
    }
  return checked;
}

static void
test_gradcheck (gconstpointer data)
{
  const Case *tc = data;
  JsonObject *c = tc->c;
  Rig r = { 0 };
  gboolean training = json_object_get_boolean_member (c, "training");
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  rig_build (&r, c);
  WeftNode *n = r.node;
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : r.B * weft_node_out_size (n);
  g_autofree float *dout = floats_from (json_object_get_array_member (c, "dout"), osz);

  /* Analytic gradients at the fixture's point, then restore buffers that
   * a training forward moves (BatchNorm running stats) before each probe. */
  rig_forward (&r, training);
  rig_backward (&r, training, dout);

  int checked = 0;
  for (int i = 0; i < n->n_in; i++)
    if (r.din[i])
      {
        g_autofree char *what = g_strdup_printf ("d input %d", i + 1);
        g_autofree float *an = g_memdup2 (r.din[i], r.B * weft_node_in_size (n, i) * sizeof (float));
        checked += fd_check_tensor (&r, training, dout, what, r.in[i], an,
                                    r.B * weft_node_in_size (n, i), rand);
      }
  for (int i = 0; i < n->n_w; i++)
    if (r.dw[i])
      {
        g_autofree char *what = g_strdup_printf ("d %s", n->w_spec[i].name);
        gsize sz = weft_shape_size (&n->w_spec[i].shape);
        g_autofree float *an = g_memdup2 (r.dw[i], sz * sizeof (float));
        checked += fd_check_tensor (&r, training, dout, what, r.w[i], an, sz, rand);
      }
  g_assert_cmpint (checked, >, 0);
  rig_free (&r);
}

static GHashTable *covered_types;

/* Every block of the catalogue (but inputs and presets, which expand into
 * other blocks) has at least one parity case, hence a gradient check. */
static void
test_catalogue_covered (void)
{
  int n = 0;
  for (const WeftBlock *const *b = weft_block_list (); *b; b++, n++)
    {
      if ((*b)->flags & (WEFT_BLOCK_INPUT | WEFT_BLOCK_PRESET))
        continue;
      if (!g_hash_table_contains (covered_types, (*b)->type))
        g_error ("block '%s' has no parity case", (*b)->type);
      g_assert_nonnull ((*b)->blurb);
      g_assert_nonnull ((*b)->backward);
      g_assert_nonnull ((*b)->flops);
    }
  /* DESIGN.md's catalogue, with Embedding and Transpose added */
  g_assert_cmpint (n, ==, 39);
}

static void
case_free (gpointer p)
{
  Case *tc = p;
  g_free (tc->group);
  g_free (tc);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);

  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "tests", "fixtures", "parity", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *f;
  GPtrArray *parsers = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *all_cases = g_ptr_array_new_with_free_func (case_free);
  covered_types = g_hash_table_new (g_str_hash, g_str_equal);
  g_test_add_func ("/catalogue/every-block-has-a-parity-case", test_catalogue_covered);

  while ((f = g_dir_read_name (d)))
    {
      if (!g_str_has_suffix (f, ".json"))
        continue;
      g_ptr_array_add (names, g_strdup (f));
    }
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint k = 0; k < names->len; k++)
    {
      const char *name = g_ptr_array_index (names, k);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      JsonParser *p = json_parser_new ();
      GError *error = NULL;
      json_parser_load_from_file (p, path, &error);
      g_assert_no_error (error);
      g_ptr_array_add (parsers, p);
      g_autofree char *group = g_strndup (name, strlen (name) - 5);
      JsonArray *cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (p)), "cases");
      for (guint i = 0; i < json_array_get_length (cases); i++)
        {
          Case *tc = g_new0 (Case, 1);
          g_ptr_array_add (all_cases, tc);
          tc->group = g_strdup (group);
          tc->c = json_array_get_object_element (cases, i);
          const char *cname = json_object_get_string_member (tc->c, "name");
          g_hash_table_add (covered_types, (gpointer) json_object_get_string_member (tc->c, "type"));
          g_autofree char *p1 = g_strdup_printf ("/parity/%s/%s", group, cname);
          g_test_add_data_func (p1, tc, test_parity);
          if (json_object_get_boolean_member_with_default (tc->c, "fd", TRUE))
            {
              g_autofree char *p2 = g_strdup_printf ("/gradcheck/%s/%s", group, cname);
              g_test_add_data_func (p2, tc, test_gradcheck);
            }
        }
    }

  int rc = g_test_run ();
  g_ptr_array_unref (all_cases);
  g_hash_table_unref (covered_types);
  g_ptr_array_unref (parsers);
  return rc;
}
