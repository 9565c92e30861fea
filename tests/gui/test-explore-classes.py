#!/usr/bin/python3
"""test-explore-classes.py — the Explore page's Evaluation tab for a model
with a classifier: a late-fusion run on the Emoji sample is opened, the page
computes its embeddings from the checkpoint, and the Evaluation tab shows the
confusion matrix (its accessible description names the worst confusions) and
the accuracy of every class, in light and dark. Screenshots go to
SCREENSHOT_DIR/test-explore-classes/.

The run is trained outside the GUI with `weft-cli train` and listed in the
project file as the brief's run record does; its embeddings are left for the
page to compute.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-explore-classes` under `xvfb-run -a dbus-run-session`).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)

from dogtail import rawinput  # noqa: E402
from gi.repository import Atspi  # noqa: E402

SOURCE = os.environ.get("WEFT_SOURCE_DIR") or \
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMOJI = os.path.join(SOURCE, "data", "emoji", "sample")
TEMPLATE = os.path.join(SOURCE, "data", "models", "late-fusion.json")
RUN_ID = "run-20261123-231500-cd34ef56"


def prepare_run(weft, tmp):
    """Trains the classifier and writes the project file; returns its path."""
    build = os.environ["WEFT_BUILD_DIR"]
    cli = os.environ.get("WEFT_CLI", os.path.join(build, "app", "weft-cli"))
    env = dict(weft.env(), OPENBLAS_NUM_THREADS="1")
    run_dir = os.path.join(weft.home, "data", "weft", "runs", RUN_ID)
    os.makedirs(os.path.join(run_dir, "embeddings"))
    checkpoint = os.path.join(run_dir, "model.safetensors")
    subprocess.run([cli, "train", "--data", EMOJI, "--model", TEMPLATE,
                    "--epochs", "6", "--seed", "1", "--out", checkpoint],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    with open(TEMPLATE) as f:
        model = json.load(f)
    run = {
        "id": RUN_ID, "template": "late-fusion",
        "started": "2026-11-23T23:15:00Z", "finished": "2026-11-23T23:15:05Z",
        "state": "finished", "message": "",
        "settings": {"epochs": 6, "seed": 1},
        "model": model,
        "epochs": [{"epoch": e, "train_loss": 2.0} for e in range(1, 7)],
        "final": {"accuracy": 0.0},
        "checkpoint": checkpoint,
        "embeddings": os.path.join(run_dir, "embeddings"),
    }
    project = {"weft_project": 1, "dataset": EMOJI, "model": model, "runs": [run]}
    path = os.path.join(tmp, "classes.weft")
    with open(path, "w") as f:
        json.dump(project, f)
    return path


def class_names():
    with open(os.path.join(EMOJI, "metadata.csv")) as f:
        return sorted({row["label"] for row in csv.DictReader(f)})


def main():
    checks = weftgui.Checks()

    with tempfile.TemporaryDirectory(prefix="weft-gui-classes-") as tmp, \
         weftgui.Weft("test-explore-classes", timeout=60) as weft:
        project = checks.step("a late-fusion run is trained on the Emoji sample",
                              prepare_run, weft, tmp)
        if project is None:
            return checks.exit()
        if checks.step("weft PROJECT.weft starts", weft.start, project) is None:
            return checks.exit()
        weft.key("<Alt>4")  # the Explore page
        toolbar = checks.step("the Explore page's toolbar", weft.find, "Explore toolbar",
                              timeout=90)
        if toolbar is None:
            return checks.exit()
        page = toolbar.parent
        checks.step("the map appears", weft.find, "Embedding map", parent=page, timeout=120)

        checks.step("the Evaluation tab", weft.click, "Evaluation", parent=page)
        view = checks.step("the confusion matrix appears", weft.find, "Confusion matrix",
                           role="image", parent=page, timeout=90)
        if view is not None:
            desc = weft.wait_until(lambda: view.description if "rows predicted" in (view.description or "") else None,
                                   "the matrix to describe itself")
            print(f"# {desc}", flush=True)
            checks.ok(" of 30 rows predicted correctly over " in desc,
                      f"it counts the 30 validation rows: {desc!r}")
            names = class_names()
            checks.ok("No confusions" in desc or ("Most confused:" in desc and " taken for " in desc
                                                  and any(n in desc for n in names)),
                      "the description names the worst confusions by class name")

        bars = [name for (role, name) in weft.index(page)
                if role == "level bar" and name.startswith("Accuracy of ")]
        print(f"# per-class rows: {bars}", flush=True)
        checks.ok(len(bars) >= 5 and all(b[len("Accuracy of "):] in class_names() for b in bars),
                  f"one accuracy bar per class, named by class ({len(bars)})")
        weft.screenshot("evaluation")

        # The removal table scores a classifier by accuracy, not recall.
        checks.step("the table without a modality", weft.find, "Without image", role="label",
                    parent=page, timeout=90)
        heads = [name for (role, name) in weft.index(page) if role == "label"]
        # With all modalities it is the matrix's diagonal over its total.
        want = None
        if view is not None:
            correct, total = desc.split(" rows predicted")[0].split(" of ")
            want = f"{int(correct) / int(total):.3f}"
        checks.ok("Recall@1" not in heads and want in heads,
                  f"the table without a modality is scored by accuracy ({want})")
        if view is not None:
            # Hover a cell near the middle of the grid (past the row names
            # at its left). Without a window manager the window sits at the
            # screen's origin, so window coordinates are screen ones.
            ext = weft.wait_until(lambda: (lambda e: e if e.width > 0 else None)(
                Atspi.Component.get_extents(view, Atspi.CoordType.WINDOW)), "the matrix's extents")
            print(f"# matrix at {ext.x},{ext.y} {ext.width}x{ext.height}", flush=True)
            rawinput.absoluteMotion(ext.x + ext.width * 2 // 3, ext.y + ext.height * 2 // 3)
            time.sleep(0.5)
            weft.screenshot("evaluation-hover")
            # Scroll the panel (wheel down) to the accuracy per class.
            for _ in range(8):
                rawinput.click(ext.x + ext.width // 2, ext.y + ext.height // 2, button=5)
            time.sleep(0.5)
            weft.screenshot("accuracy-per-class")

        subprocess.run(["gsettings", "set", "org.weft.Weft", "color-scheme", "dark"],
                       env=weft.env(), check=True)
        time.sleep(1)
        weft.screenshot("evaluation-dark")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
