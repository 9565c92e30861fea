/* weft-error.c — the WEFT_ERROR quark. */
#include "weft-error.h"

G_DEFINE_QUARK (weft-error-quark, weft_error)
