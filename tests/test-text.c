/* test-text.c — the caption tokenizer, the vocabulary's ordering and limits,
 * and IDF / TF-IDF values against scikit-learn's TfidfVectorizer. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "data/weft-text.h"

static void
assert_tokens (const char *text, const char *const *want)
{
  g_auto(GStrv) got = weft_text_tokenize (text);
  g_autofree char *got_s = g_strjoinv (" | ", got);
  g_autofree char *want_s = g_strjoinv (" | ", (char **) want);
  if (g_strcmp0 (got_s, want_s) != 0)
    g_error ("tokenize (\"%s\"): got [%s], want [%s]", text, got_s, want_s);
}

#define TOKENS(text, ...) assert_tokens (text, (const char *const[]) { __VA_ARGS__, NULL })
#define NO_TOKENS(text) assert_tokens (text, (const char *const[]) { NULL })

static void
test_tokenize_case_folding (void)
{
  TOKENS ("Straße", "strasse");
  TOKENS ("The CAT", "the", "cat");
  /* NFKC: ligatures and full-width letters meet their plain spelling. */
  TOKENS ("\xef\xac\x81ne \xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", "fine", "abc");
  /* A decomposed é (e + U+0301) is one word, equal to the composed one. */
  TOKENS ("cafe\xcc\x81 caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9");
}

static void
test_tokenize_apostrophes (void)
{
  TOKENS ("Don't stop", "don't", "stop");
  TOKENS ("rock'n'roll", "rock'n'roll");
  /* The typographic apostrophe is written as ASCII inside and outside words. */
  TOKENS ("don\xe2\x80\x99t", "don't");
  /* Leading and trailing apostrophes are quotes, not part of the word. */
  TOKENS ("'quoted' dogs'", "'", "quoted", "'", "dogs", "'");
  TOKENS ("a ' b", "a", "'", "b");
}

static void
test_tokenize_punctuation (void)
{
  TOKENS ("Hello, world...", "hello", ",", "world", ".", ".", ".");
  TOKENS ("3.5kg (approx.)", "3", ".", "5kg", "(", "approx", ".", ")");
  TOKENS ("e-mail&co", "e", "-", "mail", "&", "co");
  NO_TOKENS ("");
  NO_TOKENS ("  \t\n ");
  NO_TOKENS (NULL);
  /* Invalid UTF-8 gives nothing rather than garbage tokens. */
  NO_TOKENS ("ab\xff\xfe" "cd");
  /* A zero-width space separates words and is not a token itself. */
  TOKENS ("a\xe2\x80\x8b" "b", "a", "b");
}

static void
test_tokenize_emoji (void)
{
  /* ❤️ (with variation selector), 🐱, 🐶, the family ZWJ sequence 👨‍👩‍👧,
   * a thumbs up with a skin tone 👍🏽, and the flag 🇫🇷. */
  TOKENS ("I \xe2\x9d\xa4\xef\xb8\x8f \xf0\x9f\x90\xb1\xf0\x9f\x90\xb6!",
          "i", "\xe2\x9d\xa4\xef\xb8\x8f", "\xf0\x9f\x90\xb1", "\xf0\x9f\x90\xb6", "!");
  TOKENS ("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 family",
          "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", "family");
  TOKENS ("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ok", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "ok");
  TOKENS ("\xf0\x9f\x87\xab\xf0\x9f\x87\xb7\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa",
          "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7", "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa");
}

static void
test_tokenize_cjk (void)
{
  /* 東京タワー is 高い: ideographs one by one, the kana run stays a word. */
  TOKENS ("\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc is \xe9\xab\x98\xe3\x81\x84",
          "\xe6\x9d\xb1", "\xe4\xba\xac", "\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc", "is",
          "\xe9\xab\x98", "\xe3\x81\x84");
  /* 猫。: the ideographic full stop is punctuation. */
  TOKENS ("\xe7\x8c\xab\xe3\x80\x82", "\xe7\x8c\xab", "\xe3\x80\x82");
}

/* The documents whose TF-IDF scikit-learn computed (see test_idf_sklearn). */
static const char *const docs[] = {
  "the cat sat on the mat",
  "the dog sat",
  "a cat and a dog",
  "birds sing",
  "the the the cat",
};
#define N_DOCS G_N_ELEMENTS (docs)

