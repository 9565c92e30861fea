/* weft-dataset.c — a dataset folder (manifest or class folders) read into
 * samples, with every problem kept as an issue naming its row or file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/weft-csv.h"
#include "data/weft-dataset.h"
#include "data/weft-image.h"
#include "weft-error.h"

/* Featurisation workers append decode failures while the main thread may
 * be reading; one lock for all datasets is plenty at that rate. */
G_LOCK_DEFINE_STATIC (issues);

/* Bytes read to guess what a file without a known extension holds. */
#define SNIFF_BYTES 4096

void
weft_dataset_limits_init (WeftDatasetLimits *l)
{
  g_return_if_fail (l != NULL);
  l->max_image_pixels = 40000000;
  l->max_audio_seconds = 30.0;
  l->max_text_bytes = 64 * 1024;
  l->probe_images = TRUE;
}

static void
issue_free (WeftIssue *issue)
{
  g_free (issue->file);
  g_free (issue->message);
  g_free (issue);
}

static void
sample_free (WeftSample *s)
{
  g_free (s->id);
  g_free (s->image);
  g_free (s->audio);
  g_free (s->text);
  g_free (s->label);
  g_free (s);
}

void
weft_dataset_free (WeftDataset *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->root);
  g_free (ds->manifest);
  g_clear_pointer (&ds->samples, g_ptr_array_unref);
  g_clear_pointer (&ds->issues, g_ptr_array_unref);
  g_strfreev (ds->labels);
  g_clear_pointer (&ds->dir_cache, g_hash_table_unref);
  g_free (ds);
}

static WeftIssue * G_GNUC_PRINTF (5, 0)
add_issue_valist (WeftDataset *ds, int row, const char *file, gboolean skipped,
                  const char *format, va_list ap)
{
  WeftIssue *issue = g_new0 (WeftIssue, 1);
  issue->row = row;
  issue->file = g_strdup (file);
  issue->skipped = skipped;
  issue->message = g_strdup_vprintf (format, ap);
  G_LOCK (issues);
  g_ptr_array_add (ds->issues, issue);
  G_UNLOCK (issues);
  return issue;
}

void
weft_dataset_add_issue (WeftDataset *ds, int row, const char *file, gboolean skipped,
                        const char *format, ...)
{
  g_return_if_fail (ds != NULL && format != NULL);
  va_list ap;
  va_start (ap, format);
  add_issue_valist (ds, row, file, skipped, format, ap);
  va_end (ap);
}

char *
weft_issue_to_string (const WeftIssue *issue)
{
  g_return_val_if_fail (issue != NULL, NULL);
  const char *msg = issue->message ? issue->message : "";
  if (issue->row > 0)
    {
      /* Some messages name their row themselves ("row 7 has 5 cells, the
       * header has 4"); do not say it twice. */
      g_autofree char *own = g_strdup_printf ("row %d ", issue->row);
      if (g_str_has_prefix (msg, own))
        return g_strdup (msg);
      return g_strdup_printf ("row %d: %s", issue->row, msg);
    }
  if (issue->file != NULL && strstr (msg, issue->file) == NULL)
    return g_strdup_printf ("%s: %s", issue->file, msg);
  return g_strdup (msg);
}

int
weft_dataset_label_index (const WeftDataset *ds, const char *label)
{
  g_return_val_if_fail (ds != NULL, -1);
  if (ds->labels == NULL || label == NULL)
    return -1;
  for (int i = 0; ds->labels[i] != NULL; i++)
    if (g_str_equal (ds->labels[i], label))
      return i;
  return -1;
}

/* ---- paths ---- */

static gboolean
is_inside (const char *root, const char *path)
{
  gsize n = strlen (root);
  if (n == 1 && root[0] == '/')
    return path[0] == '/';
  return strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Whether the path's '..' components climb above its first component,
 * before any file system lookup. */
static gboolean
climbs_out (const char *relative)
{
  int depth = 0;
  for (const char *p = relative; *p != '\0';)
    {
      gsize n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (--depth < 0)
            return TRUE;
        }
      else if (n > 0 && !(n == 1 && p[0] == '.'))
        depth++;
      p += n;
      if (*p == '/')
        p++;
    }
  return FALSE;
}

/* While a manifest is read, each folder that many rows name is listed
 * once: a name found in the listing as a regular file needs no lstat of its
 * own. For the 70,000 pictures of one folder that replaces 70,000 path
 * walks by one readdir, which is most of the time of reopening a large
 * set. A listing is only a snapshot taken during weft_dataset_open; the
 * public resolver never uses one. */
typedef struct {
  guint lookups;             /* fast-path lookups in this folder so far */
  gboolean failed;           /* could not be listed: lstat each file */
  GHashTable *types;         /* name -> GUINT_TO_POINTER (d_type + 1) */
} FolderListing;

/* Folders named by fewer rows than this are not worth a listing (a huge
 * folder of which a manifest uses three files stays unlisted). */
#define LIST_AFTER_LOOKUPS 32

static void
folder_listing_free (FolderListing *fl)
{
  g_clear_pointer (&fl->types, g_hash_table_unref);
  g_free (fl);
}

