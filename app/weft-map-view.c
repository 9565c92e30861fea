/* weft-map-view.c — WeftMapView: the embedding map. The dense layer (every
 * point, stamped from pre-drawn marker sprites straight into a pixel buffer)
 * is cached as a texture; pointer motion only redraws the small overlay. */

#include "weft-config.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <glib/gi18n.h>

#include "weft-map-view.h"

#define WEFT_MAP_CELL        8      /* hit-test grid cell, logical pixels */
#define WEFT_MAP_PICK_RADIUS 8.0    /* how close the pointer must come */
#define WEFT_MAP_FADED_ALPHA 0.16
#define WEFT_MAP_ALPHA       0.85
#define WEFT_MAP_ALL_LINES   200    /* join every sample when no more groups */
#define WEFT_MAP_N_SPRITES   ((WEFT_MAP_N_COLOURS + 1) * WEFT_MAP_N_MARKERS * 2)

/* A marker pre-drawn at one size: premultiplied ARGB32, centred. */
typedef struct
{
  int size;        /* width = height, device pixels */
  int stride;      /* size + 3: a 4-pixel step may run past a row's end */
  guint32 *px;     /* (size, stride), zero beyond each row's end */
  guint8 *first;   /* (size) first and last non-empty pixel of each row: */
  guint8 *end;     /* (size) stamping skips the transparent corners */
} WeftMapSprite;

struct _WeftMapView
{
  GtkWidget      parent_instance;

  /* Owned: the data */
  float         *xy;          /* (n, 2) */
  guint8        *colour;      /* (n) */
  guint8        *marker;      /* (n) */
  int           *group;       /* (n) or NULL */
  int            n_groups;    /* max group + 1 */
  guint8        *selected;    /* (n) or NULL */
  int            n_selected;
  int           *highlight;
  int            n_highlight;
  GStrv          legend;
  int            n;
  double         min_x, max_x, min_y, max_y;

  /* The view: the data point at the centre and pixels per data unit */
  double         cx, cy, ppu;
  gboolean       follow;      /* refit whenever the data moves */
  int            hover;
  int            active;
  gboolean       lasso_mode;

  /* Pointer state */
  double         pointer_x, pointer_y;
  gboolean       dragging;
  gboolean       lassoing;
  double         drag_x0, drag_y0, drag_dx, drag_dy;
  GArray        *lasso;       /* graphene_point_t, logical */

  /* Owned: the cache, valid for (layer_w, layer_h, layer_scale) */
  GdkTexture    *texture;
  cairo_surface_t *layer;
  GBytes        *layer_bytes;
  int            layer_w, layer_h, layer_scale;
  float         *sx, *sy;     /* (n) logical pixel positions, NaN: off */
  int           *cell_start;  /* (n_cells + 1) */
  int           *cell_items;  /* (n), the first (n in view) used */
  guint64       *scratch;     /* (n) reused per redraw: the grid's cells,
                               * then the list of points to stamp */
  int            grid_w, grid_h;
  WeftMapSprite  sprites[WEFT_MAP_N_SPRITES];
  double         sprite_radius;  /* device pixels the sprites were drawn at */
};

G_DEFINE_FINAL_TYPE (WeftMapView, weft_map_view, GTK_TYPE_WIDGET)

enum {
  HOVER_CHANGED,
  POINT_ACTIVATED,
  SELECTION_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A categorical palette (after Tableau 10 plus two) that keeps its contrast
 * on both the light and the dark window background. */
static const guint32 weft_map_palette[WEFT_MAP_N_COLOURS] = {
  0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f, 0xedc948,
  0xb07aa1, 0xff9da7, 0x9c755f, 0x8cd17d, 0x499894, 0xd37295,
};
static const guint32 weft_map_grey = 0x9a9a9a;

void
weft_map_view_get_colour (guint8   index,
                          GdkRGBA *rgba)
{
  guint32 c = index < WEFT_MAP_N_COLOURS ? weft_map_palette[index] : weft_map_grey;

  rgba->red = ((c >> 16) & 0xff) / 255.0f;
  rgba->green = ((c >> 8) & 0xff) / 255.0f;
  rgba->blue = (c & 0xff) / 255.0f;
  rgba->alpha = 1.0f;
}

/* ---- View geometry ---- */

static double
weft_map_view_marker_radius (WeftMapView *self)
{
  /* Fewer points, bigger markers: a dense cloud needs small ones to show
   * its structure at all. */
  if (self->n <= 3000)
    return 5.0;
  if (self->n <= 30000)
    return 3.5;
  if (self->n <= 300000)
    return 2.2;
  return 1.3;
}

static void
weft_map_view_fit (WeftMapView *self,
                   int          width,
                   int          height)
{
  double dx = self->max_x - self->min_x;
  double dy = self->max_y - self->min_y;
  double margin = 24.0;
  double legend = self->legend != NULL && width > 520 ? 170.0 : 0.0;

  if (width <= 0 || height <= 0)
    return;
  if (!(dx > 0))
    dx = 1.0;
  if (!(dy > 0))
    dy = 1.0;

  /* The legend sits top right: fit the points beside it. */
  self->ppu = MIN ((width - 2 * margin - legend) / dx, (height - 2 * margin) / dy);
  self->cx = 0.5 * (self->min_x + self->max_x) + 0.5 * legend / MAX (self->ppu, 1e-9);
  self->cy = 0.5 * (self->min_y + self->max_y);
  if (!(self->ppu > 0))
    self->ppu = 1.0;
  if (!isfinite (self->cx))
    self->cx = 0.0;
  if (!isfinite (self->cy))
    self->cy = 0.0;
}

static inline void
weft_map_view_to_screen (WeftMapView *self,
                         int          width,
                         int          height,
                         double       x,
                         double       y,
                         double      *px,
                         double      *py)
{
  *px = (x - self->cx) * self->ppu + 0.5 * width + self->drag_dx;
  *py = 0.5 * height - (y - self->cy) * self->ppu + self->drag_dy;
}

void
weft_map_view_invalidate (WeftMapView *self)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_object (&self->texture);
  g_clear_pointer (&self->layer, cairo_surface_destroy);
  g_clear_pointer (&self->layer_bytes, g_bytes_unref);
  self->layer_w = self->layer_h = self->layer_scale = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Sprites ---- */

static void
weft_map_sprite_path (cairo_t      *cr,
                      WeftMapMarker marker,
                      double        c,
                      double        r)
{
  switch (marker)
    {
    case WEFT_MAP_MARKER_SQUARE:
      cairo_rectangle (cr, c - 0.85 * r, c - 0.85 * r, 1.7 * r, 1.7 * r);
      break;
    case WEFT_MAP_MARKER_TRIANGLE:
      cairo_move_to (cr, c, c - 1.15 * r);
      cairo_line_to (cr, c + 1.05 * r, c + 0.8 * r);
      cairo_line_to (cr, c - 1.05 * r, c + 0.8 * r);
      cairo_close_path (cr);
      break;
    case WEFT_MAP_MARKER_DIAMOND:
      cairo_move_to (cr, c, c - 1.2 * r);
      cairo_line_to (cr, c + 1.2 * r, c);
      cairo_line_to (cr, c, c + 1.2 * r);
      cairo_line_to (cr, c - 1.2 * r, c);
      cairo_close_path (cr);
      break;
    case WEFT_MAP_MARKER_CIRCLE:
    case WEFT_MAP_N_MARKERS:
    default:
      cairo_arc (cr, c, c, r, 0, 2 * G_PI);
      break;
    }
}

static void
weft_map_view_clear_sprites (WeftMapView *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->sprites); i++)
    {
      g_clear_pointer (&self->sprites[i].px, g_free);
      g_clear_pointer (&self->sprites[i].first, g_free);
      g_clear_pointer (&self->sprites[i].end, g_free);
    }
  self->sprite_radius = 0;
}

