/* weft-sample-card.c — WeftSampleCard: shows a WeftSampleItem; asks the
 * loader for what the item lacks when bound and follows the item's
 * notifications, and the player's, to update itself. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-sample-card.h"

struct _WeftSampleCard
{
  AdwBin            parent_instance;

  /* Template widgets */
  GtkPicture       *picture;
  GtkImage         *placeholder;
  GtkImage         *broken_icon;
  GtkLabel         *id_label;
  GtkLabel         *caption;
  GtkLabel         *label_chip;
  GtkLabel         *split_chip;
  GtkWidget        *audio_row;
  GtkButton        *play_button;
  GtkDrawingArea   *waveform;

  /* Owned */
  WeftSampleLoader *loader;
  WeftAudioPlayer  *player;
  WeftSampleItem   *item;
  GSignalGroup     *item_signals;
};

G_DEFINE_FINAL_TYPE (WeftSampleCard, weft_sample_card, ADW_TYPE_BIN)

static void
weft_sample_card_update_thumbnail (WeftSampleCard *self)
{
  GdkPaintable *thumbnail = self->item ? weft_sample_item_get_thumbnail (self->item) : NULL;
  gboolean has_image = self->item && weft_sample_item_get_image_path (self->item) != NULL;
  gboolean broken = self->item && weft_sample_item_get_broken (self->item);
  const char *icon;

  /* A file that could not be decoded shows the "broken image" icon and a
   * warning mark (its cause is in the validation report); a row without
   * an image a plain dim one; a thumbnail still on its way nothing. */
  if (broken)
    icon = "image-missing-symbolic";
  else if (!has_image)
    icon = "image-x-generic-symbolic";
  else
    icon = NULL;

  if (gtk_picture_get_paintable (self->picture) != thumbnail)
    gtk_picture_set_paintable (self->picture, thumbnail);
  gtk_widget_set_visible (GTK_WIDGET (self->placeholder), thumbnail == NULL && icon != NULL);
  if (icon != NULL)
    gtk_image_set_from_icon_name (self->placeholder, icon);
  gtk_widget_set_visible (GTK_WIDGET (self->broken_icon), broken);
}

static void
weft_sample_card_update_play (WeftSampleCard *self)
{
  gboolean playing = self->item != NULL && self->player != NULL &&
                     weft_audio_player_get_playing (self->player) == self->item;
  g_autofree char *name = NULL;
  const char *id = self->item ? weft_sample_item_get_id (self->item) : "";

  /* No tooltip is set here: changing one asks the X server where the
   * pointer is, a round trip per card that made fast scrolling stutter.
   * The .ui gives the button a fixed tooltip. */
  gtk_button_set_icon_name (self->play_button, playing ? "media-playback-stop-symbolic"
                                                       : "media-playback-start-symbolic");
  name = playing ? g_strdup_printf (_("Stop sound of %s"), id)
                 : g_strdup_printf (_("Play sound of %s"), id);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->play_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  if (playing)
    gtk_widget_add_css_class (GTK_WIDGET (self->play_button), "accent");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->play_button), "accent");
}

static void
weft_sample_card_draw_waveform (GtkDrawingArea *area,
                                cairo_t        *cr,
                                int             width,
                                int             height,
                                gpointer        user_data)
{
  WeftSampleCard *self = user_data;
  GBytes *envelope = self->item ? weft_sample_item_get_envelope (self->item) : NULL;
  GtkStyleContext *style = gtk_widget_get_style_context (GTK_WIDGET (area));
  GdkRGBA color;
  const float *env;
  gsize size;
  double mid = height / 2.0, step;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (style, &color);
  G_GNUC_END_IGNORE_DEPRECATIONS

  if (envelope == NULL)
    {
      /* Not decoded yet: a faint centre line. */
      color.alpha *= 0.3;
      gdk_cairo_set_source_rgba (cr, &color);
      cairo_rectangle (cr, 0, mid - 0.5, width, 1);
      cairo_fill (cr);
      return;
    }

  env = g_bytes_get_data (envelope, &size);
  step = (double) width / WEFT_SAMPLE_ENVELOPE_BINS;
  color.alpha *= 0.75;
  gdk_cairo_set_source_rgba (cr, &color);
  for (guint b = 0; b < WEFT_SAMPLE_ENVELOPE_BINS; b++)
    {
      double lo = CLAMP (env[2 * b], -1.0, 0.0), hi = CLAMP (env[2 * b + 1], 0.0, 1.0);
      double top = mid - hi * mid, bottom = mid - lo * mid;

      cairo_rectangle (cr, b * step + 0.5, top, MAX (1.0, step - 1.0), MAX (1.0, bottom - top));
    }
  cairo_fill (cr);
}

