/* weft-sample-card.c — WeftSampleCard: shows a WeftSampleItem; asks the
 * loader for what the item lacks when bound and follows the item's
 * notifications, and the player's, to update itself.
 *
 * The card draws its thumbnail, texts, chips and waveform itself; its one
 * child widget is the play button. A grid binds a screenful of cards per
 * frame when the scrollbar is dragged: built from a dozen labels, boxes
 * and images, a card cost about 2 ms of measuring and CSS per bind (the
 * grid measures every visible cell on each layout, and each label shaped
 * its text several times to find its sizes). Drawn, a bind only stores
 * texts, and each text is shaped once, when painted. Every card has the
 * same size, computed from the font. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-sample-card.h"

/* Geometry of the content box, in pixels (the CSS gives the padding). */
#define CARD_WIDTH        176
#define THUMB_HEIGHT      96
#define SPACING           4
#define CAPTION_LINES     3
#define CHIP_PAD_X        8
#define CHIP_PAD_Y        1
#define CHIP_GAP          4
#define CHIP_LABEL_MAX    112
#define WAVE_HEIGHT       28
#define WAVE_GAP          6
#define ICON_SIZE         32
#define MARK_SIZE         16
#define SMALL_SCALE       0.83   /* Adwaita's "caption" and "smaller" text */

struct _WeftSampleCard
{
  GtkWidget         parent_instance;

  GtkWidget        *play_button;

  /* Texts, laid out when drawn; redone when the font changes. */
  PangoLayout      *id_layout;
  PangoLayout      *caption_layout;
  PangoLayout      *label_layout;
  PangoLayout      *split_layout;
  guint             context_serial;
  int               line_height;       /* body text */
  int               small_height;      /* caption-sized text */

  gboolean          playing;
  gboolean          has_audio;

  /* Owned */
  WeftSampleLoader *loader;
  WeftAudioPlayer  *player;
  WeftSampleItem   *item;
  guint             accessible_dirty : 1;
};

G_DEFINE_FINAL_TYPE (WeftSampleCard, weft_sample_card, GTK_TYPE_WIDGET)

/* ---- Text layouts ---- */

static PangoLayout *
weft_sample_card_new_layout (WeftSampleCard *self,
                             double          scale,
                             int             width,
                             PangoEllipsizeMode ellipsize)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);

  if (scale != 1.0)
    {
      PangoAttrList *attrs = pango_attr_list_new ();

      pango_attr_list_insert (attrs, pango_attr_scale_new (scale));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }
  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, ellipsize);
  return layout;
}

static int
weft_sample_card_text_height (PangoLayout *layout)
{
  PangoRectangle logical;

  pango_layout_set_text (layout, "Ag", -1);
  pango_layout_get_pixel_extents (layout, NULL, &logical);
  return logical.height;
}

static void
weft_sample_card_update_texts (WeftSampleCard *self)
{
  const char *text = self->item ? weft_sample_item_get_text (self->item) : NULL;
  const char *label = self->item ? weft_sample_item_get_label (self->item) : NULL;
  const char *split = self->item ? weft_sample_item_get_split_name (self->item) : NULL;

  if (self->id_layout == NULL)
    return;
  pango_layout_set_text (self->id_layout, self->item ? weft_sample_item_get_id (self->item) : "", -1);
  pango_layout_set_text (self->caption_layout, text ? text : _("No text"), -1);
  pango_layout_set_text (self->label_layout, label ? label : "", -1);
  pango_layout_set_text (self->split_layout, split ? split : "", -1);
}

/* Creates the layouts, or makes them follow a new font; TRUE when the
 * sizes may have changed. */