static guint
weft_map_sprite_index (guint colour,
                       guint marker,
                       gboolean faded)
{
  if (colour >= WEFT_MAP_N_COLOURS)
    colour = WEFT_MAP_N_COLOURS;
  if (marker >= WEFT_MAP_N_MARKERS)
    marker = WEFT_MAP_MARKER_CIRCLE;
  return (colour * WEFT_MAP_N_MARKERS + marker) * 2 + (faded ? 1 : 0);
}

static void
weft_map_view_ensure_sprites (WeftMapView *self,
                              double       radius)
{
  int size;

  if (self->sprite_radius == radius)
    return;
  weft_map_view_clear_sprites (self);
  self->sprite_radius = radius;
  size = 2 * (int) ceil (radius * 1.2 + 0.75) + 1;

  for (guint colour = 0; colour <= WEFT_MAP_N_COLOURS; colour++)
    for (guint marker = 0; marker < WEFT_MAP_N_MARKERS; marker++)
      for (guint faded = 0; faded < 2; faded++)
        {
          WeftMapSprite *sprite = &self->sprites[weft_map_sprite_index (colour, marker, faded)];
          cairo_surface_t *surface;
          cairo_t *cr;
          GdkRGBA rgba;

          weft_map_view_get_colour (colour < WEFT_MAP_N_COLOURS ? colour : WEFT_MAP_COLOUR_NONE, &rgba);
          sprite->size = size;
          sprite->stride = size + 3;
          sprite->px = g_new0 (guint32, size * sprite->stride);
          surface = cairo_image_surface_create_for_data ((guchar *) sprite->px, CAIRO_FORMAT_ARGB32,
                                                         size, size, sprite->stride * 4);
          cr = cairo_create (surface);
          /* Sprites are stamped at whole pixels: draw them around the
           * centre of the middle pixel. */
          weft_map_sprite_path (cr, marker, size / 2 + 0.5, radius);
          cairo_set_source_rgba (cr, rgba.red, rgba.green, rgba.blue,
                                 faded ? WEFT_MAP_FADED_ALPHA : WEFT_MAP_ALPHA);
          cairo_fill (cr);
          cairo_destroy (cr);
          cairo_surface_flush (surface);
          cairo_surface_destroy (surface);

          sprite->first = g_new (guint8, size);
          sprite->end = g_new (guint8, size);
          for (int j = 0; j < size; j++)
            {
              const guint32 *row = sprite->px + j * sprite->stride;
              int a = 0, b = size;

              while (a < size && row[a] == 0)
                a++;
              while (b > a && row[b - 1] == 0)
                b--;
              sprite->first[j] = (guint8) a;
              sprite->end[j] = (guint8) b;
            }
        }
}

/* dst = src + dst × (1 − src alpha), premultiplied, two channels at once.
 * The division by 255 is exact (rounded), so a transparent source leaves
 * the destination as it was: the vector path relies on that. */
static inline guint32
weft_map_blend (guint32 s,
                guint32 d)
{
  guint32 a = 255 - (s >> 24);
  guint32 rb = (d & 0x00ff00ffu) * a + 0x00800080u;
  guint32 ag = ((d >> 8) & 0x00ff00ffu) * a + 0x00800080u;

  rb = ((rb + ((rb >> 8) & 0x00ff00ffu)) >> 8) & 0x00ff00ffu;
  ag = (ag + ((ag >> 8) & 0x00ff00ffu)) & 0xff00ff00u;
  return s + rb + ag;
}

#ifdef __SSE2__
/* The same blend on four pixels. */
static inline void
weft_map_blend4 (const guint32 *src,
                 guint32       *dst)
{
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi16 (0x80);
  __m128i s = _mm_loadu_si128 ((const __m128i *) src);
  __m128i d = _mm_loadu_si128 ((const __m128i *) dst);
  __m128i ia = _mm_sub_epi32 (_mm_set1_epi32 (255), _mm_srli_epi32 (s, 24));
  __m128i ia2 = _mm_or_si128 (ia, _mm_slli_epi32 (ia, 16));
  __m128i lo = _mm_mullo_epi16 (_mm_unpacklo_epi8 (d, zero), _mm_unpacklo_epi32 (ia2, ia2));
  __m128i hi = _mm_mullo_epi16 (_mm_unpackhi_epi8 (d, zero), _mm_unpackhi_epi32 (ia2, ia2));

  lo = _mm_add_epi16 (lo, half);
  hi = _mm_add_epi16 (hi, half);
  lo = _mm_srli_epi16 (_mm_add_epi16 (lo, _mm_srli_epi16 (lo, 8)), 8);
  hi = _mm_srli_epi16 (_mm_add_epi16 (hi, _mm_srli_epi16 (hi, 8)), 8);
  _mm_storeu_si128 ((__m128i *) dst, _mm_add_epi8 (s, _mm_packus_epi16 (lo, hi)));
}
#endif