static void
weft_sample_card_update_accessible (WeftSampleCard *self)
{
  g_autofree char *text = weft_sample_item_dup_short_text (self->item);
  const char *label = weft_sample_item_get_label (self->item);
  g_autoptr(GString) name = g_string_new (NULL);

  g_string_printf (name, _("Sample %s"), weft_sample_item_get_id (self->item));
  if (text != NULL)
    g_string_append_printf (name, ": %s", text);
  if (label != NULL)
    g_string_append_printf (name, _(", label %s"), label);
  if (weft_sample_item_get_broken (self->item))
    g_string_append (name, _(", could not be decoded"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  name->str, -1);
}

/* The chip may be ellipsised: its tooltip is the whole label, computed
 * when asked rather than set on every bind (see update_play). */
static gboolean
weft_sample_card_query_chip_tooltip (GtkWidget  *chip,
                                     int         x,
                                     int         y,
                                     gboolean    keyboard,
                                     GtkTooltip *tooltip,
                                     gpointer    user_data)
{
  const char *text = gtk_label_get_text (GTK_LABEL (chip));

  if (text == NULL || *text == '\0')
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

WeftSampleItem *
weft_sample_card_get_item (WeftSampleCard *self)
{
  g_return_val_if_fail (WEFT_IS_SAMPLE_CARD (self), NULL);

  return self->item;
}

void
weft_sample_card_set_item (WeftSampleCard *self,
                           WeftSampleItem *item)
{
  const char *text, *label, *split;

  g_return_if_fail (WEFT_IS_SAMPLE_CARD (self));
  g_return_if_fail (item == NULL || WEFT_IS_SAMPLE_ITEM (item));

  if (self->item == item)
    return;

  if (self->item != NULL)
    {
      _weft_sample_item_shown (self->item, FALSE);
      if (self->loader != NULL && !_weft_sample_item_is_shown (self->item))
        weft_sample_loader_cancel (self->loader, self->item);
    }
  g_set_object (&self->item, item);
  g_signal_group_set_target (self->item_signals, item);
  if (item == NULL)
    return;

  _weft_sample_item_shown (item, TRUE);

  text = weft_sample_item_get_text (item);
  label = weft_sample_item_get_label (item);
  split = weft_sample_item_get_split_name (item);

  gtk_label_set_text (self->id_label, weft_sample_item_get_id (item));
  gtk_label_set_text (self->caption, text ? text : _("No text"));
  if (text == NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->caption), "dim-label");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->caption), "dim-label");
  gtk_label_set_text (self->label_chip, label ? label : "");
  gtk_widget_set_visible (GTK_WIDGET (self->label_chip), label != NULL);
  gtk_label_set_text (self->split_chip, split ? split : "");
  gtk_widget_set_visible (GTK_WIDGET (self->split_chip), split != NULL);
  gtk_widget_set_visible (self->audio_row, weft_sample_item_get_audio_path (item) != NULL);

  weft_sample_card_update_accessible (self);
  weft_sample_card_update_thumbnail (self);
  weft_sample_card_update_play (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->waveform));

  if (self->loader != NULL)
    weft_sample_loader_request (self->loader, item);
}

static void
weft_sample_card_toggle_play (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (widget);

  if (self->item != NULL && self->player != NULL)
    weft_audio_player_toggle (self->player, self->item);
}

