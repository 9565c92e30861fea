#!/usr/bin/python3
"""safetensors_check.py — the Python side of test-safetensors' interop test,
using only json, struct and numpy (the `safetensors` package is not needed).

    safetensors_check.py check PATH   verify a file Weft wrote (values mirror
                                      test_python_interop in the C test)
    safetensors_check.py write PATH   write a file the way the reference
                                      library lays it out, for Weft to read

Exit status 0 on success, 1 with a message on a mismatch, 77 when numpy is
missing (the C test then skips).
"""
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)


def fail(msg):
    print("safetensors_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        fail("header length %d is not a multiple of 8" % n)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]

    meta = header.pop("__metadata__", None)
    want_meta = {"format": "pt", "note": "café ☕ 日本語 \"q\"\n"}
    if meta != want_meta:
        fail("metadata %r, expected %r" % (meta, want_meta))

    want = {
        "enc.bias": np.arange(5, dtype=np.float32) * np.float32(1.5),
        "enc.weight": ((np.arange(12, dtype=np.float32) - 5) / 4).reshape(3, 4),
        "scale": np.array(3.25, dtype=np.float32),
    }
    # The reference layout: sorted by name, back to back from 0, no tail.
    if list(header) != sorted(header):
        fail("tensors are not sorted by name: %r" % list(header))
    end = 0
    for name in sorted(header):
        info = header[name]
        begin, stop = info["data_offsets"]
        if begin != end:
            fail("%s starts at %d, expected %d" % (name, begin, end))
        end = stop
        if info["dtype"] != "F32":
            fail("%s has dtype %s" % (name, info["dtype"]))
        value = np.frombuffer(data[begin:stop], dtype="<f4").reshape(info["shape"])
        if name not in want:
            fail("unexpected tensor %s" % name)
        if value.shape != want[name].shape or not np.array_equal(value, want[name]):
            fail("%s = %r, expected %r" % (name, value, want[name]))
    if set(header) != set(want):
        fail("tensors %r, expected %r" % (sorted(header), sorted(want)))
    if end != len(data):
        fail("%d bytes of data after the last tensor" % (len(data) - end))


def write(path):
    tensors = {
        "head.weight": ((np.arange(6, dtype=np.float32) - 2) * 0.5).reshape(2, 3),
        "half": np.arange(4, dtype=np.float16) * np.float16(0.25) - np.float16(1),
        "double": np.array([0.1, -7.0], dtype=np.float64),
        "steps": np.array(1234, dtype=np.int64),
    }
    names = {np.dtype("float32"): "F32", np.dtype("float16"): "F16",
             np.dtype("float64"): "F64", np.dtype("int64"): "I64"}
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():        # insertion order, not sorted
        blob = value.astype(value.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[value.dtype], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    # Metadata last, and json's default ASCII escapes (\\u surrogate pairs).
    header["__metadata__"] = {"note": "naïve ☃ 🧵", "epochs": "12"}
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        fail("usage: safetensors_check.py check|write PATH")
    {"check": check, "write": write}[sys.argv[1]](sys.argv[2])