static void
folder_listing_fill (FolderListing *fl, const char *folder)
{
  /* Listing needs read permission, lstat needs search permission: a
   * folder without the latter goes the lstat way to get the same report. */
  DIR *d = access (folder, X_OK) == 0 ? opendir (folder) : NULL;
  if (d == NULL)
    {
      fl->failed = TRUE;
      return;
    }
  fl->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    g_hash_table_insert (fl->types, g_strdup (e->d_name), GUINT_TO_POINTER ((guint) e->d_type + 1));
  closedir (d);
}

/* What the listing of folder (cached under key) says of base: 1 a regular file, 0 missing,
 * -1 ask lstat (no listing, a link, a folder, a file system that gives no
 * types). */
static int
folder_listing_lookup (GHashTable *listings, const char *key, const char *folder, const char *base)
{
  FolderListing *fl = g_hash_table_lookup (listings, key);
  if (fl == NULL)
    {
      fl = g_new0 (FolderListing, 1);
      g_hash_table_insert (listings, g_strdup (key), fl);
    }
  if (fl->failed)
    return -1;
  if (fl->types == NULL)
    {
      if (++fl->lookups < LIST_AFTER_LOOKUPS)
        return -1;
      folder_listing_fill (fl, folder);
      if (fl->failed)
        return -1;
    }
  gpointer type;
  if (!g_hash_table_lookup_extended (fl->types, base, NULL, &type))
    return 0;
  return GPOINTER_TO_UINT (type) - 1 == DT_REG ? 1 : -1;
}

/* The common case, fast: canonicalise each distinct folder once (a
 * 70,000-row manifest names a handful of folders) and only lstat the file
 * (or find it in the folder's listing when listings is not NULL). One
 * allocation per file when all goes well: this runs for every row.
 * Links, odd names and folders go the slow, fully checked way (NULL, no
 * reason); *missing says the file is simply not there. */
static char *
resolve_fast (const WeftDataset *ds, GHashTable *listings, const char *relative,
              gboolean *missing, gboolean *escapes)
{
  static GMutex lock;
  const char *slash = strrchr (relative, '/');
  const char *base = slash ? slash + 1 : relative;
  gsize dir_len = slash ? (gsize) (slash - relative) : 0;
  char dir_buf[256];
  g_autofree char *dir_heap = NULL;
  char *dir;
  char *canon;
  struct stat st;

  *missing = *escapes = FALSE;
  if (base[0] == '\0' || g_str_equal (base, ".") || g_str_equal (base, "..")
      || strchr (relative, '\\'))
    return NULL;
  /* The folder as written ("images", "audio/train", "" for the root) is
   * the key of the folder caches. */
  dir = dir_len < sizeof dir_buf ? dir_buf : (dir_heap = g_malloc (dir_len + 1));
  memcpy (dir, relative, dir_len);
  dir[dir_len] = '\0';

  g_mutex_lock (&lock);
  if (ds->dir_cache == NULL)
    ((WeftDataset *) ds)->dir_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free);
  canon = g_hash_table_lookup (ds->dir_cache, dir);
  if (canon == NULL)
    {
      g_autofree char *full = g_build_filename (ds->root, dir, NULL);
      if ((canon = realpath (full, NULL)) != NULL)
        g_hash_table_insert (ds->dir_cache, g_strdup (dir), canon);
    }
  g_mutex_unlock (&lock);
  if (canon == NULL)
    return NULL;
  if (!is_inside (ds->root, canon) && !g_str_equal (ds->root, canon))
    {
      *escapes = TRUE;
      return NULL;
    }
  gsize canon_len = strlen (canon);
  char *candidate = canon_len > 0 && canon[canon_len - 1] == '/'
                    ? g_strconcat (canon, base, NULL)
                    : g_strconcat (canon, "/", base, NULL);
  int listed = listings != NULL ? folder_listing_lookup (listings, dir, canon, base) : -1;
  if (listed == 1)
    return candidate;
  if (listed == 0)
    {
      *missing = TRUE;
      g_free (candidate);
      return NULL;
    }
  if (lstat (candidate, &st) != 0)
    {
      *missing = errno == ENOENT;
      g_clear_pointer (&candidate, g_free);
    }
  else if (!S_ISREG (st.st_mode))
    g_clear_pointer (&candidate, g_free);
  return candidate;
}

