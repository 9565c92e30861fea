/* weft-model-page.h — the Model page: the architecture editor (block palette, node canvas, property panel) bound to the project's model spec.
 * The window hands it the project, and the features of the open dataset for shape checking. */
#pragma once

#include <adwaita.h>

#include "weft-project.h"
#include "data/weft-features.h"

G_BEGIN_DECLS

#define WEFT_TYPE_MODEL_PAGE (weft_model_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftModelPage, weft_model_page, WEFT, MODEL_PAGE, AdwBin)

/* The project whose model this page shows (a new reference is
 * taken; NULL: none). */
void         weft_model_page_set_project  (WeftModelPage *self,
                                  WeftProject *project);
WeftProject *weft_model_page_get_project  (WeftModelPage *self);
/* Shapes to check the model against (NULL: the default demo shapes).
 * Only the binding is read; no reference is kept. */
void         weft_model_page_set_features (WeftModelPage *self,
                                           const WeftFeatures *features);

G_END_DECLS
