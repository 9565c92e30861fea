/* weft-sample-item.c — WeftSampleItem: read-only views of a WeftSample plus
 * the decoded thumbnail and waveform envelope the cards bind to. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-sample-item.h"

static void
weft_shared_dataset_clear (WeftSharedDataset *shared)
{
  g_clear_pointer (shared, weft_dataset_free);
}

WeftSharedDataset *
weft_shared_dataset_new (WeftDataset *ds)
{
  WeftSharedDataset *shared = g_atomic_rc_box_new (WeftSharedDataset);

  *shared = ds;
  return shared;
}

WeftSharedDataset *
weft_shared_dataset_ref (WeftSharedDataset *shared)
{
  return g_atomic_rc_box_acquire (shared);
}

void
weft_shared_dataset_unref (WeftSharedDataset *shared)
{
  g_atomic_rc_box_release_full (shared, (GDestroyNotify) weft_shared_dataset_clear);
}

struct _WeftSampleItem
{
  GObject            parent_instance;

  /* Borrowed: lives as long as shared */
  const WeftSample  *sample;

  /* Owned */
  WeftSharedDataset *shared;
  GdkPaintable      *thumbnail;
  GBytes            *envelope;
  int                shown;      /* atomic */
  gboolean           broken;
  const WeftIssue   *issue;      /* borrowed from the dataset */
  WeftSampleItemWatch watch;     /* the card showing the item */
  gpointer           watch_data;
};

G_DEFINE_FINAL_TYPE (WeftSampleItem, weft_sample_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_LABEL,
  PROP_SPLIT,
  PROP_TEXT,
  PROP_IMAGE_PATH,
  PROP_AUDIO_PATH,
  PROP_HAS_IMAGE,
  PROP_HAS_AUDIO,
  PROP_HAS_TEXT,
  PROP_THUMBNAIL,
  PROP_ENVELOPE,
  PROP_BROKEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

WeftSampleItem *
weft_sample_item_new (WeftSharedDataset *shared,
                      const WeftSample  *sample)
{
  WeftSampleItem *self;

  g_return_val_if_fail (shared != NULL && sample != NULL, NULL);

  self = g_object_new (WEFT_TYPE_SAMPLE_ITEM, NULL);
  self->shared = weft_shared_dataset_ref (shared);
  self->sample = sample;
  return self;
}

const WeftSample *weft_sample_item_get_sample (WeftSampleItem *self) { return self->sample; }
const char *weft_sample_item_get_id (WeftSampleItem *self) { return self->sample->id; }
const char *weft_sample_item_get_label (WeftSampleItem *self) { return self->sample->label; }
const char *weft_sample_item_get_text (WeftSampleItem *self) { return self->sample->text; }
const char *weft_sample_item_get_image_path (WeftSampleItem *self) { return self->sample->image; }
const char *weft_sample_item_get_audio_path (WeftSampleItem *self) { return self->sample->audio; }
int weft_sample_item_get_split (WeftSampleItem *self) { return self->sample->split; }

const char *
weft_sample_item_get_split_name (WeftSampleItem *self)
{
  /* Translated once: a card asks on every bind. */
  static const char *names[3];

  if (g_once_init_enter (&names[0]))
    {
      names[1] = _("Validation");
      names[2] = _("Test");
      g_once_init_leave (&names[0], _("Train"));
    }
  switch (self->sample->split)
    {
    case WEFT_SPLIT_TRAIN:      return names[0];
    case WEFT_SPLIT_VALIDATION: return names[1];
    case WEFT_SPLIT_TEST:       return names[2];
    default:                    return NULL;
    }
}

char *
weft_sample_item_dup_short_text (WeftSampleItem *self)
{
  const char *text = self->sample->text;
  const char *semi;
  g_autofree char *head = NULL;

  if (text == NULL)
    return NULL;
  semi = strchr (text, ';');
  head = semi != NULL ? g_strndup (text, semi - text) : g_strdup (text);
  if (g_utf8_strlen (head, -1) > 80)
    {
      g_autofree char *cut = g_utf8_substring (head, 0, 80);
      return g_strconcat (cut, "…", NULL);
    }
  return g_steal_pointer (&head);
}

GdkPaintable *weft_sample_item_get_thumbnail (WeftSampleItem *self) { return self->thumbnail; }

static void
weft_sample_item_changed (WeftSampleItem *self,
                          gboolean        state)
{
  if (self->watch != NULL)
    self->watch (self, state, self->watch_data);
}

void
_weft_sample_item_watch (WeftSampleItem      *self,
                         WeftSampleItemWatch  watch,
                         gpointer             data)
{
  self->watch = watch;
  self->watch_data = data;
}

void
_weft_sample_item_unwatch (WeftSampleItem *self,
                           gpointer        data)
{
  if (self->watch_data == data)
    {
      self->watch = NULL;
      self->watch_data = NULL;
    }
}

void
weft_sample_item_set_thumbnail (WeftSampleItem *self,
                                GdkPaintable   *thumbnail)
{
  g_return_if_fail (WEFT_IS_SAMPLE_ITEM (self));

  if (g_set_object (&self->thumbnail, thumbnail))
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
      weft_sample_item_changed (self, FALSE);
    }
}

