/* weft-sample-item.h — one dataset sample as a GObject for list models, and
 * the reference-counted dataset the items (and workers) share. */
#pragma once

#include <gtk/gtk.h>

#include "data/weft-dataset.h"

G_BEGIN_DECLS

/* A WeftDataset shared between the page, its items and worker threads;
 * an atomic reference-counted box holding the pointer. */
typedef WeftDataset *WeftSharedDataset;

WeftSharedDataset *weft_shared_dataset_new   (WeftDataset       *ds);  /* takes ds */
WeftSharedDataset *weft_shared_dataset_ref   (WeftSharedDataset *shared);
void               weft_shared_dataset_unref (WeftSharedDataset *shared);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftSharedDataset, weft_shared_dataset_unref)

#define WEFT_TYPE_SAMPLE_ITEM (weft_sample_item_get_type ())

G_DECLARE_FINAL_TYPE (WeftSampleItem, weft_sample_item, WEFT, SAMPLE_ITEM, GObject)

/* Borrows sample, which must belong to shared (a reference is kept). */
WeftSampleItem *weft_sample_item_new           (WeftSharedDataset *shared,
                                                const WeftSample  *sample);
const WeftSample *weft_sample_item_get_sample  (WeftSampleItem    *self);
const char     *weft_sample_item_get_id        (WeftSampleItem    *self);
const char     *weft_sample_item_get_label     (WeftSampleItem    *self);
const char     *weft_sample_item_get_text      (WeftSampleItem    *self);
const char     *weft_sample_item_get_image_path (WeftSampleItem   *self);
const char     *weft_sample_item_get_audio_path (WeftSampleItem   *self);
int             weft_sample_item_get_split     (WeftSampleItem    *self);
const char     *weft_sample_item_get_split_name (WeftSampleItem   *self);
/* "face with tongue" for "face with tongue; face, tongue": the caption up
 * to its first ';', at most 80 characters; newly allocated, or NULL. */
char           *weft_sample_item_dup_short_text (WeftSampleItem   *self);

/* Set by WeftSampleLoader on the main thread; NULL until decoded. */
GdkPaintable   *weft_sample_item_get_thumbnail (WeftSampleItem    *self);
void            weft_sample_item_set_thumbnail (WeftSampleItem    *self,
                                                GdkPaintable      *thumbnail);
/* Min/max envelope: 2 × WEFT_SAMPLE_ENVELOPE_BINS floats (min, max pairs). */
#define WEFT_SAMPLE_ENVELOPE_BINS 48
GBytes         *weft_sample_item_get_envelope  (WeftSampleItem    *self);
void            weft_sample_item_set_envelope  (WeftSampleItem    *self,
                                                GBytes            *envelope);
/* Whether decoding the image (or sound) failed; the card shows a mark. */
gboolean        weft_sample_item_get_broken    (WeftSampleItem    *self);
void            weft_sample_item_set_broken    (WeftSampleItem    *self,
                                                gboolean           broken);

/* The first problem the dataset's reader found in the item's row (a
 * missing file, say), or NULL; set by the page when it makes the item. */
const WeftIssue *weft_sample_item_get_issue    (WeftSampleItem    *self);
void            _weft_sample_item_set_issue    (WeftSampleItem    *self,
                                                const WeftIssue   *issue);
/* The card showing the item is called when its thumbnail, envelope or
 * broken flag change (STATE: the flag); one watcher, the last card bound.
 * Cheaper per bind than connecting to the notify signals. */
typedef void  (*WeftSampleItemWatch)            (WeftSampleItem    *item,
                                                 gboolean           state,
                                                 gpointer           data);
void            _weft_sample_item_watch        (WeftSampleItem    *self,
                                                WeftSampleItemWatch watch,
                                                gpointer           data);
void            _weft_sample_item_unwatch      (WeftSampleItem    *self,
                                                gpointer           data);
/* How many cards show the item now; workers skip items nobody shows. */
void            _weft_sample_item_shown        (WeftSampleItem    *self,
                                                gboolean           shown);
gboolean        _weft_sample_item_is_shown     (WeftSampleItem    *self);

G_END_DECLS
