/* weft-text.h — captions to token ids: Unicode case folding, a tokenizer
 * for words and punctuation, a vocabulary with minimum count and maximum
 * size, and bag-of-words / TF-IDF vectors. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Case-folded (then NFKC-normalised) tokens of a UTF-8 string: runs of
 * letters/digits and their combining marks (with inner apostrophes kept:
 * "don't"; ’ is written ') are words, every other non-space character is
 * its own token. A "character" is what a reader sees as one: an emoji keeps
 * its variation selector, skin tone and ZWJ partners, a flag its two
 * regional indicators. CJK ideographs are one token each (they are written
 * without spaces); format and control characters are dropped. Invalid UTF-8
 * gives no tokens. NULL-terminated, caller frees. */
GStrv weft_text_tokenize (const char *text);

typedef struct _WeftVocab WeftVocab;

/* Id 0 is "<unk>" for tokens not in the vocabulary. */
WeftVocab  *weft_vocab_new (void);
void        weft_vocab_count (WeftVocab *v, const char *const *tokens);
/* Keeps tokens seen at least min_count times, the max_size - 1 most frequent
 * (ties alphabetical), ids assigned in that order after <unk>. */
void        weft_vocab_finish (WeftVocab *v, int min_count, int max_size);
WeftVocab  *weft_vocab_new_from_strv (const char *const *tokens); /* e.g. from a checkpoint */
int         weft_vocab_size (const WeftVocab *v);
int         weft_vocab_lookup (const WeftVocab *v, const char *token); /* 0 if unknown */
const char *weft_vocab_token (const WeftVocab *v, int id);
GStrv       weft_vocab_dup_strv (const WeftVocab *v);
void        weft_vocab_free (WeftVocab *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftVocab, weft_vocab_free)

/* ids (length) = the first `length` token ids of text, -1 padded.
 * Returns the number of tokens the text had. */
int  weft_text_encode (const WeftVocab *v, const char *text, float *ids, int length);

/* Inverse document frequencies (vocab size) from -1 padded id rows:
 * idf = ln((1 + n) / (1 + df)) + 1 (scikit-learn's smooth idf). */
void weft_text_idf (const float *ids, int n_rows, int length, int vocab_size, float *idf);

/* out (vocab size) = term frequencies of the row (summing to 1), times idf
 * when idf is not NULL, then L2-normalised when idf is not NULL. */
void weft_text_bow (const float *ids, int length, int vocab_size, const float *idf, float *out);

G_END_DECLS
