/* weft-csv.c — RFC 4180 CSV and JSON Lines manifests to a table of UTF-8
 * cells; every malformed record becomes a problem naming its row. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "data/weft-csv.h"

/* json-glib's parser recurses once per nesting level, so a line of a
 * million '[' would overflow the stack; manifests never need more than a
 * few levels. */
#define WEFT_JSONL_MAX_DEPTH 64

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* ---- the table's memory ----
 *
 * A 70,000-row manifest has some 840,000 cells; one allocation each made
 * reading it slow (the allocator and a page fault every few cells). The
 * table instead hands out records, cells and values from a chain of large
 * blocks, and frees the chain at once. */

typedef struct TableBlock TableBlock;
struct TableBlock {
  TableBlock *next;
  gsize used, size;
  /* then size bytes, starting at TABLE_BLOCK_HEADER */
};

/* Every piece starts at this alignment; enough for the structs here. */
#define TABLE_ALIGN 16
#define TABLE_BLOCK_HEADER ((sizeof (TableBlock) + TABLE_ALIGN - 1) & ~(gsize) (TABLE_ALIGN - 1))
#define TABLE_BLOCK_MIN (64 * 1024)
#define TABLE_BLOCK_MAX (4 * 1024 * 1024)

static inline char *
block_data (TableBlock *b)
{
  return (char *) b + TABLE_BLOCK_HEADER;
}

/* A new block of at least size bytes. A dedicated one is all for the
 * caller: it counts as full and goes behind the head, which keeps serving
 * small pieces. */
static TableBlock *
table_add_block (WeftTable *t, gsize size, gboolean dedicated)
{
  TableBlock *head = t->blocks;
  gsize grow = head != NULL ? CLAMP (head->size * 2, TABLE_BLOCK_MIN, TABLE_BLOCK_MAX) : TABLE_BLOCK_MIN;
  gsize want = dedicated ? size : MAX (size, grow);
  TableBlock *b = g_malloc (TABLE_BLOCK_HEADER + want);
  b->used = dedicated ? want : 0;
  b->size = want;
  if (dedicated && head != NULL)
    {
      b->next = head->next;
      head->next = b;
    }
  else
    {
      b->next = head;
      t->blocks = b;
    }
  return b;
}

static gpointer
table_alloc (WeftTable *t, gsize size)
{
  TableBlock *b = t->blocks;
  size = (size + TABLE_ALIGN - 1) & ~(gsize) (TABLE_ALIGN - 1);
  if (b == NULL || b->size - b->used < size)
    b = table_add_block (t, size, size > TABLE_BLOCK_MIN / 4);
  char *p = block_data (b) + b->used;
  b->used += size;
  return p;
}

static char *
table_strndup (WeftTable *t, const char *s, gsize len)
{
  char *copy = table_alloc (t, len + 1);
  memcpy (copy, s, len);
  copy[len] = '\0';
  return copy;
}

static WeftTableRecord *
table_new_record (WeftTable *t, int row, guint n_cells)
{
  /* The cells follow their record in the same piece. */
  gsize head = (sizeof (WeftTableRecord) + TABLE_ALIGN - 1) & ~(gsize) (TABLE_ALIGN - 1);
  WeftTableRecord *rec = table_alloc (t, head + n_cells * sizeof (WeftTableCell));
  rec->row = row;
  rec->n_cells = n_cells;
  rec->cells = (WeftTableCell *) ((char *) rec + head);
  g_ptr_array_add (t->records, rec);
  return rec;
}

static void
problem_free (WeftTableProblem *p)
{
  g_free (p->message);
  g_free (p);
}

static WeftTable *
table_new (void)
{
  WeftTable *t = g_new0 (WeftTable, 1);
  t->records = g_ptr_array_new ();
  t->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);
  t->columns = g_new0 (char *, 1);
  return t;
}

void
weft_table_free (WeftTable *t)
{
  if (t == NULL)
    return;
  g_ptr_array_unref (t->records);
  g_ptr_array_unref (t->problems);
  g_strfreev (t->columns);
  for (TableBlock *b = t->blocks, *next; b != NULL; b = next)
    {
      next = b->next;
      g_free (b);
    }
  g_free (t);
}

static void G_GNUC_PRINTF (3, 4)
add_problem (WeftTable *t, int row, const char *format, ...)
{
  WeftTableProblem *p = g_new0 (WeftTableProblem, 1);
  va_list ap;
  va_start (ap, format);
  p->row = row;
  p->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (t->problems, p);
}

