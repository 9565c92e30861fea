/* weft-sample-loader.c — WeftSampleLoader: a small thread pool decodes
 * thumbnails (gdk-pixbuf at thumbnail size) and min/max envelopes
 * (weft_audio_decode) of the cards on screen, newest request first; results
 * cross to the main thread in an idle and are kept in an LRU of items whose
 * thumbnails are dropped when they fall out of it. Workers never touch
 * widgets, only build textures and byte arrays. */

#define _GNU_SOURCE   /* SCHED_IDLE */
#include "weft-config.h"

#include <pthread.h>
#include <sched.h>

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gi18n.h>

#include "data/weft-audio.h"

#include "weft-sample-loader.h"

/* Two workers at a lower priority than the main thread: decoding a screen
 * of cards must never take the CPU the frame clock needs. */
#define WEFT_SAMPLE_LOADER_THREADS 2
/* Jobs handed to the pool at once; the rest wait on the main thread, where
 * a card scrolled away can still take its request back. */
#define WEFT_SAMPLE_LOADER_IN_FLIGHT (2 * WEFT_SAMPLE_LOADER_THREADS)
#define WEFT_SAMPLE_LOADER_NICE 10
#define WEFT_SAMPLE_LOADER_LRU 600     /* thumbnails kept; > cards on screen */
#define WEFT_SAMPLE_ENVELOPE_SECONDS 10.0
/* A request waits this long before a worker takes it: a card that a fast
 * drag shows for a frame or two is gone by then, and decoding it would
 * only have taken CPU from the frames. */
#define WEFT_SAMPLE_LOADER_SETTLE_US (40 * 1000)

typedef struct
{
  WeftSampleLoader *loader;       /* owned while in flight */
  WeftSampleItem   *item;         /* owned */
  GList            *link;         /* in loader->waiting; NULL once in flight */
  guint             generation;   /* loader->generation at request time */
  gboolean          want_image;
  gboolean          want_audio;
  gint64            requested;    /* monotonic time of the first request */
  /* Results */
  GdkTexture       *texture;
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
  GQueue       waiting;      /* WeftSampleJob* (owned) not yet handed to the
                                pool, newest at head */
  GHashTable  *pending;      /* item -> its job, waiting or in flight (borrowed) */
  GHashTable  *envelopes;    /* audio path -> GBytes: a clip shared by rows
                                is decoded once */
  guint        in_flight;
  guint        generation;
  guint        settle_source;  /* pumps again when a request settles */
};

G_DEFINE_FINAL_TYPE (WeftSampleLoader, weft_sample_loader, G_TYPE_OBJECT)

static void
weft_sample_job_free (WeftSampleJob *job)
{
  g_clear_object (&job->loader);
  g_clear_object (&job->item);
  g_clear_object (&job->texture);
  g_clear_pointer (&job->envelope, g_bytes_unref);
  g_free (job);
}

/* Runs on a worker: ((min, max) × bins) of the first seconds of the clip. */
static GBytes *
weft_sample_loader_decode_envelope (const char *path)
{
  float *env = g_new0 (float, 2 * WEFT_SAMPLE_ENVELOPE_BINS);

  if (!weft_audio_envelope (path, WEFT_SAMPLE_ENVELOPE_SECONDS, WEFT_SAMPLE_ENVELOPE_BINS,
                            env, NULL))
    {
      g_free (env);
      return NULL;
    }
  return g_bytes_new_take (env, 2 * WEFT_SAMPLE_ENVELOPE_BINS * sizeof (float));
}

/* gdk-pixbuf hands back a partly grey picture for a PNG or JPEG cut short,
 * with no error: the card would show half an image where the report says
 * the file is truncated. A PNG is complete when its chunks run to IEND; a
 * JPEG when it ends with an EOI marker (trailing padding aside). */
