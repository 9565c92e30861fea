/* weft-edit-history.c — undo and redo for the architecture editor, as two
 * stacks of whole spec snapshots (specs are small: a few kilobytes). */
#include "weft-edit-history.h"

typedef struct {
  WeftSpec *spec;
  char *label;
  char *merge_key;
} Step;

struct _WeftEditHistory {
  GPtrArray *undo;           /* Step*, newest last */
  GPtrArray *redo;
};

/* Deep enough for a long session; the oldest steps are dropped. */
#define MAX_STEPS 200

static void
step_free (gpointer p)
{
  Step *s = p;
  weft_spec_free (s->spec);
  g_free (s->label);
  g_free (s->merge_key);
  g_free (s);
}

static Step *
step_new (const WeftSpec *spec, const char *label, const char *merge_key)
{
  Step *s = g_new0 (Step, 1);
  s->spec = weft_spec_copy (spec);
  s->label = g_strdup (label);
  s->merge_key = g_strdup (merge_key);
  return s;
}

WeftEditHistory *
weft_edit_history_new (void)
{
  WeftEditHistory *self = g_new0 (WeftEditHistory, 1);
  self->undo = g_ptr_array_new_with_free_func (step_free);
  self->redo = g_ptr_array_new_with_free_func (step_free);
  return self;
}

void
weft_edit_history_free (WeftEditHistory *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->undo);
  g_ptr_array_unref (self->redo);
  g_free (self);
}

void
weft_edit_history_record (WeftEditHistory *self, const WeftSpec *before,
                          const char *label, const char *merge_key)
{
  g_return_if_fail (self != NULL && before != NULL);

  g_ptr_array_set_size (self->redo, 0);
  if (merge_key && self->undo->len > 0)
    {
      Step *top = g_ptr_array_index (self->undo, self->undo->len - 1);
      if (g_strcmp0 (top->merge_key, merge_key) == 0)
        return;              /* the older snapshot already undoes this */
    }
  g_ptr_array_add (self->undo, step_new (before, label, merge_key));
  if (self->undo->len > MAX_STEPS)
    g_ptr_array_remove_index (self->undo, 0);
}

void
weft_edit_history_clear (WeftEditHistory *self)
{
  g_ptr_array_set_size (self->undo, 0);
  g_ptr_array_set_size (self->redo, 0);
}

gboolean
weft_edit_history_can_undo (WeftEditHistory *self)
{
  return self->undo->len > 0;
}

gboolean
weft_edit_history_can_redo (WeftEditHistory *self)
{
  return self->redo->len > 0;
}

static const char *
top_label (GPtrArray *a)
{
  return a->len ? ((Step *) g_ptr_array_index (a, a->len - 1))->label : NULL;
}

const char *
weft_edit_history_get_undo_label (WeftEditHistory *self)
{
  return top_label (self->undo);
}

const char *
weft_edit_history_get_redo_label (WeftEditHistory *self)
{
  return top_label (self->redo);
}

/* Pops from one stack and pushes @current on the other under the same label. */
static WeftSpec *
swap (GPtrArray *from, GPtrArray *to, const WeftSpec *current)
{
  if (from->len == 0)
    return NULL;
  Step *s = g_ptr_array_steal_index (from, from->len - 1);
  WeftSpec *restored = g_steal_pointer (&s->spec);
  g_ptr_array_add (to, step_new (current, s->label, NULL));
  step_free (s);
  return restored;
}

WeftSpec *
weft_edit_history_undo (WeftEditHistory *self, const WeftSpec *current)
{
  return swap (self->undo, self->redo, current);
}

WeftSpec *
weft_edit_history_redo (WeftEditHistory *self, const WeftSpec *current)
{
  return swap (self->redo, self->undo, current);
}
