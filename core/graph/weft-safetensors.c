/* weft-safetensors.c — the safetensors reader and writer. The header parser
 * is a small JSON reader of its own so that every size, offset and name is
 * checked where it is read: nothing from the file is trusted. */
#include "weft-safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "weft-error.h"

struct _WeftSafetensors {
  GPtrArray *tensors;        /* WeftSafeTensor*, owned, in file/insertion order */
  GHashTable *by_name;       /* name → WeftSafeTensor*, borrowed from tensors */
  GHashTable *metadata;      /* key → value, both owned */
};

static void
weft_safe_tensor_free (WeftSafeTensor *t)
{
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

WeftSafetensors *
weft_safetensors_new (void)
{
  WeftSafetensors *st = g_new0 (WeftSafetensors, 1);

  st->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) weft_safe_tensor_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

void
weft_safetensors_free (WeftSafetensors *st)
{
  if (st == NULL)
    return;
  g_hash_table_destroy (st->by_name);
  g_ptr_array_unref (st->tensors);
  g_hash_table_destroy (st->metadata);
  g_free (st);
}

/* Takes ownership of t; replaces a tensor of the same name in place so that
 * the order stays stable. */
static void
weft_safetensors_take (WeftSafetensors *st, WeftSafeTensor *t)
{
  WeftSafeTensor *old = g_hash_table_lookup (st->by_name, t->name);

  if (old != NULL)
    {
      guint i = 0;
      gboolean found = g_ptr_array_find (st->tensors, old, &i);
      g_assert (found);
      g_hash_table_remove (st->by_name, old->name);
      weft_safe_tensor_free (old);
      st->tensors->pdata[i] = t;
    }
  else
    g_ptr_array_add (st->tensors, t);
  g_hash_table_insert (st->by_name, t->name, t);
}

void
weft_safetensors_add (WeftSafetensors *st,
                      const char      *name,
                      int              ndim,
                      const gint64    *shape,
                      const float     *data)
{
  gsize n = 1;

  g_return_if_fail (st != NULL);
  g_return_if_fail (name != NULL && g_utf8_validate (name, -1, NULL));
  g_return_if_fail (strcmp (name, "__metadata__") != 0);
  g_return_if_fail (ndim >= 0 && ndim <= WEFT_SAFETENSORS_MAX_DIMS);
  g_return_if_fail (ndim == 0 || shape != NULL);

  for (int i = 0; i < ndim; i++)
    {
      g_return_if_fail (shape[i] >= 0);
      n *= (gsize) shape[i];
    }
  g_return_if_fail (n == 0 || data != NULL);

  WeftSafeTensor *t = g_new0 (WeftSafeTensor, 1);
  t->name = g_strdup (name);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  t->n = n;
  t->data = n ? g_memdup2 (data, n * sizeof (float)) : NULL;
  weft_safetensors_take (st, t);
}

void
weft_safetensors_set_metadata (WeftSafetensors *st,
                               const char      *key,
                               const char      *value)
{
  g_return_if_fail (st != NULL);
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value == NULL || g_utf8_validate (value, -1, NULL));

  if (value == NULL)
    g_hash_table_remove (st->metadata, key);
  else
    g_hash_table_insert (st->metadata, g_strdup (key), g_strdup (value));
}

const char *
weft_safetensors_get_metadata (const WeftSafetensors *st,
                               const char            *key)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

static int
cmp_strv (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GStrv
weft_safetensors_dup_metadata_keys (const WeftSafetensors *st)
{
  guint n;
  g_return_val_if_fail (st != NULL, NULL);

  GStrv keys = (GStrv) g_hash_table_get_keys_as_array (st->metadata, &n);
  for (guint i = 0; i < n; i++)
    keys[i] = g_strdup (keys[i]);
  qsort (keys, n, sizeof (char *), cmp_strv);
  return keys;
}

const WeftSafeTensor *
weft_safetensors_lookup (const WeftSafetensors *st,
                         const char            *name)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

guint
weft_safetensors_get_n_tensors (const WeftSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->tensors->len;
}

const WeftSafeTensor *
weft_safetensors_get_nth (const WeftSafetensors *st,
                          guint                  i)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (i < st->tensors->len, NULL);
  return st->tensors->pdata[i];
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

static void
json_append_string (GString *s, const char *str)
{
  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) str; *p; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (s, "\\\""); break;
        case '\\': g_string_append (s, "\\\\"); break;
        case '\n': g_string_append (s, "\\n"); break;
        case '\r': g_string_append (s, "\\r"); break;
        case '\t': g_string_append (s, "\\t"); break;
        default:
          /* Other control characters must be escaped; UTF-8 above ASCII is
           * written as is, like serde_json and Python's ensure_ascii=False. */
          if (*p < 0x20)
            g_string_append_printf (s, "\\u%04x", *p);
          else
            g_string_append_c (s, (char) *p);
        }
    }
  g_string_append_c (s, '"');
}

static int
cmp_tensor_name (gconstpointer a, gconstpointer b)
{
  const WeftSafeTensor *x = *(WeftSafeTensor *const *) a;
  const WeftSafeTensor *y = *(WeftSafeTensor *const *) b;
  return strcmp (x->name, y->name);
}

