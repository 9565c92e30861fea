/* weft-error.h — the error domain for every failure a user can cause. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WEFT_ERROR (weft_error_quark ())

typedef enum {
  WEFT_ERROR_SPEC,        /* the model spec is invalid */
  WEFT_ERROR_CHECKPOINT,  /* a checkpoint cannot be read or does not fit */
  WEFT_ERROR_DATA,        /* a dataset file or row is bad */
  WEFT_ERROR_IO,          /* reading or writing a file failed */
  WEFT_ERROR_TRAIN,       /* training diverged or cannot start */
  WEFT_ERROR_CANCELLED,
  WEFT_ERROR_ARGS,        /* bad command-line / API arguments */
} WeftError;

GQuark weft_error_quark (void);

G_END_DECLS
