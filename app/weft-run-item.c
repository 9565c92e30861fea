/* weft-run-item.c — a run record's numbers for the runs table: best
 * validation score over the epochs, size, duration, state, names. */

#include "weft-config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "weft-json.h"

#include "weft-run-item.h"

struct _WeftRunItem
{
  GObject   parent_instance;

  char     *id;
  char     *title;
  char     *template;
  char     *started;
  const char *state;                /* static, translated */
  double    best;
  gboolean  best_is_recall;
  double    parameters;
  double    seconds;
  gboolean  running;
};

G_DEFINE_FINAL_TYPE (WeftRunItem, weft_run_item, G_TYPE_OBJECT)

static void
weft_run_item_finalize (GObject *object)
{
  WeftRunItem *self = WEFT_RUN_ITEM (object);

  g_free (self->id);
  g_free (self->title);
  g_free (self->template);
  g_free (self->started);
  G_OBJECT_CLASS (weft_run_item_parent_class)->finalize (object);
}

static void
weft_run_item_class_init (WeftRunItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = weft_run_item_finalize;
}

static void
weft_run_item_init (WeftRunItem *self)
{
  self->best = self->parameters = self->seconds = NAN;
}

WeftRunItem *
weft_run_item_new (JsonObject *run, gboolean running)
{
  WeftRunItem *self;
  JsonObject *final;
  JsonArray *epochs;
  const char *state, *started, *tmpl;
  double best_acc = NAN, best_r1 = NAN;

  g_return_val_if_fail (run != NULL, NULL);

  self = g_object_new (WEFT_TYPE_RUN_ITEM, NULL);
  /* A run still training has no "final" yet (json-glib complains about
   * reading a missing member). */
  final = json_object_has_member (run, "final") ? json_object_get_object_member (run, "final") : NULL;
  epochs = json_object_has_member (run, "epochs") ? json_object_get_array_member (run, "epochs") : NULL;
  state = json_object_get_string_member_with_default (run, "state", "");
  started = json_object_get_string_member_with_default (run, "started", "");
  tmpl = json_object_get_string_member_with_default (run, "template", NULL);

  self->id = g_strdup (json_object_get_string_member_with_default (run, "id", ""));
  self->template = g_strdup (tmpl ? tmpl : _("custom model"));
  self->started = g_strdup (started);
  self->running = running || g_str_equal (state, "running");
  self->state = self->running ? _("running") :
                g_str_equal (state, "finished") ? _("finished") :
                g_str_equal (state, "failed") ? _("failed") :
                g_str_equal (state, "stopped") ? _("stopped") : _("unknown");

  /* "2026-11-23T10:15:07..." shown to the second: two runs started in one
   * minute (a comparison) must still read differently. */
  self->title = g_strdup_printf ("%s · %.19s", self->template, started[0] ? started : "?");
  if (strlen (started) >= 19)
    self->title[strlen (self->title) - 9] = ' ';

  self->parameters = weft_json_get_double (final, "parameters");
  if (isnan (self->parameters))
    self->parameters = weft_json_get_double (run, "parameters");
  self->seconds = weft_json_get_double (final, "seconds");
  for (guint j = 0; epochs && j < json_array_get_length (epochs); j++)
    {
      JsonObject *e = json_array_get_object_element (epochs, j);
      double a = weft_json_get_double (e, "val_accuracy"), r1 = weft_json_get_double (e, "val_recall1");
      if (isfinite (a) && !(a <= best_acc))
        best_acc = a;
      if (isfinite (r1) && !(r1 <= best_r1))
        best_r1 = r1;
      /* A run still training has no "final" yet: its epochs' times. */
      if (final == NULL)
        self->seconds = (isnan (self->seconds) ? 0 : self->seconds) + weft_json_get_double (e, "seconds");
    }
  self->best_is_recall = isnan (best_acc) && isfinite (best_r1);
  self->best = self->best_is_recall ? best_r1 : best_acc;
  return self;
}

const char *
weft_run_item_get_id (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NULL);
  return self->id;
}

const char *
weft_run_item_get_title (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NULL);
  return self->title;
}

const char *
weft_run_item_get_template (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NULL);
  return self->template;
}

const char *
weft_run_item_get_state (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NULL);
  return self->state;
}

const char *
weft_run_item_get_started (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NULL);
  return self->started;
}

double
weft_run_item_get_best (WeftRunItem *self, gboolean *is_recall)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NAN);
  if (is_recall)
    *is_recall = self->best_is_recall;
  return self->best;
}

double
weft_run_item_get_parameters (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NAN);
  return self->parameters;
}

double
weft_run_item_get_seconds (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), NAN);
  return self->seconds;
}

gboolean
weft_run_item_get_running (WeftRunItem *self)
{
  g_return_val_if_fail (WEFT_IS_RUN_ITEM (self), FALSE);
  return self->running;
}