/* Stamps rows [row0, row1) of the image (clipped to the sprite). */
static inline void
weft_map_stamp (guint32             *buf,      /* (height, stride) */
                int                  stride,   /* in pixels */
                int                  width,
                int                  row0,
                int                  row1,
                const WeftMapSprite *sprite,
                int                  x,        /* sprite centre, device px */
                int                  y)
{
  int half = sprite->size / 2;
  int x0 = x - half, y0 = y - half;
  int i0 = MAX (0, -x0), j0 = MAX (row0 - y0, 0);
  int i1 = MIN (sprite->size, width - x0), j1 = MIN (sprite->size, row1 - y0);

  for (int j = j0; j < j1; j++)
    {
      const guint32 *src = sprite->px + j * sprite->stride;
      guint32 *dst = buf + (gsize) (y0 + j) * stride + x0;
      int a = MAX (i0, sprite->first[j]), b = MIN (i1, sprite->end[j]);
      int i = a;

#ifdef __SSE2__
      /* Whole steps of four while they stay inside the image; the sprite
       * row is zero-padded past its end. */
      for (; i < b && x0 + i + 4 <= width; i += 4)
        weft_map_blend4 (src + i, dst + i);
#endif
      for (; i < b; i++)
        dst[i] = weft_map_blend (src[i], dst[i]);
    }
}

/* ---- The dense layer ---- */

static void
weft_map_view_build_grid (WeftMapView *self,
                          int          width,
                          int          height)
{
  int n_cells;
  int *cell_of = (int *) self->scratch;

  g_clear_pointer (&self->cell_start, g_free);
  self->grid_w = width / WEFT_MAP_CELL + 1;
  self->grid_h = height / WEFT_MAP_CELL + 1;
  n_cells = self->grid_w * self->grid_h;
  self->cell_start = g_new0 (int, n_cells + 1);

  /* Counting sort of the visible points by cell. */
  for (int i = 0; i < self->n; i++)
    {
      float x = self->sx[i], y = self->sy[i];

      cell_of[i] = -1;
      if (!(x >= 0 && y >= 0 && x < width && y < height))
        continue;
      cell_of[i] = ((int) y / WEFT_MAP_CELL) * self->grid_w + (int) x / WEFT_MAP_CELL;
      self->cell_start[cell_of[i] + 1]++;
    }
  for (int c = 0; c < n_cells; c++)
    self->cell_start[c + 1] += self->cell_start[c];
  /* Kept from frame to frame: fresh pages cost more than the sort. */
  if (self->cell_items == NULL)
    self->cell_items = g_new (int, MAX (self->n, 1));
  {
    g_autofree int *fill = g_memdup2 (self->cell_start, sizeof (int) * n_cells);

    for (int i = 0; i < self->n; i++)
      if (cell_of[i] >= 0)
        self->cell_items[fill[cell_of[i]]++] = i;
  }
}

static void
weft_map_view_draw_all_lines (WeftMapView *self,
                              cairo_t     *cr)
{
  g_autofree int *first = NULL;

  if (self->group == NULL || self->n_groups > WEFT_MAP_ALL_LINES || self->n_groups == 0)
    return;
  first = g_new (int, self->n_groups);
  for (int g = 0; g < self->n_groups; g++)
    first[g] = -1;
  /* A star from each group's first point: two or three modalities make a
   * line or a triangle-less V, enough to see which points belong together. */
  for (int i = 0; i < self->n; i++)
    {
      int g = self->group[i];

      if (g < 0 || g >= self->n_groups || isnan (self->sx[i]))
        continue;
      if (first[g] < 0)
        {
          first[g] = i;
          continue;
        }
      cairo_move_to (cr, self->sx[first[g]], self->sy[first[g]]);
      cairo_line_to (cr, self->sx[i], self->sy[i]);
    }
  cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, self->n_selected > 0 ? 0.06 : 0.14);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);
}

/* The last freed layer buffer, kept for the next redraw: a fresh one of a
 * few MB costs a page fault every 4 kB, more than stamping 100k points.
 * Buffers carry their size in a 16-byte header. The texture may outlive
 * the widget, hence one spare for the process rather than per widget. */
static gsize *weft_map_spare;
G_LOCK_DEFINE_STATIC (weft_map_spare);

static guint32 *
weft_map_layer_alloc (gsize size)
{
  gsize *block = NULL;

  G_LOCK (weft_map_spare);
  if (weft_map_spare != NULL && weft_map_spare[0] == size)
    {
      block = weft_map_spare;
      weft_map_spare = NULL;
    }
  G_UNLOCK (weft_map_spare);
  if (block == NULL)
    {
      block = g_malloc (size + 2 * sizeof (gsize));
      block[0] = size;
    }
  return (guint32 *) (block + 2);
}

static void
weft_map_layer_free (gpointer data)
{
  gsize *block = data;

  G_LOCK (weft_map_spare);
  if (weft_map_spare == NULL || weft_map_spare[0] < block[0])
    {
      gsize *old = weft_map_spare;

      weft_map_spare = block;
      block = old;
    }
  G_UNLOCK (weft_map_spare);
  g_free (block);
}

/* One visible point, ready to stamp: device pixel centre and sprite. */
typedef struct
{
  gint16 x, y;
  guint16 sprite;
  guint16 pad;
} WeftMapStamp;

/* Rows are dealt to the workers in strips of this many, alternately, so
 * that both get a share of every cluster; a sprite spans at most two. */
#define WEFT_MAP_STRIP 32

typedef struct
{
  WeftMapView        *self;
  const WeftMapStamp *stamps;
  int                 n_stamps;
  guint32            *buf;
  int                 stride, width, height;
  int                 worker, n_workers;
  gboolean            clear;   /* zero the worker's rows first */
} WeftMapJob;

/* Every worker walks all the stamps in order but only writes its own rows,
 * so each pixel sees the points in the same order as with one thread. */