static WeftVocab *
vocab_of_docs (int min_count, int max_size)
{
  WeftVocab *v = weft_vocab_new ();
  for (guint i = 0; i < N_DOCS; i++)
    {
      g_auto(GStrv) t = weft_text_tokenize (docs[i]);
      weft_vocab_count (v, (const char *const *) t);
    }
  weft_vocab_finish (v, min_count, max_size);
  return v;
}

static void
assert_vocab (const WeftVocab *v, const char *const *want)
{
  g_auto(GStrv) got = weft_vocab_dup_strv (v);
  g_autofree char *got_s = g_strjoinv (" ", got);
  g_autofree char *want_s = g_strjoinv (" ", (char **) want);
  g_assert_cmpstr (got_s, ==, want_s);
  g_assert_cmpint (weft_vocab_size (v), ==, g_strv_length ((char **) want));
}

static void
test_vocab_order_and_limits (void)
{
  /* Counts: the 6, cat 3, a/dog/sat 2, and/birds/mat/on/sing 1. */
  g_autoptr(WeftVocab) all = vocab_of_docs (1, 0);
  assert_vocab (all, (const char *const[]) { "<unk>", "the", "cat", "a", "dog", "sat",
                                             "and", "birds", "mat", "on", "sing", NULL });
  g_autoptr(WeftVocab) frequent = vocab_of_docs (2, 5000);
  assert_vocab (frequent, (const char *const[]) { "<unk>", "the", "cat", "a", "dog", "sat", NULL });
  /* max_size counts <unk>: 4 keeps the three most frequent, ties by text. */
  g_autoptr(WeftVocab) small = vocab_of_docs (1, 4);
  assert_vocab (small, (const char *const[]) { "<unk>", "the", "cat", "a", NULL });

  g_assert_cmpint (weft_vocab_lookup (all, "dog"), ==, 4);
  g_assert_cmpint (weft_vocab_lookup (all, "zebra"), ==, 0);
  g_assert_cmpint (weft_vocab_lookup (small, "dog"), ==, 0);
  g_assert_cmpstr (weft_vocab_token (all, 2), ==, "cat");
  g_assert_null (weft_vocab_token (all, 11));
  g_assert_null (weft_vocab_token (all, -1));

  /* A vocabulary saved as a list (e.g. in a checkpoint) comes back the same. */
  g_auto(GStrv) saved = weft_vocab_dup_strv (all);
  g_autoptr(WeftVocab) back = weft_vocab_new_from_strv ((const char *const *) saved);
  assert_vocab (back, (const char *const *) saved);
  g_assert_cmpint (weft_vocab_lookup (back, "sing"), ==, 10);
  g_autoptr(WeftVocab) empty = weft_vocab_new_from_strv (NULL);
  assert_vocab (empty, (const char *const[]) { "<unk>", NULL });

  /* Nothing counted: only <unk>. */
  g_autoptr(WeftVocab) none = weft_vocab_new ();
  weft_vocab_finish (none, 1, 10);
  assert_vocab (none, (const char *const[]) { "<unk>", NULL });
}

static void
test_encode (void)
{
  g_autoptr(WeftVocab) v = vocab_of_docs (1, 0);
  float ids[8];
  const float want[8] = { 1, 2, 5, 9, 1, 8, -1, -1 };

  g_assert_cmpint (weft_text_encode (v, "The cat sat on the mat", ids, 8), ==, 6);
  g_assert_cmpmem (ids, sizeof ids, want, sizeof want);
  /* Cut to length; the count is still the caption's. */
  g_assert_cmpint (weft_text_encode (v, "the cat sat on the mat", ids, 3), ==, 6);
  g_assert_cmpmem (ids, 3 * sizeof (float), want, 3 * sizeof (float));
  /* Unknown words map to <unk> = 0; no text at all is all padding. */
  g_assert_cmpint (weft_text_encode (v, "zebra cat", ids, 3), ==, 2);
  g_assert_cmpfloat (ids[0], ==, 0);
  g_assert_cmpfloat (ids[1], ==, 2);
  g_assert_cmpfloat (ids[2], ==, -1);
  g_assert_cmpint (weft_text_encode (v, NULL, ids, 2), ==, 0);
  g_assert_cmpfloat (ids[0], ==, -1);
  g_assert_cmpfloat (ids[1], ==, -1);
}

/* scikit-learn 1.2.1, computed once:
 *   v = TfidfVectorizer(analyzer=str.split, smooth_idf=True, norm="l2")
 *   X = v.fit_transform(docs); v.idf_, X[0], X[4] */
