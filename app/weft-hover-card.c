/* weft-hover-card.c — WeftHoverCard: thumbnail, caption and a play button for
 * the point under the pointer; plays through its own playbin. */

#include "weft-config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>

#include "weft-hover-card.h"

#define WEFT_HOVER_THUMBNAIL 96

struct _WeftHoverCard
{
  GtkWidget   parent_instance;

  /* Children */
  GtkWidget  *box;
  GtkPicture *picture;
  GtkLabel   *caption;
  GtkLabel   *detail;
  GtkButton  *play_button;

  /* Owned */
  char       *image_path;
  char       *audio_path;
  GstElement *playbin;
};

G_DEFINE_FINAL_TYPE (WeftHoverCard, weft_hover_card, GTK_TYPE_WIDGET)

static void
weft_hover_card_update_play (WeftHoverCard *self,
                             gboolean       playing)
{
  gtk_button_set_icon_name (self->play_button,
                            playing ? "media-playback-stop-symbolic" : "media-playback-start-symbolic");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->play_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  playing ? _("Stop sound") : _("Play sound"), -1);
}

void
weft_hover_card_stop (WeftHoverCard *self)
{
  g_return_if_fail (WEFT_IS_HOVER_CARD (self));

  if (self->playbin != NULL)
    gst_element_set_state (self->playbin, GST_STATE_NULL);
  weft_hover_card_update_play (self, FALSE);
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  WeftHoverCard *self = user_data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS
      || GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    weft_hover_card_stop (self);
  return G_SOURCE_CONTINUE;
}

static void
on_play_clicked (GtkButton     *button,
                 WeftHoverCard *self)
{
  g_autofree char *uri = NULL;
  GstState state = GST_STATE_NULL;

  if (self->audio_path == NULL)
    return;
  if (self->playbin == NULL)
    {
      const char *sink_desc = g_getenv ("WEFT_AUDIO_SINK");
      GstBus *bus;

      if (!gst_is_initialized ())
        gst_init (NULL, NULL);
      self->playbin = gst_element_factory_make ("playbin", NULL);
      if (self->playbin == NULL)
        return;
      gst_object_ref_sink (self->playbin);
      /* Tests have no sound card: $WEFT_AUDIO_SINK picks the sink. */
      if (sink_desc != NULL && *sink_desc != '\0')
        {
          GstElement *sink = gst_parse_bin_from_description (sink_desc, TRUE, NULL);

          if (sink != NULL)
            g_object_set (self->playbin, "audio-sink", sink, NULL);
        }
      bus = gst_element_get_bus (self->playbin);
      gst_bus_add_watch (bus, on_bus_message, self);
      gst_object_unref (bus);
    }
  gst_element_get_state (self->playbin, &state, NULL, 0);
  if (state == GST_STATE_PLAYING)
    {
      weft_hover_card_stop (self);
      return;
    }
  gst_element_set_state (self->playbin, GST_STATE_NULL);
  uri = g_filename_to_uri (self->audio_path, NULL, NULL);
  g_object_set (self->playbin, "uri", uri, NULL);
  if (gst_element_set_state (self->playbin, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
    weft_hover_card_update_play (self, TRUE);
}

void
weft_hover_card_set_sample (WeftHoverCard    *self,
                            const WeftSample *sample,
                            const char       *detail)
{
  g_return_if_fail (WEFT_IS_HOVER_CARD (self));

  if (sample == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      return;
    }
  if (g_strcmp0 (self->image_path, sample->image) != 0)
    {
      g_free (self->image_path);
      self->image_path = g_strdup (sample->image);
      gtk_picture_set_paintable (self->picture, NULL);
      if (sample->image != NULL)
        {
          /* One small image per hover: decoding it here costs less than a
           * frame for the thumbnails a dataset of this kind holds. */
          g_autoptr(GdkPixbuf) pixbuf =
            gdk_pixbuf_new_from_file_at_scale (sample->image, WEFT_HOVER_THUMBNAIL,
                                               WEFT_HOVER_THUMBNAIL, TRUE, NULL);

          if (pixbuf != NULL)
            {
              g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);

              gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
            }
        }
      gtk_widget_set_visible (GTK_WIDGET (self->picture), sample->image != NULL);
    }
  if (g_strcmp0 (self->audio_path, sample->audio) != 0)
    {
      weft_hover_card_stop (self);
      g_free (self->audio_path);
      self->audio_path = g_strdup (sample->audio);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->play_button), sample->audio != NULL);
  gtk_label_set_text (self->caption, sample->text ? sample->text : sample->id);
  gtk_label_set_text (self->detail, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
}

static void
weft_hover_card_dispose (GObject *object)
{
  WeftHoverCard *self = WEFT_HOVER_CARD (object);

  if (self->playbin != NULL)
    {
      GstBus *bus = gst_element_get_bus (self->playbin);

      gst_element_set_state (self->playbin, GST_STATE_NULL);
      gst_bus_remove_watch (bus);
      gst_object_unref (bus);
      gst_clear_object (&self->playbin);
    }
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_pointer (&self->image_path, g_free);
  g_clear_pointer (&self->audio_path, g_free);

  G_OBJECT_CLASS (weft_hover_card_parent_class)->dispose (object);
}

static void
weft_hover_card_class_init (WeftHoverCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_hover_card_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "wefthovercard");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
weft_hover_card_init (WeftHoverCard *self)
{
  GtkWidget *text_box;

  self->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  gtk_widget_add_css_class (self->box, "card");
  gtk_widget_add_css_class (self->box, "weft-hover-card");
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  self->picture = GTK_PICTURE (gtk_picture_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->picture), WEFT_HOVER_THUMBNAIL, WEFT_HOVER_THUMBNAIL);
  gtk_picture_set_can_shrink (self->picture, TRUE);
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->picture));

  text_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_valign (text_box, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->box), text_box);

  self->caption = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->caption, TRUE);
  gtk_label_set_max_width_chars (self->caption, 28);
  gtk_label_set_xalign (self->caption, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->caption), "heading");
  gtk_box_append (GTK_BOX (text_box), GTK_WIDGET (self->caption));

  self->detail = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->detail, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->detail), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->detail), "caption");
  gtk_box_append (GTK_BOX (text_box), GTK_WIDGET (self->detail));

  self->play_button = GTK_BUTTON (gtk_button_new_from_icon_name ("media-playback-start-symbolic"));
  gtk_widget_set_halign (GTK_WIDGET (self->play_button), GTK_ALIGN_START);
  gtk_widget_add_css_class (GTK_WIDGET (self->play_button), "circular");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->play_button), _("Play the sound"));
  g_signal_connect (self->play_button, "clicked", G_CALLBACK (on_play_clicked), self);
  gtk_box_append (GTK_BOX (text_box), GTK_WIDGET (self->play_button));
  weft_hover_card_update_play (self, FALSE);
}

GtkWidget *
weft_hover_card_new (void)
{
  return g_object_new (WEFT_TYPE_HOVER_CARD, NULL);
}