static gboolean
weft_sample_card_ensure_layouts (WeftSampleCard *self)
{
  PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  guint serial = pango_context_get_serial (context);

  if (self->id_layout != NULL && serial == self->context_serial)
    return FALSE;

  g_clear_object (&self->id_layout);
  g_clear_object (&self->caption_layout);
  g_clear_object (&self->label_layout);
  g_clear_object (&self->split_layout);

  self->id_layout = weft_sample_card_new_layout (self, SMALL_SCALE, CARD_WIDTH,
                                                 PANGO_ELLIPSIZE_MIDDLE);
  self->caption_layout = weft_sample_card_new_layout (self, 1.0, CARD_WIDTH, PANGO_ELLIPSIZE_END);
  pango_layout_set_wrap (self->caption_layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_height (self->caption_layout, -CAPTION_LINES);
  self->label_layout = weft_sample_card_new_layout (self, SMALL_SCALE, CHIP_LABEL_MAX,
                                                    PANGO_ELLIPSIZE_END);
  self->split_layout = weft_sample_card_new_layout (self, SMALL_SCALE, -1, PANGO_ELLIPSIZE_NONE);

  self->line_height = weft_sample_card_text_height (self->caption_layout);
  self->small_height = weft_sample_card_text_height (self->id_layout);
  self->context_serial = serial;
  weft_sample_card_update_texts (self);
  return TRUE;
}

/* ---- Geometry ---- */

typedef struct {
  graphene_rect_t thumb, id, caption, chips, audio;
} CardBoxes;

static int
weft_sample_card_chip_height (WeftSampleCard *self)
{
  return self->small_height + 2 * CHIP_PAD_Y;
}

/* The play button's height, from the last card that showed one (a card
 * without a sound keeps the room, so that all cards have one size). */
static int weft_sample_card_button_height = 34;

static int
weft_sample_card_audio_height (WeftSampleCard *self)
{
  if (gtk_widget_get_visible (self->play_button))
    gtk_widget_measure (self->play_button, GTK_ORIENTATION_VERTICAL, -1,
                        NULL, &weft_sample_card_button_height, NULL, NULL);
  return MAX (weft_sample_card_button_height, WAVE_HEIGHT);
}

static void
weft_sample_card_boxes (WeftSampleCard *self,
                        CardBoxes      *b)
{
  float width = MAX (CARD_WIDTH, gtk_widget_get_width (GTK_WIDGET (self)));
  float y = 0;

  b->thumb = GRAPHENE_RECT_INIT (0, y, width, THUMB_HEIGHT);
  y += THUMB_HEIGHT + SPACING;
  b->id = GRAPHENE_RECT_INIT (0, y, width, self->small_height);
  y += self->small_height + SPACING;
  b->caption = GRAPHENE_RECT_INIT (0, y, width, CAPTION_LINES * self->line_height);
  y += CAPTION_LINES * self->line_height + SPACING;
  b->chips = GRAPHENE_RECT_INIT (0, y, width, weft_sample_card_chip_height (self));
  y += weft_sample_card_chip_height (self) + SPACING;
  b->audio = GRAPHENE_RECT_INIT (0, y, width, weft_sample_card_audio_height (self));
}

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

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = *natural = CARD_WIDTH;
    }
  else
    {
      CardBoxes b;

      weft_sample_card_ensure_layouts (self);
      weft_sample_card_boxes (self, &b);
      *minimum = *natural = (int) (b.audio.origin.y + b.audio.size.height);
    }
}

static void
weft_sample_card_size_allocate (GtkWidget *widget,
                                int        width,
                                int        height,
                                int        baseline)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (widget);
  CardBoxes b;
  int min, nat, h;

  /* The grid shares its width out between the columns: texts wrap (or
   * are cut) at the card's width. */
  weft_sample_card_ensure_layouts (self);
  if (pango_layout_get_width (self->caption_layout) != width * PANGO_SCALE)
    {
      pango_layout_set_width (self->id_layout, width * PANGO_SCALE);
      pango_layout_set_width (self->caption_layout, width * PANGO_SCALE);
    }
  if (!gtk_widget_get_visible (self->play_button))
    return;
  weft_sample_card_boxes (self, &b);
  gtk_widget_measure (self->play_button, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  gtk_widget_measure (self->play_button, GTK_ORIENTATION_VERTICAL, -1, NULL, &h, NULL, NULL);
  gtk_widget_size_allocate (self->play_button,
                            &(GtkAllocation) { 0, (int) (b.audio.origin.y + (b.audio.size.height - h) / 2),
                                               nat, h },
                            -1);
}