/* Every card has the size of a card with all its parts (thumbnail, three
 * lines of caption, chips, waveform), measured once per direction. A grid
 * measures each visible cell on every layout and a bind changes the
 * labels; asking Pango to shape wrapped captions for that was most of the
 * cost of a frame while scrolling. Equal sizes also keep the rows even. */
static int weft_sample_card_size[2] = { -1, -1 };

static void
weft_sample_card_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (widget);

  if (weft_sample_card_size[orientation] < 0)
    {
      GtkWidget *parts[] = { self->audio_row, GTK_WIDGET (self->label_chip),
                             GTK_WIDGET (self->split_chip) };
      gboolean visible[G_N_ELEMENTS (parts)];
      int min = 0, nat = 0;

      for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
        {
          visible[i] = gtk_widget_get_visible (parts[i]);
          gtk_widget_set_visible (parts[i], TRUE);
        }
      GTK_WIDGET_CLASS (weft_sample_card_parent_class)->measure (widget, orientation, -1,
                                                                 &min, &nat, NULL, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
        gtk_widget_set_visible (parts[i], visible[i]);
      weft_sample_card_size[orientation] = MAX (min, nat);
    }

  *minimum = *natural = weft_sample_card_size[orientation];
  *minimum_baseline = *natural_baseline = -1;
}

static void
weft_sample_card_dispose (GObject *object)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (object);

  weft_sample_card_set_item (self, NULL);
  if (self->player != NULL)
    g_signal_handlers_disconnect_by_data (self->player, self);
  g_clear_object (&self->player);
  g_clear_object (&self->loader);
  g_clear_object (&self->item_signals);

  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_SAMPLE_CARD);

  G_OBJECT_CLASS (weft_sample_card_parent_class)->dispose (object);
}

static void
weft_sample_card_class_init (WeftSampleCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_sample_card_dispose;
  widget_class->measure = weft_sample_card_measure;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/weft/Weft/ui/weft-sample-card.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, picture);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, placeholder);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, broken_icon);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, id_label);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, caption);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, label_chip);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, split_chip);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, audio_row);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, play_button);
  gtk_widget_class_bind_template_child (widget_class, WeftSampleCard, waveform);

  gtk_widget_class_install_action (widget_class, "card.toggle-play", NULL,
                                   weft_sample_card_toggle_play);
}

static void
weft_sample_card_init (WeftSampleCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_drawing_area_set_draw_func (self->waveform, weft_sample_card_draw_waveform, self, NULL);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self->label_chip), TRUE);
  g_signal_connect (self->label_chip, "query-tooltip",
                    G_CALLBACK (weft_sample_card_query_chip_tooltip), NULL);

  self->item_signals = g_signal_group_new (WEFT_TYPE_SAMPLE_ITEM);
  g_signal_group_connect_swapped (self->item_signals, "notify::thumbnail",
                                  G_CALLBACK (weft_sample_card_update_thumbnail), self);
  g_signal_group_connect_swapped (self->item_signals, "notify::broken",
                                  G_CALLBACK (weft_sample_card_update_thumbnail), self);
  g_signal_group_connect_swapped (self->item_signals, "notify::broken",
                                  G_CALLBACK (weft_sample_card_update_accessible), self);
  g_signal_group_connect_swapped (self->item_signals, "notify::envelope",
                                  G_CALLBACK (gtk_widget_queue_draw), self->waveform);
}

GtkWidget *
weft_sample_card_new (WeftSampleLoader *loader,
                      WeftAudioPlayer  *player)
{
  WeftSampleCard *self = g_object_new (WEFT_TYPE_SAMPLE_CARD, NULL);

  self->loader = loader ? g_object_ref (loader) : NULL;
  self->player = player ? g_object_ref (player) : NULL;
  if (player != NULL)
    g_signal_connect_object (player, "notify::playing",
                             G_CALLBACK (weft_sample_card_update_play), self,
                             G_CONNECT_SWAPPED);
  return GTK_WIDGET (self);
}