const WeftTableCell *
weft_table_record_get (const WeftTableRecord *r, int column)
{
  g_return_val_if_fail (r != NULL, NULL);
  /* CSV records are dense (cell i is column i); JSON Lines ones are sparse
   * but sorted. */
  if (column >= 0 && (guint) column < r->n_cells && r->cells[column].column == column)
    return &r->cells[column];
  guint lo = 0, hi = r->n_cells;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (r->cells[mid].column < column)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < r->n_cells && r->cells[lo].column == column ? &r->cells[lo] : NULL;
}

static char *
normalise_name (const char *name)
{
  g_autofree char *copy = g_strdup (name);
  return g_ascii_strdown (g_strstrip (copy), -1);
}

int
weft_table_find_column (const WeftTable *t, const char *name)
{
  g_return_val_if_fail (t != NULL && name != NULL, -1);
  g_autofree char *want = normalise_name (name);
  for (int i = 0; i < t->n_columns; i++)
    {
      g_autofree char *have = normalise_name (t->columns[i]);
      if (g_str_equal (have, want))
        return i;
    }
  return -1;
}

static char *
valid_name (const char *bytes, gsize len)
{
  char *name = g_utf8_make_valid (bytes, (gssize) len);
  return g_strstrip (name);
}

/* ---- CSV ---- */

typedef enum {
  CSV_RECORD,
  CSV_END,
  CSV_UNTERMINATED,
} CsvResult;

/* A line of nothing but spaces and tabs, ended by a line break or the end
 * of the data: hand-edited files often end with some. */
static gboolean
csv_skip_blank_line (const char **pp, const char *end)
{
  const char *p = *pp;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  if (p < end && *p != '\n' && *p != '\r')
    return FALSE;
  if (p < end && *p == '\r')
    p++;
  if (p < end && *p == '\n')
    p++;
  *pp = p;
  return TRUE;
}

/* The reader unescapes each cell over the bytes it came from and ends it
 * with a NUL, so that the cells need no memory of their own. Writing never
 * overtakes reading: each byte written, the NUL included, stands for at
 * least one byte read (the NUL for the comma or line break after the cell,
 * or for the end of the data, hence the one byte past it). */
typedef struct {
  char *text;                /* the data, overwritten */
  gsize used;                /* bytes of it the kept cells take */
  GArray *spans;             /* (start, length) pairs into text, per cell */
} CsvOut;

/* Reads one record from *pp into out. */
static CsvResult
csv_read_record (const char **pp, const char *end, CsvOut *out)
{
  const char *p = *pp;

  g_array_set_size (out->spans, 0);
  while (p < end && csv_skip_blank_line (&p, end))
    ;
  if (p >= end)
    {
      *pp = p;
      return CSV_END;
    }

  char *dst = out->text + out->used;
  for (;;)
    {
      char *start = dst;
      if (p < end && *p == '"')
        {
          p++;
          for (;;)
            {
              while (p < end && *p != '"' && *p != '\r')
                *dst++ = *p++;
              if (p >= end)
                {
                  *pp = p;
                  return CSV_UNTERMINATED;
                }
              if (*p == '"')
                {
                  if (p + 1 < end && p[1] == '"')
                    {
                      *dst++ = '"';
                      p += 2;
                      continue;
                    }
                  p++;
                  break;
                }
              /* Captions keep their line breaks, as '\n' whatever the
               * file used. */
              if (p + 1 < end && p[1] == '\n')
                {
                  *dst++ = '\n';
                  p += 2;
                  continue;
                }
              *dst++ = *p++;
            }
        }
      /* Unquoted bytes, or stray ones after a closing quote: "a"b reads
       * as ab, as Python's csv module reads it. */
      while (p < end && *p != ',' && *p != '\n' && *p != '\r')
        *dst++ = *p++;
      gsize span[2] = { start - out->text, dst - start };
      g_array_append_vals (out->spans, span, 1);
      /* The NUL may land on the separator: read that first. */
      char sep = p < end ? *p : '\0';
      *dst++ = '\0';
      if (p >= end)
        break;
      p++;
      if (sep == ',')
        continue;
      if (sep == '\r' && p < end && *p == '\n')
        p++;
      break;
    }
  out->used = dst - out->text;
  *pp = p;
  return CSV_RECORD;
}

