/* weft-text.c — captions to token ids: a small Unicode-aware tokenizer,
 * the vocabulary, and bag-of-words / TF-IDF vectors. */
#include "weft-text.h"

#include <math.h>
#include <string.h>

/* ---- tokenizer ---- */

static gboolean
is_apostrophe (gunichar c)
{
  return c == '\'' || c == 0x2019;   /* ASCII and the typographic right quote */
}

/* CJK ideographs carry a word each but are written without spaces, so a
 * run of them would become one giant "word" that never repeats; like BERT's
 * basic tokenizer, each ideograph is its own token. */
static gboolean
is_ideograph (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF)
      || (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2EBEF)
      || (c >= 0x30000 && c <= 0x323AF) || (c >= 0xF900 && c <= 0xFAFF)
      || (c >= 0x2F800 && c <= 0x2FA1F);
}

static gboolean
is_mark (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_NON_SPACING_MARK || t == G_UNICODE_SPACING_MARK
      || t == G_UNICODE_ENCLOSING_MARK;
}

static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) && !is_ideograph (c);
}

static gboolean
is_regional_indicator (gunichar c)
{
  return c >= 0x1F1E6 && c <= 0x1F1FF;
}

static gboolean
is_emoji_modifier (gunichar c)
{
  return c >= 0x1F3FB && c <= 0x1F3FF;   /* skin tones */
}

/* Characters that carry nothing on their own (zero-width space, soft
 * hyphen, byte order mark, control codes): dropped. */
static gboolean
is_invisible (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_FORMAT || t == G_UNICODE_CONTROL;
}

/* Appends c to the token, writing typographic apostrophes as ASCII so that
 * "don’t" and "don't" are one vocabulary entry. */
static void
append_char (GString *tok, gunichar c)
{
  g_string_append_unichar (tok, is_apostrophe (c) ? '\'' : c);
}

GStrv
weft_text_tokenize (const char *text)
{
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return g_strv_builder_end (out);

  /* Fold first (ß -> ss), then NFKC so that compatibility forms (ﬁ, full-width
   * letters, superscripts) meet their plain spelling. */
  g_autofree char *folded = g_utf8_casefold (text, -1);
  g_autofree char *norm = g_utf8_normalize (folded, -1, G_NORMALIZE_NFKC);
  if (norm == NULL)
    return g_strv_builder_end (out);

  g_autofree gunichar *u = g_utf8_to_ucs4_fast (norm, -1, NULL);
  g_autoptr(GString) tok = g_string_new (NULL);
  gsize n = 0;
  while (u[n])
    n++;

  for (gsize i = 0; i < n;)
    {
      gunichar c = u[i];
      if (g_unichar_isspace (c) || is_invisible (c) || is_mark (c))
        {
          /* A stray mark (one with no base character) is dropped too. */
          i++;
          continue;
        }
      g_string_truncate (tok, 0);
      if (is_word_char (c))
        {
          /* A word: letters, digits and their combining marks, with an
           * apostrophe kept only between two word characters. */
          while (i < n)
            {
              if (is_word_char (u[i]) || is_mark (u[i]))
                append_char (tok, u[i++]);
              else if (is_apostrophe (u[i]) && i + 1 < n && is_word_char (u[i + 1]))
                append_char (tok, u[i++]);
              else
                break;
            }
        }
      else
        {
          /* One user-perceived character: the symbol with its marks,
           * variation selectors and skin tones; emoji joined by ZWJ and
           * flag pairs stay whole. */
          append_char (tok, u[i++]);
          if (is_regional_indicator (c) && i < n && is_regional_indicator (u[i]))
            append_char (tok, u[i++]);
          while (i < n)
            {
              if (is_mark (u[i]) || is_emoji_modifier (u[i]) || (u[i] >= 0xFE00 && u[i] <= 0xFE0F))
                append_char (tok, u[i++]);
              else if (u[i] == 0x200D && i + 1 < n && !g_unichar_isspace (u[i + 1])
                       && !is_word_char (u[i + 1]))
                {
                  append_char (tok, u[i++]);
                  append_char (tok, u[i++]);
                }
              else
                break;
            }
        }
      g_strv_builder_add (out, tok->str);
    }
  return g_strv_builder_end (out);
}

/* ---- vocabulary ---- */

struct _WeftVocab {
  GHashTable *counts;        /* token -> count (GUINT_TO_POINTER), before finish */
  GPtrArray *tokens;         /* id -> token (owned) */
  GHashTable *ids;           /* token (borrowed from tokens) -> id + 1 */
  gboolean finished;
};

#define UNK "<unk>"

static WeftVocab *
vocab_alloc (void)
{
  WeftVocab *v = g_new0 (WeftVocab, 1);
  v->tokens = g_ptr_array_new_with_free_func (g_free);
  v->ids = g_hash_table_new (g_str_hash, g_str_equal);
  return v;
}

static void
vocab_append (WeftVocab *v, const char *token)
{
  char *t = g_strdup (token);
  g_ptr_array_add (v->tokens, t);
  /* A repeated token keeps its first id. */
  if (!g_hash_table_contains (v->ids, t))
    g_hash_table_insert (v->ids, t, GINT_TO_POINTER (v->tokens->len));
}

WeftVocab *
weft_vocab_new (void)
{
  WeftVocab *v = vocab_alloc ();
  v->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return v;
}

