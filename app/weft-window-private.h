/* weft-window-private.h — WeftWindow's instance structure, shared by the
 * files that split the class by concern (actions, drag and drop). */
#pragma once

#include "weft-welcome-page.h"
#include "weft-window.h"

G_BEGIN_DECLS

struct _WeftWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwViewSwitcherTitle *switcher_title;
  AdwToastOverlay      *toast_overlay;
  AdwViewStack         *view_stack;
  GtkStack             *dataset_stack;
  WeftWelcomePage      *welcome_page;
  AdwStatusPage        *dataset_status;
  GtkSpinner           *dataset_spinner;
  GMenu                *open_section;

  /* Borrowed (weak) */
  AdwToast             *toast;

  /* Owned */
  GSettings            *settings;
  GFile                *dataset_folder;
  GMenu                *recent_menu;
  GtkFileChooserNative *folder_chooser;
};

#define WEFT_WINDOW_MAX_RECENT_FOLDERS 10

void _weft_window_class_actions_init (WeftWindowClass *klass);
void _weft_window_dnd_init           (WeftWindow      *self);
void _weft_window_forget_folder      (WeftWindow      *self,
                                      const char      *uri);
void _weft_window_open_dataset_titled (WeftWindow     *self,
                                       GFile          *folder,
                                       const char     *title);

G_END_DECLS
