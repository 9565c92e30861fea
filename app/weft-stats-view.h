/* weft-stats-view.h — the Dataset page's statistics: bar charts of samples
 * per label and per split and a histogram of caption lengths in tokens. */
#pragma once

#include <gtk/gtk.h>

#include "data/weft-dataset.h"

G_BEGIN_DECLS

#define WEFT_TYPE_STATS_VIEW (weft_stats_view_get_type ())

G_DECLARE_FINAL_TYPE (WeftStatsView, weft_stats_view, WEFT, STATS_VIEW, GtkWidget)

GtkWidget *weft_stats_view_new         (void);
/* Counts @ds (borrowed only for the call); NULL clears the view. */
void       weft_stats_view_set_dataset (WeftStatsView     *self,
                                        const WeftDataset *ds);

G_END_DECLS