static WeftTable *
csv_parse (WeftTable *t, char *data, gsize length, const char *name)
{
  const char *p = data, *end = data + length;
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, 2 * sizeof (gsize));
  CsvOut out = { data, 0, spans };

  if (length >= 3 && memcmp (data, utf8_bom, 3) == 0)
    p += 3;

  switch (csv_read_record (&p, end, &out))
    {
    case CSV_END:
      add_problem (t, 0, "%s is empty", name);
      return t;
    case CSV_UNTERMINATED:
      add_problem (t, 0, "the header of %s opens a quoted cell that is never closed", name);
      return t;
    case CSV_RECORD:
      break;
    }
  g_strfreev (t->columns);
  t->n_columns = (int) spans->len;
  t->columns = g_new0 (char *, t->n_columns + 1);
  for (int i = 0; i < t->n_columns; i++)
    {
      const gsize *s = &g_array_index (spans, gsize, 2 * i);
      t->columns[i] = valid_name (out.text + s[0], s[1]);
    }
  out.used = 0;

  for (int row = 1;; row++)
    {
      gsize record_start = out.used;
      CsvResult r = csv_read_record (&p, end, &out);
      if (r == CSV_END)
        break;
      if (r == CSV_UNTERMINATED)
        {
          add_problem (t, row, "row %d opens a quoted cell that is never closed; "
                       "the rest of %s was not read", row, name);
          break;
        }
      if ((int) spans->len != t->n_columns)
        {
          add_problem (t, row, "row %d has %u cell%s, the header has %d",
                       row, spans->len, spans->len == 1 ? "" : "s", t->n_columns);
          out.used = record_start;
          continue;
        }
      WeftTableRecord *rec = table_new_record (t, row, spans->len);
      for (guint i = 0; i < spans->len; i++)
        {
          const gsize *s = &g_array_index (spans, gsize, 2 * i);
          WeftTableCell *c = &rec->cells[i];
          char *bytes = out.text + s[0];
          c->column = (int) i;
          /* A NUL in the bytes fails this too. */
          if (g_utf8_validate_len (bytes, s[1], NULL))
            {
              c->state = WEFT_CELL_OK;
              c->value = bytes;
            }
          else
            {
              c->state = WEFT_CELL_NOT_UTF8;
              c->value = NULL;
            }
        }
    }
  if (t->records->len == 0 && t->problems->len == 0)
    add_problem (t, 0, "%s has a header but no rows", name);
  return t;
}

WeftTable *
weft_csv_parse_in_place (char *data, gsize length, const char *name)
{
  g_return_val_if_fail (data != NULL, NULL);
  return csv_parse (table_new (), data, length, name);
}

WeftTable *
weft_csv_parse (const char *data, gsize length, const char *name)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  WeftTable *t = table_new ();
  /* A copy in the table, for the cells to point into. */
  char *copy = block_data (table_add_block (t, length + 1, TRUE));
  if (length > 0)
    memcpy (copy, data, length);
  copy[length] = '\0';
  return csv_parse (t, copy, length, name);
}

/* ---- JSON Lines ---- */

/* Checks what json-glib does not: nesting depth (its parser recurses) and
 * a second value after the first on the same line, which it accepts. */
static const char *
jsonl_shape_problem (const char *line, gsize len)
{
  int depth = 0;
  gboolean in_string = FALSE, closed = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = line[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (closed && !g_ascii_isspace (c))
        return "holds more than one JSON value";
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > WEFT_JSONL_MAX_DEPTH)
            return "nests objects or lists too deeply";
        }
      else if ((c == '}' || c == ']') && --depth == 0)
        closed = TRUE;
    }
  return NULL;
}

static int
jsonl_column (WeftTable *t, GHashTable *index, GPtrArray *names, const char *key)
{
  g_autofree char *name = valid_name (key, strlen (key));
  gpointer found;
  if (g_hash_table_lookup_extended (index, name, NULL, &found))
    return GPOINTER_TO_INT (found);
  int column = (int) names->len;
  g_ptr_array_add (names, g_strdup (name));
  g_hash_table_insert (index, g_steal_pointer (&name), GINT_TO_POINTER (column));
  return column;
}

typedef struct {
  WeftTable *table;
  GHashTable *index;
  GPtrArray *names;
  GArray *cells;
  gboolean line_was_invalid;
} JsonlLine;

static void jsonl_value (WeftTable *t, WeftTableCell *c, JsonNode *node, gboolean line_was_invalid);

/* Iterating members with their nodes, rather than looking names up again,
 * stays right when a name holds "\u0000" (json-glib cuts it there). */
