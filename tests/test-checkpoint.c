/* test-checkpoint.c — a checkpoint carries the preprocessing its model was
 * trained with: the audio normalisation and the TF-IDF weights read back
 * bit for bit, old checkpoints without them still load, and damaged or
 * lying values are refused with a message naming them. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "data/weft-features.h"
#include "graph/weft-checkpoint.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

#define BANDS 4
#define FRAMES 5
#define VOCAB 6

static const char spec_json[] =
  "{\"weft_model\": 1, \"name\": \"ckpt\","
  " \"inputs\": [{\"id\": \"audio\", \"modality\": \"audio\"},"
  "              {\"id\": \"text\", \"modality\": \"text\", \"text_form\": \"bow\"},"
  "              {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"flat\", \"type\": \"flatten\", \"inputs\": [\"audio\"]},"
  "            {\"id\": \"joined\", \"type\": \"concat\", \"inputs\": [\"flat\", \"text\"]},"
  "            {\"id\": \"head\", \"type\": \"classifier\", \"inputs\": [\"joined\"]},"
  "            {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"head\", \"label\"]}],"
  " \"losses\": [{\"node\": \"ce\", \"weight\": 1.0}]}";

/* Awkward floats: json-glib writes 1e-08 as "1e-08.0", thirds have no
 * short decimal form, and the largest float must not overflow. */
static const float mean_values[BANDS] = { -4.108696f, 1e-08f, 1.0f / 3.0f, -3.4e38f };
static const float std_values[BANDS] = { 2.5f, 1e-4f, 7.0f / 3.0f, 1.0f };
static const float idf_values[VOCAB] = { 1.0f, 2.0986123f, 1e-08f, 3.0f, 0.1f, 4.5f };

