/* weft-sample-loader.h — decodes card thumbnails and waveform envelopes on
 * a worker pool and hands them to the items on the main thread. */
#pragma once

#include "weft-sample-item.h"

G_BEGIN_DECLS

#define WEFT_SAMPLE_THUMBNAIL_SIZE 96

#define WEFT_TYPE_SAMPLE_LOADER (weft_sample_loader_get_type ())

G_DECLARE_FINAL_TYPE (WeftSampleLoader, weft_sample_loader, WEFT, SAMPLE_LOADER, GObject)

WeftSampleLoader *weft_sample_loader_new     (void);
/* Queues whatever @item lacks (thumbnail, envelope); newest requests first.
 * Results arrive through weft_sample_item_set_thumbnail/set_envelope. */
void              weft_sample_loader_request (WeftSampleLoader *self,
                                              WeftSampleItem   *item);
/* Takes back a request that has not started (the card was scrolled away). */
void              weft_sample_loader_cancel  (WeftSampleLoader *self,
                                              WeftSampleItem   *item);
/* Drops queued work and cached results (a new dataset was opened). */
void              weft_sample_loader_clear   (WeftSampleLoader *self);

G_END_DECLS
