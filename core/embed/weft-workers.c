/* weft-workers.c — a fixed team of threads woken per parallel section by a
 * generation counter; the caller waits for the team on a condition. */
#include "weft-workers.h"

struct _WeftWorkers {
  int n;
  GThread **threads;         /* n - 1 */
  GMutex lock;
  GCond wake, done;
  guint64 generation;        /* bumped for every section */
  int pending;               /* helper parts not finished */
  gboolean quit;
  WeftWorkFunc fn;
  gpointer data;
};

typedef struct {
  WeftWorkers *w;
  int part;
} Helper;

static gpointer
helper_main (gpointer p)
{
  Helper *h = p;
  WeftWorkers *w = h->w;
  guint64 seen = 0;
  g_mutex_lock (&w->lock);
  for (;;)
    {
      while (!w->quit && w->generation == seen)
        g_cond_wait (&w->wake, &w->lock);
      if (w->quit)
        break;
      seen = w->generation;
      WeftWorkFunc fn = w->fn;
      gpointer data = w->data;
      g_mutex_unlock (&w->lock);
      fn (h->part, w->n, data);
      g_mutex_lock (&w->lock);
      if (--w->pending == 0)
        g_cond_signal (&w->done);
    }
  g_mutex_unlock (&w->lock);
  g_free (h);
  return NULL;
}

WeftWorkers *
weft_workers_new (int n_threads)
{
  WeftWorkers *w = g_new0 (WeftWorkers, 1);
  w->n = CLAMP (n_threads, 1, 64);
  g_mutex_init (&w->lock);
  g_cond_init (&w->wake);
  g_cond_init (&w->done);
  w->threads = g_new0 (GThread *, w->n);
  for (int i = 1; i < w->n; i++)
    {
      Helper *h = g_new (Helper, 1);
      h->w = w;
      h->part = i;
      w->threads[i] = g_thread_new ("weft-worker", helper_main, h);
    }
  return w;
}

int
weft_workers_get_n (WeftWorkers *w)
{
  return w->n;
}

void
weft_workers_run (WeftWorkers *w, WeftWorkFunc fn, gpointer data)
{
  if (w->n == 1)
    {
      fn (0, 1, data);
      return;
    }
  g_mutex_lock (&w->lock);
  w->fn = fn;
  w->data = data;
  w->pending = w->n - 1;
  w->generation++;
  g_cond_broadcast (&w->wake);
  g_mutex_unlock (&w->lock);

  fn (0, w->n, data);

  g_mutex_lock (&w->lock);
  while (w->pending > 0)
    g_cond_wait (&w->done, &w->lock);
  g_mutex_unlock (&w->lock);
}

void
weft_workers_free (WeftWorkers *w)
{
  if (w == NULL)
    return;
  g_mutex_lock (&w->lock);
  w->quit = TRUE;
  g_cond_broadcast (&w->wake);
  g_mutex_unlock (&w->lock);
  for (int i = 1; i < w->n; i++)
    g_thread_join (w->threads[i]);
  g_free (w->threads);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->wake);
  g_cond_clear (&w->done);
  g_free (w);
}
