/* weft-preset.h — how an encoder preset (MLP, small CNN, ...) becomes a
 * chain of ordinary layers when a spec is compiled. */
#pragma once

#include "nn/weft-block.h"

G_BEGIN_DECLS

/* Appends layer "<preset id>.<name>" of the given type with params given as
 * JSON text (NULL: defaults). Each layer takes the previous one's output;
 * the first takes the preset's input; the last is the preset's output. */
void weft_expansion_add (WeftExpansion *ex, const char *name, const char *type,
                         const char *params_json);

G_END_DECLS