static gpointer
weft_map_job_run (gpointer data)
{
  WeftMapJob *job = data;
  const WeftMapSprite *sprites = job->self->sprites;
  int n_strips = (job->height + WEFT_MAP_STRIP - 1) / WEFT_MAP_STRIP;

  if (job->clear)
    for (int k = job->worker; k < n_strips; k += job->n_workers)
      {
        int r0 = k * WEFT_MAP_STRIP, r1 = MIN (r0 + WEFT_MAP_STRIP, job->height);

        memset (job->buf + (gsize) r0 * job->stride, 0, sizeof (guint32) * job->stride * (r1 - r0));
      }

  for (int k = 0; k < job->n_stamps; k++)
    {
      const WeftMapStamp *p = &job->stamps[k];
      const WeftMapSprite *sprite = &sprites[p->sprite];
      int half = sprite->size / 2;
      int top = p->y - half, bottom = top + sprite->size;
      int strip;

      if (bottom <= 0 || top >= job->height)
        continue;
      if (job->n_workers == 1)
        {
          weft_map_stamp (job->buf, job->stride, job->width, 0, job->height, sprite, p->x, p->y);
          continue;
        }
      /* The strip of the sprite's top row, then the next one if the sprite
       * reaches into it. */
      strip = MAX (top, 0) / WEFT_MAP_STRIP;
      for (; strip * WEFT_MAP_STRIP < bottom && strip < n_strips; strip++)
        if (strip % job->n_workers == job->worker)
          weft_map_stamp (job->buf, job->stride, job->width, strip * WEFT_MAP_STRIP,
                          MIN ((strip + 1) * WEFT_MAP_STRIP, job->height), sprite, p->x, p->y);
    }
  return NULL;
}

static void
weft_map_view_ensure_layer (WeftMapView *self,
                            int          width,
                            int          height,
                            int          scale)
{
  int dw, dh, stride, n_stamps = 0, n_workers;
  gboolean lines;
  guint32 *buf;
  WeftMapStamp *stamps;
  WeftMapJob jobs[2];
  GThread *helper = NULL;

  if (self->layer != NULL && self->layer_w == width && self->layer_h == height
      && self->layer_scale == scale)
    return;
  g_clear_object (&self->texture);
  g_clear_pointer (&self->layer, cairo_surface_destroy);
  g_clear_pointer (&self->layer_bytes, g_bytes_unref);

  width = MAX (width, 1);
  height = MAX (height, 1);
  if (self->follow)
    weft_map_view_fit (self, width, height);
  self->layer_w = width;
  self->layer_h = height;
  self->layer_scale = scale;
  dw = width * scale;
  dh = height * scale;
  stride = cairo_format_stride_for_width (CAIRO_FORMAT_ARGB32, dw);
  lines = self->group != NULL && self->n_groups > 0 && self->n_groups <= WEFT_MAP_ALL_LINES;
  /* Cleared by the workers (each its own rows) unless lines go under the
   * points first. */
  buf = weft_map_layer_alloc ((gsize) stride * dh);
  if (lines)
    memset (buf, 0, (gsize) stride * dh);
  /* The bytes own the pixels; the texture made from them later shares
   * them instead of copying. */
  self->layer_bytes = g_bytes_new_with_free_func (buf, (gsize) stride * dh, weft_map_layer_free,
                                                  (gsize *) buf - 2);
  self->layer = cairo_image_surface_create_for_data ((guchar *) buf, CAIRO_FORMAT_ARGB32, dw, dh, stride);
  cairo_surface_set_device_scale (self->layer, scale, scale);

  /* Screen positions, reused by hit testing and the overlay. */
  if (self->sx == NULL)
    self->sx = g_new (float, MAX (self->n, 1));
  if (self->sy == NULL)
    self->sy = g_new (float, MAX (self->n, 1));
  if (self->scratch == NULL)
    self->scratch = g_new (guint64, MAX (self->n, 1));
  for (int i = 0; i < self->n; i++)
    {
      float x = self->xy[2 * i], y = self->xy[2 * i + 1];

      if (!isfinite (x) || !isfinite (y))
        {
          self->sx[i] = self->sy[i] = NAN;
          continue;
        }
      self->sx[i] = (float) ((x - self->cx) * self->ppu + 0.5 * width);
      self->sy[i] = (float) (0.5 * height - (y - self->cy) * self->ppu);
    }
  weft_map_view_build_grid (self, width, height);

  if (lines)
    {
      cairo_t *cr = cairo_create (self->layer);

      weft_map_view_draw_all_lines (self, cr);
      cairo_destroy (cr);
      cairo_surface_flush (self->layer);
    }

  weft_map_view_ensure_sprites (self, weft_map_view_marker_radius (self) * scale);
  /* The points on screen in drawing order: faded ones first so that the
   * selection sits on top of them. */
  G_STATIC_ASSERT (sizeof (WeftMapStamp) == sizeof (guint64));
  stamps = (WeftMapStamp *) self->scratch;
  for (int pass = 0; pass < 2; pass++)
    {
      gboolean faded_pass = pass == 0;

      if (faded_pass && self->selected == NULL)
        continue;
      for (int i = 0; i < self->n; i++)
        {
          float x = self->sx[i], y = self->sy[i];
          gboolean faded = self->selected != NULL && !self->selected[i];

          if (faded != faded_pass || !(x > -16 && y > -16 && x < width + 16 && y < height + 16))
            continue;
          stamps[n_stamps].x = (gint16) (int) (x * scale);
          stamps[n_stamps].y = (gint16) (int) (y * scale);
          stamps[n_stamps].sprite = (guint16) weft_map_sprite_index (self->colour ? self->colour[i] : 0,
                                                                     self->marker ? self->marker[i] : 0,
                                                                     faded);
          n_stamps++;
        }
    }

  /* A second thread pays off once there is real work to split. */
  n_workers = n_stamps >= 20000 && g_get_num_processors () > 1 ? 2 : 1;
  for (int w = 0; w < n_workers; w++)
    jobs[w] = (WeftMapJob) {
      .self = self, .stamps = stamps, .n_stamps = n_stamps, .buf = buf,
      .stride = stride / 4, .width = dw, .height = dh,
      .worker = w, .n_workers = n_workers, .clear = !lines,
    };
  if (n_workers > 1)
    helper = g_thread_try_new ("weft-map", weft_map_job_run, &jobs[1], NULL);
  if (n_workers > 1 && helper == NULL)
    {
      /* No thread to be had: do it all here. */
      jobs[0].n_workers = 1;
      n_workers = 1;
    }
  weft_map_job_run (&jobs[0]);
  if (helper != NULL)
    g_thread_join (helper);
  cairo_surface_mark_dirty (self->layer);
}

/* ---- The overlay ---- */

