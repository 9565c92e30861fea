/* weft-canvas.h — the architecture canvas: blocks as child widgets placed
 * by the canvas, edges with their tensor shapes, ports, shared-weight links;
 * pan, zoom, move, connect and box-select with the pointer. */
#pragma once

#include <gtk/gtk.h>

#include "graph/weft-layout.h"

G_BEGIN_DECLS

#define WEFT_TYPE_CANVAS (weft_canvas_get_type ())

G_DECLARE_FINAL_TYPE (WeftCanvas, weft_canvas, WEFT, CANVAS, GtkWidget)

/* Positions snap to this grid (world units). */
#define WEFT_CANVAS_GRID 20

GtkWidget *weft_canvas_new (void);

/* Shows @spec with the engine's @insp (both borrowed: the caller keeps them
 * alive until the next call or until the canvas is disposed). Node widgets
 * are kept by id, so focus survives an edit. */
void       weft_canvas_set_spec (WeftCanvas *self, const WeftSpec *spec,
                                 const WeftInspection *insp);

/* Current (possibly dragged) position of an id. */
gboolean   weft_canvas_get_position (WeftCanvas *self, const char *id, double *x, double *y);

/* Selected ids (borrowed strings; container is new), in spec order. */
GPtrArray *weft_canvas_dup_selection (WeftCanvas *self);
void       weft_canvas_select (WeftCanvas *self, const char *id, gboolean extend);
void       weft_canvas_select_all (WeftCanvas *self);
void       weft_canvas_focus_node (WeftCanvas *self, const char *id);

void       weft_canvas_zoom (WeftCanvas *self, double factor);
void       weft_canvas_zoom_reset (WeftCanvas *self);
/* Zooms (never above 1:1) and pans so that every node is visible; done at
 * the next allocation if the canvas has no size yet. */
void       weft_canvas_zoom_fit (WeftCanvas *self);
double     weft_canvas_get_zoom (WeftCanvas *self);
/* A free spot near the visible centre, for blocks added by keyboard. */
void       weft_canvas_get_free_spot (WeftCanvas *self, double *x, double *y);

/* Input ports a node shows: fixed-arity blocks all of theirs, variadic
 * ones each connected input plus one free port. */
/* "950", "40.2 k", "3.8 M": counts of parameters and FLOPs; caller frees. */
char       *weft_format_count (guint64 value);

int         weft_canvas_port_count (const WeftSpecNode *node);
const char *weft_canvas_port_name (const char *type, int port);

G_END_DECLS