static void
jsonl_member (JsonObject *o, const char *name, JsonNode *node, gpointer data)
{
  JsonlLine *l = data;
  WeftTableCell c = { 0 };
  if (node == NULL)
    return;
  jsonl_value (l->table, &c, node, l->line_was_invalid);
  if (c.state == WEFT_CELL_ABSENT)
    return;
  c.column = jsonl_column (l->table, l->index, l->names, name);
  g_array_append_val (l->cells, c);
}

static int
cell_cmp (gconstpointer a, gconstpointer b)
{
  const WeftTableCell *x = a, *y = b;
  return (x->column > y->column) - (x->column < y->column);
}

static char *
table_strdup (WeftTable *t, const char *s)
{
  return table_strndup (t, s, strlen (s));
}

static void
jsonl_value (WeftTable *t, WeftTableCell *c, JsonNode *node, gboolean line_was_invalid)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_NULL:
      c->state = WEFT_CELL_ABSENT;
      return;
    case JSON_NODE_OBJECT:
    case JSON_NODE_ARRAY:
      c->state = WEFT_CELL_NOT_SCALAR;
      return;
    case JSON_NODE_VALUE:
      break;
    }
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (node);
      /* Escapes like "\ud800" decode to invalid UTF-8, and bytes that were
       * invalid in the file were replaced by U+FFFD before parsing. */
      if (s == NULL || !g_utf8_validate (s, -1, NULL)
          || (line_was_invalid && strstr (s, "\xEF\xBF\xBD") != NULL))
        c->state = WEFT_CELL_NOT_UTF8;
      else
        {
          c->state = WEFT_CELL_OK;
          c->value = table_strdup (t, s);
        }
    }
  else if (type == G_TYPE_INT64)
    {
      char num[24];
      c->state = WEFT_CELL_OK;
      c->value = table_strndup (t, num, g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT,
                                                    json_node_get_int (node)));
    }
  else if (type == G_TYPE_DOUBLE)
    {
      char num[G_ASCII_DTOSTR_BUF_SIZE];
      c->state = WEFT_CELL_OK;
      c->value = table_strdup (t, g_ascii_formatd (num, sizeof num, "%.15g", json_node_get_double (node)));
    }
  else if (type == G_TYPE_BOOLEAN)
    {
      c->state = WEFT_CELL_OK;
      c->value = table_strdup (t, json_node_get_boolean (node) ? "true" : "false");
    }
  else
    c->state = WEFT_CELL_NOT_SCALAR;
}

WeftTable *
weft_jsonl_parse (const char *data, gsize length, const char *name)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  WeftTable *t = table_new ();
  const char *p = data, *end = data + length;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) cells = g_array_new (FALSE, TRUE, sizeof (WeftTableCell));
  gboolean any_line = FALSE;

  if (length >= 3 && memcmp (data, utf8_bom, 3) == 0)
    p += 3;

  for (int row = 1; p < end; row++)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line = p, *line_end = nl ? nl : end;
      p = nl ? nl + 1 : end;
      gsize len = line_end - line;
      while (len > 0 && g_ascii_isspace (line[len - 1]))
        len--;
      while (len > 0 && g_ascii_isspace (*line))
        line++, len--;
      if (len == 0)
        continue;
      any_line = TRUE;

      const char *shape = jsonl_shape_problem (line, len);
      if (shape != NULL)
        {
          add_problem (t, row, "row %d %s", row, shape);
          continue;
        }
      gboolean invalid = !g_utf8_validate_len (line, len, NULL);
      g_autofree char *text = invalid ? g_utf8_make_valid (line, (gssize) len) : g_strndup (line, len);
      g_autoptr(GError) error = NULL;
      /* A line that starts with a NUL byte parses as nothing at all: no
       * error and no root. */
      JsonNode *root = json_parser_load_from_data (parser, text, -1, &error)
                       ? json_parser_get_root (parser) : NULL;
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          add_problem (t, row, "row %d is not a JSON object (one {...} per line)", row);
          continue;
        }

      JsonObject *o = json_node_get_object (root);
      JsonlLine l = { t, index, names, cells, invalid };
      g_array_set_size (cells, 0);
      json_object_foreach_member (o, jsonl_member, &l);
      g_array_sort (cells, cell_cmp);
      WeftTableRecord *rec = table_new_record (t, row, cells->len);
      if (cells->len > 0)
        memcpy (rec->cells, cells->data, cells->len * sizeof (WeftTableCell));
    }

  g_strfreev (t->columns);
  t->n_columns = (int) names->len;
  g_ptr_array_add (names, NULL);
  t->columns = (char **) g_ptr_array_steal (names, NULL);
  if (!any_line)
    add_problem (t, 0, "%s is empty", name);
  return t;
}