GBytes *weft_sample_item_get_envelope (WeftSampleItem *self) { return self->envelope; }

void
weft_sample_item_set_envelope (WeftSampleItem *self,
                               GBytes         *envelope)
{
  g_return_if_fail (WEFT_IS_SAMPLE_ITEM (self));

  if (self->envelope == envelope)
    return;
  g_clear_pointer (&self->envelope, g_bytes_unref);
  self->envelope = envelope ? g_bytes_ref (envelope) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENVELOPE]);
  weft_sample_item_changed (self, FALSE);
}

gboolean weft_sample_item_get_broken (WeftSampleItem *self) { return self->broken; }
const WeftIssue *weft_sample_item_get_issue (WeftSampleItem *self) { return self->issue; }

void
_weft_sample_item_set_issue (WeftSampleItem  *self,
                             const WeftIssue *issue)
{
  self->issue = issue;
}

void
weft_sample_item_set_broken (WeftSampleItem *self,
                             gboolean        broken)
{
  broken = !!broken;
  if (self->broken != broken)
    {
      self->broken = broken;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BROKEN]);
      weft_sample_item_changed (self, TRUE);
    }
}

void
_weft_sample_item_shown (WeftSampleItem *self,
                         gboolean        shown)
{
  g_atomic_int_add (&self->shown, shown ? 1 : -1);
}

gboolean
_weft_sample_item_is_shown (WeftSampleItem *self)
{
  return g_atomic_int_get (&self->shown) > 0;
}

static void
weft_sample_item_finalize (GObject *object)
{
  WeftSampleItem *self = WEFT_SAMPLE_ITEM (object);

  g_clear_object (&self->thumbnail);
  g_clear_pointer (&self->envelope, g_bytes_unref);
  g_clear_pointer (&self->shared, weft_shared_dataset_unref);

  G_OBJECT_CLASS (weft_sample_item_parent_class)->finalize (object);
}

static void
weft_sample_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  WeftSampleItem *self = WEFT_SAMPLE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:         g_value_set_string (value, self->sample->id); break;
    case PROP_LABEL:      g_value_set_string (value, self->sample->label); break;
    case PROP_SPLIT:      g_value_set_string (value, weft_sample_item_get_split_name (self)); break;
    case PROP_TEXT:       g_value_set_string (value, self->sample->text); break;
    case PROP_IMAGE_PATH: g_value_set_string (value, self->sample->image); break;
    case PROP_AUDIO_PATH: g_value_set_string (value, self->sample->audio); break;
    case PROP_HAS_IMAGE:  g_value_set_boolean (value, self->sample->image != NULL); break;
    case PROP_HAS_AUDIO:  g_value_set_boolean (value, self->sample->audio != NULL); break;
    case PROP_HAS_TEXT:   g_value_set_boolean (value, self->sample->text != NULL); break;
    case PROP_THUMBNAIL:  g_value_set_object (value, self->thumbnail); break;
    case PROP_ENVELOPE:   g_value_set_boxed (value, self->envelope); break;
    case PROP_BROKEN:     g_value_set_boolean (value, self->broken); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_sample_item_class_init (WeftSampleItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = weft_sample_item_finalize;
  object_class->get_property = weft_sample_item_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, ro);
  properties[PROP_LABEL] = g_param_spec_string ("label", NULL, NULL, NULL, ro);
  properties[PROP_SPLIT] = g_param_spec_string ("split", NULL, NULL, NULL, ro);
  properties[PROP_TEXT] = g_param_spec_string ("text", NULL, NULL, NULL, ro);
  properties[PROP_IMAGE_PATH] = g_param_spec_string ("image-path", NULL, NULL, NULL, ro);
  properties[PROP_AUDIO_PATH] = g_param_spec_string ("audio-path", NULL, NULL, NULL, ro);
  properties[PROP_HAS_IMAGE] = g_param_spec_boolean ("has-image", NULL, NULL, FALSE, ro);
  properties[PROP_HAS_AUDIO] = g_param_spec_boolean ("has-audio", NULL, NULL, FALSE, ro);
  properties[PROP_HAS_TEXT] = g_param_spec_boolean ("has-text", NULL, NULL, FALSE, ro);
  properties[PROP_THUMBNAIL] =
    g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_PAINTABLE,
                         ro | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ENVELOPE] =
    g_param_spec_boxed ("envelope", NULL, NULL, G_TYPE_BYTES, ro | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BROKEN] =
    g_param_spec_boolean ("broken", NULL, NULL, FALSE, ro | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
weft_sample_item_init (WeftSampleItem *self)
{
}