static char *
resolve_path (const WeftDataset *ds, GHashTable *listings, const char *relative, char **why)
{
  char *reason = NULL;
  char *result = NULL;
  gboolean plain = relative != NULL && relative[0] != '\0' && !g_path_is_absolute (relative)
                   && !climbs_out (relative);
  gboolean missing = FALSE, escapes = FALSE;

  if (plain && (result = resolve_fast (ds, listings, relative, &missing, &escapes)) != NULL)
    {
      if (why != NULL)
        *why = NULL;
      return result;
    }

  /* Something is wrong or unusual: the name goes into a message. */
  g_autofree char *shown = relative ? g_utf8_make_valid (relative, -1) : g_strdup ("");
  if (relative == NULL || relative[0] == '\0')
    reason = g_strdup ("the file name is empty");
  else if (g_path_is_absolute (relative))
    reason = g_strdup_printf ("%s is an absolute path; it was refused "
                              "(paths are relative to the dataset folder)", shown);
  else if (!plain || escapes)
    reason = g_strdup_printf ("%s leaves the dataset folder; it was refused", shown);
  else if (missing)
    reason = g_strdup_printf ("%s is missing", shown);
  else
    {
      g_autofree char *full = g_build_filename (ds->root, relative, NULL);
      char *real = realpath (full, NULL);
      int err = errno;
      if (real != NULL)
        {
          struct stat st;
          if (!is_inside (ds->root, real))
            reason = g_strdup_printf ("%s leaves the dataset folder; it was refused", shown);
          else if (stat (real, &st) != 0)
            reason = g_strdup_printf ("%s could not be opened (%s)", shown, g_strerror (errno));
          else if (S_ISDIR (st.st_mode))
            reason = g_strdup_printf ("%s is a folder, not a file", shown);
          else
            result = g_strdup (real);
          free (real);
        }
      else if (err == ENOENT || err == ENOTDIR)
        {
          /* A missing file under a link that leaves the root is an escape
           * all the same: canonicalise the deepest existing ancestor. */
          g_autofree char *dir = g_path_get_dirname (full);
          char *parent = NULL;
          while ((parent = realpath (dir, NULL)) == NULL && strlen (dir) > strlen (ds->root))
            {
              char *up = g_path_get_dirname (dir);
              g_free (dir);
              dir = up;
            }
          if (parent != NULL && !is_inside (ds->root, parent))
            reason = g_strdup_printf ("%s leaves the dataset folder; it was refused", shown);
          else
            reason = g_strdup_printf ("%s is missing", shown);
          free (parent);
        }
      else
        reason = g_strdup_printf ("%s could not be opened (%s)", shown, g_strerror (err));
    }

  if (why != NULL)
    *why = reason;
  else
    g_free (reason);
  return result;
}

char *
weft_dataset_resolve (const WeftDataset *ds, const char *relative, char **why)
{
  g_return_val_if_fail (ds != NULL && ds->root != NULL, NULL);
  return resolve_path (ds, NULL, relative, why);
}

/* ---- what a file holds ---- */

typedef enum {
  KIND_NONE = -1,
  KIND_IMAGE,
  KIND_AUDIO,
  KIND_TEXT,
} FileKind;

static const char *const kind_names[] = { "image", "sound", "text" };

static const char *const image_extensions[] = {
  "png", "jpg", "jpeg", "gif", "svg", "svgz", "bmp", "webp", "tif", "tiff", NULL
};
static const char *const audio_extensions[] = {
  "wav", "ogg", "oga", "opus", "flac", "mp3", NULL
};

static FileKind
kind_from_extension (const char *name)
{
  const char *base = strrchr (name, '/');
  const char *dot = strrchr (base ? base + 1 : name, '.');
  if (dot == NULL || dot[1] == '\0')
    return KIND_NONE;
  g_autofree char *ext = g_ascii_strdown (dot + 1, -1);
  if (g_strv_contains (image_extensions, ext))
    return KIND_IMAGE;
  if (g_strv_contains (audio_extensions, ext))
    return KIND_AUDIO;
  if (g_str_equal (ext, "txt"))
    return KIND_TEXT;
  return KIND_NONE;
}

/* No extension Weft knows: the shared MIME database judges the name and
 * the first bytes together, so that "notes.md" stays markdown (not a
 * caption) while an image saved as "blob" is still an image. */
static FileKind
kind_from_content (const char *name, const char *path)
{
  guchar buf[SNIFF_BYTES];
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return KIND_NONE;
  gsize n = fread (buf, 1, sizeof buf, f);
  fclose (f);
  if (n == 0)
    return KIND_NONE;
  g_autofree char *base = g_path_get_basename (name);
  g_autofree char *type = g_content_type_guess (base, buf, n, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);
  if (mime == NULL)
    return KIND_NONE;
  if (g_str_has_prefix (mime, "image/"))
    return KIND_IMAGE;
  if (g_str_has_prefix (mime, "audio/") || g_str_equal (mime, "application/ogg")
      || g_str_equal (mime, "video/ogg"))
    return KIND_AUDIO;
  if (g_str_equal (mime, "text/plain"))
    return KIND_TEXT;
  return KIND_NONE;
}

static FileKind
classify (const char *name, const char *path)
{
  FileKind k = kind_from_extension (name);
  return k != KIND_NONE ? k : kind_from_content (name, path);
}

/* ---- reading ---- */

typedef struct {
  WeftDataset *ds;
  GHashTable *ids;           /* explicit id -> first row that used it */
  GHashTable *listings;      /* folder as written -> FolderListing */
  GHashTable *audio_empty;   /* sound path -> whether it is empty: a clip
                                that many rows share is checked once */
} Reader;

static void
reader_clear (Reader *r)
{
  g_clear_pointer (&r->ids, g_hash_table_unref);
  g_clear_pointer (&r->listings, g_hash_table_unref);
  g_clear_pointer (&r->audio_empty, g_hash_table_unref);
}

/* The end of the longest prefix of s (len bytes) that fits in max bytes
 * without splitting a character. */
