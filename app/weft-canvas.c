/* weft-canvas.c — the architecture canvas. Nodes are WeftCanvasNode
 * children allocated at their (world) position times the zoom; edges,
 * ports, links and the rubber band are drawn with Cairo around them. The
 * canvas never edits the spec: it emits signals and the page edits. */
#include <math.h>

#include "weft-canvas.h"
#include "weft-canvas-node.h"

#define PORT_RADIUS 6.0
#define PORT_HIT    11.0
#define MIN_ZOOM    0.3
#define MAX_ZOOM    2.5

typedef enum {
  DRAG_NONE,
  DRAG_MOVE,
  DRAG_CONNECT,
  DRAG_DETACH,
  DRAG_BOX,
  DRAG_PAN,
} DragMode;

typedef struct {
  double x, y;
} Point;

struct _WeftCanvas
{
  GtkWidget parent_instance;

  /* Borrowed (the page keeps them alive) */
  const WeftSpec *spec;
  const WeftInspection *insp;

  /* Owned */
  GHashTable *nodes;         /* id -> WeftCanvasNode* (a child) */
  GHashTable *pos;           /* id -> Point* (world coordinates) */
  GHashTable *selected;      /* id set (own keys) */
  GHashTable *drag_start;    /* id -> Point*: positions when a move began */

  double zoom;
  double pan_x, pan_y;       /* view = world * zoom + pan */

  DragMode mode;
  double press_x, press_y;   /* view coordinates */
  double cur_x, cur_y;
  double pan_start_x, pan_start_y;
  char *drag_from;           /* source id while connecting */
  char *detach_dst;          /* DRAG_DETACH: the input being pulled off */
  int detach_port;
  gboolean fit_pending;
};

G_DEFINE_FINAL_TYPE (WeftCanvas, weft_canvas, GTK_TYPE_WIDGET)

