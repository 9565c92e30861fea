/* weft-eval-panel.h — WeftEvalPanel: how well a run does: retrieval recall
 * per direction with its worst failures, a classifier's confusion matrix
 * and accuracy per class, the score without each modality, and sliders
 * that add noise and show the change live. */
#pragma once

#include <gtk/gtk.h>

#include "data/weft-features.h"
#include "embed/weft-embed.h"

G_BEGIN_DECLS

#define WEFT_TYPE_EVAL_PANEL (weft_eval_panel_get_type ())

G_DECLARE_FINAL_TYPE (WeftEvalPanel, weft_eval_panel, WEFT, EVAL_PANEL, GtkWidget)

GtkWidget *weft_eval_panel_new     (void);
/* The run to evaluate: its embedding (borrowed: the caller keeps it alive
 * until the next call or NULL), its checkpoint (copied; NULL: no
 * robustness checks) and the features (a reference is taken). Retrieval is
 * computed now; the confusion matrix and robustness on a worker. */
void       weft_eval_panel_set_run (WeftEvalPanel       *self,
                                    const WeftEmbedding *embedding,
                                    const char          *checkpoint,
                                    WeftFeatures        *features);

G_END_DECLS
