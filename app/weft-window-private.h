/* weft-window-private.h — WeftWindow's instance structure, shared by the
 * files that split the class by concern (actions, drag and drop). */
#pragma once

#include "weft-project.h"
#include "weft-dataset-page.h"
#include "weft-explore-page.h"
#include "weft-model-page.h"
#include "weft-train-page.h"
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
  WeftDatasetPage      *dataset_page;
  WeftModelPage        *model_page;
  WeftTrainPage        *train_page;
  WeftExplorePage      *explore_page;
  GMenu                *open_section;

  /* Borrowed (weak) */
  AdwToast             *toast;
  GtkWidget            *close_dialog;

  /* Owned */
  GSettings            *settings;
  GFile                *dataset_folder;
  GMenu                *recent_menu;
  GtkFileChooserNative *folder_chooser;
  GCancellable         *load_cancellable;   /* reading the dataset folder */

  /* Owned: the project (weft-window-project.c) */
  WeftProject          *project;
  char                 *untitled_name;   /* the dataset's title, for a never-saved project */
  char                 *autosave_id;
  GtkFileChooserNative *project_chooser;
  guint                 autosave_timeout_id;
  guint                 autosave_debounce_id;
  gboolean              autosave_dirty;
  gboolean              close_confirmed;
  gboolean              close_after_save;
};

#define WEFT_WINDOW_MAX_RECENT_FOLDERS 10

void _weft_window_class_actions_init (WeftWindowClass *klass);
void _weft_window_project_init       (WeftWindow      *self);
void _weft_window_project_dispose    (WeftWindow      *self);
void _weft_window_new_project        (WeftWindow      *self);
void _weft_window_choose_project     (WeftWindow      *self);
void _weft_window_save               (WeftWindow      *self,
                                      gboolean         save_as);
void _weft_window_restore_autosaves  (WeftWindow      *self);
void _weft_window_dnd_init           (WeftWindow      *self);
void _weft_window_forget_folder      (WeftWindow      *self,
                                      const char      *uri);
void _weft_window_open_dataset_titled (WeftWindow     *self,
                                       GFile          *folder,
                                       const char     *title);

G_END_DECLS