/* The tensors in the order they are written: sorted by name (borrowed). */
static GPtrArray *
sorted_tensors (const WeftSafetensors *st)
{
  GPtrArray *sorted = g_ptr_array_sized_new (st->tensors->len);

  for (guint i = 0; i < st->tensors->len; i++)
    g_ptr_array_add (sorted, st->tensors->pdata[i]);
  g_ptr_array_sort (sorted, cmp_tensor_name);
  return sorted;
}

/* The 8-byte length followed by the JSON header, data offsets assigned
 * back to back in `sorted` order. */
static GString *
build_header (const WeftSafetensors *st, GPtrArray *sorted)
{
  GString *h = g_string_new (NULL);
  gboolean first = TRUE;
  guint64 offset = 0;

  g_string_append_len (h, "\0\0\0\0\0\0\0\0", 8);  /* length, patched below */
  g_string_append_c (h, '{');
  if (g_hash_table_size (st->metadata) > 0)
    {
      g_auto(GStrv) keys = weft_safetensors_dup_metadata_keys (st);
      g_string_append (h, "\"__metadata__\":{");
      for (guint i = 0; keys[i]; i++)
        {
          if (i > 0)
            g_string_append_c (h, ',');
          json_append_string (h, keys[i]);
          g_string_append_c (h, ':');
          json_append_string (h, g_hash_table_lookup (st->metadata, keys[i]));
        }
      g_string_append_c (h, '}');
      first = FALSE;
    }
  for (guint i = 0; i < sorted->len; i++)
    {
      const WeftSafeTensor *t = sorted->pdata[i];
      guint64 bytes = (guint64) t->n * sizeof (float);

      if (!first)
        g_string_append_c (h, ',');
      first = FALSE;
      json_append_string (h, t->name);
      g_string_append (h, ":{\"dtype\":\"F32\",\"shape\":[");
      for (int d = 0; d < t->ndim; d++)
        g_string_append_printf (h, "%s%" G_GINT64_FORMAT, d ? "," : "", t->shape[d]);
      g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              offset, offset + bytes);
      offset += bytes;
    }
  g_string_append_c (h, '}');

  /* Pad with spaces so that the data starts on an 8-byte boundary. */
  while ((h->len - 8) % 8 != 0)
    g_string_append_c (h, ' ');

  guint64 n_le = GUINT64_TO_LE ((guint64) (h->len - 8));
  memcpy (h->str, &n_le, 8);
  return h;
}

/* Little-endian copy of n floats into dst. */
static void
floats_to_le (guint8 *dst, const float *src, gsize n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, n * sizeof (float));
#else
  for (gsize i = 0; i < n; i++)
    {
      guint32 u;
      memcpy (&u, src + i, 4);
      u = GUINT32_TO_LE (u);
      memcpy (dst + 4 * i, &u, 4);
    }
#endif
}

GBytes *
weft_safetensors_to_bytes (const WeftSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);

  g_autoptr(GPtrArray) sorted = sorted_tensors (st);
  g_autoptr(GString) h = build_header (st, sorted);
  gsize total = h->len;

  for (guint i = 0; i < sorted->len; i++)
    total += ((const WeftSafeTensor *) sorted->pdata[i])->n * sizeof (float);

  guint8 *buf = g_malloc (total);
  gsize pos = h->len;
  memcpy (buf, h->str, h->len);
  for (guint i = 0; i < sorted->len; i++)
    {
      const WeftSafeTensor *t = sorted->pdata[i];
      if (t->n > 0)
        floats_to_le (buf + pos, t->data, t->n);
      pos += t->n * sizeof (float);
    }
  return g_bytes_new_take (buf, total);
}

static gboolean
write_all (int fd, const void *buf, gsize len)
{
  const guint8 *p = buf;

  while (len > 0)
    {
      ssize_t w = write (fd, p, MIN (len, (gsize) 1 << 30));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          if (w == 0)
            errno = ENOSPC;
          return FALSE;
        }
      p += w;
      len -= (gsize) w;
    }
  return TRUE;
}

static gboolean
write_tensor (int fd, const WeftSafeTensor *t)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return write_all (fd, t->data, t->n * sizeof (float));
#else
  guint8 chunk[16384];
  for (gsize i = 0; i < t->n; i += sizeof chunk / 4)
    {
      gsize m = MIN (t->n - i, sizeof chunk / 4);
      floats_to_le (chunk, t->data + i, m);
      if (!write_all (fd, chunk, 4 * m))
        return FALSE;
    }
  return TRUE;
#endif
}

/* Streams to a temporary file next to path and renames it over path, so a
 * checkpoint is either the old one or the complete new one — and a large
 * model is never held twice in memory. */