static void
weft_map_view_get_fg (WeftMapView *self,
                      GdkRGBA     *fg,
                      GdkRGBA     *accent)
{
  GtkStyleContext *style;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  style = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (style, fg);
  if (!gtk_style_context_lookup_color (style, "accent_color", accent))
    gdk_rgba_parse (accent, "#3584e4");
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static gboolean
weft_map_view_screen_of (WeftMapView *self,
                         int          i,
                         double      *x,
                         double      *y)
{
  if (i < 0 || i >= self->n || self->sx == NULL || isnan (self->sx[i]))
    return FALSE;
  *x = self->sx[i] + self->drag_dx;
  *y = self->sy[i] + self->drag_dy;
  return TRUE;
}

static void
weft_map_view_draw_group (WeftMapView   *self,
                          cairo_t       *cr,
                          int            i,
                          const GdkRGBA *colour)
{
  double x0, y0, x, y;

  if (self->group == NULL || !weft_map_view_screen_of (self, i, &x0, &y0))
    return;
  /* A sample's points can lie anywhere on the map, so scan them all: one
   * pass over n per hover change, cheap next to rasterising. */
  for (int j = 0; j < self->n; j++)
    if (j != i && self->group[j] == self->group[i] && weft_map_view_screen_of (self, j, &x, &y))
      {
        cairo_move_to (cr, x0, y0);
        cairo_line_to (cr, x, y);
      }
  gdk_cairo_set_source_rgba (cr, colour);
  cairo_set_line_width (cr, 2.0);
  cairo_stroke (cr);
}

static void
weft_map_view_draw_legend (WeftMapView   *self,
                           cairo_t       *cr,
                           int            width,
                           const GdkRGBA *fg,
                           const GdkRGBA *bg)
{
  PangoLayout *layout;
  double row = 18, pad = 8, box_w = 0, box_h;
  int n_legend = self->legend ? (int) g_strv_length (self->legend) : 0;

  if (n_legend == 0)
    return;
  n_legend = MIN (n_legend, WEFT_MAP_N_COLOURS + 1);
  /* The widget's own font, a size smaller, also in exported images. */
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  {
    PangoFontDescription *font = pango_font_description_copy (pango_context_get_font_description (pango_layout_get_context (layout)));

    pango_font_description_set_size (font, pango_font_description_get_size (font) * 0.85);
    pango_layout_set_font_description (layout, font);
    pango_font_description_free (font);
  }
  for (int k = 0; k < n_legend; k++)
    {
      int w, h;

      pango_layout_set_text (layout, self->legend[k], -1);
      pango_layout_get_pixel_size (layout, &w, &h);
      box_w = MAX (box_w, w);
    }
  box_w += 2 * pad + 18;
  box_h = n_legend * row + 2 * pad - 4;

  cairo_save (cr);
  cairo_translate (cr, width - box_w - 10, 10);
  /* The legend sits on a veil of the text colour's opposite so that it
   * reads over any points beneath it. */
  if (bg != NULL)
    cairo_set_source_rgba (cr, bg->red, bg->green, bg->blue, 0.88);
  else
    cairo_set_source_rgba (cr, 1 - fg->red, 1 - fg->green, 1 - fg->blue, 0.82);
  cairo_rectangle (cr, 0, 0, box_w, box_h);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.15);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  for (int k = 0; k < n_legend; k++)
    {
      GdkRGBA c;
      int w, h;

      weft_map_view_get_colour (k < WEFT_MAP_N_COLOURS ? k : WEFT_MAP_COLOUR_NONE, &c);
      gdk_cairo_set_source_rgba (cr, &c);
      cairo_arc (cr, pad + 5, pad + k * row + 8, 5, 0, 2 * G_PI);
      cairo_fill (cr);
      pango_layout_set_text (layout, self->legend[k], -1);
      pango_layout_get_pixel_size (layout, &w, &h);
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_move_to (cr, pad + 16, pad + k * row + 8 - h / 2.0);
      pango_cairo_show_layout (cr, layout);
    }
  cairo_restore (cr);
  g_object_unref (layout);
}

static void
weft_map_view_draw_overlay (WeftMapView *self,
                            cairo_t     *cr,
                            int          width,
                            int          height)
{
  GdkRGBA fg, accent;
  double x, y, r = weft_map_view_marker_radius (self);

  weft_map_view_get_fg (self, &fg, &accent);

  if (self->active >= 0)
    weft_map_view_draw_group (self, cr, self->active, &accent);
  if (self->hover >= 0 && self->hover != self->active)
    weft_map_view_draw_group (self, cr, self->hover, &fg);

  for (int k = 0; k < self->n_highlight; k++)
    if (weft_map_view_screen_of (self, self->highlight[k], &x, &y))
      cairo_new_sub_path (cr), cairo_arc (cr, x, y, r + 4, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, &accent);
  cairo_set_line_width (cr, 2.0);
  cairo_stroke (cr);

  if (weft_map_view_screen_of (self, self->active, &x, &y))
    {
      cairo_arc (cr, x, y, r + 6, 0, 2 * G_PI);
      gdk_cairo_set_source_rgba (cr, &accent);
      cairo_set_line_width (cr, 3.0);
      cairo_stroke (cr);
    }
  if (weft_map_view_screen_of (self, self->hover, &x, &y))
    {
      cairo_arc (cr, x, y, r + 3, 0, 2 * G_PI);
      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_set_line_width (cr, 2.0);
      cairo_stroke (cr);
    }

  if (self->lassoing && self->lasso->len > 1)
    {
      const graphene_point_t *p = (const graphene_point_t *) self->lasso->data;

      cairo_move_to (cr, p[0].x, p[0].y);
      for (guint k = 1; k < self->lasso->len; k++)
        cairo_line_to (cr, p[k].x, p[k].y);
      cairo_close_path (cr);
      cairo_set_source_rgba (cr, accent.red, accent.green, accent.blue, 0.12);
      cairo_fill_preserve (cr);
      gdk_cairo_set_source_rgba (cr, &accent);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
    }

  {
    GdkRGBA bg;
    gboolean have_bg;

    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    have_bg = gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (self)),
                                              "view_bg_color", &bg);
    G_GNUC_END_IGNORE_DEPRECATIONS
    weft_map_view_draw_legend (self, cr, width, &fg, have_bg ? &bg : NULL);
  }
  (void) height;
}

void
weft_map_view_draw (WeftMapView *self,
                    cairo_t     *cr,
                    int          width,
                    int          height)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  weft_map_view_ensure_layer (self, width, height, 1);
  cairo_save (cr);
  cairo_set_source_surface (cr, self->layer, self->drag_dx, self->drag_dy);
  cairo_paint (cr);
  cairo_restore (cr);
  weft_map_view_draw_overlay (self, cr, width, height);
}

