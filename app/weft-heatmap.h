/* weft-heatmap.h — a square matrix of values in [-1, 1] drawn as coloured
 * cells (the in-batch similarity of a contrastive model), with hover read-out. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WEFT_TYPE_HEATMAP (weft_heatmap_get_type ())

G_DECLARE_FINAL_TYPE (WeftHeatmap, weft_heatmap, WEFT, HEATMAP, GtkWidget)

GtkWidget *weft_heatmap_new       (void);
void       weft_heatmap_set_title (WeftHeatmap *self, const char *title);
/* Copies an (n, n) matrix whose rows are `stride` floats apart; row and
 * column captions name the two sides (may be NULL). n == 0 clears. */
void       weft_heatmap_set_matrix (WeftHeatmap *self, const float *values, int n, int stride,
                                    const char *rows_caption, const char *columns_caption);
int        weft_heatmap_get_size  (WeftHeatmap *self);

G_END_DECLS
