/* weft-sample-loader.c — WeftSampleLoader: a GThreadPool decodes thumbnails
 * (gdk-pixbuf at thumbnail size) and min/max envelopes (weft_audio_decode);
 * results cross to the main thread in an idle and are kept in an LRU of
 * items whose thumbnails are dropped when they fall out of it. Workers
 * never touch widgets, only build pixbufs and byte arrays. */

#include "weft-config.h"

#include "data/weft-audio.h"

#include "weft-sample-loader.h"

#define WEFT_SAMPLE_LOADER_THREADS 4
#define WEFT_SAMPLE_LOADER_LRU 600     /* thumbnails kept; > cards on screen */
#define WEFT_SAMPLE_ENVELOPE_SECONDS 10.0

typedef struct
{
  WeftSampleLoader *loader;       /* weak: cleared by dispose through generation */
  WeftSampleItem   *item;         /* owned */
  guint64           seq;          /* newer requests first */
  guint             generation;   /* loader->generation at request time */
  gboolean          want_image;
  gboolean          want_audio;
  /* Results */
  GdkPixbuf        *pixbuf;
  GBytes           *envelope;
  gboolean          broken;
} WeftSampleJob;

struct _WeftSampleLoader
{
  GObject      parent_instance;

  /* Owned */
  GThreadPool *pool;
  GQueue       lru;          /* WeftSampleItem* (owned), most recent at head */
  GHashTable  *lru_links;    /* item -> GList* in lru */
  GHashTable  *pending;      /* item -> job queued (borrowed) */
  GHashTable  *envelopes;    /* audio path -> GBytes: a clip shared by rows
                                is decoded once */
  guint64      seq;
  guint        generation;
};

G_DEFINE_FINAL_TYPE (WeftSampleLoader, weft_sample_loader, G_TYPE_OBJECT)

static void
weft_sample_job_free (WeftSampleJob *job)
{
  g_clear_object (&job->loader);
  g_clear_object (&job->item);
  g_clear_object (&job->pixbuf);
  g_clear_pointer (&job->envelope, g_bytes_unref);
  g_free (job);
}

/* Runs on a worker: ((min, max) × bins) of the first seconds of the clip. */
static GBytes *
weft_sample_loader_decode_envelope (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *pcm = NULL;
  float *env;
  gsize n = 0;
  gboolean truncated = FALSE;

  pcm = weft_audio_decode (path, WEFT_SAMPLE_ENVELOPE_SECONDS, &n, &truncated, &error);
  if (pcm == NULL)
    return NULL;

  env = g_new0 (float, 2 * WEFT_SAMPLE_ENVELOPE_BINS);
  for (guint b = 0; b < WEFT_SAMPLE_ENVELOPE_BINS && n > 0; b++)
    {
      gsize lo = b * n / WEFT_SAMPLE_ENVELOPE_BINS;
      gsize hi = MAX (lo + 1, (b + 1) * n / WEFT_SAMPLE_ENVELOPE_BINS);
      float mn = 0, mx = 0;

      for (gsize i = lo; i < hi && i < n; i++)
        {
          mn = MIN (mn, pcm[i]);
          mx = MAX (mx, pcm[i]);
        }
      env[2 * b] = mn;
      env[2 * b + 1] = mx;
    }
  return g_bytes_new_take (env, 2 * WEFT_SAMPLE_ENVELOPE_BINS * sizeof (float));
}

static void weft_sample_loader_touch (WeftSampleLoader *self, WeftSampleItem *item);

static gboolean
weft_sample_loader_job_done (gpointer data)
{
  WeftSampleJob *job = data;
  WeftSampleLoader *self = job->loader;

  if (job->generation != self->generation)
    return G_SOURCE_REMOVE;

  g_hash_table_remove (self->pending, job->item);
  if (job->pixbuf != NULL)
    {
      g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (job->pixbuf);

      weft_sample_item_set_thumbnail (job->item, GDK_PAINTABLE (texture));
      weft_sample_loader_touch (self, job->item);
    }
  if (job->envelope != NULL)
    {
      const char *path = weft_sample_item_get_audio_path (job->item);

      g_hash_table_replace (self->envelopes, g_strdup (path), g_bytes_ref (job->envelope));
      weft_sample_item_set_envelope (job->item, job->envelope);
    }
  if (job->broken)
    weft_sample_item_set_broken (job->item, TRUE);

  return G_SOURCE_REMOVE;
}

static void
weft_sample_loader_work (gpointer data,
                         gpointer user_data)
{
  WeftSampleJob *job = data;

  /* Scrolled past before its turn came: the next bind asks again. */
  if (_weft_sample_item_is_shown (job->item))
    {
      const char *image = weft_sample_item_get_image_path (job->item);
      const char *audio = weft_sample_item_get_audio_path (job->item);

      if (job->want_image && image != NULL)
        {
          g_autoptr(GError) error = NULL;

          job->pixbuf = gdk_pixbuf_new_from_file_at_scale (image, WEFT_SAMPLE_THUMBNAIL_SIZE,
                                                           WEFT_SAMPLE_THUMBNAIL_SIZE, TRUE,
                                                           &error);
          if (job->pixbuf == NULL)
            job->broken = TRUE;
        }
      if (job->want_audio && audio != NULL)
        {
          job->envelope = weft_sample_loader_decode_envelope (audio);
          if (job->envelope == NULL)
            job->broken = TRUE;
        }
    }

  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT_IDLE, weft_sample_loader_job_done,
                              job, (GDestroyNotify) weft_sample_job_free);
}