enum {
  SIGNAL_SELECTION_CHANGED,
  SIGNAL_NODES_MOVED,
  SIGNAL_CONNECT,
  SIGNAL_DISCONNECT,
  SIGNAL_DROP_BLOCK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

char *
weft_format_count (guint64 value)
{
  if (value < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  if (value < 1000000)
    return g_strdup_printf ("%.1f k", value / 1e3);
  if (value < 1000000000)
    return g_strdup_printf ("%.1f M", value / 1e6);
  return g_strdup_printf ("%.1f G", value / 1e9);
}

/* -- ports ---------------------------------------------------------------- */

int
weft_canvas_port_count (const WeftSpecNode *node)
{
  const WeftBlock *b = weft_block_lookup (node->type);
  int n = node->inputs ? (int) g_strv_length (node->inputs) : 0;

  if (b == NULL)
    return n;
  if (b->min_inputs == b->max_inputs)
    return MAX (n, b->max_inputs);
  return MIN (b->max_inputs, MAX (b->min_inputs, n + 1));
}

const char *
weft_canvas_port_name (const char *type, int port)
{
  const WeftBlock *b = weft_block_lookup (type);
  int last = -1;

  if (b == NULL || b->ports == NULL)
    return "input";
  while (b->ports[last + 1])
    last++;
  if (last < 0)
    return "input";
  return b->ports[MIN (port, last)];
}

static gboolean
is_loss_type (const char *type)
{
  const WeftBlock *b = weft_block_lookup (type);
  return b && (b->flags & WEFT_BLOCK_LOSS);
}

/* -- geometry ------------------------------------------------------------- */

static gboolean
node_rect (WeftCanvas *self, const char *id, graphene_rect_t *r)
{
  GtkWidget *w = g_hash_table_lookup (self->nodes, id);
  Point *p = g_hash_table_lookup (self->pos, id);
  int mw, nw, mh, nh;

  if (w == NULL || p == NULL)
    return FALSE;
  gtk_widget_measure (w, GTK_ORIENTATION_HORIZONTAL, -1, &mw, &nw, NULL, NULL);
  nw = MAX (nw, 170);
  gtk_widget_measure (w, GTK_ORIENTATION_VERTICAL, nw, &mh, &nh, NULL, NULL);
  graphene_rect_init (r, p->x, p->y, nw, MAX (nh, 64));
  return TRUE;
}

static void
input_port_pos (WeftCanvas *self, const WeftSpecNode *n, int k, Point *out)
{
  graphene_rect_t r;
  int count = weft_canvas_port_count (n);

  node_rect (self, n->id, &r);
  out->x = r.origin.x;
  out->y = r.origin.y + r.size.height * (k + 1) / (count + 1);
}

static gboolean
output_port_pos (WeftCanvas *self, const char *id, Point *out)
{
  graphene_rect_t r;

  if (!node_rect (self, id, &r))
    return FALSE;
  out->x = r.origin.x + r.size.width;
  out->y = r.origin.y + r.size.height / 2;
  return TRUE;
}

static gboolean
has_output (const WeftCanvas *self, const char *id)
{
  const WeftSpecNode *n = weft_spec_find_node (self->spec, id);
  return n == NULL || !is_loss_type (n->type);
}

static void
to_world (WeftCanvas *self, double vx, double vy, double *wx, double *wy)
{
  *wx = (vx - self->pan_x) / self->zoom;
  *wy = (vy - self->pan_y) / self->zoom;
}

static double
snap (double v)
{
  return round (v / WEFT_CANVAS_GRID) * WEFT_CANVAS_GRID;
}

/* Ids in spec order: inputs, then nodes. */
static void
foreach_id (WeftCanvas *self, void (*fn) (WeftCanvas *, const char *, gpointer), gpointer data)
{
  if (self->spec == NULL)
    return;
  for (guint i = 0; i < self->spec->inputs->len; i++)
    fn (self, ((WeftSpecInput *) g_ptr_array_index (self->spec->inputs, i))->id, data);
  for (guint i = 0; i < self->spec->nodes->len; i++)
    fn (self, ((WeftSpecNode *) g_ptr_array_index (self->spec->nodes, i))->id, data);
}

typedef struct {
  double x, y;
  const char *hit;
} HitData;

static void
hit_node_cb (WeftCanvas *self, const char *id, gpointer data)
{
  HitData *h = data;
  graphene_rect_t r;
  if (node_rect (self, id, &r) && graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (h->x, h->y)))
    h->hit = id;             /* the last one drawn is on top */
}

static const char *
hit_node (WeftCanvas *self, double wx, double wy)
{
  HitData h = { wx, wy, NULL };
  foreach_id (self, hit_node_cb, &h);
  return h.hit;
}

static void
hit_output_cb (WeftCanvas *self, const char *id, gpointer data)
{
  HitData *h = data;
  Point p;
  if (has_output (self, id) && output_port_pos (self, id, &p) &&
      hypot (p.x - h->x, p.y - h->y) <= PORT_HIT / self->zoom)
    h->hit = id;
}

static const char *
hit_output (WeftCanvas *self, double wx, double wy)
{
  HitData h = { wx, wy, NULL };
  foreach_id (self, hit_output_cb, &h);
  return h.hit;
}

static const WeftSpecNode *
hit_input (WeftCanvas *self, double wx, double wy, int *port)
{
  if (self->spec == NULL)
    return NULL;
  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      int count = weft_canvas_port_count (n);
      for (int k = 0; k < count; k++)
        {
          Point p;
          input_port_pos (self, n, k, &p);
          if (hypot (p.x - wx, p.y - wy) <= PORT_HIT / self->zoom)
            {
              *port = k;
              return n;
            }
        }
    }
  return NULL;
}

/* -- drawing -------------------------------------------------------------- */

static void
get_fg (GtkWidget *widget, GdkRGBA *fg)
{
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), fg);
G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
curve (cairo_t *cr, const Point *a, const Point *b)
{
  double dx = MAX (40, fabs (b->x - a->x) / 2);
  cairo_move_to (cr, a->x, a->y);
  cairo_curve_to (cr, a->x + dx, a->y, b->x - dx, b->y, b->x, b->y);
}

/* Centred on (x, y), or ending at x when right_aligned. */
static void
draw_label (WeftCanvas *self, cairo_t *cr, double x, double y, const char *text,
            const GdkRGBA *fg, gboolean boxed, gboolean right_aligned)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoFontDescription *font = pango_font_description_from_string ("Monospace 8");
  int w, h;

  pango_layout_set_font_description (layout, font);
  pango_layout_get_pixel_size (layout, &w, &h);
  if (right_aligned)
    x -= w / 2.0;
  if (boxed)
    {
      GdkRGBA bg;
      gboolean dark = fg->red > 0.5;
      gdk_rgba_parse (&bg, dark ? "#303030" : "#fafafa");
      gdk_cairo_set_source_rgba (cr, &bg);
      cairo_rectangle (cr, x - w / 2.0 - 3, y - h / 2.0 - 1, w + 6, h + 2);
      cairo_fill (cr);
    }
  gdk_cairo_set_source_rgba (cr, fg);
  cairo_move_to (cr, x - w / 2.0, y - h / 2.0);
  pango_cairo_show_layout (cr, layout);
  pango_font_description_free (font);
  g_object_unref (layout);
}