static gsize
utf8_cut (const char *s, gsize len, gsize max)
{
  if (len <= max)
    return len;
  gsize c = max;
  while (c > 0 && ((guchar) s[c] & 0xC0) == 0x80)
    c--;
  return c;
}

static gboolean
is_blank (const char *s)
{
  for (; *s; s = g_utf8_next_char (s))
    if (!g_unichar_isspace (g_utf8_get_char (s)))
      return FALSE;
  return TRUE;
}

/* A caption from bytes that are valid UTF-8 up to the cut: NULL when
 * blank (a missing modality), else cut to the limit (with an issue) and
 * stripped. total is the size to report. */
static char *
take_text (Reader *r, int row, const char *file, const char *bytes, gsize len, gsize total)
{
  gsize max = r->ds->limits.max_text_bytes;
  gsize keep = max > 0 ? utf8_cut (bytes, len, max) : len;
  g_autofree char *text = g_strndup (bytes, keep);
  if (is_blank (text))
    return NULL;
  if (keep < len)
    {
      if (file != NULL)
        weft_dataset_add_issue (r->ds, row, file, FALSE,
                                "%s holds %" G_GSIZE_FORMAT " bytes of text; only the first %"
                                G_GSIZE_FORMAT " were kept", file, total, keep);
      else
        weft_dataset_add_issue (r->ds, row, NULL, FALSE,
                                "the text is %" G_GSIZE_FORMAT " bytes long; only the first %"
                                G_GSIZE_FORMAT " were kept", total, keep);
    }
  g_strstrip (text);
  return is_blank (text) ? NULL : g_steal_pointer (&text);
}

/* Reads at most max_text_bytes (plus one character's worth, to cut at a
 * boundary) of a caption file. */
static char *
read_text_file (Reader *r, int row, const char *shown, const char *path)
{
  gsize max = r->ds->limits.max_text_bytes;
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s could not be read (%s)",
                              shown, g_strerror (errno));
      return NULL;
    }
  struct stat st;
  gsize total = fstat (fileno (f), &st) == 0 ? (gsize) st.st_size : 0;
  gsize want = max > 0 ? max + 4 : MAX (total, 1);
  g_autofree char *buf = g_malloc (want + 1);
  gsize n = fread (buf, 1, want, f);
  gboolean failed = ferror (f);
  fclose (f);
  if (failed)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s could not be read", shown);
      return NULL;
    }
  total = MAX (total, n);
  const char *start = buf;
  if (n >= 3 && memcmp (buf, "\xEF\xBB\xBF", 3) == 0)
    start += 3, n -= 3;
  /* Only what is kept has to be valid: the cut may fall anywhere. */
  gsize kept = max > 0 ? utf8_cut (start, n, max) : n;
  if (!g_utf8_validate_len (start, kept, NULL))
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s is not valid UTF-8 text", shown);
      return NULL;
    }
  return take_text (r, row, shown, start, n, total);
}

static gboolean
check_image (Reader *r, int row, const char *shown, const char *path)
{
  int w = 0, h = 0;
  g_autoptr(GError) error = NULL;
  if (!weft_image_probe (path, &w, &h, &error))
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s could not be read as an image (%s)",
                              shown, error ? error->message : "unknown format");
      return FALSE;
    }
  gint64 max = r->ds->limits.max_image_pixels;
  if (max > 0 && (gint64) w * h > max)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE,
                              "%s is %dx%d pixels, more than the limit of %" G_GINT64_FORMAT
                              " pixels; it was refused", shown, w, h, max);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  char *image, *audio, *text;
  gboolean blank_text;       /* a caption was given but held nothing */
  guint n_unknown;           /* files of no kind Weft reads */
} Modalities;

static void
modalities_clear (Modalities *m)
{
  g_free (m->image);
  g_free (m->audio);
  g_free (m->text);
}

/* One file of a row: resolved inside the root, its kind checked (forced
 * when the column says it), and stored in its slot. rel is the name as
 * written, shown the same in valid UTF-8. */
static void
take_file (Reader *r, int row, const char *rel, const char *shown, FileKind forced, Modalities *m)
{
  char *why = NULL;
  g_autofree char *path = resolve_path (r->ds, r->listings, rel, &why);
  if (path == NULL)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s", why);
      g_free (why);
      return;
    }
  FileKind kind = forced != KIND_NONE ? forced : classify (rel, path);
  if (kind == KIND_NONE)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE,
                              "%s is not an image, a sound or a text file; it was ignored", shown);
      m->n_unknown++;
      return;
    }
  char **slot = kind == KIND_IMAGE ? &m->image : kind == KIND_AUDIO ? &m->audio : &m->text;
  if (*slot != NULL)
    {
      weft_dataset_add_issue (r->ds, row, shown, FALSE,
                              "%s is a second %s for the same sample; it was ignored",
                              shown, kind_names[kind]);
      return;
    }
  switch (kind)
    {
    case KIND_IMAGE:
      if (!r->ds->limits.probe_images || check_image (r, row, shown, path))
        *slot = g_steal_pointer (&path);
      break;
    case KIND_AUDIO:
      {
        gpointer known;
        gboolean empty;
        if (g_hash_table_lookup_extended (r->audio_empty, path, NULL, &known))
          empty = GPOINTER_TO_INT (known);
        else
          {
            struct stat st;
            empty = stat (path, &st) == 0 && st.st_size == 0;
            g_hash_table_insert (r->audio_empty, g_strdup (path), GINT_TO_POINTER (empty));
          }
        if (empty)
          weft_dataset_add_issue (r->ds, row, shown, FALSE, "%s is empty", shown);
        else
          *slot = g_steal_pointer (&path);
      }
      break;
    case KIND_TEXT:
      *slot = read_text_file (r, row, shown, path);
      if (*slot == NULL)
        m->blank_text = TRUE;
      break;
    case KIND_NONE:
      break;
    }
}

