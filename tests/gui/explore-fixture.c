/* explore-fixture.c — test helper for test-explore.py: writes the per-epoch
 * embedding files (epoch-NNN.emb) of a run from checkpoints saved after
 * epochs 1, 2, ..., as the Train page's epoch hook would. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/weft-dataset.h"
#include "data/weft-featurize.h"
#include "embed/weft-embed.h"
#include "graph/weft-checkpoint.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftDataset) ds = NULL;
  g_autoptr(WeftFeatures) features = NULL;
  WeftDatasetLimits limits;
  WeftFeatureSettings settings;

  if (argc < 4)
    {
      fprintf (stderr, "usage: explore-fixture DATASET EMBED_DIR EPOCH=CKPT...\n");
      return 2;
    }
  weft_dataset_limits_init (&limits);
  ds = weft_dataset_open (argv[1], &limits, NULL, &error);
  if (ds != NULL)
    {
      weft_feature_settings_init (&settings);
      features = weft_featurize (ds, &settings, NULL, 1, NULL, NULL, NULL, &error);
    }
  if (features == NULL)
    {
      fprintf (stderr, "explore-fixture: %s\n", error->message);
      return 1;
    }
  for (int k = 3; k < argc; k++)
    {
      const char *eq = strchr (argv[k], '=');
      int epoch = eq ? atoi (argv[k]) : k - 2;
      const char *ckpt = eq ? eq + 1 : argv[k];
      g_autoptr(WeftGraph) graph = weft_checkpoint_load (ckpt, 64, NULL, &error);
      g_autoptr(WeftEmbedding) e = NULL;
      g_autofree char *path = NULL;

      if (graph != NULL)
        e = weft_embed_compute (graph, features, NULL, 0, NULL, NULL, NULL, &error);
      if (e != NULL)
        {
          e->epoch = epoch;
          path = weft_embedding_file_name (argv[2], epoch);
          weft_embedding_save (e, path, &error);
        }
      if (error != NULL)
        {
          fprintf (stderr, "explore-fixture: %s: %s\n", ckpt, error->message);
          return 1;
        }
      printf ("%s\n", path);
    }
  return 0;
}