static char *
shape_text (WeftCanvas *self, const char *id)
{
  const WeftInspectNode *info = self->insp ? weft_inspection_lookup (self->insp, id) : NULL;
  if (info == NULL || !info->known)
    return g_strdup ("?");
  return weft_shape_to_string (&info->shape);
}

static void
draw_below (WeftCanvas *self, cairo_t *cr, int width, int height)
{
  GdkRGBA fg, accent;
  double x0, y0, x1, y1;

  get_fg (GTK_WIDGET (self), &fg);
  gdk_rgba_parse (&accent, "#3584e4");

  /* Grid dots in the visible world rectangle. */
  to_world (self, 0, 0, &x0, &y0);
  to_world (self, width, height, &x1, &y1);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
  double step = WEFT_CANVAS_GRID * (self->zoom < 0.6 ? 4 : 2);
  for (double gx = floor (x0 / step) * step; gx <= x1; gx += step)
    for (double gy = floor (y0 / step) * step; gy <= y1; gy += step)
      cairo_rectangle (cr, gx - 0.75 / self->zoom, gy - 0.75 / self->zoom,
                       1.5 / self->zoom, 1.5 / self->zoom);
  cairo_fill (cr);

  if (self->spec == NULL)
    return;

  /* Edges, then their shapes on top. */
  cairo_set_line_width (cr, 2.0);
  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      for (int k = 0; n->inputs && n->inputs[k]; k++)
        {
          Point a, b;
          if (!output_port_pos (self, n->inputs[k], &a))
            continue;
          if (self->mode == DRAG_DETACH && g_str_equal (n->id, self->detach_dst) &&
              k == self->detach_port)
            continue;
          input_port_pos (self, n, k, &b);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.55);
          curve (cr, &a, &b);
          cairo_stroke (cr);
        }
    }

  /* Shared weights: a dashed link between the two nodes' centres. */
  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      graphene_rect_t ra, rb;
      if (n->share_weights_with == NULL ||
          !node_rect (self, n->id, &ra) || !node_rect (self, n->share_weights_with, &rb))
        continue;
      double dashes[] = { 6, 4 };
      cairo_save (cr);
      cairo_set_dash (cr, dashes, 2, 0);
      cairo_set_line_width (cr, 2.5);
      gdk_cairo_set_source_rgba (cr, &accent);
      double ax = ra.origin.x + ra.size.width / 2, ay = ra.origin.y + ra.size.height / 2;
      double bx = rb.origin.x + rb.size.width / 2, by = rb.origin.y + rb.size.height / 2;
      cairo_move_to (cr, ax, ay);
      cairo_line_to (cr, bx, by);
      cairo_stroke (cr);
      cairo_restore (cr);
      draw_label (self, cr, (ax + bx) / 2, (ay + by) / 2, "shared weights", &accent, TRUE, FALSE);
    }
}

/* Each edge's tensor shape, next to the port it enters (mid-edge labels of
 * crossing edges collide), drawn over the nodes so none is hidden. */
static void
draw_shapes (WeftCanvas *self, cairo_t *cr, const GdkRGBA *fg)
{
  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      for (int k = 0; n->inputs && n->inputs[k]; k++)
        {
          Point a, b;
          if (!output_port_pos (self, n->inputs[k], &a))
            continue;
          input_port_pos (self, n, k, &b);
          g_autofree char *shape = shape_text (self, n->inputs[k]);
          draw_label (self, cr, b.x - 10, b.y - 9, shape, fg, TRUE, TRUE);
        }
    }
}

static void
draw_port (cairo_t *cr, const Point *p, const GdkRGBA *fill, const GdkRGBA *ring)
{
  cairo_arc (cr, p->x, p->y, PORT_RADIUS, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, fill);
  cairo_fill_preserve (cr);
  gdk_cairo_set_source_rgba (cr, ring);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
}

