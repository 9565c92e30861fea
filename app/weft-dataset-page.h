/* weft-dataset-page.h — the Dataset page once a dataset is open: filtered
 * grid of samples, statistics, validation report, and the features that
 * are computed in the background for training. */
#pragma once

#include <adwaita.h>

#include "data/weft-dataset.h"
#include "data/weft-features.h"

G_BEGIN_DECLS

#define WEFT_TYPE_DATASET_PAGE (weft_dataset_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftDatasetPage, weft_dataset_page, WEFT, DATASET_PAGE, AdwBin)

/* Shows @ds (taken) and starts featurising it. */
void          weft_dataset_page_take_dataset (WeftDatasetPage *self,
                                              WeftDataset     *ds);
/* Returns: (transfer none) (nullable): the dataset shown. */
const WeftDataset *weft_dataset_page_get_dataset (WeftDatasetPage *self);
/* Returns: (transfer none) (nullable): the features of the last finished
 * featurisation; they change (notify::features) when settings change. */
WeftFeatures *weft_dataset_page_get_features (WeftDatasetPage *self);
/* Stops featurisation and playback (the window closes or changes dataset). */
void          weft_dataset_page_stop (WeftDatasetPage *self);

G_END_DECLS