/* ---- Drawing ---- */

static GdkRGBA
weft_sample_card_lookup_color (GtkWidget  *widget,
                               const char *name,
                               GdkRGBA     fallback)
{
  GdkRGBA color;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, &color))
    color = fallback;
  G_GNUC_END_IGNORE_DEPRECATIONS
  return color;
}

static GdkRGBA
weft_sample_card_fg (GtkWidget *widget)
{
  GdkRGBA color;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  return color;
}

static GdkRGBA
weft_rgba_with_alpha (GdkRGBA c,
                      float   alpha)
{
  c.alpha *= alpha;
  return c;
}

static void
weft_sample_card_snapshot_icon (WeftSampleCard        *self,
                                GtkSnapshot           *snapshot,
                                const char            *name,
                                const graphene_rect_t *where,
                                const GdkRGBA         *color)
{
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));
  int size = (int) where->size.width;
  g_autoptr(GtkIconPaintable) icon =
    gtk_icon_theme_lookup_icon (theme, name, NULL, size,
                                gtk_widget_get_scale_factor (GTK_WIDGET (self)),
                                gtk_widget_get_direction (GTK_WIDGET (self)), 0);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &where->origin);
  if (GTK_IS_SYMBOLIC_PAINTABLE (icon))
    gtk_symbolic_paintable_snapshot_symbolic (GTK_SYMBOLIC_PAINTABLE (icon), snapshot,
                                              size, size, color, 1);
  else
    gdk_paintable_snapshot (GDK_PAINTABLE (icon), snapshot, size, size);
  gtk_snapshot_restore (snapshot);
}

static void
weft_sample_card_snapshot_thumbnail (WeftSampleCard        *self,
                                     GtkSnapshot           *snapshot,
                                     const graphene_rect_t *box,
                                     const GdkRGBA         *fg)
{
  GdkPaintable *thumbnail = weft_sample_item_get_thumbnail (self->item);
  gboolean broken = weft_sample_item_get_broken (self->item);
  gboolean has_image = weft_sample_item_get_image_path (self->item) != NULL;

  if (thumbnail != NULL)
    {
      double ratio = gdk_paintable_get_intrinsic_aspect_ratio (thumbnail);
      float w = box->size.width, h = box->size.height;
      GskRoundedRect clip;

      if (ratio <= 0)
        ratio = 1;
      if (w / h > ratio)
        w = h * ratio;
      else
        h = w / ratio;
      gsk_rounded_rect_init_from_rect (&clip,
                                       &GRAPHENE_RECT_INIT (box->origin.x + (box->size.width - w) / 2,
                                                            box->origin.y + (box->size.height - h) / 2,
                                                            w, h),
                                       6);
      gtk_snapshot_push_rounded_clip (snapshot, &clip);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &clip.bounds.origin);
      gdk_paintable_snapshot (thumbnail, snapshot, w, h);
      gtk_snapshot_restore (snapshot);
      gtk_snapshot_pop (snapshot);
    }
  else if (broken || !has_image)
    {
      /* A file that could not be read, or a row with a problem and no
       * image (most likely its file is missing), shows the "broken image"
       * icon; a row without an image a plain dim one; a thumbnail still
       * on its way nothing. */
      GdkRGBA dim = weft_rgba_with_alpha (*fg, 0.55f);
      graphene_rect_t icon = GRAPHENE_RECT_INIT (box->origin.x + (box->size.width - ICON_SIZE) / 2,
                                                 box->origin.y + (box->size.height - ICON_SIZE) / 2,
                                                 ICON_SIZE, ICON_SIZE);

      gboolean lost = !has_image && weft_sample_item_get_issue (self->item) != NULL;

      weft_sample_card_snapshot_icon (self, snapshot,
                                      broken || lost ? "image-missing-symbolic"
                                                     : "image-x-generic-symbolic",
                                      &icon, &dim);
    }

  /* A decoding failure or a problem the reader found in the row (its
   * tooltip and the card's accessible name say which) get a mark. */
  if (broken || weft_sample_item_get_issue (self->item) != NULL)
    {
      GdkRGBA warning = weft_sample_card_lookup_color (GTK_WIDGET (self), "warning_color",
                                                       (GdkRGBA) { 0.9f, 0.65f, 0.04f, 1 });

      weft_sample_card_snapshot_icon (self, snapshot, "dialog-warning-symbolic",
                                      &GRAPHENE_RECT_INIT (box->origin.x + box->size.width - MARK_SIZE,
                                                           box->origin.y, MARK_SIZE, MARK_SIZE),
                                      &warning);
    }
}

