/* weft-sample-card.h — one sample in the Dataset page's grid: thumbnail,
 * caption, label and split chips, and for a sound a waveform and a play
 * button. */
#pragma once

#include <adwaita.h>

#include "weft-audio-player.h"
#include "weft-sample-loader.h"

G_BEGIN_DECLS

#define WEFT_TYPE_SAMPLE_CARD (weft_sample_card_get_type ())

G_DECLARE_FINAL_TYPE (WeftSampleCard, weft_sample_card, WEFT, SAMPLE_CARD, GtkWidget)

GtkWidget      *weft_sample_card_new      (WeftSampleLoader *loader,
                                           WeftAudioPlayer  *player);
/* Returns: (transfer none) (nullable) */
WeftSampleItem *weft_sample_card_get_item (WeftSampleCard   *self);
void            weft_sample_card_set_item (WeftSampleCard   *self,
                                           WeftSampleItem   *item);

G_END_DECLS