static void
mark_skipped (WeftDataset *ds, guint first_issue)
{
  for (guint i = first_issue; i < ds->issues->len; i++)
    ((WeftIssue *) g_ptr_array_index (ds->issues, i))->skipped = TRUE;
  ds->n_skipped++;
}

/* ---- manifest ---- */

typedef enum {
  ROLE_NONE,
  ROLE_TEXT,
  ROLE_IMAGE_FILE,
  ROLE_AUDIO_FILE,
  ROLE_TEXT_FILE,
  ROLE_ANY_FILE,
  ROLE_ID,
  ROLE_LABEL,
  ROLE_SPLIT,
  N_ROLES
} Role;

static Role
role_of (const char *column)
{
  g_autofree char *copy = g_strstrip (g_strdup (column));
  g_autofree char *name = g_ascii_strdown (copy, -1);
  static const struct { const char *name; Role role; } known[] = {
    { "id", ROLE_ID },
    { "label", ROLE_LABEL },
    { "split", ROLE_SPLIT },
    { "text", ROLE_TEXT },
    { "text_file_name", ROLE_TEXT_FILE },
    { "image_file_name", ROLE_IMAGE_FILE },
    { "audio_file_name", ROLE_AUDIO_FILE },
    /* The demo recipes (and Hugging Face users working around its
     * *_file_name casting) write these. */
    { "text_path", ROLE_TEXT_FILE },
    { "image_path", ROLE_IMAGE_FILE },
    { "audio_path", ROLE_AUDIO_FILE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_str_equal (name, known[i].name))
      return known[i].role;
  if (g_str_equal (name, "file_name") || g_str_has_suffix (name, "_file_name"))
    return ROLE_ANY_FILE;
  return ROLE_NONE;
}

static int
parse_split (const char *value)
{
  g_autofree char *v = g_ascii_strdown (value, -1);
  static const char *const train[] = { "train", "training", NULL };
  static const char *const validation[] = { "validation", "valid", "val", "dev", NULL };
  static const char *const test[] = { "test", "testing", NULL };
  if (g_strv_contains (train, v))
    return WEFT_SPLIT_TRAIN;
  if (g_strv_contains (validation, v))
    return WEFT_SPLIT_VALIDATION;
  if (g_strv_contains (test, v))
    return WEFT_SPLIT_TEST;
  return -1;
}

/* The stripped value of a cell, or NULL when it is absent, empty or bad
 * (bad ones are reported). */
static char *
cell_value (Reader *r, const WeftTable *t, const WeftTableRecord *rec, int column)
{
  const WeftTableCell *cell = weft_table_record_get (rec, column);
  if (cell == NULL || cell->state == WEFT_CELL_ABSENT)
    return NULL;
  if (cell->state == WEFT_CELL_NOT_UTF8)
    {
      weft_dataset_add_issue (r->ds, rec->row, NULL, FALSE, "the %s is not valid UTF-8 text",
                              t->columns[column]);
      return NULL;
    }
  if (cell->state == WEFT_CELL_NOT_SCALAR)
    {
      weft_dataset_add_issue (r->ds, rec->row, NULL, FALSE, "the %s is not a string or a number",
                              t->columns[column]);
      return NULL;
    }
  char *v = g_strstrip (g_strdup (cell->value));
  if (v[0] == '\0')
    g_clear_pointer (&v, g_free);
  return v;
}

static void
read_record (Reader *r, const WeftTable *t, const GArray *by_role[N_ROLES],
             const WeftTableRecord *rec)
{
  WeftDataset *ds = r->ds;
  int row = rec->row;
  guint first_issue = ds->issues->len;
  Modalities m = { 0 };

  /* The text column first: it wins over a caption file. */
  for (guint i = 0; i < by_role[ROLE_TEXT]->len && m.text == NULL; i++)
    {
      int c = g_array_index (by_role[ROLE_TEXT], int, i);
      const WeftTableCell *cell = weft_table_record_get (rec, c);
      if (cell == NULL || cell->state == WEFT_CELL_ABSENT)
        continue;
      if (cell->state != WEFT_CELL_OK)
        {
          g_free (cell_value (r, t, rec, c));  /* reports it */
          continue;
        }
      gsize len = strlen (cell->value);
      m.text = take_text (r, row, NULL, cell->value, len, len);
      if (m.text == NULL)
        m.blank_text = TRUE;
    }
  static const Role file_roles[] = { ROLE_IMAGE_FILE, ROLE_AUDIO_FILE, ROLE_TEXT_FILE, ROLE_ANY_FILE };
  static const FileKind forced[] = { KIND_IMAGE, KIND_AUDIO, KIND_TEXT, KIND_NONE };
  for (guint k = 0; k < G_N_ELEMENTS (file_roles); k++)
    for (guint i = 0; i < by_role[file_roles[k]]->len; i++)
      {
        int c = g_array_index (by_role[file_roles[k]], int, i);
        if (file_roles[k] == ROLE_TEXT_FILE && m.text != NULL)
          continue;
        g_autofree char *rel = cell_value (r, t, rec, c);
        if (rel != NULL)
          take_file (r, row, rel, rel, forced[k], &m);
      }

  if (m.image == NULL && m.audio == NULL && m.text == NULL)
    {
      if (ds->issues->len == first_issue)
        weft_dataset_add_issue (ds, row, NULL, TRUE, m.blank_text
                                ? "row %d has no image or sound and its text is empty"
                                : "row %d has no image, sound or text", row);
      mark_skipped (ds, first_issue);
      modalities_clear (&m);
      return;
    }

  g_autofree char *id = NULL;
  if (by_role[ROLE_ID]->len > 0)
    id = cell_value (r, t, rec, g_array_index (by_role[ROLE_ID], int, 0));
  if (id != NULL)
    {
      gpointer first;
      if (g_hash_table_lookup_extended (r->ids, id, NULL, &first))
        {
          weft_dataset_add_issue (ds, row, NULL, TRUE, "the id %s is already used by row %d",
                                  id, GPOINTER_TO_INT (first));
          mark_skipped (ds, first_issue);
          modalities_clear (&m);
          return;
        }
      g_hash_table_insert (r->ids, g_strdup (id), GINT_TO_POINTER (row));
    }

  WeftSample *s = g_new0 (WeftSample, 1);
  s->row = row;
  s->id = id ? g_steal_pointer (&id) : g_strdup_printf ("row %d", row);
  s->image = m.image;
  s->audio = m.audio;
  s->text = m.text;
  s->split = -1;
  if (by_role[ROLE_LABEL]->len > 0)
    s->label = cell_value (r, t, rec, g_array_index (by_role[ROLE_LABEL], int, 0));
  if (by_role[ROLE_SPLIT]->len > 0)
    {
      g_autofree char *split = cell_value (r, t, rec, g_array_index (by_role[ROLE_SPLIT], int, 0));
      if (split != NULL)
        {
          s->split = parse_split (split);
          if (s->split < 0)
            weft_dataset_add_issue (ds, row, NULL, FALSE,
                                    "the split '%s' is not train, validation or test; "
                                    "the row is kept without a split", split);
        }
    }
  g_ptr_array_add (ds->samples, s);
}

static gboolean
read_manifest (Reader *r, const WeftTable *t, GCancellable *cancellable)
{
  WeftDataset *ds = r->ds;
  GArray *by_role[N_ROLES];
  gboolean ok = TRUE;

  for (int k = 0; k < N_ROLES; k++)
    by_role[k] = g_array_new (FALSE, FALSE, sizeof (int));
  for (int c = 0; c < t->n_columns; c++)
    {
      Role role = role_of (t->columns[c]);
      /* One id, label and split: a second such column is a mistake worth
       * telling, not a silent choice. */
      if ((role == ROLE_ID || role == ROLE_LABEL || role == ROLE_SPLIT) && by_role[role]->len > 0)
        {
          weft_dataset_add_issue (ds, 0, ds->manifest, FALSE,
                                  "%s has more than one %s column; the first is used",
                                  ds->manifest, t->columns[c]);
          continue;
        }
      g_array_append_val (by_role[role], c);
    }

  for (guint i = 0; i < t->problems->len; i++)
    {
      const WeftTableProblem *p = g_ptr_array_index (t->problems, i);
      weft_dataset_add_issue (ds, p->row, p->row == 0 ? ds->manifest : NULL, p->row > 0,
                              "%s", p->message);
      if (p->row > 0)
        ds->n_skipped++;
    }

  guint n_modal = by_role[ROLE_TEXT]->len + by_role[ROLE_TEXT_FILE]->len
                  + by_role[ROLE_IMAGE_FILE]->len + by_role[ROLE_AUDIO_FILE]->len
                  + by_role[ROLE_ANY_FILE]->len;
  if (n_modal == 0 && t->n_columns > 0)
    {
      g_autofree char *names = g_strjoinv (", ", t->columns);
      weft_dataset_add_issue (ds, 0, ds->manifest, FALSE,
                              "%s has no file_name, image_file_name, audio_file_name, text or "
                              "text_file_name column, so no row could be read (its columns: %s)",
                              ds->manifest, names);
      ds->n_skipped += t->records->len;
    }
  else
    for (guint i = 0; i < t->records->len; i++)
      {
        if (g_cancellable_is_cancelled (cancellable))
          {
            ok = FALSE;
            break;
          }
        read_record (r, t, (const GArray **) by_role, g_ptr_array_index (t->records, i));
      }

  for (int k = 0; k < N_ROLES; k++)
    g_array_unref (by_role[k]);
  return ok;
}

/* ---- class folders ---- */

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Sorted names of the visible entries of a folder; NULL if unreadable. */
static GPtrArray *
list_folder (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_strings);
  return names;
}