static void
draw_above (WeftCanvas *self, cairo_t *cr)
{
  GdkRGBA fg, accent, hollow;

  if (self->spec == NULL)
    return;
  get_fg (GTK_WIDGET (self), &fg);
  gdk_rgba_parse (&accent, "#3584e4");
  hollow = fg.red > 0.5 ? (GdkRGBA) { 0.19, 0.19, 0.19, 1 } : (GdkRGBA) { 1, 1, 1, 1 };

  for (guint i = 0; i < self->spec->nodes->len; i++)
    {
      const WeftSpecNode *n = g_ptr_array_index (self->spec->nodes, i);
      int count = weft_canvas_port_count (n);
      int connected = n->inputs ? g_strv_length (n->inputs) : 0;
      for (int k = 0; k < count; k++)
        {
          Point p;
          input_port_pos (self, n, k, &p);
          draw_port (cr, &p, k < connected ? &accent : &hollow, &accent);
        }
    }
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *list = pass ? self->spec->nodes : self->spec->inputs;
      for (guint i = 0; i < list->len; i++)
        {
          const char *id = pass ? ((WeftSpecNode *) list->pdata[i])->id
                                : ((WeftSpecInput *) list->pdata[i])->id;
          Point p;
          if (has_output (self, id) && output_port_pos (self, id, &p))
            draw_port (cr, &p, &accent, &accent);
        }
    }

  draw_shapes (self, cr, &fg);

  /* The connection being dragged. */
  if ((self->mode == DRAG_CONNECT || self->mode == DRAG_DETACH) && self->drag_from)
    {
      Point a, b;
      if (output_port_pos (self, self->drag_from, &a))
        {
          to_world (self, self->cur_x, self->cur_y, &b.x, &b.y);
          cairo_set_source_rgba (cr, accent.red, accent.green, accent.blue, 0.9);
          cairo_set_line_width (cr, 2.5);
          curve (cr, &a, &b);
          cairo_stroke (cr);
        }
    }
}

static void
weft_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  WeftCanvas *self = WEFT_CANVAS (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  cairo_t *cr;

  gtk_snapshot_push_clip (snapshot, &bounds);

  cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  cairo_translate (cr, self->pan_x, self->pan_y);
  cairo_scale (cr, self->zoom, self->zoom);
  draw_below (self, cr, width, height);
  cairo_destroy (cr);

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_snapshot_child (widget, child, snapshot);

  cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  cairo_translate (cr, self->pan_x, self->pan_y);
  cairo_scale (cr, self->zoom, self->zoom);
  draw_above (self, cr);
  cairo_destroy (cr);

  if (self->mode == DRAG_BOX)
    {
      graphene_rect_t box = GRAPHENE_RECT_INIT (MIN (self->press_x, self->cur_x),
                                                MIN (self->press_y, self->cur_y),
                                                fabs (self->cur_x - self->press_x),
                                                fabs (self->cur_y - self->press_y));
      cr = gtk_snapshot_append_cairo (snapshot, &bounds);
      cairo_rectangle (cr, box.origin.x + 0.5, box.origin.y + 0.5, box.size.width, box.size.height);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.15);
      cairo_fill_preserve (cr);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.8);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
      cairo_destroy (cr);
    }

  gtk_snapshot_pop (snapshot);
}

/* -- layout --------------------------------------------------------------- */

static void
weft_canvas_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                     int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  *minimum = 100;
  *natural = 600;
}

static void
allocate_cb (WeftCanvas *self, const char *id, gpointer data)
{
  GtkWidget *w = g_hash_table_lookup (self->nodes, id);
  graphene_rect_t r;

  if (w == NULL || !node_rect (self, id, &r))
    return;
  GskTransform *t = gsk_transform_translate (NULL, &GRAPHENE_POINT_INIT (
    r.origin.x * self->zoom + self->pan_x, r.origin.y * self->zoom + self->pan_y));
  t = gsk_transform_scale (t, self->zoom, self->zoom);
  gtk_widget_allocate (w, r.size.width, r.size.height, -1, t);
}

static void fit (WeftCanvas *self, int width, int height);

static void
weft_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  WeftCanvas *self = WEFT_CANVAS (widget);

  if (self->fit_pending && width > 0 && height > 0)
    fit (self, width, height);
  foreach_id (self, allocate_cb, NULL);
}

/* -- model ---------------------------------------------------------------- */