static int
weft_sample_loader_newest_first (gconstpointer a,
                                 gconstpointer b,
                                 gpointer      user_data)
{
  const WeftSampleJob *ja = a, *jb = b;

  return ja->seq < jb->seq ? 1 : ja->seq > jb->seq ? -1 : 0;
}

static void
weft_sample_loader_touch (WeftSampleLoader *self,
                          WeftSampleItem   *item)
{
  GList *link = g_hash_table_lookup (self->lru_links, item);

  if (link != NULL)
    {
      g_queue_unlink (&self->lru, link);
      g_queue_push_head_link (&self->lru, link);
      return;
    }

  g_queue_push_head (&self->lru, g_object_ref (item));
  g_hash_table_insert (self->lru_links, item, self->lru.head);

  while (self->lru.length > WEFT_SAMPLE_LOADER_LRU)
    {
      WeftSampleItem *old = g_queue_pop_tail (&self->lru);

      g_hash_table_remove (self->lru_links, old);
      weft_sample_item_set_thumbnail (old, NULL);
      g_object_unref (old);
    }
}

void
weft_sample_loader_request (WeftSampleLoader *self,
                            WeftSampleItem   *item)
{
  WeftSampleJob *job;
  gboolean want_image, want_audio;
  const char *audio;

  g_return_if_fail (WEFT_IS_SAMPLE_LOADER (self));
  g_return_if_fail (WEFT_IS_SAMPLE_ITEM (item));

  if (weft_sample_item_get_broken (item))
    return;

  want_image = weft_sample_item_get_image_path (item) != NULL &&
               weft_sample_item_get_thumbnail (item) == NULL;
  if (!want_image && weft_sample_item_get_thumbnail (item) != NULL)
    weft_sample_loader_touch (self, item);

  audio = weft_sample_item_get_audio_path (item);
  want_audio = audio != NULL && weft_sample_item_get_envelope (item) == NULL;
  if (want_audio)
    {
      GBytes *known = g_hash_table_lookup (self->envelopes, audio);

      if (known != NULL)
        {
          weft_sample_item_set_envelope (item, known);
          want_audio = FALSE;
        }
    }

  if (!want_image && !want_audio)
    return;

  job = g_hash_table_lookup (self->pending, item);
  if (job != NULL)
    return;

  job = g_new0 (WeftSampleJob, 1);
  job->loader = g_object_ref (self);
  job->item = g_object_ref (item);
  job->seq = ++self->seq;
  job->generation = self->generation;
  job->want_image = want_image;
  job->want_audio = want_audio;
  g_hash_table_insert (self->pending, item, job);
  g_thread_pool_push (self->pool, job, NULL);
}

void
weft_sample_loader_clear (WeftSampleLoader *self)
{
  WeftSampleItem *item;

  g_return_if_fail (WEFT_IS_SAMPLE_LOADER (self));

  self->generation++;
  g_hash_table_remove_all (self->pending);
  g_hash_table_remove_all (self->lru_links);
  while ((item = g_queue_pop_head (&self->lru)) != NULL)
    g_object_unref (item);
  g_hash_table_remove_all (self->envelopes);
}

static void
weft_sample_loader_dispose (GObject *object)
{
  WeftSampleLoader *self = WEFT_SAMPLE_LOADER (object);

  weft_sample_loader_clear (self);

  G_OBJECT_CLASS (weft_sample_loader_parent_class)->dispose (object);
}

static void
weft_sample_loader_finalize (GObject *object)
{
  WeftSampleLoader *self = WEFT_SAMPLE_LOADER (object);

  /* Jobs hold a reference, so the pool is idle by now. */
  g_thread_pool_free (self->pool, TRUE, FALSE);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->lru_links);
  g_hash_table_unref (self->envelopes);

  G_OBJECT_CLASS (weft_sample_loader_parent_class)->finalize (object);
}

static void
weft_sample_loader_class_init (WeftSampleLoaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = weft_sample_loader_dispose;
  object_class->finalize = weft_sample_loader_finalize;
}

static void
weft_sample_loader_init (WeftSampleLoader *self)
{
  weft_audio_init ();

  self->pool = g_thread_pool_new (weft_sample_loader_work, self,
                                  WEFT_SAMPLE_LOADER_THREADS, FALSE, NULL);
  g_thread_pool_set_sort_function (self->pool, weft_sample_loader_newest_first, NULL);
  g_queue_init (&self->lru);
  self->lru_links = g_hash_table_new (NULL, NULL);
  self->pending = g_hash_table_new (NULL, NULL);
  self->envelopes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_bytes_unref);
}

WeftSampleLoader *
weft_sample_loader_new (void)
{
  return g_object_new (WEFT_TYPE_SAMPLE_LOADER, NULL);
}