gboolean
weft_safetensors_save (const WeftSafetensors *st,
                       const char            *path,
                       GError               **error)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  g_autoptr(GPtrArray) sorted = sorted_tensors (st);
  g_autoptr(GString) h = build_header (st, sorted);
  const char *step = "could not be created";
  int saved_errno;

  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    goto fail_no_tmp;

  step = "could not be written";
  if (!write_all (fd, h->str, h->len))
    goto fail;
  for (guint i = 0; i < sorted->len; i++)
    if (!write_tensor (fd, sorted->pdata[i]))
      goto fail;
  if (fsync (fd) != 0)
    goto fail;
  if (close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;

  step = "could not be replaced";
  if (g_rename (tmp, path) != 0)
    goto fail;

  /* Make the rename itself durable; failing here loses nothing. */
  {
    g_autofree char *dir = g_path_get_dirname (path);
    int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
      {
        fsync (dfd);
        close (dfd);
      }
  }
  return TRUE;

fail:
  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_unlink (tmp);
  errno = saved_errno;
fail_no_tmp:
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the checkpoint %s (%s)",
               display, step, g_strerror (errno));
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Reading: the header parser                                          */

#define MAX_SKIP_DEPTH 64

typedef struct {
  char *name;
  char *dtype;
  int ndim;
  gint64 shape[WEFT_SAFETENSORS_MAX_DIMS];
  guint64 begin, end;
  gsize n;                   /* element count, set by check_tensor */
  guint dt;                  /* index in dtypes[], set by check_tensor */
} TensorInfo;

typedef struct {
  const char *text;          /* the header, valid UTF-8, not NUL-terminated */
  gsize len, pos;
  const char *file;          /* display name for messages */
  GError **error;
  GHashTable *metadata;      /* key → value, owned */
  GPtrArray *infos;          /* TensorInfo*, owned */
  GHashTable *names;         /* name → TensorInfo*, borrowed */
  gboolean has_metadata;
} Parser;

static void
tensor_info_free (TensorInfo *ti)
{
  g_free (ti->name);
  g_free (ti->dtype);
  g_free (ti);
}

G_GNUC_PRINTF (2, 3)
static gboolean
fail (Parser *ps, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (ps->error && *ps->error == NULL)
    g_set_error (ps->error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT, "%s: %s", ps->file, msg);
  return FALSE;
}

static gboolean
fail_json (Parser *ps, const char *expected)
{
  if (ps->pos >= ps->len)
    return fail (ps, "the header is not valid JSON (it ends where %s was expected)", expected);
  return fail (ps, "the header is not valid JSON (expected %s at byte %" G_GSIZE_FORMAT " of the header)",
               expected, ps->pos + 1);
}

static void
skip_ws (Parser *ps)
{
  while (ps->pos < ps->len)
    {
      char c = ps->text[ps->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      ps->pos++;
    }
}

static gboolean
peek (Parser *ps, char c)
{
  skip_ws (ps);
  return ps->pos < ps->len && ps->text[ps->pos] == c;
}

static gboolean
expect (Parser *ps, char c, const char *what)
{
  if (!peek (ps, c))
    return fail_json (ps, what);
  ps->pos++;
  return TRUE;
}

static gboolean
hex4 (Parser *ps, guint *out)
{
  guint v = 0;

  if (ps->len - ps->pos < 4)
    return fail_json (ps, "four hex digits after \\u");
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (ps->text[ps->pos + i]);
      if (d < 0)
        return fail_json (ps, "four hex digits after \\u");
      v = v * 16 + (guint) d;
    }
  ps->pos += 4;
  *out = v;
  return TRUE;
}

/* A JSON string, unescaped into a new UTF-8 string. The header has been
 * validated as UTF-8 already, so raw bytes are copied; escapes are decoded
 * and must not produce lone surrogates or NUL (names are C strings). */
