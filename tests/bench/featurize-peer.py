#!/usr/bin/python3
"""featurize-peer.py — the peer of Weft's cached reopen: the same job done
the way a Python user would, with the standard library and numpy.

usage: featurize-peer.py DATASET_DIR CACHE_FILE [REPEATS]

Reads metadata.csv (csv module), checks every image and sound path stays in
the folder (realpath of each folder once, as Weft does) and exists, stats
every distinct file once for a cache key (size and mtime in SHA-256 with
the captions, labels and splits), then maps the image and audio arrays of
Weft's feature file with numpy.memmap (the peer reads the same bytes Weft
maps; the layout is in core/data/weft-features.h). Prints the best of
REPEATS (default 3) as peer_reopen_s=..., and the number of files checked.
"""
import csv
import hashlib
import os
import struct
import sys
import time

import numpy as np


def reopen(root, cache):
    t0 = time.perf_counter()
    root = os.path.realpath(root)
    with open(os.path.join(root, "metadata.csv"), newline="", encoding="utf-8") as fp:
        rows = list(csv.DictReader(fp))
    folders, stamps = {}, {}
    h = hashlib.sha256()
    problems = 0
    for row in rows:
        for column in ("image_file_name", "audio_file_name"):
            rel = (row.get(column) or "").strip()
            if not rel:
                continue
            folder, base = os.path.split(rel)
            canon = folders.get(folder)
            if canon is None:
                canon = folders[folder] = os.path.realpath(os.path.join(root, folder))
            if canon != root and not canon.startswith(root + os.sep):
                problems += 1
                continue
            path = os.path.join(canon, base)
            stamp = stamps.get(path, False)
            if stamp is False:
                try:
                    st = os.stat(path)
                    stamp = stamps[path] = struct.pack("<qq", st.st_size, st.st_mtime_ns)
                except OSError:
                    stamp = stamps[path] = None
            if stamp is None:
                problems += 1
                continue
            h.update(path.encode())
            h.update(stamp)
        for column in ("text", "label", "split"):
            h.update((row.get(column) or "").encode())
            h.update(b"\0")
    h.hexdigest()

    with open(cache, "rb") as fp:
        header = fp.read(256)
    assert header[:8] == b"WEFTFEAT", cache
    n_rows = struct.unpack_from("<I", header, 24)[0]
    arrays = []
    for column, section in ((0, 0), (1, 2)):          # image, audio
        n_dims = struct.unpack_from("<I", header, 32 + 20 * column)[0]
        dims = struct.unpack_from("<4I", header, 36 + 20 * column)[:n_dims]
        offset, size = struct.unpack_from("<QQ", header, 96 + 16 * section)
        if size == 0:
            continue
        arrays.append(np.memmap(cache, dtype="<f4", mode="r", offset=offset,
                                shape=(n_rows, int(np.prod(dims)))))
    seconds = time.perf_counter() - t0
    return seconds, len(stamps), problems, arrays


def main():
    root, cache = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    best = None
    for _ in range(repeats):
        seconds, files, problems, arrays = reopen(root, cache)
        best = seconds if best is None else min(best, seconds)
        del arrays
    print(f"peer_files={files} peer_problems={problems}")
    print(f"peer_reopen_s={best:.3f}")


if __name__ == "__main__":
    main()
