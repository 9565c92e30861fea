/* weft-audio-player.c — WeftAudioPlayer: one playbin, a bus watch that
 * returns to "stopped" at the end of the clip or on an error, and a
 * "playing" property the cards' play buttons follow. */

#include "weft-config.h"

#include <gst/gst.h>

#include "weft-audio-player.h"

struct _WeftAudioPlayer
{
  GObject         parent_instance;

  /* Owned */
  GstElement     *playbin;
  WeftSampleItem *playing;
  guint           bus_watch;
};

G_DEFINE_FINAL_TYPE (WeftAudioPlayer, weft_audio_player, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PLAYING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

WeftAudioPlayer *
weft_audio_player_new (void)
{
  return g_object_new (WEFT_TYPE_AUDIO_PLAYER, NULL);
}

WeftSampleItem *
weft_audio_player_get_playing (WeftAudioPlayer *self)
{
  g_return_val_if_fail (WEFT_IS_AUDIO_PLAYER (self), NULL);

  return self->playing;
}

static void
weft_audio_player_set_playing (WeftAudioPlayer *self,
                               WeftSampleItem  *item)
{
  if (g_set_object (&self->playing, item))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

void
weft_audio_player_stop (WeftAudioPlayer *self)
{
  g_return_if_fail (WEFT_IS_AUDIO_PLAYER (self));

  if (self->playbin != NULL)
    gst_element_set_state (self->playbin, GST_STATE_NULL);
  weft_audio_player_set_playing (self, NULL);
}

void
weft_audio_player_play (WeftAudioPlayer *self,
                        WeftSampleItem  *item)
{
  g_autofree char *uri = NULL;
  const char *path;

  g_return_if_fail (WEFT_IS_AUDIO_PLAYER (self));
  g_return_if_fail (WEFT_IS_SAMPLE_ITEM (item));

  path = weft_sample_item_get_audio_path (item);
  if (path == NULL || self->playbin == NULL)
    return;

  gst_element_set_state (self->playbin, GST_STATE_NULL);
  uri = g_filename_to_uri (path, NULL, NULL);
  g_object_set (self->playbin, "uri", uri, NULL);
  weft_audio_player_set_playing (self, item);
  if (gst_element_set_state (self->playbin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    weft_audio_player_stop (self);
}

void
weft_audio_player_toggle (WeftAudioPlayer *self,
                          WeftSampleItem  *item)
{
  g_return_if_fail (WEFT_IS_AUDIO_PLAYER (self));

  if (item != NULL && item == self->playing)
    weft_audio_player_stop (self);
  else if (item != NULL)
    weft_audio_player_play (self, item);
}

static gboolean
weft_audio_player_bus_message (GstBus     *bus,
                               GstMessage *message,
                               gpointer    user_data)
{
  WeftAudioPlayer *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_EOS:
      weft_audio_player_stop (self);
      break;

    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;

        gst_message_parse_error (message, &error, NULL);
        g_message ("Could not play the sound: %s", error->message);
        weft_audio_player_stop (self);
      }
      break;

    default:
      break;
    }

  return G_SOURCE_CONTINUE;
}

static void
weft_audio_player_dispose (GObject *object)
{
  WeftAudioPlayer *self = WEFT_AUDIO_PLAYER (object);

  if (self->playbin != NULL)
    gst_element_set_state (self->playbin, GST_STATE_NULL);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  g_clear_object (&self->playing);
  if (self->playbin != NULL)
    gst_clear_object (&self->playbin);

  G_OBJECT_CLASS (weft_audio_player_parent_class)->dispose (object);
}

static void
weft_audio_player_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WeftAudioPlayer *self = WEFT_AUDIO_PLAYER (object);

  switch (prop_id)
    {
    case PROP_PLAYING:
      g_value_set_object (value, self->playing);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_audio_player_class_init (WeftAudioPlayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = weft_audio_player_dispose;
  object_class->get_property = weft_audio_player_get_property;

  properties[PROP_PLAYING] =
    g_param_spec_object ("playing", NULL, NULL, WEFT_TYPE_SAMPLE_ITEM,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
weft_audio_player_init (WeftAudioPlayer *self)
{
  const char *sink_description = g_getenv ("WEFT_AUDIO_SINK");
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;
  GstElement *sink;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  self->playbin = gst_element_factory_make ("playbin", NULL);
  if (self->playbin == NULL)
    {
      g_warning ("GStreamer's playbin is missing: sounds cannot be played");
      return;
    }
  gst_object_ref_sink (self->playbin);

  if (sink_description == NULL || *sink_description == '\0')
    sink_description = "autoaudiosink";
  sink = gst_parse_bin_from_description (sink_description, TRUE, &error);
  if (sink == NULL)
    g_warning ("WEFT_AUDIO_SINK “%s”: %s", sink_description, error->message);
  else
    g_object_set (self->playbin, "audio-sink", sink, NULL);
  /* Sound only: never open a video window for a file that has pictures. */
  g_object_set (self->playbin, "video-sink",
                gst_element_factory_make ("fakesink", NULL), NULL);

  bus = gst_element_get_bus (self->playbin);
  self->bus_watch = gst_bus_add_watch (bus, weft_audio_player_bus_message, self);
}