static void
weft_sample_card_snapshot_text (GtkSnapshot           *snapshot,
                                PangoLayout           *layout,
                                float                  x,
                                float                  y,
                                const GdkRGBA         *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

/* A pill with a short text; returns its width. */
static float
weft_sample_card_snapshot_chip (WeftSampleCard *self,
                                GtkSnapshot    *snapshot,
                                PangoLayout    *layout,
                                float           x,
                                float           y,
                                const GdkRGBA  *background,
                                const GdkRGBA  *color)
{
  PangoRectangle logical;
  GskRoundedRect pill;
  float h = weft_sample_card_chip_height (self), w;

  pango_layout_get_pixel_extents (layout, NULL, &logical);
  w = logical.width + 2 * CHIP_PAD_X;
  gsk_rounded_rect_init_from_rect (&pill, &GRAPHENE_RECT_INIT (x, y, w, h), h / 2);
  gtk_snapshot_push_rounded_clip (snapshot, &pill);
  gtk_snapshot_append_color (snapshot, background, &pill.bounds);
  gtk_snapshot_pop (snapshot);
  weft_sample_card_snapshot_text (snapshot, layout, x + CHIP_PAD_X, y + CHIP_PAD_Y, color);
  return w;
}

static void
weft_sample_card_snapshot_waveform (WeftSampleCard        *self,
                                    GtkSnapshot           *snapshot,
                                    const graphene_rect_t *box,
                                    const GdkRGBA         *fg)
{
  GBytes *envelope = weft_sample_item_get_envelope (self->item);
  float mid = box->origin.y + box->size.height / 2, half = box->size.height / 2;
  const float *env;
  GdkRGBA bar;
  cairo_t *cr;
  float step;
  gsize size;

  if (envelope == NULL)
    {
      /* Not decoded yet: a faint centre line. */
      GdkRGBA faint = weft_rgba_with_alpha (*fg, 0.3f);

      gtk_snapshot_append_color (snapshot, &faint,
                                 &GRAPHENE_RECT_INIT (box->origin.x, mid - 0.5f, box->size.width, 1));
      return;
    }

  env = g_bytes_get_data (envelope, &size);
  if (size < 2 * WEFT_SAMPLE_ENVELOPE_BINS * sizeof (float))
    return;

  /* One path for all the bars: a node per bar was 48 fills per card. */
  cr = gtk_snapshot_append_cairo (snapshot, box);
  step = box->size.width / WEFT_SAMPLE_ENVELOPE_BINS;
  for (guint b = 0; b < WEFT_SAMPLE_ENVELOPE_BINS; b++)
    {
      float lo = CLAMP (env[2 * b], -1.0f, 0.0f), hi = CLAMP (env[2 * b + 1], 0.0f, 1.0f);
      float top = mid - hi * half, bottom = mid - lo * half;

      cairo_rectangle (cr, box->origin.x + b * step + 0.5f, top,
                       MAX (1.0f, step - 1.0f), MAX (1.0f, bottom - top));
    }
  bar = weft_rgba_with_alpha (*fg, 0.75f);
  gdk_cairo_set_source_rgba (cr, &bar);
  cairo_fill (cr);
  cairo_destroy (cr);
}

static void
weft_sample_card_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (widget);
  GdkRGBA fg, dim, accent, accent_bg, chip_bg, split_bg;
  CardBoxes b;
  float x;

  if (self->item == NULL)
    return;
  if (weft_sample_card_ensure_layouts (self))
    gtk_widget_queue_resize (widget);   /* the font changed */
  weft_sample_card_boxes (self, &b);

  fg = weft_sample_card_fg (widget);
  dim = weft_rgba_with_alpha (fg, 0.55f);
  accent = weft_sample_card_lookup_color (widget, "accent_color", (GdkRGBA) { 0.11f, 0.44f, 0.85f, 1 });
  accent_bg = weft_sample_card_lookup_color (widget, "accent_bg_color", (GdkRGBA) { 0.21f, 0.52f, 0.89f, 1 });
  chip_bg = weft_rgba_with_alpha (accent_bg, 0.18f);
  split_bg = weft_rgba_with_alpha (fg, 0.1f);

  weft_sample_card_snapshot_thumbnail (self, snapshot, &b.thumb, &fg);
  weft_sample_card_snapshot_text (snapshot, self->id_layout, b.id.origin.x, b.id.origin.y, &dim);
  weft_sample_card_snapshot_text (snapshot, self->caption_layout, b.caption.origin.x,
                                  b.caption.origin.y,
                                  weft_sample_item_get_text (self->item) ? &fg : &dim);

  x = b.chips.origin.x;
  if (weft_sample_item_get_label (self->item) != NULL)
    x += weft_sample_card_snapshot_chip (self, snapshot, self->label_layout, x, b.chips.origin.y,
                                         &chip_bg, &accent) + CHIP_GAP;
  if (weft_sample_item_get_split_name (self->item) != NULL)
    weft_sample_card_snapshot_chip (self, snapshot, self->split_layout, x, b.chips.origin.y,
                                    &split_bg, &fg);

  if (self->has_audio)
    {
      int button = gtk_widget_get_width (self->play_button);
      graphene_rect_t wave = GRAPHENE_RECT_INIT (b.audio.origin.x + button + WAVE_GAP,
                                                 b.audio.origin.y + (b.audio.size.height - WAVE_HEIGHT) / 2,
                                                 b.audio.size.width - button - WAVE_GAP, WAVE_HEIGHT);

      weft_sample_card_snapshot_waveform (self, snapshot, &wave, &fg);
      gtk_widget_snapshot_child (widget, self->play_button, snapshot);
    }
}