typedef struct {
  char *stem;
  GPtrArray *files;          /* names inside the label folder, sorted */
} StemGroup;

static void
stem_group_free (StemGroup *g)
{
  g_free (g->stem);
  g_ptr_array_unref (g->files);
  g_free (g);
}

static int
compare_groups (gconstpointer a, gconstpointer b)
{
  const StemGroup *x = *(StemGroup *const *) a, *y = *(StemGroup *const *) b;
  return strcmp (x->stem, y->stem);
}

static gboolean
read_label_folder (Reader *r, const char *label, GCancellable *cancellable)
{
  WeftDataset *ds = r->ds;
  g_autofree char *dir = g_build_filename (ds->root, label, NULL);
  g_autoptr(GPtrArray) names = list_folder (dir);
  if (names == NULL)
    {
      weft_dataset_add_issue (ds, 0, label, FALSE, "the folder %s could not be read", label);
      return TRUE;
    }

  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) stem_group_free);
  g_autoptr(GHashTable) by_stem = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *shown_name = g_filename_display_name (name);
      g_autofree char *shown = g_strdup_printf ("%s/%s", label, shown_name);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          weft_dataset_add_issue (ds, 0, shown, FALSE,
                                  "%s is a folder inside a class folder; it was ignored", shown);
          continue;
        }
      const char *dot = strrchr (name, '.');
      g_autofree char *stem = dot ? g_strndup (name, dot - name) : g_strdup (name);
      StemGroup *g = g_hash_table_lookup (by_stem, stem);
      if (g == NULL)
        {
          g = g_new0 (StemGroup, 1);
          g->stem = g_steal_pointer (&stem);
          g->files = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (groups, g);
          g_hash_table_insert (by_stem, g->stem, g);
        }
      g_ptr_array_add (g->files, g_strdup (name));
    }
  g_ptr_array_sort (groups, compare_groups);

  for (guint i = 0; i < groups->len; i++)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      const StemGroup *g = g_ptr_array_index (groups, i);
      guint first_issue = ds->issues->len;
      Modalities m = { 0 };
      g_autofree char *shown_stem = g_filename_display_name (g->stem);
      g_autofree char *id = g_strdup_printf ("%s/%s", label, shown_stem);
      for (guint j = 0; j < g->files->len; j++)
        {
          const char *name = g_ptr_array_index (g->files, j);
          g_autofree char *rel = g_build_filename (label, name, NULL);
          g_autofree char *shown_name = g_filename_display_name (name);
          g_autofree char *shown = g_strdup_printf ("%s/%s", label, shown_name);
          take_file (r, 0, rel, shown, KIND_NONE, &m);
        }
      if (m.image == NULL && m.audio == NULL && m.text == NULL)
        {
          /* Stray files of unknown kinds alone are not a lost sample. */
          if (!m.blank_text && m.n_unknown == g->files->len)
            continue;
          if (ds->issues->len == first_issue)
            weft_dataset_add_issue (ds, 0, id, TRUE, "%s has no image or sound and its text is empty", id);
          mark_skipped (ds, first_issue);
          continue;
        }
      WeftSample *s = g_new0 (WeftSample, 1);
      s->id = g_steal_pointer (&id);
      s->row = 0;
      s->image = m.image;
      s->audio = m.audio;
      s->text = m.text;
      s->label = g_strdup (label);
      s->split = -1;
      g_ptr_array_add (ds->samples, s);
    }
  return TRUE;
}