static char *
parse_string (Parser *ps)
{
  skip_ws (ps);
  if (ps->pos >= ps->len || ps->text[ps->pos] != '"')
    {
      fail_json (ps, "a string in double quotes");
      return NULL;
    }
  ps->pos++;

  g_autoptr(GString) s = g_string_new (NULL);
  for (;;)
    {
      if (ps->pos >= ps->len)
        {
          fail_json (ps, "the closing '\"' of a string");
          return NULL;
        }
      guchar c = (guchar) ps->text[ps->pos];
      if (c == '"')
        {
          ps->pos++;
          return g_string_free (g_steal_pointer (&s), FALSE);
        }
      if (c < 0x20)
        {
          fail (ps, "the header is not valid JSON (a control character inside a string at byte %"
                G_GSIZE_FORMAT " of the header)", ps->pos + 1);
          return NULL;
        }
      if (c != '\\')
        {
          /* Copy a run of plain bytes at once. */
          gsize start = ps->pos;
          while (ps->pos < ps->len)
            {
              guchar d = (guchar) ps->text[ps->pos];
              if (d == '"' || d == '\\' || d < 0x20)
                break;
              ps->pos++;
            }
          g_string_append_len (s, ps->text + start, ps->pos - start);
          continue;
        }
      ps->pos++;
      if (ps->pos >= ps->len)
        {
          fail_json (ps, "an escape after '\\'");
          return NULL;
        }
      char e = ps->text[ps->pos++];
      guint u, lo;
      switch (e)
        {
        case '"':  g_string_append_c (s, '"'); break;
        case '\\': g_string_append_c (s, '\\'); break;
        case '/':  g_string_append_c (s, '/'); break;
        case 'b':  g_string_append_c (s, '\b'); break;
        case 'f':  g_string_append_c (s, '\f'); break;
        case 'n':  g_string_append_c (s, '\n'); break;
        case 'r':  g_string_append_c (s, '\r'); break;
        case 't':  g_string_append_c (s, '\t'); break;
        case 'u':
          if (!hex4 (ps, &u))
            return NULL;
          if (u >= 0xd800 && u <= 0xdbff)
            {
              if (ps->len - ps->pos < 2 || ps->text[ps->pos] != '\\' || ps->text[ps->pos + 1] != 'u')
                {
                  fail (ps, "the header contains a broken \\u escape (a lone UTF-16 surrogate)");
                  return NULL;
                }
              ps->pos += 2;
              if (!hex4 (ps, &lo))
                return NULL;
              if (lo < 0xdc00 || lo > 0xdfff)
                {
                  fail (ps, "the header contains a broken \\u escape (a lone UTF-16 surrogate)");
                  return NULL;
                }
              u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
          else if (u >= 0xdc00 && u <= 0xdfff)
            {
              fail (ps, "the header contains a broken \\u escape (a lone UTF-16 surrogate)");
              return NULL;
            }
          if (u == 0)
            {
              fail (ps, "the header contains a name or text with a zero character (\\u0000)");
              return NULL;
            }
          g_string_append_unichar (s, (gunichar) u);
          break;
        default:
          ps->pos--;
          fail_json (ps, "a valid escape after '\\'");
          return NULL;
        }
    }
}

/* Shortens a token (valid UTF-8) for quoting in a message. */
static char *
token_excerpt (const char *p, gsize n)
{
  g_autofree char *tok = g_strndup (p, n);
  if (g_utf8_strlen (tok, -1) > 24)
    {
      g_autofree char *head = g_utf8_substring (tok, 0, 24);
      return g_strconcat (head, "…", NULL);
    }
  return g_steal_pointer (&tok);
}

typedef struct {
  gsize start, digits, int_end;  /* token, its integer digits [digits, int_end) */
  gboolean neg, whole;
} Number;

/* Scans one JSON number (strict grammar: no leading zeros, no '+'). */
static gboolean
scan_number (Parser *ps, Number *num)
{
  skip_ws (ps);
  gsize i = ps->pos;

  num->start = i;
  num->neg = FALSE;
  num->whole = TRUE;
  if (i < ps->len && ps->text[i] == '-')
    {
      num->neg = TRUE;
      i++;
    }
  num->digits = i;
  if (i < ps->len && ps->text[i] == '0')
    i++;
  else
    while (i < ps->len && g_ascii_isdigit (ps->text[i]))
      i++;
  if (i == num->digits)
    {
      ps->pos = i;
      return fail_json (ps, "a number");
    }
  num->int_end = i;
  if (i < ps->len && ps->text[i] == '.')
    {
      num->whole = FALSE;
      gsize f = ++i;
      while (i < ps->len && g_ascii_isdigit (ps->text[i]))
        i++;
      if (i == f)
        {
          ps->pos = i;
          return fail_json (ps, "digits after the decimal point");
        }
    }
  if (i < ps->len && (ps->text[i] == 'e' || ps->text[i] == 'E'))
    {
      num->whole = FALSE;
      i++;
      if (i < ps->len && (ps->text[i] == '+' || ps->text[i] == '-'))
        i++;
      gsize f = i;
      while (i < ps->len && g_ascii_isdigit (ps->text[i]))
        i++;
      if (i == f)
        {
          ps->pos = i;
          return fail_json (ps, "digits in the exponent");
        }
    }
  ps->pos = i;
  return TRUE;
}

/* A whole number 0 .. G_MAXINT64 for `what` of tensor `name`. "1.5" or
 * "-2" are valid JSON, so they get their own message. */
static gboolean
parse_count (Parser *ps, const char *name, const char *what, guint64 *out)
{
  Number num;

  if (!scan_number (ps, &num))
    return FALSE;

  g_autofree char *tok = token_excerpt (ps->text + num.start, ps->pos - num.start);
  if (num.neg || !num.whole)
    return fail (ps, "tensor '%s': the %s must be whole numbers of 0 or more, found %s",
                 name, what, tok);

  guint64 v = 0;
  for (gsize k = num.digits; k < num.int_end; k++)
    {
      guint d = (guint) (ps->text[k] - '0');
      if (v > ((guint64) G_MAXINT64 - d) / 10)
        return fail (ps, "tensor '%s': the %s contain %s, which is absurdly large", name, what, tok);
      v = v * 10 + d;
    }
  *out = v;
  return TRUE;
}

/* Skips any JSON value (an unknown member of a tensor entry). */
static gboolean
skip_value (Parser *ps, int depth)
{
  if (depth > MAX_SKIP_DEPTH)
    return fail (ps, "the header is nested too deeply (more than %d levels)", MAX_SKIP_DEPTH);
  skip_ws (ps);
  if (ps->pos >= ps->len)
    return fail_json (ps, "a value");

  char c = ps->text[ps->pos];
  if (c == '"')
    {
      g_autofree char *s = parse_string (ps);
      return s != NULL;
    }
  if (c == '{' || c == '[')
    {
      char close = c == '{' ? '}' : ']';
      ps->pos++;
      if (peek (ps, close))
        {
          ps->pos++;
          return TRUE;
        }
      for (;;)
        {
          if (c == '{')
            {
              g_autofree char *k = parse_string (ps);
              if (k == NULL || !expect (ps, ':', "':'"))
                return FALSE;
            }
          if (!skip_value (ps, depth + 1))
            return FALSE;
          if (peek (ps, ','))
            {
              ps->pos++;
              continue;
            }
          return expect (ps, close, c == '{' ? "',' or '}'" : "',' or ']'");
        }
    }
  if (c == '-' || g_ascii_isdigit (c))
    {
      Number num;
      return scan_number (ps, &num);
    }
  static const char *const words[] = { "true", "false", "null" };
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      gsize n = strlen (words[i]);
      if (ps->len - ps->pos >= n && memcmp (ps->text + ps->pos, words[i], n) == 0)
        {
          ps->pos += n;
          return TRUE;
        }
    }
  return fail_json (ps, "a value");
}