static void
weft_map_view_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  WeftMapView *self = WEFT_MAP_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;

  weft_map_view_ensure_layer (self, width, height, scale);
  if (self->texture == NULL)
    self->texture = gdk_memory_texture_new (width * scale, height * scale, GDK_MEMORY_DEFAULT,
                                            self->layer_bytes,
                                            cairo_image_surface_get_stride (self->layer));

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gtk_snapshot_append_texture (snapshot, self->texture,
                               &GRAPHENE_RECT_INIT (self->drag_dx, self->drag_dy, width, height));
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  weft_map_view_draw_overlay (self, cr, width, height);
  cairo_destroy (cr);
  gtk_snapshot_pop (snapshot);
}

/* ---- Picking ---- */

static int
weft_map_view_pick (WeftMapView *self,
                    double       x,
                    double       y)
{
  double best = WEFT_MAP_PICK_RADIUS * WEFT_MAP_PICK_RADIUS;
  int found = -1;
  int gx, gy;

  if (self->cell_start == NULL)
    return -1;
  x -= self->drag_dx;
  y -= self->drag_dy;
  gx = (int) floor (x / WEFT_MAP_CELL);
  gy = (int) floor (y / WEFT_MAP_CELL);
  for (int cy = gy - 1; cy <= gy + 1; cy++)
    for (int cx = gx - 1; cx <= gx + 1; cx++)
      {
        int c;

        if (cx < 0 || cy < 0 || cx >= self->grid_w || cy >= self->grid_h)
          continue;
        c = cy * self->grid_w + cx;
        for (int k = self->cell_start[c]; k < self->cell_start[c + 1]; k++)
          {
            int i = self->cell_items[k];
            double dx = self->sx[i] - x, dy = self->sy[i] - y;
            double d = dx * dx + dy * dy;

            /* Prefer the selection when points overlap. */
            if (self->selected != NULL && !self->selected[i])
              d += 4.0;
            if (d < best)
              {
                best = d;
                found = i;
              }
          }
      }
  return found;
}

/* ---- Public API ---- */

void
weft_map_view_set_hover (WeftMapView *self,
                         int          i)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  if (i >= self->n)
    i = -1;
  if (self->hover == i)
    return;
  self->hover = i;
  /* Only the overlay changes: the cached layer is reused. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[HOVER_CHANGED], 0, i);
}

int
weft_map_view_get_hover (WeftMapView *self)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), -1);
  return self->hover;
}

void
weft_map_view_set_active (WeftMapView *self,
                          int          i)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  if (i >= self->n)
    i = -1;
  self->active = i;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[POINT_ACTIVATED], 0, i);
}

int
weft_map_view_get_active (WeftMapView *self)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), -1);
  return self->active;
}

gboolean
weft_map_view_get_point_rect (WeftMapView  *self,
                              int           i,
                              GdkRectangle *rect)
{
  double x, y;

  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), FALSE);

  if (!weft_map_view_screen_of (self, i, &x, &y))
    return FALSE;
  rect->x = (int) x - 6;
  rect->y = (int) y - 6;
  rect->width = rect->height = 12;
  return TRUE;
}

void
weft_map_view_set_points (WeftMapView *self,
                          const float *xy,
                          int          n)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));
  g_return_if_fail (n == 0 || xy != NULL);

  if (n != self->n)
    {
      g_clear_pointer (&self->colour, g_free);
      g_clear_pointer (&self->marker, g_free);
      g_clear_pointer (&self->group, g_free);
      g_clear_pointer (&self->selected, g_free);
      g_clear_pointer (&self->highlight, g_free);
      g_clear_pointer (&self->sx, g_free);
      g_clear_pointer (&self->sy, g_free);
      g_clear_pointer (&self->cell_start, g_free);
      g_clear_pointer (&self->cell_items, g_free);
      g_clear_pointer (&self->scratch, g_free);
      self->n_highlight = 0;
      self->n_selected = 0;
      self->n_groups = 0;
      self->hover = self->active = -1;
      self->follow = TRUE;
    }
  g_free (self->xy);
  self->xy = n > 0 ? g_memdup2 (xy, sizeof (float) * 2 * n) : NULL;
  self->n = n;

  self->min_x = self->min_y = INFINITY;
  self->max_x = self->max_y = -INFINITY;
  for (int i = 0; i < n; i++)
    {
      float x = xy[2 * i], y = xy[2 * i + 1];

      if (!isfinite (x) || !isfinite (y))
        continue;
      self->min_x = MIN (self->min_x, x);
      self->max_x = MAX (self->max_x, x);
      self->min_y = MIN (self->min_y, y);
      self->max_y = MAX (self->max_y, y);
    }
  if (self->min_x > self->max_x)
    self->min_x = self->min_y = -1, self->max_x = self->max_y = 1;
  weft_map_view_invalidate (self);
}

int
weft_map_view_get_n_points (WeftMapView *self)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), 0);
  return self->n;
}

gboolean
weft_map_view_get_point (WeftMapView *self,
                         int          i,
                         double      *x,
                         double      *y)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), FALSE);

  if (i < 0 || i >= self->n || !isfinite (self->xy[2 * i]))
    return FALSE;
  *x = self->xy[2 * i];
  *y = self->xy[2 * i + 1];
  return TRUE;
}

void
weft_map_view_set_style (WeftMapView  *self,
                         const guint8 *colour,
                         const guint8 *marker)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_pointer (&self->colour, g_free);
  g_clear_pointer (&self->marker, g_free);
  if (colour != NULL && self->n > 0)
    self->colour = g_memdup2 (colour, self->n);
  if (marker != NULL && self->n > 0)
    self->marker = g_memdup2 (marker, self->n);
  weft_map_view_invalidate (self);
}

void
weft_map_view_set_legend (WeftMapView        *self,
                          const char * const *names,
                          int                 n_names)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_pointer (&self->legend, g_strfreev);
  if (names != NULL && n_names > 0)
    {
      self->legend = g_new0 (char *, n_names + 1);
      for (int k = 0; k < n_names; k++)
        self->legend[k] = g_strdup (names[k] ? names[k] : "");
    }
  /* A fitted view leaves room for the legend. */
  if (self->follow)
    weft_map_view_invalidate (self);
  else
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_map_view_set_groups (WeftMapView *self,
                          const int   *group)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_pointer (&self->group, g_free);
  self->n_groups = 0;
  if (group != NULL && self->n > 0)
    {
      self->group = g_memdup2 (group, sizeof (int) * self->n);
      for (int i = 0; i < self->n; i++)
        self->n_groups = MAX (self->n_groups, group[i] + 1);
    }
  weft_map_view_invalidate (self);
}

