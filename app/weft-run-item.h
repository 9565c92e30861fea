/* weft-run-item.h — one row of the Train page's runs table: the numbers of
 * a run record (see weft-project.h) read once, so that sorting never parses JSON. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define WEFT_TYPE_RUN_ITEM (weft_run_item_get_type ())

G_DECLARE_FINAL_TYPE (WeftRunItem, weft_run_item, WEFT, RUN_ITEM, GObject)

/* Reads @run (not kept). @running: the page trains this run right now. */
WeftRunItem *weft_run_item_new (JsonObject *run, gboolean running);

/* All borrowed. Numbers are NaN when the run has none. */
const char  *weft_run_item_get_id         (WeftRunItem *self);
/* "late-fusion · 2026-11-23 10:15:07": the run's name everywhere. */
const char  *weft_run_item_get_title      (WeftRunItem *self);
const char  *weft_run_item_get_template   (WeftRunItem *self);
/* "finished", "stopped", "failed", "running" (translated for display). */
const char  *weft_run_item_get_state      (WeftRunItem *self);
/* ISO 8601, sortable as text. */
const char  *weft_run_item_get_started    (WeftRunItem *self);
/* The best validation accuracy, or for a contrastive model (no accuracy)
 * the best Recall@1; is_recall says which. */
double       weft_run_item_get_best       (WeftRunItem *self, gboolean *is_recall);
double       weft_run_item_get_parameters (WeftRunItem *self);
double       weft_run_item_get_seconds    (WeftRunItem *self);
gboolean     weft_run_item_get_running    (WeftRunItem *self);

G_END_DECLS
