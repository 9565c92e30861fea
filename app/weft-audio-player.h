/* weft-audio-player.h — plays one sample's sound at a time through a
 * GStreamer playbin; starting another stops the first. */
#pragma once

#include "weft-sample-item.h"

G_BEGIN_DECLS

#define WEFT_TYPE_AUDIO_PLAYER (weft_audio_player_get_type ())

G_DECLARE_FINAL_TYPE (WeftAudioPlayer, weft_audio_player, WEFT, AUDIO_PLAYER, GObject)

/* The sink is gst-launch syntax from $WEFT_AUDIO_SINK (tests use
 * "fakesink sync=true"), else autoaudiosink. */
WeftAudioPlayer *weft_audio_player_new         (void);
/* Returns: (transfer none) (nullable): the item playing now. */
WeftSampleItem  *weft_audio_player_get_playing (WeftAudioPlayer *self);
void             weft_audio_player_play        (WeftAudioPlayer *self,
                                                WeftSampleItem  *item);
void             weft_audio_player_stop        (WeftAudioPlayer *self);
/* Plays @item, or stops it if it is the one playing. */
void             weft_audio_player_toggle      (WeftAudioPlayer *self,
                                                WeftSampleItem  *item);

G_END_DECLS
