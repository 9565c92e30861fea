/* weft-confusion-view.h — a classifier's confusion matrix drawn as cells:
 * true classes down, predicted across, counts and row-normalised colour. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WEFT_TYPE_CONFUSION_VIEW (weft_confusion_view_get_type ())

G_DECLARE_FINAL_TYPE (WeftConfusionView, weft_confusion_view, WEFT, CONFUSION_VIEW, GtkWidget)

GtkWidget *weft_confusion_view_new        (void);
/* Copies the (K, K) counts (row = true class, column = predicted) and the
 * class names (may be NULL or shorter than K: numbers are shown). K == 0
 * clears. The accessible description is rewritten to name the worst
 * confusions. */
void       weft_confusion_view_set_matrix (WeftConfusionView  *self,
                                           const gint64       *counts,
                                           int                 K,
                                           const char * const *class_names);
/* A sentence naming the most frequent confusions (caller frees). */
char      *weft_confusion_view_dup_summary (WeftConfusionView *self);

G_END_DECLS