/* "shape": [d0, d1, ...] */
static gboolean
parse_shape (Parser *ps, TensorInfo *ti)
{
  if (!expect (ps, '[', "'[' to start the shape"))
    return FALSE;
  ti->ndim = 0;
  if (peek (ps, ']'))
    {
      ps->pos++;
      return TRUE;
    }
  for (;;)
    {
      guint64 d;
      if (ti->ndim == WEFT_SAFETENSORS_MAX_DIMS)
        return fail (ps, "tensor '%s' has more than %d dimensions, the most Weft handles",
                     ti->name, WEFT_SAFETENSORS_MAX_DIMS);
      if (!parse_count (ps, ti->name, "shape sizes", &d))
        return FALSE;
      ti->shape[ti->ndim++] = (gint64) d;
      if (peek (ps, ','))
        {
          ps->pos++;
          continue;
        }
      return expect (ps, ']', "',' or ']' in the shape");
    }
}

/* "data_offsets": [begin, end] */
static gboolean
parse_offsets (Parser *ps, TensorInfo *ti)
{
  if (!expect (ps, '[', "'[' to start the data offsets"))
    return FALSE;
  if (peek (ps, ']'))
    return fail (ps, "tensor '%s': the data offsets must be two numbers [begin, end]", ti->name);
  if (!parse_count (ps, ti->name, "data offsets", &ti->begin))
    return FALSE;
  if (!peek (ps, ','))
    return fail (ps, "tensor '%s': the data offsets must be two numbers [begin, end]", ti->name);
  ps->pos++;
  if (!parse_count (ps, ti->name, "data offsets", &ti->end))
    return FALSE;
  if (peek (ps, ','))
    return fail (ps, "tensor '%s': the data offsets must be two numbers [begin, end]", ti->name);
  return expect (ps, ']', "']' after the data offsets");
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e], unknown...} */
static gboolean
parse_tensor (Parser *ps, TensorInfo *ti)
{
  gboolean has_shape = FALSE, has_offsets = FALSE;

  if (!peek (ps, '{'))
    {
      if (ps->pos >= ps->len)
        return fail_json (ps, "'{'");
      return fail (ps, "the header entry for tensor '%s' is not a JSON object", ti->name);
    }
  ps->pos++;
  if (!peek (ps, '}'))
    for (;;)
      {
        g_autofree char *key = parse_string (ps);
        if (key == NULL || !expect (ps, ':', "':'"))
          return FALSE;
        if (strcmp (key, "dtype") == 0)
          {
            if (ti->dtype != NULL)
              return fail (ps, "tensor '%s' has two data types", ti->name);
            if (!peek (ps, '"'))
              return fail (ps, "tensor '%s': the data type must be text such as \"F32\"", ti->name);
            if (!(ti->dtype = parse_string (ps)))
              return FALSE;
          }
        else if (strcmp (key, "shape") == 0)
          {
            if (has_shape)
              return fail (ps, "tensor '%s' has two shapes", ti->name);
            has_shape = TRUE;
            if (!peek (ps, '['))
              return fail (ps, "tensor '%s': the shape must be a list of sizes", ti->name);
            if (!parse_shape (ps, ti))
              return FALSE;
          }
        else if (strcmp (key, "data_offsets") == 0)
          {
            if (has_offsets)
              return fail (ps, "tensor '%s' has two sets of data offsets", ti->name);
            has_offsets = TRUE;
            if (!peek (ps, '['))
              return fail (ps, "tensor '%s': the data offsets must be two numbers [begin, end]", ti->name);
            if (!parse_offsets (ps, ti))
              return FALSE;
          }
        else if (!skip_value (ps, 1))
          return FALSE;

        if (peek (ps, ','))
          {
            ps->pos++;
            continue;
          }
        if (!expect (ps, '}', "',' or '}'"))
          return FALSE;
        break;
      }
  else
    ps->pos++;

  if (ti->dtype == NULL)
    return fail (ps, "tensor '%s' has no data type (\"dtype\")", ti->name);
  if (!has_shape)
    return fail (ps, "tensor '%s' has no shape", ti->name);
  if (!has_offsets)
    return fail (ps, "tensor '%s' has no data offsets (\"data_offsets\")", ti->name);
  return TRUE;
}

