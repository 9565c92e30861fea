/* weft-map-view.h — WeftMapView: a scatter map of 2-D points (a projected
 * embedding) with pan, zoom, hover, click, lasso and keyboard navigation. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* One marker shape per modality. */
typedef enum {
  WEFT_MAP_MARKER_CIRCLE,    /* image */
  WEFT_MAP_MARKER_SQUARE,    /* text */
  WEFT_MAP_MARKER_TRIANGLE,  /* audio */
  WEFT_MAP_MARKER_DIAMOND,   /* anything else (a fused vector) */
  WEFT_MAP_N_MARKERS
} WeftMapMarker;

/* Colour indices 0..WEFT_MAP_N_COLOURS-1 pick from a categorical palette
 * readable on light and dark backgrounds; WEFT_MAP_COLOUR_NONE is grey. */
#define WEFT_MAP_N_COLOURS   12
#define WEFT_MAP_COLOUR_NONE 255

#define WEFT_TYPE_MAP_VIEW (weft_map_view_get_type ())

G_DECLARE_FINAL_TYPE (WeftMapView, weft_map_view, WEFT, MAP_VIEW, GtkWidget)

GtkWidget *weft_map_view_new (void);

/* The points (copied): xy is (n, 2), data units, y up. A NaN x hides a
 * point. When the user has not panned or zoomed since the last reset the
 * view follows the data (so a settling t-SNE stays in frame). Clears the
 * hover, the active point and the selection when n changes. */
void       weft_map_view_set_points    (WeftMapView *self,
                                        const float *xy,
                                        int          n);
int        weft_map_view_get_n_points  (WeftMapView *self);
/* The point's position in data units (FALSE if out of range or hidden). */
gboolean   weft_map_view_get_point     (WeftMapView *self,
                                        int          i,
                                        double      *x,
                                        double      *y);

/* Per-point colour index and marker (both copied, (n) each; NULL: colour
 * 0 / circles). Must be called after set_points with the same n. */
void       weft_map_view_set_style     (WeftMapView  *self,
                                        const guint8 *colour,
                                        const guint8 *marker);
/* The names of the colours in use, drawn as the legend (copied; NULL: no
 * legend). */
void       weft_map_view_set_legend    (WeftMapView        *self,
                                        const char * const *names,
                                        int                 n_names);
/* Points with the same group (the sample they embed) are joined by lines:
 * always for the hovered and active point, and all faintly when there are
 * at most a few hundred groups. NULL: no lines. (n) copied. */
void       weft_map_view_set_groups    (WeftMapView *self,
                                        const int   *group);

/* The selection as a mask (n) (copied; NULL clears). Unselected points stay
 * visible, faded. Emits "selection-changed". */
void          weft_map_view_set_selection (WeftMapView  *self,
                                           const guint8 *mask);
/* Borrowed (n) mask, or NULL when nothing is selected. */
const guint8 *weft_map_view_get_selection (WeftMapView  *self,
                                           int          *n_selected);

/* Points to ring (search results, a failure's partners); copied. */
void       weft_map_view_set_highlight (WeftMapView *self,
                                        const int   *idx,
                                        int          n);

/* The point under the pointer (or reached with the arrow keys), -1: none. */
int        weft_map_view_get_hover     (WeftMapView *self);
void       weft_map_view_set_hover     (WeftMapView *self,
                                        int          i);
/* The clicked (Enter-ed) point, -1: none. Emits "point-activated". */
int        weft_map_view_get_active    (WeftMapView *self);
void       weft_map_view_set_active    (WeftMapView *self,
                                        int          i);
/* The hovered point's position in widget coordinates (for a popover). */
gboolean   weft_map_view_get_point_rect (WeftMapView  *self,
                                         int           i,
                                         GdkRectangle *rect);

/* Lasso mode: a primary drag draws a lasso instead of panning (a
 * Shift+drag always lassoes). */
void       weft_map_view_set_lasso_mode (WeftMapView *self,
                                         gboolean     lasso);
gboolean   weft_map_view_get_lasso_mode (WeftMapView *self);

void       weft_map_view_zoom          (WeftMapView *self,
                                        double       factor);
/* Fits the view to the data again and follows it. */
void       weft_map_view_reset_view    (WeftMapView *self);

/* Draws the whole map (points, lines, rings, legend) onto cr at
 * width x height, as on screen: for PNG/SVG export and the benchmark. The
 * dense layer is cached between calls while the data, view and size stay
 * the same; weft_map_view_invalidate drops it. */
void       weft_map_view_draw          (WeftMapView *self,
                                        cairo_t     *cr,
                                        int          width,
                                        int          height);
void       weft_map_view_invalidate    (WeftMapView *self);

/* The palette colour of an index (for legends elsewhere). */
void       weft_map_view_get_colour    (guint8   index,
                                        GdkRGBA *rgba);

G_END_DECLS