void
weft_map_view_set_selection (WeftMapView  *self,
                             const guint8 *mask)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_pointer (&self->selected, g_free);
  self->n_selected = 0;
  if (mask != NULL && self->n > 0)
    {
      for (int i = 0; i < self->n; i++)
        self->n_selected += mask[i] != 0;
      if (self->n_selected > 0)
        self->selected = g_memdup2 (mask, self->n);
    }
  weft_map_view_invalidate (self);
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

const guint8 *
weft_map_view_get_selection (WeftMapView *self,
                             int         *n_selected)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), NULL);

  if (n_selected != NULL)
    *n_selected = self->n_selected;
  return self->selected;
}

void
weft_map_view_set_highlight (WeftMapView *self,
                             const int   *idx,
                             int          n)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  g_clear_pointer (&self->highlight, g_free);
  self->n_highlight = 0;
  if (idx != NULL && n > 0)
    {
      self->highlight = g_memdup2 (idx, sizeof (int) * n);
      self->n_highlight = n;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_map_view_set_lasso_mode (WeftMapView *self,
                              gboolean     lasso)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));
  self->lasso_mode = !!lasso;
}

gboolean
weft_map_view_get_lasso_mode (WeftMapView *self)
{
  g_return_val_if_fail (WEFT_IS_MAP_VIEW (self), FALSE);
  return self->lasso_mode;
}

static void
weft_map_view_zoom_at (WeftMapView *self,
                       double       factor,
                       double       px,
                       double       py)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  double dx, dy;

  if (self->layer_w > 0)
    width = self->layer_w, height = self->layer_h;
  /* Keep the data point under (px, py) where it is. */
  dx = (px - 0.5 * width) / self->ppu;
  dy = (0.5 * height - py) / self->ppu;
  self->cx += dx - dx / factor;
  self->cy += dy - dy / factor;
  self->ppu *= factor;
  self->follow = FALSE;
  weft_map_view_invalidate (self);
}

void
weft_map_view_zoom (WeftMapView *self,
                    double       factor)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  g_return_if_fail (WEFT_IS_MAP_VIEW (self));
  g_return_if_fail (factor > 0);

  weft_map_view_zoom_at (self, factor, 0.5 * width, 0.5 * height);
}

void
weft_map_view_reset_view (WeftMapView *self)
{
  g_return_if_fail (WEFT_IS_MAP_VIEW (self));

  self->follow = TRUE;
  weft_map_view_invalidate (self);
}

static void
weft_map_view_pan (WeftMapView *self,
                   double       dx,
                   double       dy)
{
  self->cx -= dx / self->ppu;
  self->cy += dy / self->ppu;
  self->follow = FALSE;
  weft_map_view_invalidate (self);
}

