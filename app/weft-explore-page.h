/* weft-explore-page.h — the Explore page: the map of a run's joint embedding space, neighbours, search and evaluation.
 * The window hands it the project and the features of the open dataset. */
#pragma once

#include <adwaita.h>

#include "weft-project.h"
#include "data/weft-dataset.h"
#include "data/weft-features.h"

G_BEGIN_DECLS

#define WEFT_TYPE_EXPLORE_PAGE (weft_explore_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftExplorePage, weft_explore_page, WEFT, EXPLORE_PAGE, AdwBin)

/* The project whose runs this page shows (a new reference is
 * taken; NULL: none). */
void         weft_explore_page_set_project  (WeftExplorePage *self,
                                  WeftProject *project);
WeftProject *weft_explore_page_get_project  (WeftExplorePage *self);

/* The features of the open dataset (a new reference is taken; NULL while
 * featurisation runs) and the dataset they come from (borrowed: the
 * Dataset page owns it and outlives this call; NULL: none). */
void          weft_explore_page_set_features (WeftExplorePage *self,
                                   WeftFeatures *features,
                                   const WeftDataset *dataset);
WeftFeatures *weft_explore_page_get_features (WeftExplorePage *self);

G_END_DECLS
