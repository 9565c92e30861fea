/* weft-train-page.h — the Train page: training settings, start/pause/stop, live plots, the project's runs and the fusion comparison.
 * The window hands it the project and the features of the open dataset. */
#pragma once

#include <adwaita.h>

#include "weft-project.h"
#include "data/weft-dataset.h"
#include "data/weft-features.h"

G_BEGIN_DECLS

#define WEFT_TYPE_TRAIN_PAGE (weft_train_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftTrainPage, weft_train_page, WEFT, TRAIN_PAGE, AdwBin)

/* The project whose runs this page shows (a new reference is
 * taken; NULL: none). */
void         weft_train_page_set_project  (WeftTrainPage *self,
                                  WeftProject *project);
WeftProject *weft_train_page_get_project  (WeftTrainPage *self);

/* The features of the open dataset (a new reference is taken; NULL while
 * featurisation runs) and the dataset they come from (borrowed: the
 * Dataset page owns it and outlives this call; NULL: none). */
void          weft_train_page_set_features (WeftTrainPage *self,
                                   WeftFeatures *features,
                                   const WeftDataset *dataset);
WeftFeatures *weft_train_page_get_features (WeftTrainPage *self);

G_END_DECLS