static gboolean
read_class_folders (Reader *r, GCancellable *cancellable, GError **error)
{
  WeftDataset *ds = r->ds;
  g_autoptr(GPtrArray) names = list_folder (ds->root);
  if (names == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s could not be read", ds->root);
      return FALSE;
    }
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (ds->root, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;   /* README.md, labels.json... */
      g_autofree char *shown = g_filename_display_name (name);
      /* A class folder that is a link out of the root is refused as a file
       * would be. */
      char *real = realpath (path, NULL);
      gboolean inside = real != NULL && is_inside (ds->root, real);
      free (real);
      if (!inside)
        {
          weft_dataset_add_issue (ds, 0, shown, FALSE,
                                  "the folder %s leaves the dataset folder; it was refused", shown);
          continue;
        }
      if (!g_utf8_validate (name, -1, NULL))
        {
          weft_dataset_add_issue (ds, 0, shown, FALSE,
                                  "the folder name %s is not valid UTF-8 text; it was ignored", shown);
          continue;
        }
      g_ptr_array_add (labels, g_strdup (name));
    }
  if (labels->len == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                   "%s has no metadata.csv, no metadata.jsonl and no class folders "
                   "(LABEL/NAME.png and the like): there is nothing to read", ds->root);
      return FALSE;
    }
  for (guint i = 0; i < labels->len; i++)
    if (!read_label_folder (r, g_ptr_array_index (labels, i), cancellable))
      return FALSE;
  if (ds->samples->len == 0 && ds->issues->len == 0)
    weft_dataset_add_issue (ds, 0, NULL, FALSE, "the class folders hold no image, sound or text file");
  return TRUE;
}

/* ---- open ---- */

