/* weft-edit-history.h — undo and redo for the architecture editor: every
 * edit is recorded as the model spec it replaced, so any edit can be undone. */
#pragma once

#include "graph/weft-spec.h"

G_BEGIN_DECLS

typedef struct _WeftEditHistory WeftEditHistory;

WeftEditHistory *weft_edit_history_new (void);
void             weft_edit_history_free (WeftEditHistory *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftEditHistory, weft_edit_history_free)

/* Records that an edit named @label replaced @before (copied). Consecutive
 * edits with the same non-NULL @merge_key are one step (a spin button
 * dragged through ten values is undone at once). Clears the redo list. */
void         weft_edit_history_record (WeftEditHistory *self, const WeftSpec *before,
                                       const char *label, const char *merge_key);
void         weft_edit_history_clear  (WeftEditHistory *self);
gboolean     weft_edit_history_can_undo (WeftEditHistory *self);
gboolean     weft_edit_history_can_redo (WeftEditHistory *self);
/* Labels of the next undo / redo step (borrowed), or NULL. */
const char  *weft_edit_history_get_undo_label (WeftEditHistory *self);
const char  *weft_edit_history_get_redo_label (WeftEditHistory *self);
/* The spec to show after undoing (caller owns); @current is kept for redo.
 * NULL when there is nothing to undo. */
WeftSpec    *weft_edit_history_undo (WeftEditHistory *self, const WeftSpec *current);
WeftSpec    *weft_edit_history_redo (WeftEditHistory *self, const WeftSpec *current);

G_END_DECLS