void
weft_vocab_count (WeftVocab *v, const char *const *tokens)
{
  g_return_if_fail (v != NULL && !v->finished);
  if (tokens == NULL)
    return;
  for (; *tokens; tokens++)
    {
      gpointer old;
      if (g_hash_table_lookup_extended (v->counts, *tokens, NULL, &old))
        g_hash_table_replace (v->counts, g_strdup (*tokens), GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
      else
        g_hash_table_insert (v->counts, g_strdup (*tokens), GUINT_TO_POINTER (1));
    }
}

typedef struct {
  const char *token;
  guint count;
} TokenCount;

static int
by_count_then_text (gconstpointer a, gconstpointer b)
{
  const TokenCount *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->token, y->token);
}

void
weft_vocab_finish (WeftVocab *v, int min_count, int max_size)
{
  g_return_if_fail (v != NULL && !v->finished);

  GHashTableIter it;
  gpointer key, value;
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (TokenCount));

  g_hash_table_iter_init (&it, v->counts);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      TokenCount tc = { key, GPOINTER_TO_UINT (value) };
      if ((int) tc.count >= MAX (min_count, 1))
        g_array_append_val (all, tc);
    }
  /* strcmp orders UTF-8 by code point, so ties do not depend on the locale. */
  g_array_sort (all, by_count_then_text);

  vocab_append (v, UNK);
  guint keep = max_size > 0 ? MIN (all->len, (guint) MAX (max_size - 1, 0)) : all->len;
  for (guint i = 0; i < keep; i++)
    vocab_append (v, g_array_index (all, TokenCount, i).token);

  g_clear_pointer (&v->counts, g_hash_table_unref);
  v->finished = TRUE;
}

WeftVocab *
weft_vocab_new_from_strv (const char *const *tokens)
{
  WeftVocab *v = vocab_alloc ();
  /* Ids are the positions, as saved by weft_vocab_dup_strv; an empty list
   * still gets the unknown token so that id 0 always exists. */
  if (tokens == NULL || tokens[0] == NULL)
    vocab_append (v, UNK);
  else
    for (; *tokens; tokens++)
      vocab_append (v, *tokens);
  v->finished = TRUE;
  return v;
}

int
weft_vocab_size (const WeftVocab *v)
{
  g_return_val_if_fail (v != NULL, 0);
  return v->tokens->len;
}

int
weft_vocab_lookup (const WeftVocab *v, const char *token)
{
  g_return_val_if_fail (v != NULL, 0);
  if (token == NULL)
    return 0;
  int id = GPOINTER_TO_INT (g_hash_table_lookup (v->ids, token));
  return id > 0 ? id - 1 : 0;
}

const char *
weft_vocab_token (const WeftVocab *v, int id)
{
  g_return_val_if_fail (v != NULL, NULL);
  if (id < 0 || id >= (int) v->tokens->len)
    return NULL;
  return g_ptr_array_index (v->tokens, id);
}

GStrv
weft_vocab_dup_strv (const WeftVocab *v)
{
  g_return_val_if_fail (v != NULL, NULL);
  GStrv out = g_new0 (char *, v->tokens->len + 1);
  for (guint i = 0; i < v->tokens->len; i++)
    out[i] = g_strdup (g_ptr_array_index (v->tokens, i));
  return out;
}

void
weft_vocab_free (WeftVocab *v)
{
  if (v == NULL)
    return;
  g_clear_pointer (&v->counts, g_hash_table_unref);
  g_hash_table_unref (v->ids);
  g_ptr_array_unref (v->tokens);
  g_free (v);
}

/* ---- ids and vectors ---- */

int
weft_text_encode (const WeftVocab *v, const char *text, float *ids, int length)
{
  g_return_val_if_fail (v != NULL && (ids != NULL || length == 0), 0);
  g_auto(GStrv) tokens = weft_text_tokenize (text);
  int n = g_strv_length (tokens);
  for (int i = 0; i < length; i++)
    ids[i] = i < n ? (float) weft_vocab_lookup (v, tokens[i]) : -1.f;
  return n;
}

void
weft_text_idf (const float *ids, int n_rows, int length, int vocab_size, float *idf)
{
  g_return_if_fail (idf != NULL && vocab_size > 0);
  g_autofree int *df = g_new0 (int, vocab_size);
  /* last[t] = the last row that counted t, so a token repeated in one
   * caption counts once for its document frequency. */
  g_autofree int *last = g_new (int, vocab_size);

  for (int t = 0; t < vocab_size; t++)
    last[t] = -1;
  for (int r = 0; r < n_rows; r++)
    for (int i = 0; i < length; i++)
      {
        float x = ids[(gsize) r * length + i];
        if (!(x >= 0 && x < vocab_size))
          continue;
        int t = (int) x;
        if (last[t] != r)
          {
            last[t] = r;
            df[t]++;
          }
      }
  for (int t = 0; t < vocab_size; t++)
    idf[t] = (float) (log ((1.0 + n_rows) / (1.0 + df[t])) + 1.0);
}

void
weft_text_bow (const float *ids, int length, int vocab_size, const float *idf, float *out)
{
  g_return_if_fail (out != NULL && vocab_size > 0);
  int n = 0;

  memset (out, 0, (gsize) vocab_size * sizeof (float));
  for (int i = 0; i < length; i++)
    n += ids[i] >= 0 && ids[i] < vocab_size;
  if (n == 0)
    return;
  for (int i = 0; i < length; i++)
    if (ids[i] >= 0 && ids[i] < vocab_size)
      out[(int) ids[i]] += 1.f / n;
  if (idf == NULL)
    return;

  double ss = 0;
  for (int t = 0; t < vocab_size; t++)
    {
      out[t] *= idf[t];
      ss += (double) out[t] * out[t];
    }
  if (ss > 0)
    {
      float inv = (float) (1.0 / sqrt (ss));
      for (int t = 0; t < vocab_size; t++)
        out[t] *= inv;
    }
}