static char *
describe (const WeftInspectNode *info)
{
  if (info == NULL || !info->known)
    return NULL;
  g_autofree char *shape = weft_shape_to_string (&info->shape);
  if (info->params == 0 && info->flops == 0)
    return g_strdup_printf ("out %s", shape);
  g_autofree char *params = weft_format_count (info->params);
  g_autofree char *flops = weft_format_count (info->flops);
  return g_strdup_printf ("out %s\n%s params · %s FLOPs", shape, params, flops);
}

static void
node_clicked_cb (WeftCanvasNode *node, WeftCanvas *self)
{
  weft_canvas_select (self, weft_canvas_node_get_id (node), FALSE);
}

static void
sync_cb (WeftCanvas *self, const char *id, gpointer data)
{
  GHashTable *alive = data;
  const WeftSpecNode *n = weft_spec_find_node (self->spec, id);
  const WeftSpecInput *in = n ? NULL : weft_spec_find_input (self->spec, id);
  WeftCanvasNode *w = g_hash_table_lookup (self->nodes, id);
  double x, y;

  g_hash_table_add (alive, (gpointer) id);
  if (w == NULL)
    {
      w = WEFT_CANVAS_NODE (weft_canvas_node_new (id));
      g_signal_connect (w, "clicked", G_CALLBACK (node_clicked_cb), self);
      gtk_widget_set_parent (GTK_WIDGET (w), GTK_WIDGET (self));
      g_hash_table_insert (self->nodes, g_strdup (id), w);
    }
  else
    {
      /* Keep drawing order = spec order, so the hit test and the picture agree. */
      gtk_widget_insert_before (GTK_WIDGET (w), GTK_WIDGET (self), NULL);
    }

  if (!weft_layout_get (self->spec, id, &x, &y))
    {
      /* The page lays out specs before showing them; this is a fallback. */
      x = WEFT_LAYOUT_MARGIN;
      y = WEFT_LAYOUT_MARGIN;
    }
  Point *p = g_new (Point, 1);
  p->x = x;
  p->y = y;
  g_hash_table_insert (self->pos, g_strdup (id), p);

  const WeftInspectNode *info = self->insp ? weft_inspection_lookup (self->insp, id) : NULL;
  g_autofree char *text = describe (info);
  const char *error = self->insp && g_strcmp0 (self->insp->error_id, id) == 0 ? self->insp->error : NULL;
  g_autofree char *title = NULL;
  const char *badge = NULL;
  gboolean loss = FALSE;

  if (in)
    {
      g_autofree char *m = g_strdup (weft_modality_choices[in->modality]);
      m[0] = g_ascii_toupper (m[0]);
      title = g_strdup_printf ("%s input", m);
    }
  else
    {
      const WeftBlock *b = weft_block_lookup (n->type);
      title = g_strdup (b ? b->title : n->type);
      loss = b && (b->flags & WEFT_BLOCK_LOSS);
      if (n->frozen || n->weights_from_checkpoint)
        badge = "❄ frozen";
      else if (n->share_weights_with)
        badge = "⇄ shared";
    }
  weft_canvas_node_update (w, title, text, error, badge, in != NULL, loss);
  weft_canvas_node_set_selected (w, g_hash_table_contains (self->selected, id));
}

