/* weft-export-tsv.h — embeddings for other tools: the TensorBoard
 * projector's two TSV files, and a selection of map points as CSV. */
#pragma once

#include "data/weft-dataset.h"
#include "embed/weft-embed.h"

G_BEGIN_DECLS

/* Writes DIR/vectors.tsv (one vector per line, tab-separated, %.6g) and
 * DIR/metadata.tsv (a header row "index\tmodality\tlabel\tsplit\ttext",
 * then one row per vector: the sample's dataset index (its feature row
 * when unknown), the space name, the class name (or its number, or empty),
 * "train"/"validation"/"test", and the caption from ds (may be NULL: empty)
 * with tabs and newlines replaced by spaces). Every space of the joint
 * dimension is written, points absent from a space left out; space
 * non-NULL restricts to that one. Both files are written atomically; DIR
 * is created. *n_written (may be NULL) receives the number of vectors. */
gboolean weft_export_tsv (const WeftEmbedding *e, const WeftDataset *ds,
                          const char *space, const char *dir, int *n_written,
                          GError **error);

/* Writes the points as CSV (RFC 4180 quoting) atomically, with the header
 * "index,id,modality,label,split,text,x,y" (x, y empty without a map). */
gboolean weft_export_selection_csv (const WeftEmbedding *e, const WeftDataset *ds,
                                    const WeftEmbedPoint *points, int n,
                                    const char *path, GError **error);

G_END_DECLS
