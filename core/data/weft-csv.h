/* weft-csv.h — the two manifest readers, RFC 4180 CSV and JSON Lines, both
 * turning bytes into one table of UTF-8 cells with 1-based row numbers.
 *
 * Rows are numbered as a person reading the file counts them:
 *  - CSV: the header is row 0 and every later record is the next row, so
 *    a record whose quoted cells span three lines is still one row. Blank
 *    lines are skipped and not counted.
 *  - JSON Lines: the row is the line number (blank lines produce no row
 *    but keep their number, so "row 7" is line 7 in an editor).
 * A record the reader cannot use (a ragged CSV record, a line that is not a
 * JSON object) is left out and described in `problems`; the rest load. A
 * cell that is not valid UTF-8 is kept as WEFT_CELL_NOT_UTF8 so that the
 * caller can name its row and column. The readers never fail: any bytes
 * give a table, perhaps an empty one with a problem.
 *
 * Records, cells and cell values belong to the table and live in a few
 * large blocks of it (a big manifest has close to a million cells): they
 * stay valid until weft_table_free and are never freed one by one.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  WEFT_CELL_ABSENT,          /* JSON Lines: key missing or null */
  WEFT_CELL_OK,              /* value is valid UTF-8 */
  WEFT_CELL_NOT_UTF8,        /* the bytes are not valid UTF-8 (or hold a NUL) */
  WEFT_CELL_NOT_SCALAR,      /* JSON Lines: an object or an array */
} WeftCellState;

typedef struct {
  int column;                /* index into WeftTable.columns */
  WeftCellState state;
  char *value;               /* UTF-8 when state is WEFT_CELL_OK, else NULL;
                                owned by the table */
} WeftTableCell;

typedef struct {
  int row;                   /* 1-based, see above */
  guint n_cells;
  WeftTableCell *cells;      /* (n_cells), by increasing column */
} WeftTableRecord;

typedef struct {
  int row;                   /* 0: the file as a whole */
  char *message;             /* plain words; starts with "row N" when it
                                names its row itself, e.g. "row 7 has 5
                                cells, the header has 4" */
} WeftTableProblem;

typedef struct {
  char **columns;            /* (n_columns) names, valid UTF-8, NULL-terminated */
  int n_columns;
  GPtrArray *records;        /* WeftTableRecord*, by increasing row */
  GPtrArray *problems;       /* WeftTableProblem*, by increasing row; each
                                names a row that is not in records */
  gpointer blocks;           /* private: the memory records and cells live in */
} WeftTable;

/* name is the file name used in messages ("metadata.csv"). Caller frees
 * the table with weft_table_free. */
WeftTable *weft_csv_parse (const char *data, gsize length, const char *name);
/* Like weft_csv_parse, without a copy: the cells are unescaped over data,
 * which must hold a NUL at data[length] (g_file_get_contents puts one
 * there) and outlive the table. */
WeftTable *weft_csv_parse_in_place (char *data, gsize length, const char *name);
WeftTable *weft_jsonl_parse (const char *data, gsize length, const char *name);

/* The cell of a column in a record, or NULL when the record has none. */
const WeftTableCell *weft_table_record_get (const WeftTableRecord *record, int column);

/* Index of the first column with that name (ASCII case and surrounding
 * spaces ignored), -1 if absent. */
int  weft_table_find_column (const WeftTable *table, const char *name);

void weft_table_free (WeftTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftTable, weft_table_free)

G_END_DECLS