/* "__metadata__": {"key": "value", ...} or null */
static gboolean
parse_metadata (Parser *ps)
{
  skip_ws (ps);
  if (ps->len - ps->pos >= 4 && memcmp (ps->text + ps->pos, "null", 4) == 0)
    {
      ps->pos += 4;
      return TRUE;
    }
  if (!peek (ps, '{'))
    {
      if (ps->pos >= ps->len)
        return fail_json (ps, "'{'");
      return fail (ps, "the metadata (\"__metadata__\") is not a JSON object");
    }
  ps->pos++;
  if (peek (ps, '}'))
    {
      ps->pos++;
      return TRUE;
    }
  for (;;)
    {
      g_autofree char *key = parse_string (ps);
      if (key == NULL || !expect (ps, ':', "':'"))
        return FALSE;
      if (!peek (ps, '"'))
        return fail (ps, "the metadata value for '%s' is not text (metadata values must be strings)", key);
      char *value = parse_string (ps);
      if (value == NULL)
        return FALSE;
      if (g_hash_table_contains (ps->metadata, key))
        {
          g_free (value);
          return fail (ps, "the metadata key '%s' appears twice", key);
        }
      g_hash_table_insert (ps->metadata, g_steal_pointer (&key), value);
      if (peek (ps, ','))
        {
          ps->pos++;
          continue;
        }
      return expect (ps, '}', "',' or '}'");
    }
}

static gboolean
parse_header (Parser *ps)
{
  if (!peek (ps, '{'))
    {
      if (ps->pos >= ps->len)
        return fail (ps, "the header is empty");
      return fail (ps, "the header is not a JSON object (it should start with '{')");
    }
  ps->pos++;
  if (peek (ps, '}'))
    ps->pos++;
  else
    for (;;)
      {
        g_autofree char *key = parse_string (ps);
        if (key == NULL || !expect (ps, ':', "':'"))
          return FALSE;
        if (strcmp (key, "__metadata__") == 0)
          {
            if (ps->has_metadata)
              return fail (ps, "the header has two metadata sections");
            ps->has_metadata = TRUE;
            if (!parse_metadata (ps))
              return FALSE;
          }
        else
          {
            if (g_hash_table_contains (ps->names, key))
              return fail (ps, "the tensor name '%s' appears twice", key);
            TensorInfo *ti = g_new0 (TensorInfo, 1);
            ti->name = g_steal_pointer (&key);
            g_ptr_array_add (ps->infos, ti);
            g_hash_table_insert (ps->names, ti->name, ti);
            if (!parse_tensor (ps, ti))
              return FALSE;
          }
        if (peek (ps, ','))
          {
            ps->pos++;
            continue;
          }
        if (!expect (ps, '}', "',' or '}'"))
          return FALSE;
        break;
      }
  skip_ws (ps);
  if (ps->pos < ps->len)
    return fail (ps, "the header is not valid JSON (unexpected text after the closing '}' at byte %"
                 G_GSIZE_FORMAT " of the header)", ps->pos + 1);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Reading: data types and validation                                  */

typedef void (*ConvertFunc) (float *dst, const guint8 *src, gsize n);

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);          /* inf, nan */
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13);  /* rebias 15 → 127 */
  else
    {
      f = (float) mant * 0x1p-24f;                      /* zero, subnormal: exact */
      return sign ? -f : f;
    }
  memcpy (&f, &bits, 4);
  return f;
}

#define LE_LOADER(fn, type, bits)                                   \
  static inline type fn (const guint8 *p)                           \
  {                                                                 \
    guint##bits u;                                                  \
    type v;                                                         \
    memcpy (&u, p, sizeof u);                                       \
    u = GUINT##bits##_FROM_LE (u);                                  \
    memcpy (&v, &u, sizeof v);                                      \
    return v;                                                       \
  }
LE_LOADER (load_u16, guint16, 16)
LE_LOADER (load_u32, guint32, 32)
LE_LOADER (load_u64, guint64, 64)
LE_LOADER (load_i16, gint16, 16)
LE_LOADER (load_i32, gint32, 32)
LE_LOADER (load_i64, gint64, 64)
#if G_BYTE_ORDER == G_BIG_ENDIAN
LE_LOADER (load_f32, float, 32)
#endif
LE_LOADER (load_f64, double, 64)
#undef LE_LOADER

static void
conv_f32 (float *dst, const guint8 *src, gsize n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, n * sizeof (float));
#else
  for (gsize i = 0; i < n; i++)
    dst[i] = load_f32 (src + 4 * i);
#endif
}

static void
conv_f16 (float *dst, const guint8 *src, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dst[i] = half_to_float (load_u16 (src + 2 * i));
}

static void
conv_bf16 (float *dst, const guint8 *src, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits = (guint32) load_u16 (src + 2 * i) << 16;
      memcpy (dst + i, &bits, 4);
    }
}

