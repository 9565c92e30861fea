/* weft-project.h — a Weft project (*.weft): the dataset it works on, the
 * feature settings, the model spec, the training settings and the history
 * of runs. A GObject, because the application binds its pages to it.
 *
 * File format (JSON, written atomically: temporary file + rename):
 *   {
 *     "weft_project": 1,
 *     "dataset":  "relative/or/absolute/folder",   (relative to the file)
 *     "features": { feature settings, see weft-featurize.h },
 *     "model":    { a model spec, see weft-spec.h },
 *     "training": { training settings, see weft-trainer.h },
 *     "runs":     [ { "id": "run-1", "started": ISO-8601, "template": ...,
 *                     "settings": {...}, "epochs": [ {metrics}... ],
 *                     "checkpoint": "file", "state": "finished" } ... ]
 *   }
 * Unknown members are kept, so newer files survive a round trip.
 *
 * Autosave copies (weft_project_save_autosave) are the same format with the
 * dataset always absolute and one more member, "autosave_of": the URI of
 * the project file they stand for (absent for a never-saved project).
 *
 * Signals: "changed" is emitted on every modification (each setter), also
 * when the project was already modified; "notify::modified" only when the
 * flag flips.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "graph/weft-spec.h"

G_BEGIN_DECLS

#define WEFT_TYPE_PROJECT (weft_project_get_type ())
G_DECLARE_FINAL_TYPE (WeftProject, weft_project, WEFT, PROJECT, GObject)

WeftProject *weft_project_new  (void);
WeftProject *weft_project_load (GFile *file, GError **error);
/* Saves to file (and remembers it); clears "modified". */
gboolean     weft_project_save (WeftProject *self, GFile *file, GError **error);

/* Borrowed; NULL for a project never saved. */
GFile       *weft_project_get_file (WeftProject *self);
gboolean     weft_project_get_modified (WeftProject *self);
void         weft_project_set_modified (WeftProject *self, gboolean modified);

/* The dataset folder as an absolute path (borrowed), or NULL. */
const char  *weft_project_get_dataset (WeftProject *self);
void         weft_project_set_dataset (WeftProject *self, const char *path);

/* Borrowed JSON members; setters take a new reference and mark modified. */
JsonObject  *weft_project_get_features (WeftProject *self);
void         weft_project_set_features (WeftProject *self, JsonObject *features);
JsonObject  *weft_project_get_training (WeftProject *self);
void         weft_project_set_training (WeftProject *self, JsonObject *training);

/* Borrowed; may be NULL. set takes a copy. */
const WeftSpec *weft_project_get_model (WeftProject *self);
void            weft_project_set_model (WeftProject *self, const WeftSpec *spec);

/* Runs, oldest first (borrowed JSON objects). */
guint        weft_project_get_n_runs (WeftProject *self);
JsonObject  *weft_project_get_run (WeftProject *self, guint i);
void         weft_project_add_run (WeftProject *self, JsonObject *run);
/* Swaps run i for @run (a run that progressed); both mark modified. */
void         weft_project_replace_run (WeftProject *self, guint i, JsonObject *run);
void         weft_project_remove_run (WeftProject *self, guint i);
/* Puts @run back at position i (0..n): undoing a removal. */
void         weft_project_insert_run (WeftProject *self, guint i, JsonObject *run);

/* Run files (checkpoint, per-epoch embeddings, exports) live outside the
 * project file, in $XDG_DATA_HOME/weft/runs/RUN_ID/, so that Save As and
 * autosave copies never copy megabytes; the run object names the files by
 * absolute path ("checkpoint": "...").  A new, unique, time-sortable run
 * id; caller frees. */
char        *weft_project_new_run_id (void);
/* Creates (if needed) and returns the folder of a run; caller frees. */
char        *weft_project_dup_run_dir (const char *run_id, GError **error);
/* Deletes a run's folder and everything in it (symbolic links are removed,
 * not followed); a folder that does not exist is no error. Blocking: call
 * it from a worker thread for big runs. */
gboolean     weft_project_delete_run_dir (const char *run_id, GError **error);

/* The whole project as JSON text (pretty); caller frees. */
char        *weft_project_to_data (WeftProject *self, const char *base_dir);

/* Where autosave copies live: $XDG_STATE_HOME/weft/autosave; caller frees. */
char        *weft_project_dup_autosave_dir (void);
/* Writes an autosave copy to file atomically; the project's file and
 * "modified" are left as they are. */
gboolean     weft_project_save_autosave (WeftProject *self, GFile *file, GError **error);
/* Reads an autosave copy: the result's file is the project file it stands
 * for (NULL if it was never saved) and it is modified. Caller owns it. */
WeftProject *weft_project_load_autosave (GFile *file, GError **error);

G_END_DECLS