static gboolean
weft_sample_loader_image_complete (const guint8 *d,
                                   gsize         n)
{
  static const guint8 png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  if (n >= 8 && memcmp (d, png, 8) == 0)
    {
      gsize at = 8;

      while (at + 12 <= n)
        {
          guint32 len = (guint32) d[at] << 24 | (guint32) d[at + 1] << 16 |
                        (guint32) d[at + 2] << 8 | d[at + 3];

          if (memcmp (d + at + 4, "IEND", 4) == 0)
            return TRUE;
          if (len > n - at - 12)
            return FALSE;
          at += 12 + (gsize) len;
        }
      return FALSE;
    }

  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
    {
      gsize end = n;

      while (end > 2 && end > n - 64 && d[end - 1] != 0xd9)
        end--;
      return end >= 2 && d[end - 1] == 0xd9 && d[end - 2] == 0xff;
    }

  return TRUE;  /* other formats: the loader's own errors decide */
}

static void
weft_sample_loader_size_prepared (GdkPixbufLoader *loader,
                                  int              width,
                                  int              height,
                                  gpointer         user_data)
{
  double scale;

  if (width <= 0 || height <= 0)
    return;
  scale = (double) WEFT_SAMPLE_THUMBNAIL_SIZE / MAX (width, height);
  gdk_pixbuf_loader_set_size (loader, MAX (1, (int) (width * scale + 0.5)),
                              MAX (1, (int) (height * scale + 0.5)));
}

/* Runs on a worker: the thumbnail (longest side WEFT_SAMPLE_THUMBNAIL_SIZE)
 * as a texture, or NULL with an error for a missing, truncated or damaged
 * file. A memory texture is immutable, so building it here is safe and
 * spares the main thread the copy. */
static GdkTexture *
weft_sample_loader_decode_thumbnail (const char  *path,
                                     GError     **error)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autofree char *data = NULL;
  GdkPixbuf *pixbuf;
  gsize n = 0;

  if (!g_file_get_contents (path, &data, &n, error))
    return NULL;
  if (!weft_sample_loader_image_complete ((const guint8 *) data, n))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                           _("the image file is truncated"));
      return NULL;
    }

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared",
                    G_CALLBACK (weft_sample_loader_size_prepared), NULL);
  if (!gdk_pixbuf_loader_write (loader, (const guint8 *) data, n, error))
    {
      gdk_pixbuf_loader_close (loader, NULL);
      return NULL;
    }
  if (!gdk_pixbuf_loader_close (loader, error))
    return NULL;
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("the image data is damaged"));
      return NULL;
    }
  return gdk_texture_new_for_pixbuf (pixbuf);
}

/* Linux keeps a nice value per thread: lowering this worker's priority
 * leaves the main thread's alone. The pool is exclusive, so the setting
 * never leaks into threads other code borrows. */
static void
weft_sample_loader_lower_priority (void)
{
  static GPrivate lowered;

  if (g_private_get (&lowered) != NULL)
    return;
  g_private_set (&lowered, GINT_TO_POINTER (1));
#ifdef __linux__
  {
    /* SCHED_IDLE: the worker runs only on a CPU nothing else wants, and
     * gives way at once when the main thread wakes (a nice value still
     * left it a share that showed as late frames while scrolling). The
     * sound decoder's threads inherit it. */
    struct sched_param param = { 0 };

    if (pthread_setschedparam (pthread_self (), SCHED_IDLE, &param) == 0)
      return;
    if (setpriority (PRIO_PROCESS, 0, WEFT_SAMPLE_LOADER_NICE) != 0)
      g_debug ("Could not lower the thumbnail workers' priority: %s", g_strerror (errno));
  }
#endif
}

static void weft_sample_loader_touch (WeftSampleLoader *self, WeftSampleItem *item);
static void weft_sample_loader_pump  (WeftSampleLoader *self);