#define CONV(fn, expr, size)                                        \
  static void fn (float *dst, const guint8 *src, gsize n)           \
  {                                                                 \
    for (gsize i = 0; i < n; i++)                                   \
      {                                                             \
        const guint8 *p = src + (size) * i;                         \
        dst[i] = (float) (expr);                                    \
      }                                                             \
  }
CONV (conv_f64, load_f64 (p), 8)
CONV (conv_i8, (gint8) p[0], 1)
CONV (conv_i16, load_i16 (p), 2)
CONV (conv_i32, load_i32 (p), 4)
CONV (conv_i64, load_i64 (p), 8)
CONV (conv_u8, p[0], 1)
CONV (conv_u16, load_u16 (p), 2)
CONV (conv_u32, load_u32 (p), 4)
CONV (conv_u64, load_u64 (p), 8)
CONV (conv_bool, p[0] != 0, 1)
#undef CONV

static const struct {
  const char *name;
  guint size;
  ConvertFunc convert;
} dtypes[] = {
  { "F32", 4, conv_f32 },   { "F16", 2, conv_f16 },   { "BF16", 2, conv_bf16 },
  { "F64", 8, conv_f64 },   { "I8", 1, conv_i8 },     { "I16", 2, conv_i16 },
  { "I32", 4, conv_i32 },   { "I64", 8, conv_i64 },   { "U8", 1, conv_u8 },
  { "U16", 2, conv_u16 },   { "U32", 4, conv_u32 },   { "U64", 8, conv_u64 },
  { "BOOL", 1, conv_bool },
};

static char *
shape_to_string (const TensorInfo *ti)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ti->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", ti->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Checks dtype and that the shape fits the offsets, overflow-safe; fills
 * ti->n and ti->dt. */
static gboolean
check_tensor (Parser *ps, TensorInfo *ti)
{
  guint i;
  for (i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (ti->dtype, dtypes[i].name) == 0)
      break;
  if (i == G_N_ELEMENTS (dtypes))
    {
      g_autofree char *shown = token_excerpt (ti->dtype, strlen (ti->dtype));
      return fail (ps, "tensor '%s' has data type '%s', which Weft cannot read "
                   "(it reads F32, F16, BF16, F64 and the integer types)", ti->name, shown);
    }
  ti->dt = i;

  if (ti->end < ti->begin)
    return fail (ps, "tensor '%s' has data offsets that end before they begin ([%" G_GUINT64_FORMAT
                 ", %" G_GUINT64_FORMAT "])", ti->name, ti->begin, ti->end);

  /* Element count: 0 if any size is 0; otherwise refuse as soon as the
   * byte count would pass 2^63. */
  guint64 count = 1, limit = (guint64) G_MAXINT64 / dtypes[i].size;
  gboolean empty = FALSE;
  for (int d = 0; d < ti->ndim; d++)
    if (ti->shape[d] == 0)
      empty = TRUE;
  if (empty)
    count = 0;
  else
    for (int d = 0; d < ti->ndim; d++)
      {
        guint64 s = (guint64) ti->shape[d];
        if (count > limit / s)
          {
            g_autofree char *shape = shape_to_string (ti);
            return fail (ps, "tensor '%s' has the absurd shape %s (more bytes than any file can hold)",
                         ti->name, shape);
          }
        count *= s;
      }
  guint64 bytes = count * dtypes[i].size;
  if (bytes != ti->end - ti->begin)
    {
      g_autofree char *shape = shape_to_string (ti);
      return fail (ps, "tensor '%s': shape %s of %s needs %" G_GUINT64_FORMAT
                   " bytes but the offsets span %" G_GUINT64_FORMAT,
                   ti->name, shape, dtypes[i].name, bytes, ti->end - ti->begin);
    }
  if (count > G_MAXSIZE / sizeof (float))
    return fail (ps, "tensor '%s' is too large for this computer", ti->name);
  ti->n = (gsize) count;
  return TRUE;
}

