/* weft-window.h — a Weft main window: one dataset and its Dataset, Model,
 * Train and Explore pages. */
#pragma once

#include <adwaita.h>

#include "data/weft-features.h"
#include "weft-application.h"
#include "weft-project.h"

G_BEGIN_DECLS

#define WEFT_TYPE_WINDOW (weft_window_get_type ())

G_DECLARE_FINAL_TYPE (WeftWindow, weft_window, WEFT, WINDOW, AdwApplicationWindow)

WeftWindow *weft_window_new                (WeftApplication *application);
void        weft_window_open_dataset       (WeftWindow      *self,
                                            GFile           *folder);
GFile      *weft_window_get_dataset_folder (WeftWindow      *self);
WeftFeatures *weft_window_get_features     (WeftWindow      *self);
void        weft_window_open_project       (WeftWindow      *self,
                                            GFile           *file);
WeftProject *weft_window_get_project       (WeftWindow      *self);
gboolean    weft_window_get_blank          (WeftWindow      *self);
void        weft_window_offer_recovery     (WeftWindow      *self);
void        weft_window_show_toast         (WeftWindow      *self,
                                            const char      *message);

G_END_DECLS
