#!/usr/bin/python3
"""Regenerates tests/fixtures/parity/*.json from the cases_*.py modules.

Run with Debian's python3-torch:  /usr/bin/python3 tests/parity/gen.py
Each cases_GROUP.py defines cases() -> list of common.case(...) records and
is written to tests/fixtures/parity/GROUP.json.
"""
import glob
import importlib
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import common  # noqa: E402

out_dir = os.path.join(here, "..", "fixtures", "parity")
os.makedirs(out_dir, exist_ok=True)
only = set(sys.argv[1:])
for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
    group = os.path.basename(path)[len("cases_"):-3]
    if only and group not in only:
        continue
    mod = importlib.import_module("cases_" + group)
    cases = mod.cases()
    common.write(os.path.join(out_dir, group + ".json"), cases)
    print(f"{group}: {len(cases)} cases")