typedef struct {
  char *dir, *path;
  WeftGraph *g;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_parse_data (spec_json, -1, &error);
  g_assert_no_error (error);
  WeftBinding b = { 0 };
  b.audio = weft_shape_2 (BANDS, FRAMES);
  b.text_length = 3;
  b.vocab_size = VOCAB;
  b.n_classes = 2;
  fx->g = weft_graph_compile (spec, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (fx->g, 2, 3);
  fx->dir = g_dir_make_tmp ("weft-ckpt-XXXXXX", NULL);
  fx->path = g_build_filename (fx->dir, "m.safetensors", NULL);

  /* Features that carry both statistics, as featurisation leaves them. */
  g_autoptr(WeftFeatures) f = weft_features_new (1);
  f->audio.shape = weft_shape_2 (BANDS, FRAMES);
  f->audio_mean = g_memdup2 (mean_values, sizeof mean_values);
  f->audio_std = g_memdup2 (std_values, sizeof std_values);
  f->vocab_size = VOCAB;
  f->idf = g_memdup2 (idf_values, sizeof idf_values);
  const char *vocab[] = { "<unk>", "a", "b", "c", "d", "e", NULL };
  f->vocab = g_strdupv ((char **) vocab);
  g_assert_true (weft_checkpoint_save (fx->g, f, NULL, fx->path, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autoptr(GDir) d = g_dir_open (fx->dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (fx->dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (fx->dir);
  g_free (fx->dir);
  g_free (fx->path);
  weft_graph_free (fx->g);
}

static void
test_roundtrip (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) h = weft_checkpoint_load (fx->path, 2, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.audio_bands, ==, BANDS);
  g_assert_cmpmem (info.audio_mean, BANDS * sizeof (float), mean_values, sizeof mean_values);
  g_assert_cmpmem (info.audio_std, BANDS * sizeof (float), std_values, sizeof std_values);
  g_assert_cmpint (info.idf_size, ==, VOCAB);
  g_assert_cmpmem (info.idf, VOCAB * sizeof (float), idf_values, sizeof idf_values);
  g_assert_cmpuint (g_strv_length (info.vocab), ==, VOCAB);
  weft_checkpoint_info_clear (&info);
  g_assert_null (info.audio_mean);
  g_assert_null (info.idf);
  /* The metadata is valid JSON for any reader: no "1e-08.0". */
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (fx->path, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (weft_safetensors_get_metadata (st, "weft_audio_norm"), "e-08.0"));
  g_assert_null (strstr (weft_safetensors_get_metadata (st, "weft_text_idf"), "e-08.0"));
}

/* A checkpoint from before the keys existed: loads, with no statistics. */
static void
test_old_checkpoint (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *old = g_build_filename (fx->dir, "old.safetensors", NULL);
  g_assert_true (weft_checkpoint_save (fx->g, NULL, NULL, old, &error));
  g_assert_no_error (error);
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (old, &error);
  g_assert_null (weft_safetensors_get_metadata (st, "weft_audio_norm"));
  g_assert_null (weft_safetensors_get_metadata (st, "weft_text_idf"));
  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) h = weft_checkpoint_load (old, 2, &info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (h);
  g_assert_null (info.audio_mean);
  g_assert_null (info.audio_std);
  g_assert_null (info.idf);
  g_assert_cmpint (info.audio_bands, ==, 0);
  weft_checkpoint_info_clear (&info);
}

/* The checkpoint with one metadata key replaced (value NULL: removed is
 * not possible, so NULL keeps it); returns the new file's path. */
static char *
rewrite (Fixture *fx, const char *key, const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (fx->path, &error);
  g_assert_no_error (error);
  weft_safetensors_set_metadata (st, key, value);
  char *p = g_build_filename (fx->dir, "lying.safetensors", NULL);
  g_assert_true (weft_safetensors_save (st, p, &error));
  g_assert_no_error (error);
  return p;
}

static void
test_lying_metadata (Fixture *fx, gconstpointer data)
{
  static const struct {
    const char *key, *value, *message;
  } cases[] = {
    { "weft_audio_norm", "{\"mean\": [1, 2, 3, 4], \"std\": [1, 2, 3", "weft_audio_norm" },
    { "weft_audio_norm", "[1, 2, 3, 4]", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, 3, 4]}", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, 3], \"std\": [1, 2, 3, 4]}", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, 3, 4], \"std\": [1, 0, 3, 4]}", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, \"x\", 4], \"std\": [1, 2, 3, 4]}", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, 1e999, 4], \"std\": [1, 2, 3, 4]}", "weft_audio_norm" },
    { "weft_audio_norm", "{\"mean\": [1, 2, 3], \"std\": [1, 2, 3]}", "has 3 mel bands but the model's audio input has 4" },
    { "weft_audio_norm", "", "weft_audio_norm" },
    { "weft_text_idf", "[1, 2, 3]", "TF-IDF weights for 3 words but a vocabulary of 6" },
    { "weft_text_idf", "[1, 2, 3, 4, 5, -6]", "weft_text_idf" },
    { "weft_text_idf", "[]", "weft_text_idf" },
    { "weft_text_idf", "null", "weft_text_idf" },
    { "weft_text_idf", "[1, 2, 3, 4, 5, [6]]", "weft_text_idf" },
    { "weft_text_idf", "[1, 2, 3, 4, 5, 6", "weft_text_idf" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *p = rewrite (fx, cases[i].key, cases[i].value);
      WeftCheckpointInfo info = { 0 };
      g_autoptr(WeftGraph) h = weft_checkpoint_load (p, 2, &info, &error);
      g_assert_null (h);
      g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
      if (!strstr (error->message, cases[i].message) || !strstr (error->message, "lying.safetensors"))
        g_error ("case %u (%s = %s): unexpected message: %s", i, cases[i].key, cases[i].value,
                 error->message);
      /* without info too: the check does not depend on the caller */
      g_clear_error (&error);
      g_assert_null (weft_checkpoint_load (p, 2, NULL, &error));
      g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
    }

  /* An older writer's "1e-08.0" is repaired, not refused. */
  g_autoptr(GError) error = NULL;
  g_autofree char *p = rewrite (fx, "weft_text_idf", "[1, 1e-08.0, 3, 4, 5, 6]");
  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) h = weft_checkpoint_load (p, 2, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (info.idf[1], ==, 1e-08f);
  weft_checkpoint_info_clear (&info);
}

/* Cut anywhere, a checkpoint with the new keys is an error, never a crash. */
static void
test_truncated (Fixture *fx, gconstpointer data)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (fx->path, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (fx->dir, "cut.safetensors", NULL);
  for (gsize n = 0; n < len; n += 1 + len / 97)
    {
      g_autoptr(GError) error = NULL;
      g_assert_true (g_file_set_contents (cut, bytes, n, NULL));
      WeftCheckpointInfo info = { 0 };
      g_assert_null (weft_checkpoint_load (cut, 2, &info, &error));
      g_assert_nonnull (error);
      g_assert_null (info.audio_mean);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add ("/checkpoint/preprocessing-roundtrip-exact", Fixture, NULL,
              fixture_set_up, test_roundtrip, fixture_tear_down);
  g_test_add ("/checkpoint/old-checkpoint-without-preprocessing", Fixture, NULL,
              fixture_set_up, test_old_checkpoint, fixture_tear_down);
  g_test_add ("/checkpoint/lying-preprocessing-refused", Fixture, NULL,
              fixture_set_up, test_lying_metadata, fixture_tear_down);
  g_test_add ("/checkpoint/truncated-with-preprocessing", Fixture, NULL,
              fixture_set_up, test_truncated, fixture_tear_down);
  return g_test_run ();
}
