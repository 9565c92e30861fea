/* weft-compare-dialog.h — the "Compare Fusion Strategies" window: choose
 * templates, train them one after another with the same settings, then a
 * table and a bar chart of accuracy with every modality and with each one missing. */
#pragma once

#include <adwaita.h>

#include "data/weft-features.h"
#include "train/weft-trainer.h"
#include "weft-project.h"

G_BEGIN_DECLS

#define WEFT_TYPE_COMPARE_DIALOG (weft_compare_dialog_get_type ())

G_DECLARE_FINAL_TYPE (WeftCompareDialog, weft_compare_dialog, WEFT, COMPARE_DIALOG, AdwWindow)

/* The dialog keeps a reference to project and features and copies config
 * (the Train page's settings). Emits "runs-added" when a comparison ends.
 * "Export Results…" writes the table as CSV (WEFT_TEST_EXPORT_DIR set:
 * straight to comparison.csv there, without a file chooser). */
WeftCompareDialog *weft_compare_dialog_new (GtkWindow *parent, WeftProject *project,
                                            WeftFeatures *features,
                                            const WeftTrainConfig *config);
/* TRUE while templates train (also while a cancel winds down); notified
 * as "running" when that changes. */
gboolean           weft_compare_dialog_get_running (WeftCompareDialog *self);

G_END_DECLS