void
weft_canvas_set_spec (WeftCanvas *self, const WeftSpec *spec, const WeftInspection *insp)
{
  g_return_if_fail (WEFT_IS_CANVAS (self));

  self->spec = spec;
  self->insp = insp;
  self->mode = DRAG_NONE;

  g_autoptr(GHashTable) alive = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_remove_all (self->pos);
  foreach_id (self, sync_cb, alive);

  /* Drop the widgets (and selection) of ids that are gone. */
  GHashTableIter iter;
  gpointer key, value;
  gboolean selection_changed = FALSE;
  g_hash_table_iter_init (&iter, self->nodes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (alive, key))
      {
        gtk_widget_unparent (value);
        g_hash_table_iter_remove (&iter);
      }
  g_hash_table_iter_init (&iter, self->selected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (alive, key))
      {
        g_hash_table_iter_remove (&iter);
        selection_changed = TRUE;
      }

  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (selection_changed)
    g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

gboolean
weft_canvas_get_position (WeftCanvas *self, const char *id, double *x, double *y)
{
  Point *p = g_hash_table_lookup (self->pos, id);
  if (p == NULL)
    return FALSE;
  *x = p->x;
  *y = p->y;
  return TRUE;
}

static void
collect_selected_cb (WeftCanvas *self, const char *id, gpointer data)
{
  if (g_hash_table_contains (self->selected, id))
    g_ptr_array_add (data, (gpointer) id);
}

GPtrArray *
weft_canvas_dup_selection (WeftCanvas *self)
{
  GPtrArray *a = g_ptr_array_new ();
  foreach_id (self, collect_selected_cb, a);
  return a;
}

static void
refresh_selection (WeftCanvas *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->nodes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    weft_canvas_node_set_selected (value, g_hash_table_contains (self->selected, key));
  g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

void
weft_canvas_select (WeftCanvas *self, const char *id, gboolean extend)
{
  if (!extend)
    g_hash_table_remove_all (self->selected);
  if (id && g_hash_table_contains (self->nodes, id))
    g_hash_table_add (self->selected, g_strdup (id));
  refresh_selection (self);
}

static void
select_all_cb (WeftCanvas *self, const char *id, gpointer data)
{
  g_hash_table_add (self->selected, g_strdup (id));
}

void
weft_canvas_select_all (WeftCanvas *self)
{
  foreach_id (self, select_all_cb, NULL);
  refresh_selection (self);
}

void
weft_canvas_focus_node (WeftCanvas *self, const char *id)
{
  GtkWidget *w = g_hash_table_lookup (self->nodes, id);
  if (w)
    gtk_widget_grab_focus (w);
}

static void
zoom_at (WeftCanvas *self, double factor, double vx, double vy)
{
  double wx, wy;
  double z = CLAMP (self->zoom * factor, MIN_ZOOM, MAX_ZOOM);

  to_world (self, vx, vy, &wx, &wy);
  self->zoom = z;
  self->pan_x = vx - wx * z;
  self->pan_y = vy - wy * z;
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_canvas_zoom (WeftCanvas *self, double factor)
{
  zoom_at (self, factor, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
weft_canvas_zoom_reset (WeftCanvas *self)
{
  self->zoom = 1.0;
  self->pan_x = self->pan_y = 0;
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
bounds_cb (WeftCanvas *self, const char *id, gpointer data)
{
  graphene_rect_t *all = data, r;
  if (!node_rect (self, id, &r))
    return;
  if (all->size.width < 0)
    *all = r;
  else
    graphene_rect_union (all, &r, all);
}

static void
fit (WeftCanvas *self, int width, int height)
{
  graphene_rect_t all = GRAPHENE_RECT_INIT (0, 0, -1, -1);
  const double margin = 24;

  self->fit_pending = FALSE;
  foreach_id (self, bounds_cb, &all);
  if (all.size.width < 0)
    {
      self->zoom = 1.0;
      self->pan_x = self->pan_y = 0;
      return;
    }
  double z = MIN ((width - 2 * margin) / all.size.width, (height - 2 * margin) / all.size.height);
  /* Below 0.6 the labels are too small to read: pan to see the rest. */
  self->zoom = CLAMP (z, 0.6, 1.0);
  /* Top left aligned (where people read a diagram from), centred if small. */
  self->pan_x = margin - all.origin.x * self->zoom;
  self->pan_y = margin - all.origin.y * self->zoom;
  if (all.size.width * self->zoom < width - 2 * margin)
    self->pan_x += (width - 2 * margin - all.size.width * self->zoom) / 2;
}

void
weft_canvas_zoom_fit (WeftCanvas *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  self->fit_pending = TRUE;
  if (width > 0 && height > 0)
    fit (self, width, height);
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
weft_canvas_get_zoom (WeftCanvas *self)
{
  return self->zoom;
}

typedef struct {
  graphene_rect_t probe;
  gboolean busy;
} SpotData;

static void
spot_cb (WeftCanvas *self, const char *id, gpointer data)
{
  SpotData *s = data;
  graphene_rect_t r;
  if (node_rect (self, id, &r) && graphene_rect_intersection (&r, &s->probe, NULL))
    s->busy = TRUE;
}

void
weft_canvas_get_free_spot (WeftCanvas *self, double *x, double *y)
{
  double x0, y0;

  /* Scan the visible area column by column for a spot no node covers. */
  to_world (self, 0, 0, &x0, &y0);
  x0 = snap (MAX (x0, 0) + WEFT_LAYOUT_MARGIN);
  y0 = snap (MAX (y0, 0) + WEFT_LAYOUT_MARGIN);
  for (int col = 0; col < 12; col++)
    for (int row = 0; row < 6; row++)
      {
        SpotData s = { GRAPHENE_RECT_INIT (x0 + col * WEFT_LAYOUT_COLUMN,
                                           y0 + row * WEFT_LAYOUT_ROW, 200, 110), FALSE };
        foreach_id (self, spot_cb, &s);
        if (!s.busy)
          {
            *x = s.probe.origin.x;
            *y = s.probe.origin.y;
            return;
          }
      }
  *x = x0;
  *y = y0;
}

/* -- input ---------------------------------------------------------------- */

static void
begin_move (WeftCanvas *self)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_remove_all (self->drag_start);
  g_hash_table_iter_init (&iter, self->selected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Point *p = g_hash_table_lookup (self->pos, key);
      if (p)
        g_hash_table_insert (self->drag_start, g_strdup (key), g_memdup2 (p, sizeof *p));
    }
  self->mode = DRAG_MOVE;
}

static void
drag_begin_cb (GtkGestureDrag *gesture, double x, double y, WeftCanvas *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  gboolean extend = (mods & (GDK_SHIFT_MASK | GDK_CONTROL_MASK)) != 0;
  double wx, wy;
  const char *id;
  const WeftSpecNode *dst;
  int port;

  self->press_x = self->cur_x = x;
  self->press_y = self->cur_y = y;
  g_clear_pointer (&self->drag_from, g_free);
  g_clear_pointer (&self->detach_dst, g_free);
  to_world (self, x, y, &wx, &wy);

  if (button == GDK_BUTTON_MIDDLE || self->spec == NULL)
    {
      self->mode = DRAG_PAN;
      self->pan_start_x = self->pan_x;
      self->pan_start_y = self->pan_y;
    }
  else if ((id = hit_output (self, wx, wy)))
    {
      self->mode = DRAG_CONNECT;
      self->drag_from = g_strdup (id);
    }
  else if ((dst = hit_input (self, wx, wy, &port)) && dst->inputs &&
           port < (int) g_strv_length (dst->inputs))
    {
      /* Pulling a connected input off its port: drop it elsewhere to remove
       * the connection, or on another port to move it there. */
      self->mode = DRAG_DETACH;
      self->drag_from = g_strdup (dst->inputs[port]);
      self->detach_dst = g_strdup (dst->id);
      self->detach_port = port;
    }
  else if ((id = hit_node (self, wx, wy)))
    {
      if (!g_hash_table_contains (self->selected, id))
        weft_canvas_select (self, id, extend);
      else if (extend)
        {
          g_hash_table_remove (self->selected, id);
          refresh_selection (self);
        }
      weft_canvas_focus_node (self, id);
      begin_move (self);
    }
  else
    {
      if (!extend)
        weft_canvas_select (self, NULL, FALSE);
      self->mode = DRAG_BOX;
      gtk_widget_grab_focus (GTK_WIDGET (self));
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
drag_update_cb (GtkGestureDrag *gesture, double dx, double dy, WeftCanvas *self)
{
  self->cur_x = self->press_x + dx;
  self->cur_y = self->press_y + dy;

  switch (self->mode)
    {
    case DRAG_MOVE:
      {
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init (&iter, self->drag_start);
        while (g_hash_table_iter_next (&iter, &key, &value))
          {
            Point *start = value;
            Point *p = g_hash_table_lookup (self->pos, key);
            if (p)
              {
                p->x = snap (start->x + dx / self->zoom);
                p->y = snap (start->y + dy / self->zoom);
              }
          }
        gtk_widget_queue_allocate (GTK_WIDGET (self));
      }
      break;
    case DRAG_PAN:
      self->pan_x = self->pan_start_x + dx;
      self->pan_y = self->pan_start_y + dy;
      gtk_widget_queue_allocate (GTK_WIDGET (self));
      break;
    default:
      break;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

typedef struct {
  graphene_rect_t box;
} BoxData;

static void
box_cb (WeftCanvas *self, const char *id, gpointer data)
{
  BoxData *b = data;
  graphene_rect_t r;
  if (node_rect (self, id, &r) && graphene_rect_intersection (&r, &b->box, NULL))
    g_hash_table_add (self->selected, g_strdup (id));
}

static void
drag_end_cb (GtkGestureDrag *gesture, double dx, double dy, WeftCanvas *self)
{
  DragMode mode = self->mode;
  double wx, wy;
  int port;

  self->mode = DRAG_NONE;
  to_world (self, self->press_x + dx, self->press_y + dy, &wx, &wy);

  switch (mode)
    {
    case DRAG_MOVE:
      if (dx != 0 || dy != 0)
        g_signal_emit (self, signals[SIGNAL_NODES_MOVED], 0);
      break;
    case DRAG_CONNECT:
    case DRAG_DETACH:
      {
        const WeftSpecNode *dst = hit_input (self, wx, wy, &port);
        g_autofree char *from = g_steal_pointer (&self->drag_from);
        g_autofree char *detach = g_steal_pointer (&self->detach_dst);
        g_autofree char *dst_id = dst ? g_strdup (dst->id) : NULL;
        if (mode == DRAG_DETACH && dst_id && g_str_equal (dst_id, detach) && port == self->detach_port)
          break;             /* dropped back where it was */
        /* Disconnect first (the page swaps the spec, so dst is stale after);
         * the later ports of the same variadic block shift down by one. */
        if (mode == DRAG_DETACH)
          {
            g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, detach, self->detach_port);
            if (dst_id && g_str_equal (dst_id, detach) && port > self->detach_port)
              port--;
          }
        if (dst_id && !g_str_equal (dst_id, from))
          g_signal_emit (self, signals[SIGNAL_CONNECT], 0, from, dst_id, port);
      }
      break;
    case DRAG_BOX:
      {
        double x0, y0;
        BoxData b;
        to_world (self, self->press_x, self->press_y, &x0, &y0);
        graphene_rect_init (&b.box, MIN (x0, wx), MIN (y0, wy), fabs (wx - x0), fabs (wy - y0));
        if (b.box.size.width > 2 || b.box.size.height > 2)
          {
            foreach_id (self, box_cb, &b);
            refresh_selection (self);
          }
      }
      break;
    default:
      break;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller, double dx, double dy, WeftCanvas *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (mods & GDK_CONTROL_MASK)
    {
      double x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      double y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
      zoom_at (self, dy < 0 ? 1.1 : 1 / 1.1, x, y);
      return TRUE;
    }
  self->pan_x -= dx * 30;
  self->pan_y -= dy * 30;
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static gboolean
drop_cb (GtkDropTarget *target, const GValue *value, double x, double y, WeftCanvas *self)
{
  double wx, wy;

  if (!G_VALUE_HOLDS_STRING (value))
    return FALSE;
  to_world (self, x, y, &wx, &wy);
  g_signal_emit (self, signals[SIGNAL_DROP_BLOCK], 0, g_value_get_string (value),
                 snap (wx), snap (wy));
  return TRUE;
}

/* -- class ---------------------------------------------------------------- */

static void
weft_canvas_dispose (GObject *object)
{
  WeftCanvas *self = WEFT_CANVAS (object);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))))
    gtk_widget_unparent (child);
  g_hash_table_remove_all (self->nodes);
  self->spec = NULL;
  self->insp = NULL;
  G_OBJECT_CLASS (weft_canvas_parent_class)->dispose (object);
}

static void
weft_canvas_finalize (GObject *object)
{
  WeftCanvas *self = WEFT_CANVAS (object);

  g_hash_table_unref (self->nodes);
  g_hash_table_unref (self->pos);
  g_hash_table_unref (self->selected);
  g_hash_table_unref (self->drag_start);
  g_free (self->drag_from);
  g_free (self->detach_dst);
  G_OBJECT_CLASS (weft_canvas_parent_class)->finalize (object);
}

static void
weft_canvas_class_init (WeftCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_canvas_dispose;
  object_class->finalize = weft_canvas_finalize;
  widget_class->snapshot = weft_canvas_snapshot;
  widget_class->measure = weft_canvas_measure;
  widget_class->size_allocate = weft_canvas_size_allocate;

  signals[SIGNAL_SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_NODES_MOVED] =
    g_signal_new ("nodes-moved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CONNECT] =
    g_signal_new ("connect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT);
  signals[SIGNAL_DISCONNECT] =
    g_signal_new ("disconnect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
  signals[SIGNAL_DROP_BLOCK] =
    g_signal_new ("drop-block", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  gtk_widget_class_set_css_name (widget_class, "weftcanvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
weft_canvas_init (WeftCanvas *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_COPY);

  self->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->selected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->drag_start = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->zoom = 1.0;

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
}

GtkWidget *
weft_canvas_new (void)
{
  return g_object_new (WEFT_TYPE_CANVAS, NULL);
}