/* ---- State ---- */

/* Shows whether the card's clip plays; TRUE if that changed. No tooltip
 * is set here: changing one asks the X server where the pointer is, a
 * round trip per card that made fast scrolling stutter. */
static gboolean
weft_sample_card_update_play (WeftSampleCard *self)
{
  gboolean playing = self->item != NULL && self->player != NULL &&
                     weft_audio_player_get_playing (self->player) == self->item;

  if (playing == self->playing)
    return FALSE;
  gtk_button_set_icon_name (GTK_BUTTON (self->play_button),
                            playing ? "media-playback-stop-symbolic"
                                    : "media-playback-start-symbolic");
  if (playing)
    gtk_widget_add_css_class (self->play_button, "accent");
  else
    gtk_widget_remove_css_class (self->play_button, "accent");
  self->playing = playing;
  return TRUE;
}

static void
weft_sample_card_update_play_name (WeftSampleCard *self)
{
  const char *id = self->item ? weft_sample_item_get_id (self->item) : "";
  g_autofree char *name = self->playing ? g_strdup_printf (_("Stop sound of %s"), id)
                                        : g_strdup_printf (_("Play sound of %s"), id);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->play_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

static void
weft_sample_card_player_changed (WeftSampleCard *self)
{
  if (weft_sample_card_update_play (self))
    weft_sample_card_update_play_name (self);
}

static void
weft_sample_card_update_accessible (WeftSampleCard *self)
{
  g_autofree char *text = weft_sample_item_dup_short_text (self->item);
  const char *label = weft_sample_item_get_label (self->item);
  const WeftIssue *issue = weft_sample_item_get_issue (self->item);
  g_autoptr(GString) name = g_string_new (NULL);

  g_string_printf (name, _("Sample %s"), weft_sample_item_get_id (self->item));
  if (text != NULL)
    g_string_append_printf (name, ": %s", text);
  if (label != NULL)
    g_string_append_printf (name, _(", label %s"), label);
  if (weft_sample_item_get_broken (self->item))
    g_string_append (name, _(", could not be decoded"));
  if (issue != NULL)
    {
      g_autofree char *problem = weft_issue_to_string (issue);

      g_string_append_printf (name, _(", problem: %s"), problem);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  name->str, -1);
}

/* Accessible names are set a moment after binding stops. Setting them is
 * the dearest part of a bind (each is announced on the accessibility bus),
 * and while the grid is dragged a card is bound again every frame: only
 * the names of the cards the drag stops on matter. A steady stream of
 * binds still flushes them every WEFT_SAMPLE_CARD_NAME_MAX_MS. */
#define WEFT_SAMPLE_CARD_NAME_DELAY_MS 60
#define WEFT_SAMPLE_CARD_NAME_MAX_MS   500

static GPtrArray *weft_sample_card_unnamed;      /* WeftSampleCard*, unowned */
static guint      weft_sample_card_name_source;
static gint64     weft_sample_card_name_since;

static gboolean
weft_sample_card_flush_names (gpointer data)
{
  for (guint i = 0; i < weft_sample_card_unnamed->len; i++)
    {
      WeftSampleCard *card = g_ptr_array_index (weft_sample_card_unnamed, i);

      card->accessible_dirty = FALSE;
      if (card->item != NULL)
        {
          weft_sample_card_update_accessible (card);
          weft_sample_card_update_play_name (card);
        }
    }
  g_ptr_array_set_size (weft_sample_card_unnamed, 0);
  weft_sample_card_name_source = 0;
  return G_SOURCE_REMOVE;
}

static void
weft_sample_card_queue_accessible (WeftSampleCard *self)
{
  gint64 now = g_get_monotonic_time ();

  if (weft_sample_card_unnamed == NULL)
    weft_sample_card_unnamed = g_ptr_array_new ();
  if (!self->accessible_dirty)
    {
      g_ptr_array_add (weft_sample_card_unnamed, self);
      self->accessible_dirty = TRUE;
    }
  if (weft_sample_card_name_source == 0)
    weft_sample_card_name_since = now;
  else if (now - weft_sample_card_name_since < WEFT_SAMPLE_CARD_NAME_MAX_MS * 1000)
    g_clear_handle_id (&weft_sample_card_name_source, g_source_remove);
  if (weft_sample_card_name_source == 0)
    {
      weft_sample_card_name_source = g_timeout_add (WEFT_SAMPLE_CARD_NAME_DELAY_MS,
                                                    weft_sample_card_flush_names, NULL);
      g_source_set_name_by_id (weft_sample_card_name_source, "[weft] card names");
    }
}

/* The item's thumbnail, envelope or broken flag changed (a watch, not
 * notify handlers: connecting and disconnecting those on every bind cost
 * more than the rest of the bind). */
static void
weft_sample_card_item_changed (WeftSampleItem *item,
                               gboolean        state,
                               gpointer        data)
{
  WeftSampleCard *self = data;

  if (state)
    weft_sample_card_queue_accessible (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Tooltips are computed when asked, for the part under the pointer: the
 * reason of a broken thumbnail, and texts that were cut. */
static gboolean
weft_sample_card_query_tooltip (GtkWidget  *widget,
                                int         x,
                                int         y,
                                gboolean    keyboard,
                                GtkTooltip *tooltip)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (widget);
  graphene_point_t p = GRAPHENE_POINT_INIT (x, y);
  CardBoxes b;

  if (self->item == NULL || self->id_layout == NULL || keyboard)
    return FALSE;
  weft_sample_card_boxes (self, &b);

  /* The play button's own (a tooltip set on each new button asked the X
   * server where the pointer was: a round trip per card). */
  if (self->has_audio && graphene_rect_contains_point (&b.audio, &p) &&
      x < gtk_widget_get_width (self->play_button))
    {
      gtk_tooltip_set_text (tooltip, _("Play or stop the sound (Space)"));
      return TRUE;
    }

  if (graphene_rect_contains_point (&b.thumb, &p) && weft_sample_item_get_issue (self->item))
    {
      g_autofree char *problem = weft_issue_to_string (weft_sample_item_get_issue (self->item));

      gtk_tooltip_set_text (tooltip, problem);
      return TRUE;
    }
  if (graphene_rect_contains_point (&b.thumb, &p) && weft_sample_item_get_broken (self->item))
    {
      gtk_tooltip_set_text (tooltip, _("This file could not be decoded; the validation report "
                                       "says why"));
      return TRUE;
    }
  if (graphene_rect_contains_point (&b.caption, &p) &&
      pango_layout_is_ellipsized (self->caption_layout))
    {
      gtk_tooltip_set_text (tooltip, weft_sample_item_get_text (self->item));
      return TRUE;
    }
  if (graphene_rect_contains_point (&b.chips, &p) &&
      weft_sample_item_get_label (self->item) != NULL &&
      pango_layout_is_ellipsized (self->label_layout))
    {
      gtk_tooltip_set_text (tooltip, weft_sample_item_get_label (self->item));
      return TRUE;
    }
  return FALSE;
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
  if (self->item != NULL)
    _weft_sample_item_unwatch (self->item, self);
  g_set_object (&self->item, item);
  if (item != NULL)
    _weft_sample_item_watch (item, weft_sample_card_item_changed, self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (item == NULL)
    return;

  _weft_sample_item_shown (item, TRUE);

  /* Neither the size nor the button's place depends on the item: only
   * whether the button shows. */
  self->has_audio = weft_sample_item_get_audio_path (item) != NULL;
  gtk_widget_set_visible (self->play_button, self->has_audio);
  weft_sample_card_update_texts (self);
  weft_sample_card_update_play (self);
  weft_sample_card_queue_accessible (self);

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

static void
weft_sample_card_dispose (GObject *object)
{
  WeftSampleCard *self = WEFT_SAMPLE_CARD (object);

  weft_sample_card_set_item (self, NULL);
  if (self->accessible_dirty)
    {
      g_ptr_array_remove_fast (weft_sample_card_unnamed, self);
      self->accessible_dirty = FALSE;
    }
  if (self->player != NULL)
    g_signal_handlers_disconnect_by_data (self->player, self);
  g_clear_object (&self->player);
  g_clear_object (&self->loader);
  g_clear_pointer (&self->play_button, gtk_widget_unparent);
  g_clear_object (&self->id_layout);
  g_clear_object (&self->caption_layout);
  g_clear_object (&self->label_layout);
  g_clear_object (&self->split_layout);

  G_OBJECT_CLASS (weft_sample_card_parent_class)->dispose (object);
}

static void
weft_sample_card_class_init (WeftSampleCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_sample_card_dispose;
  widget_class->measure = weft_sample_card_measure;
  widget_class->size_allocate = weft_sample_card_size_allocate;
  widget_class->snapshot = weft_sample_card_snapshot;
  widget_class->query_tooltip = weft_sample_card_query_tooltip;

  gtk_widget_class_set_css_name (widget_class, "samplecard");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_install_action (widget_class, "card.toggle-play", NULL,
                                   weft_sample_card_toggle_play);
}

static void
weft_sample_card_init (WeftSampleCard *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "card");
  gtk_widget_add_css_class (GTK_WIDGET (self), "sample-card");
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);

  self->play_button = gtk_button_new_from_icon_name ("media-playback-start-symbolic");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->play_button), "card.toggle-play");
  gtk_widget_add_css_class (self->play_button, "flat");
  gtk_widget_add_css_class (self->play_button, "circular");
  gtk_widget_set_parent (self->play_button, GTK_WIDGET (self));

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
                             G_CALLBACK (weft_sample_card_player_changed), self,
                             G_CONNECT_SWAPPED);
  return GTK_WIDGET (self);
}
