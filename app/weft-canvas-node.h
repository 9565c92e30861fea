/* weft-canvas-node.h — one block on the architecture canvas: a button (so
 * that keyboard and screen-reader users can reach and select it) showing
 * the node's id, block, shape, cost, badges and the engine's message. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WEFT_TYPE_CANVAS_NODE (weft_canvas_node_get_type ())

G_DECLARE_FINAL_TYPE (WeftCanvasNode, weft_canvas_node, WEFT, CANVAS_NODE, GtkButton)

GtkWidget  *weft_canvas_node_new (const char *id);
const char *weft_canvas_node_get_id (WeftCanvasNode *self);
/* @info: shape, parameters and FLOPs in words, or NULL; @error: the
 * engine's message about this node, or NULL; @badge: "frozen" or similar. */
void        weft_canvas_node_update (WeftCanvasNode *self, const char *block_title,
                                     const char *info, const char *error,
                                     const char *badge, gboolean is_input,
                                     gboolean is_loss);
void        weft_canvas_node_set_selected (WeftCanvasNode *self, gboolean selected);

G_END_DECLS
