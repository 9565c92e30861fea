/* decode-audio.c — test helper: writes the 16 kHz mono float samples that
 * Weft decodes from a sound file, so that Python can featurise them too.
 * usage: decode-audio IN OUT.f32 (raw little-endian float32) */
#include <stdio.h>

#include "data/weft-audio.h"

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: decode-audio IN OUT.f32\n");
      return 2;
    }
  weft_audio_init ();
  GError *error = NULL;
  gsize n = 0;
  gboolean truncated = FALSE;
  /* 30 s: the default limit a dataset's sounds are read with. */
  g_autofree float *pcm = weft_audio_decode (argv[1], 30.0, &n, &truncated, &error);
  if (pcm == NULL || !g_file_set_contents (argv[2], (const char *) pcm, n * sizeof (float), &error))
    {
      fprintf (stderr, "decode-audio: %s: %s\n", argv[1], error->message);
      g_error_free (error);
      return 1;
    }
  return 0;
}