/* ---- Input ---- */

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           WeftMapView              *self)
{
  /* GTK also reports "motion" when widgets appear or vanish under a still
   * pointer (the hover card): that must not undo the keyboard cursor. */
  if (x == self->pointer_x && y == self->pointer_y)
    return;
  self->pointer_x = x;
  self->pointer_y = y;
  if (self->dragging || self->lassoing)
    return;
  weft_map_view_set_hover (self, weft_map_view_pick (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *motion,
          WeftMapView              *self)
{
  if (!self->dragging)
    weft_map_view_set_hover (self, -1);
}

static gboolean
on_scroll (GtkEventControllerScroll *scroll,
           double                    dx,
           double                    dy,
           WeftMapView              *self)
{
  weft_map_view_zoom_at (self, pow (1.2, -dy), self->pointer_x, self->pointer_y);
  return TRUE;
}

static void
on_drag_begin (GtkGestureDrag *drag,
               double          x,
               double          y,
               WeftMapView    *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (drag));

  gtk_widget_grab_focus (GTK_WIDGET (self));
  self->drag_x0 = x;
  self->drag_y0 = y;
  self->drag_dx = self->drag_dy = 0;
  if (self->lasso_mode || (state & GDK_SHIFT_MASK) != 0)
    {
      graphene_point_t p = GRAPHENE_POINT_INIT (x, y);

      self->lassoing = TRUE;
      g_array_set_size (self->lasso, 0);
      g_array_append_val (self->lasso, p);
    }
  else
    self->dragging = TRUE;
}

static void
on_drag_update (GtkGestureDrag *drag,
                double          ox,
                double          oy,
                WeftMapView    *self)
{
  if (self->lassoing)
    {
      graphene_point_t p = GRAPHENE_POINT_INIT (self->drag_x0 + ox, self->drag_y0 + oy);

      g_array_append_val (self->lasso, p);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  /* Panning moves the cached layer; it is redrawn once the drag ends. */
  if (fabs (ox) + fabs (oy) >= 3)
    {
      self->drag_dx = ox;
      self->drag_dy = oy;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static gboolean
weft_map_point_in_polygon (const graphene_point_t *p,
                           guint                   n,
                           double                  x,
                           double                  y)
{
  gboolean inside = FALSE;

  for (guint a = 0, b = n - 1; a < n; b = a++)
    if (((p[a].y > y) != (p[b].y > y))
        && x < (p[b].x - p[a].x) * (y - p[a].y) / (p[b].y - p[a].y) + p[a].x)
      inside = !inside;
  return inside;
}

static void
weft_map_view_finish_lasso (WeftMapView     *self,
                            GdkModifierType  state)
{
  const graphene_point_t *p = (const graphene_point_t *) self->lasso->data;
  guint np = self->lasso->len;
  g_autofree guint8 *mask = NULL;
  float x0 = G_MAXFLOAT, y0 = G_MAXFLOAT, x1 = -G_MAXFLOAT, y1 = -G_MAXFLOAT;

  self->lassoing = FALSE;
  if (np < 3 || self->sx == NULL)
    {
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  for (guint k = 0; k < np; k++)
    {
      x0 = MIN (x0, p[k].x); x1 = MAX (x1, p[k].x);
      y0 = MIN (y0, p[k].y); y1 = MAX (y1, p[k].y);
    }
  mask = g_new0 (guint8, self->n);
  /* Ctrl adds to the selection. */
  if ((state & GDK_CONTROL_MASK) != 0 && self->selected != NULL)
    memcpy (mask, self->selected, self->n);
  for (int i = 0; i < self->n; i++)
    {
      float x = self->sx[i], y = self->sy[i];

      if (x >= x0 && x <= x1 && y >= y0 && y <= y1
          && weft_map_point_in_polygon (p, np, x, y))
        mask[i] = 1;
    }
  weft_map_view_set_selection (self, mask);
}

static void
on_drag_end (GtkGestureDrag *drag,
             double          ox,
             double          oy,
             WeftMapView    *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (drag));

  if (self->lassoing)
    {
      weft_map_view_finish_lasso (self, state);
      return;
    }
  self->dragging = FALSE;
  self->drag_dx = self->drag_dy = 0;
  if (fabs (ox) + fabs (oy) < 3)
    {
      /* A click: activate the point under it (or clear on empty space). */
      weft_map_view_set_active (self, weft_map_view_pick (self, self->drag_x0, self->drag_y0));
      return;
    }
  weft_map_view_pan (self, ox, oy);
}

/* The nearest visible point from the keyboard cursor in direction (dx, dy),
 * weighing sideways distance twice so that Right means right. */
static int
weft_map_view_step (WeftMapView *self,
                    int          from,
                    double       dx,
                    double       dy)
{
  double best = G_MAXDOUBLE;
  int found = -1;
  int width = self->layer_w, height = self->layer_h;
  double x0, y0;

  if (self->sx == NULL)
    return -1;
  if (from < 0 || !weft_map_view_screen_of (self, from, &x0, &y0))
    {
      /* No cursor yet: start from the point nearest the centre. */
      for (int i = 0; i < self->n; i++)
        {
          double ex = self->sx[i] - 0.5 * width, ey = self->sy[i] - 0.5 * height;
          double d = ex * ex + ey * ey;

          if (!isnan (self->sx[i]) && d < best)
            best = d, found = i;
        }
      return found;
    }
  for (int i = 0; i < self->n; i++)
    {
      double ex = self->sx[i] - x0, ey = self->sy[i] - y0;
      double along = ex * dx + ey * dy, side = fabs (ex * dy - ey * dx);
      double d;

      if (i == from || isnan (self->sx[i]) || along <= 0.5
          || self->sx[i] < 0 || self->sy[i] < 0 || self->sx[i] > width || self->sy[i] > height)
        continue;
      d = along + 2 * side;
      if (d < best)
        best = d, found = i;
    }
  return found;
}

static gboolean
on_key_pressed (GtkEventControllerKey *key,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                WeftMapView           *self)
{
  double dx = 0, dy = 0;
  gboolean pan = (state & GDK_CONTROL_MASK) != 0;

  switch (keyval)
    {
    case GDK_KEY_Left: case GDK_KEY_KP_Left: dx = -1; break;
    case GDK_KEY_Right: case GDK_KEY_KP_Right: dx = 1; break;
    case GDK_KEY_Up: case GDK_KEY_KP_Up: dy = -1; break;
    case GDK_KEY_Down: case GDK_KEY_KP_Down: dy = 1; break;
    case GDK_KEY_Return: case GDK_KEY_KP_Enter: case GDK_KEY_space:
      if (self->hover >= 0)
        weft_map_view_set_active (self, self->hover);
      return TRUE;
    case GDK_KEY_Escape:
      if (self->selected == NULL && self->active < 0)
        return FALSE;
      weft_map_view_set_selection (self, NULL);
      weft_map_view_set_active (self, -1);
      return TRUE;
    case GDK_KEY_plus: case GDK_KEY_equal: case GDK_KEY_KP_Add:
      weft_map_view_zoom (self, 1.25);
      return TRUE;
    case GDK_KEY_minus: case GDK_KEY_KP_Subtract:
      weft_map_view_zoom (self, 0.8);
      return TRUE;
    case GDK_KEY_0: case GDK_KEY_KP_0: case GDK_KEY_Home:
      weft_map_view_reset_view (self);
      return TRUE;
    default:
      return FALSE;
    }

  if (!pan && self->n > 0)
    {
      int next = weft_map_view_step (self, self->hover, dx, dy);

      if (next >= 0)
        {
          weft_map_view_set_hover (self, next);
          return TRUE;
        }
    }
  /* Ctrl+arrows, or no point further that way: pan a tenth of the view. */
  weft_map_view_pan (self, -dx * 0.1 * MAX (self->layer_w, 1), -dy * 0.1 * MAX (self->layer_h, 1));
  return TRUE;
}

static void
weft_map_view_css_changed (GtkWidget         *widget,
                           GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (weft_map_view_parent_class)->css_changed (widget, change);
  /* Line and legend colours follow the style (light/dark). */
  weft_map_view_invalidate (WEFT_MAP_VIEW (widget));
}

static void
weft_map_view_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  WeftMapView *self = WEFT_MAP_VIEW (widget);

  if (width != self->layer_w || height != self->layer_h)
    gtk_widget_queue_draw (widget);
}

static void
weft_map_view_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  *minimum = 200;
  *natural = 600;
}

static void
weft_map_view_finalize (GObject *object)
{
  WeftMapView *self = WEFT_MAP_VIEW (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->layer, cairo_surface_destroy);
  g_clear_pointer (&self->layer_bytes, g_bytes_unref);
  weft_map_view_clear_sprites (self);
  g_free (self->xy);
  g_free (self->colour);
  g_free (self->marker);
  g_free (self->group);
  g_free (self->selected);
  g_free (self->highlight);
  g_free (self->sx);
  g_free (self->sy);
  g_free (self->cell_start);
  g_free (self->cell_items);
  g_free (self->scratch);
  g_strfreev (self->legend);
  g_array_unref (self->lasso);

  G_OBJECT_CLASS (weft_map_view_parent_class)->finalize (object);
}

static void
weft_map_view_class_init (WeftMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = weft_map_view_finalize;
  widget_class->snapshot = weft_map_view_snapshot;
  widget_class->measure = weft_map_view_measure;
  widget_class->size_allocate = weft_map_view_size_allocate;
  widget_class->css_changed = weft_map_view_css_changed;

  /* A point came under the pointer or the keyboard cursor (-1: none). */
  signals[HOVER_CHANGED] =
    g_signal_new ("hover-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  /* A point was clicked or chosen with Enter (-1: cleared). */
  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "weftmap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
weft_map_view_init (WeftMapView *self)
{
  GtkEventController *controller;
  GtkGesture *drag;

  self->hover = self->active = -1;
  self->follow = TRUE;
  self->ppu = 1.0;
  self->lasso = g_array_new (FALSE, FALSE, sizeof (graphene_point_t));

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

GtkWidget *
weft_map_view_new (void)
{
  return g_object_new (WEFT_TYPE_MAP_VIEW, NULL);
}
