/* weft-workers.h — a small team of threads kept alive between parallel
 * sections, so a t-SNE iteration or a kNN block can split its loop over
 * the cores without creating threads each time. Internal to core/embed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _WeftWorkers WeftWorkers;

/* part runs 0..n_parts-1; each call gets a distinct part. */
typedef void (*WeftWorkFunc) (int part, int n_parts, gpointer data);

/* n_threads in all, the caller included (n_threads - 1 are started). */
WeftWorkers *weft_workers_new (int n_threads);
int          weft_workers_get_n (WeftWorkers *w);
/* Calls fn for every part, the caller taking part 0, and returns when all
 * are done. Not reentrant. */
void         weft_workers_run (WeftWorkers *w, WeftWorkFunc fn, gpointer data);
void         weft_workers_free (WeftWorkers *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftWorkers, weft_workers_free)

/* Even split of [0, n) into n_parts: part's [*start, *end). */
static inline void
weft_workers_range (int n, int part, int n_parts, int *start, int *end)
{
  *start = (int) ((gint64) n * part / n_parts);
  *end = (int) ((gint64) n * (part + 1) / n_parts);
}

G_END_DECLS
