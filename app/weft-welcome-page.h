/* weft-welcome-page.h — the Dataset page before a dataset is open: open a
 * folder, pick a demo dataset, or reopen a recent project. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WEFT_TYPE_WELCOME_PAGE (weft_welcome_page_get_type ())

G_DECLARE_FINAL_TYPE (WeftWelcomePage, weft_welcome_page, WEFT, WELCOME_PAGE, AdwBin)

G_END_DECLS