static gboolean
is_integer (const char *s)
{
  char *end;
  if (*s == '\0')
    return FALSE;
  errno = 0;
  g_ascii_strtoll (s, &end, 10);
  return *end == '\0' && errno == 0;
}

static int
compare_numbers (gconstpointer a, gconstpointer b)
{
  gint64 x = g_ascii_strtoll (*(char *const *) a, NULL, 10);
  gint64 y = g_ascii_strtoll (*(char *const *) b, NULL, 10);
  return x != y ? (x > y) - (x < y) : compare_strings (a, b);
}

static int
compare_issues (gconstpointer a, gconstpointer b)
{
  const WeftIssue *x = *(WeftIssue *const *) a, *y = *(WeftIssue *const *) b;
  return (x->row > y->row) - (x->row < y->row);
}

static void
finish (WeftDataset *ds)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();
  gboolean numeric = TRUE;
  for (guint i = 0; i < ds->samples->len; i++)
    {
      WeftSample *s = g_ptr_array_index (ds->samples, i);
      ds->has_image |= s->image != NULL;
      ds->has_audio |= s->audio != NULL;
      ds->has_text |= s->text != NULL;
      if (s->label != NULL && g_hash_table_add (seen, s->label))
        {
          g_ptr_array_add (labels, s->label);
          numeric &= is_integer (s->label);
        }
    }
  if (labels->len > 0)
    {
      g_ptr_array_sort (labels, numeric ? compare_numbers : compare_strings);
      ds->labels = g_new0 (char *, labels->len + 1);
      for (guint i = 0; i < labels->len; i++)
        ds->labels[i] = g_strdup (g_ptr_array_index (labels, i));
      /* Class folders always label; in a manifest a row without a label
       * among labelled ones would silently drop out of classification. */
      for (guint i = 0; i < ds->samples->len; i++)
        {
          WeftSample *s = g_ptr_array_index (ds->samples, i);
          if (s->label == NULL)
            weft_dataset_add_issue (ds, s->row, NULL, FALSE,
                                    "the row has no label while other rows have one; "
                                    "it is kept without a label");
        }
    }
  /* g_ptr_array_sort is stable: issues of one row keep their order. */
  g_ptr_array_sort (ds->issues, compare_issues);
}

WeftDataset *
weft_dataset_open (const char *root, const WeftDatasetLimits *limits,
                   GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *shown_root = g_filename_display_name (root);
  char *canonical = realpath (root, NULL);
  if (canonical == NULL)
    {
      int err = errno;
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: %s", shown_root,
                   err == ENOENT ? "no such folder" : g_strerror (err));
      return NULL;
    }
  if (!g_file_test (canonical, G_FILE_TEST_IS_DIR))
    {
      free (canonical);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s is not a folder", shown_root);
      return NULL;
    }

  g_autoptr(WeftDataset) ds = g_new0 (WeftDataset, 1);
  ds->root = g_strdup (canonical);
  free (canonical);
  if (limits != NULL)
    ds->limits = *limits;
  else
    weft_dataset_limits_init (&ds->limits);
  ds->samples = g_ptr_array_new_with_free_func ((GDestroyNotify) sample_free);
  ds->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) issue_free);

  Reader r = {
    ds,
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) folder_listing_free),
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  g_autofree char *csv = g_build_filename (ds->root, "metadata.csv", NULL);
  g_autofree char *jsonl = g_build_filename (ds->root, "metadata.jsonl", NULL);
  /* Present but unreadable (a folder, no permission) is an error, not a
   * reason to look for class folders instead. */
  gboolean has_csv = g_file_test (csv, G_FILE_TEST_EXISTS);
  gboolean has_jsonl = g_file_test (jsonl, G_FILE_TEST_EXISTS);
  gboolean ok;

  if (has_csv || has_jsonl)
    {
      ds->manifest = g_strdup (has_csv ? "metadata.csv" : "metadata.jsonl");
      if (has_csv && has_jsonl)
        weft_dataset_add_issue (ds, 0, "metadata.jsonl", FALSE,
                                "both metadata.csv and metadata.jsonl exist; "
                                "metadata.csv was read and metadata.jsonl ignored");
      g_autofree char *data = NULL;
      gsize length = 0;
      g_autoptr(GError) read_error = NULL;
      if (!g_file_get_contents (has_csv ? csv : jsonl, &data, &length, &read_error))
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s could not be read: %s",
                       ds->manifest, read_error->message);
          reader_clear (&r);
          return NULL;
        }
      /* data outlives table: cleanups run in reverse order. */
      g_autoptr(WeftTable) table = has_csv ? weft_csv_parse_in_place (data, length, ds->manifest)
                                           : weft_jsonl_parse (data, length, ds->manifest);
      ok = read_manifest (&r, table, cancellable);
    }
  else
    {
      g_autoptr(GError) local = NULL;
      ok = read_class_folders (&r, cancellable, &local);
      if (!ok && local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          reader_clear (&r);
          return NULL;
        }
    }
  reader_clear (&r);
  /* ok is FALSE only when the reading stopped for the cancellable. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error) || !ok)
    return NULL;
  finish (ds);
  return g_steal_pointer (&ds);
}