static gboolean
weft_sample_loader_job_done (gpointer data)
{
  WeftSampleJob *job = data;
  WeftSampleLoader *self = job->loader;

  self->in_flight--;
  if (job->generation != self->generation)
    {
      weft_sample_loader_pump (self);
      return G_SOURCE_REMOVE;
    }

  g_hash_table_remove (self->pending, job->item);
  if (job->texture != NULL)
    {
      weft_sample_item_set_thumbnail (job->item, GDK_PAINTABLE (job->texture));
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

  weft_sample_loader_pump (self);
  return G_SOURCE_REMOVE;
}

static void
weft_sample_loader_work (gpointer data,
                         gpointer user_data)
{
  WeftSampleJob *job = data;

  weft_sample_loader_lower_priority ();

  /* Scrolled past before its turn came: the next bind asks again. */
  if (_weft_sample_item_is_shown (job->item))
    {
      const char *image = weft_sample_item_get_image_path (job->item);
      const char *audio = weft_sample_item_get_audio_path (job->item);

      if (job->want_image && image != NULL)
        {
          g_autoptr(GError) error = NULL;

          job->texture = weft_sample_loader_decode_thumbnail (image, &error);
          if (job->texture == NULL)
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

/* Hands the newest waiting jobs to the pool while fewer than
 * WEFT_SAMPLE_LOADER_IN_FLIGHT are there. A plain queue on this side
 * keeps each request O(1) however fast the grid is scrolled (a sorted
 * pool queue grew by a screenful per frame and was sorted on every push). */
static gboolean
weft_sample_loader_settled (gpointer data)
{
  WeftSampleLoader *self = data;

  self->settle_source = 0;
  weft_sample_loader_pump (self);
  return G_SOURCE_REMOVE;
}

static void
weft_sample_loader_pump (WeftSampleLoader *self)
{
  gint64 now = g_get_monotonic_time ();
  GList *link = self->waiting.head;

  while (self->in_flight < WEFT_SAMPLE_LOADER_IN_FLIGHT && link != NULL)
    {
      WeftSampleJob *job = link->data;
      GList *next = link->next;

      /* The newest request that has settled; newer ones wait their turn. */
      if (now - job->requested >= WEFT_SAMPLE_LOADER_SETTLE_US)
        {
          g_queue_delete_link (&self->waiting, link);
          job->link = NULL;
          job->loader = g_object_ref (self);
          self->in_flight++;
          g_thread_pool_push (self->pool, job, NULL);
        }
      link = next;
    }

  /* The oldest request (at the tail) settles first. */
  if (self->in_flight < WEFT_SAMPLE_LOADER_IN_FLIGHT && self->waiting.length > 0 &&
      self->settle_source == 0)
    {
      WeftSampleJob *oldest = self->waiting.tail->data;
      gint64 wait = oldest->requested + WEFT_SAMPLE_LOADER_SETTLE_US - now;

      self->settle_source = g_timeout_add (MAX (1, (wait + 999) / 1000),
                                           weft_sample_loader_settled, self);
      g_source_set_name_by_id (self->settle_source, "[weft] thumbnail requests settle");
    }
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
    {
      /* Asked again while waiting: it is on screen now, so it goes first. */
      if (job->link != NULL)
        {
          g_queue_unlink (&self->waiting, job->link);
          g_queue_push_head_link (&self->waiting, job->link);
        }
      return;
    }

  job = g_new0 (WeftSampleJob, 1);
  job->item = g_object_ref (item);
  job->generation = self->generation;
  job->want_image = want_image;
  job->want_audio = want_audio;
  job->requested = g_get_monotonic_time ();
  g_queue_push_head (&self->waiting, job);
  job->link = self->waiting.head;
  g_hash_table_insert (self->pending, item, job);
  weft_sample_loader_pump (self);
}

void
weft_sample_loader_cancel (WeftSampleLoader *self,
                           WeftSampleItem   *item)
{
  WeftSampleJob *job;

  g_return_if_fail (WEFT_IS_SAMPLE_LOADER (self));
  g_return_if_fail (WEFT_IS_SAMPLE_ITEM (item));

  job = g_hash_table_lookup (self->pending, item);
  if (job == NULL || job->link == NULL)
    return;  /* in flight: the worker sees the item is not shown */
  g_queue_delete_link (&self->waiting, job->link);
  g_hash_table_remove (self->pending, item);
  weft_sample_job_free (job);
}

void
weft_sample_loader_clear (WeftSampleLoader *self)
{
  WeftSampleItem *item;

  g_return_if_fail (WEFT_IS_SAMPLE_LOADER (self));

  self->generation++;
  g_clear_handle_id (&self->settle_source, g_source_remove);
  g_hash_table_remove_all (self->pending);
  g_queue_clear_full (&self->waiting, (GDestroyNotify) weft_sample_job_free);
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
                                  WEFT_SAMPLE_LOADER_THREADS, TRUE, NULL);
  g_queue_init (&self->waiting);
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