static int
cmp_info_offset (gconstpointer a, gconstpointer b)
{
  const TensorInfo *x = *(TensorInfo *const *) a;
  const TensorInfo *y = *(TensorInfo *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* Tensors sorted by offset must not share bytes and must lie inside the
 * data. A layout that is back to back from 0 but runs past the end is a
 * cut-off file, reported as such; anything else is a bad offset. */
static gboolean
check_layout (Parser *ps, gsize data_len)
{
  GPtrArray *infos = ps->infos;
  const TensorInfo *prev = NULL;
  guint64 max_end = 0;
  gboolean contiguous = TRUE;

  g_ptr_array_sort (infos, cmp_info_offset);
  for (guint i = 0; i < infos->len; i++)
    {
      const TensorInfo *ti = infos->pdata[i];
      if (ti->begin == ti->end)
        continue;    /* empty: shares no bytes with anyone */
      if (prev != NULL && ti->begin < prev->end)
        return fail (ps, "tensors '%s' and '%s' overlap in the data", prev->name, ti->name);
      if (ti->begin != (prev ? prev->end : 0))
        contiguous = FALSE;
      prev = ti;
      max_end = MAX (max_end, ti->end);
    }

  if (max_end > data_len && contiguous)
    return fail (ps, "the file is truncated (header says %" G_GUINT64_FORMAT
                 " bytes of data, only %" G_GSIZE_FORMAT " present)", max_end, data_len);
  for (guint i = 0; i < infos->len; i++)
    {
      const TensorInfo *ti = infos->pdata[i];
      if (ti->end > data_len)
        return fail (ps, "tensor '%s' has offsets outside the data ([%" G_GUINT64_FORMAT ", %"
                     G_GUINT64_FORMAT "], but the data is %" G_GSIZE_FORMAT " bytes)",
                     ti->name, ti->begin, ti->end, data_len);
    }
  return TRUE;
}

WeftSafetensors *
weft_safetensors_load_from_data (const guint8 *data,
                                 gsize         len,
                                 const char   *display_name,
                                 GError      **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (display_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GError *local = NULL;
  Parser ps = {
    .file = display_name,
    .error = &local,
    .metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
    .infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_info_free),
    .names = g_hash_table_new (g_str_hash, g_str_equal),
  };
  WeftSafetensors *st = NULL;

  if (len < 8)
    {
      fail (&ps, "the file is too short to be a safetensors checkpoint (%" G_GSIZE_FORMAT
            " bytes; the header length alone takes 8)", len);
      goto out;
    }

  guint64 n = load_u64 (data);
  gsize rest = len - 8;
  if (n > rest)
    {
      g_autofree char *claimed = g_format_size (n);
      g_autofree char *have = g_format_size (len);
      fail (&ps, "the header length %s is larger than the file (%s): the file is truncated "
            "or not a safetensors checkpoint", claimed, have);
      goto out;
    }
  if (n > WEFT_SAFETENSORS_MAX_HEADER)
    {
      g_autofree char *claimed = g_format_size (n);
      fail (&ps, "the header is %s, more than the 100 MB a checkpoint header may have", claimed);
      goto out;
    }

  ps.text = (const char *) data + 8;
  ps.len = (gsize) n;
  if (!g_utf8_validate_len (ps.text, ps.len, NULL))
    {
      fail (&ps, "the header is not valid UTF-8 text (is this a safetensors checkpoint?)");
      goto out;
    }
  if (!parse_header (&ps))
    goto out;

  const guint8 *body = data + 8 + n;
  gsize body_len = rest - (gsize) n;

  /* Validate everything before allocating anything large. */
  for (guint i = 0; i < ps.infos->len; i++)
    if (!check_tensor (&ps, ps.infos->pdata[i]))
      goto out;
  if (!check_layout (&ps, body_len))
    goto out;

  st = weft_safetensors_new ();
  for (guint i = 0; i < ps.infos->len; i++)
    {
      const TensorInfo *ti = ps.infos->pdata[i];
      float *values = NULL;

      if (ti->n > 0)
        {
          values = g_try_new (float, ti->n);
          if (values == NULL)
            {
              g_autofree char *size = g_format_size ((guint64) ti->n * sizeof (float));
              fail (&ps, "there is not enough memory to load tensor '%s' (%s)", ti->name, size);
              g_clear_pointer (&st, weft_safetensors_free);
              goto out;
            }
          dtypes[ti->dt].convert (values, body + ti->begin, ti->n);
        }
      WeftSafeTensor *t = g_new0 (WeftSafeTensor, 1);
      t->name = g_strdup (ti->name);
      t->ndim = ti->ndim;
      memcpy (t->shape, ti->shape, sizeof t->shape);
      t->n = ti->n;
      t->data = values;
      weft_safetensors_take (st, t);
    }
  g_hash_table_destroy (st->metadata);
  st->metadata = g_steal_pointer (&ps.metadata);

out:
  if (local != NULL)
    g_propagate_error (error, local);
  if (ps.metadata)
    g_hash_table_destroy (ps.metadata);
  g_hash_table_destroy (ps.names);
  g_ptr_array_unref (ps.infos);
  return st;
}

WeftSafetensors *
weft_safetensors_load (const char *path,
                       GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *display = g_filename_display_name (path);
  struct stat sb;

  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the checkpoint could not be opened (%s)",
                   display, g_strerror (e));
      return NULL;
    }
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      close (fd);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: is not a regular file", display);
      return NULL;
    }

  /* Read, not mapped: a mapped file that someone truncates while we read
   * it kills the process with SIGBUS, and the core must never crash on a
   * file. The bytes are freed as soon as they are converted. */
  gsize size = (gsize) sb.st_size, len = 0;
  g_autofree guint8 *contents = (guint64) sb.st_size <= G_MAXSIZE ? g_try_malloc (MAX (size, 1)) : NULL;
  if (contents == NULL)
    {
      close (fd);
      g_autofree char *shown = g_format_size (size);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: there is not enough memory to read "
                   "the checkpoint (%s)", display, shown);
      return NULL;
    }
  while (len < size)
    {
      ssize_t r = read (fd, contents + len, size - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          close (fd);
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: the checkpoint could not be read (%s)",
                       display, g_strerror (e));
          return NULL;
        }
      if (r == 0)
        break;   /* shrank since fstat: parse what is there */
      len += (gsize) r;
    }
  close (fd);

  return weft_safetensors_load_from_data (contents, len, display, error);
}