static const struct { const char *token; double idf; } sk_idf[] = {
  { "a", 2.09861229 }, { "and", 2.09861229 }, { "birds", 2.09861229 },
  { "cat", 1.40546511 }, { "dog", 1.69314718 }, { "mat", 2.09861229 },
  { "on", 2.09861229 }, { "sat", 1.69314718 }, { "sing", 2.09861229 },
  { "the", 1.40546511 },
};
static const struct { int doc; const char *token; double w; } sk_tfidf[] = {
  { 0, "cat", 0.302746231 }, { 0, "mat", 0.452054595 }, { 0, "on", 0.452054595 },
  { 0, "sat", 0.364714801 }, { 0, "the", 0.605492461 },
  { 4, "cat", 0.316227766 }, { 4, "the", 0.948683298 },
};

static void
test_idf_sklearn (void)
{
  g_autoptr(WeftVocab) v = vocab_of_docs (1, 0);
  int V = weft_vocab_size (v), L = 8;
  float ids[N_DOCS * 8], idf[11], out[11];

  g_assert_cmpint (V, ==, 11);
  for (guint i = 0; i < N_DOCS; i++)
    weft_text_encode (v, docs[i], ids + i * L, L);
  weft_text_idf (ids, N_DOCS, L, V, idf);
  for (guint i = 0; i < G_N_ELEMENTS (sk_idf); i++)
    g_assert_cmpfloat_with_epsilon (idf[weft_vocab_lookup (v, sk_idf[i].token)], sk_idf[i].idf, 1e-6);
  /* <unk> never occurs: ln(6 / 1) + 1. */
  g_assert_cmpfloat_with_epsilon (idf[0], log (6.0) + 1, 1e-6);

  for (guint d = 0; d < N_DOCS; d += 4)
    {
      weft_text_bow (ids + d * L, L, V, idf, out);
      double sum_sq = 0;
      int nonzero = 0;
      for (int t = 0; t < V; t++)
        {
          sum_sq += out[t] * out[t];
          nonzero += out[t] != 0;
        }
      g_assert_cmpfloat_with_epsilon (sum_sq, 1.0, 1e-6);
      int want_nonzero = 0;
      for (guint i = 0; i < G_N_ELEMENTS (sk_tfidf); i++)
        if (sk_tfidf[i].doc == (int) d)
          {
            want_nonzero++;
            g_assert_cmpfloat_with_epsilon (out[weft_vocab_lookup (v, sk_tfidf[i].token)],
                                            sk_tfidf[i].w, 1e-6);
          }
      g_assert_cmpint (nonzero, ==, want_nonzero);
    }
}

static void
test_bow_frequencies (void)
{
  g_autoptr(WeftVocab) v = vocab_of_docs (1, 0);
  float ids[6], out[11];

  /* "the the the cat": frequencies 3/4 and 1/4 without IDF, no norm. */
  weft_text_encode (v, docs[4], ids, 6);
  weft_text_bow (ids, 6, 11, NULL, out);
  g_assert_cmpfloat (out[1], ==, 0.75f);
  g_assert_cmpfloat (out[2], ==, 0.25f);
  double sum = 0;
  for (int t = 0; t < 11; t++)
    sum += out[t];
  g_assert_cmpfloat (sum, ==, 1.0);

  /* An empty caption is the zero vector, with or without IDF. */
  float idf[11];
  for (int t = 0; t < 11; t++)
    idf[t] = 1.5f;
  weft_text_encode (v, "", ids, 6);
  out[3] = 7;
  weft_text_bow (ids, 6, 11, idf, out);
  for (int t = 0; t < 11; t++)
    g_assert_cmpfloat (out[t], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/tokenize/case-folding", test_tokenize_case_folding);
  g_test_add_func ("/text/tokenize/apostrophes", test_tokenize_apostrophes);
  g_test_add_func ("/text/tokenize/punctuation", test_tokenize_punctuation);
  g_test_add_func ("/text/tokenize/emoji", test_tokenize_emoji);
  g_test_add_func ("/text/tokenize/cjk", test_tokenize_cjk);
  g_test_add_func ("/text/vocab/order-and-limits", test_vocab_order_and_limits);
  g_test_add_func ("/text/encode", test_encode);
  g_test_add_func ("/text/idf-sklearn", test_idf_sklearn);
  g_test_add_func ("/text/bow-frequencies", test_bow_frequencies);
  return g_test_run ();
}
