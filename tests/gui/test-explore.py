#!/usr/bin/python3
"""test-explore.py — the Explore page, driven like a user would over AT-SPI:
a project with a CLIP (image-text) run on the Emoji sample is opened, the
Explore page computes the run's embeddings from its checkpoint, the map
settles (PCA, then t-SNE), a point is hovered and chosen with the keyboard
and its neighbours are read, "cat" is searched, the epoch timeline is
scrubbed, the embeddings are exported for TensorBoard, and the map is looked
at in the dark style. Screenshots of every step go to
SCREENSHOT_DIR/test-explore/.

The run is prepared outside the GUI (until the Train page writes runs):
`weft-cli train` for 1, 5 and 15 epochs (same seed), explore-fixture writes
the per-epoch embedding files, and the project file lists the run as the
brief's run record does.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-explore` under `xvfb-run -a dbus-run-session`).
"""
import json
import os
import shutil
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
TEMPLATE = os.path.join(SOURCE, "data", "models", "clip-image-text.json")
RUN_ID = "run-20261123-101500-ab12cd34"

os.environ["WEFT_AUDIO_SINK"] = "fakesink sync=true"


def prepare_run(weft, tmp):
    """Trains the run and writes the project file; returns its path."""
    build = os.environ["WEFT_BUILD_DIR"]
    cli = os.environ.get("WEFT_CLI", os.path.join(build, "app", "weft-cli"))
    fixture = os.environ.get("WEFT_EXPLORE_FIXTURE",
                             os.path.join(build, "tests", "explore-fixture"))
    env = dict(weft.env(), OPENBLAS_NUM_THREADS="1")
    run_dir = os.path.join(weft.home, "data", "weft", "runs", RUN_ID)
    embed_dir = os.path.join(run_dir, "embeddings")
    os.makedirs(embed_dir)
    checkpoints = []
    for epochs in (1, 5, 15):
        ckpt = os.path.join(tmp, f"epoch-{epochs}.safetensors")
        subprocess.run([cli, "train", "--data", EMOJI, "--model", TEMPLATE,
                        "--epochs", str(epochs), "--seed", "1", "--out", ckpt],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        checkpoints.append(ckpt)
    subprocess.run([fixture, EMOJI, embed_dir] + [f"{e}={c}" for e, c in zip((1, 5, 15), checkpoints)],
                   check=True, env=env,
                   stdout=subprocess.DEVNULL)
    checkpoint = os.path.join(run_dir, "model.safetensors")
    shutil.copy(checkpoints[-1], checkpoint)

    with open(TEMPLATE) as f:
        model = json.load(f)
    run = {
        "id": RUN_ID, "template": "clip-image-text",
        "started": "2026-11-23T10:15:00Z", "finished": "2026-11-23T10:15:05Z",
        "state": "finished", "message": "",
        "settings": {"epochs": 15, "seed": 1},
        "model": model,
        "epochs": [{"epoch": e, "train_loss": 4.0} for e in range(1, 16)],
        "final": {"recall1": 0.0},
        "checkpoint": checkpoint,
        "embeddings": embed_dir,
    }
    project = {"weft_project": 1, "dataset": EMOJI, "model": model, "runs": [run]}
    path = os.path.join(tmp, "explore.weft")
    with open(path, "w") as f:
        json.dump(project, f)
    return path, embed_dir


# Every AT-SPI read is a D-Bus round trip: after one walk of the whole
# window finds the Explore page, the checks walk only that page.
PAGE = None


def find_shallow(weft, name, timeout=90):
    """The first widget named NAME, breadth first: the Explore page's
    toolbar sits higher than the other pages' card grids and forms, so this
    reads a fraction of the tree a depth-first walk would."""
    def probe():
        level = [weft.app]
        while level:
            below = []
            for node in level:
                try:
                    if node.name == name:
                        return node
                    if node.getRoleName() in weftgui.LEAF_ROLES:
                        continue
                    below.extend(node.getChildAtIndex(i) for i in range(node.childCount))
                except Exception:  # noqa: BLE001 — the tree changed under us
                    continue
            level = [n for n in below if n is not None]
        return None
    return weft.wait_until(probe, f"widget '{name}'", timeout)


def labels(weft):
    return [name for (role, name) in weft.index(PAGE) if role == "label"]


def label_starting(weft, prefix, timeout=None):
    return weft.wait_until(lambda: next((n for n in labels(weft) if n.startswith(prefix)), None),
                           f"a label starting with '{prefix}'", timeout)


def rows_with(weft, needle):
    return [name for (role, name) in weft.index(PAGE)
            if role == "list item" and needle in (name or "")]


def main():
    checks = weftgui.Checks()

    with tempfile.TemporaryDirectory(prefix="weft-gui-explore-") as tmp, \
         weftgui.Weft("test-explore", timeout=60) as weft:
        prepared = checks.step("a CLIP run is trained on the Emoji sample", prepare_run, weft, tmp)
        if prepared is None:
            return checks.exit()
        project, embed_dir = prepared
        export_dir = os.path.join(tmp, "exports")
        os.makedirs(export_dir)
        weft.extra_env["WEFT_TEST_EXPORT_DIR"] = export_dir

        frame = checks.step("weft PROJECT.weft starts", weft.start, project)
        if frame is None:
            return checks.exit()
        weft.key("<Alt>4")  # the Explore page
        toolbar = checks.step("the Explore page's toolbar", find_shallow, weft, "Explore toolbar")
        if toolbar is None:
            return checks.exit()
        global PAGE
        PAGE = toolbar.parent

        # The embeddings are computed from the checkpoint once the dataset is
        # featurised, then the map appears and t-SNE settles.
        mapview = checks.step("the map appears", weft.find, "Embedding map", parent=PAGE,
                              timeout=90)
        weft.screenshot("map-settling")
        checks.step("t-SNE finishes", label_starting, weft, "t-SNE map", 120)
        checks.ok(os.path.exists(os.path.join(embed_dir, "final.emb")),
                  "the run's embeddings were kept (final.emb)")
        checks.step("colour by: a drop-down", weft.find, "Colour by", parent=PAGE)
        weft.screenshot("map")

        # Hover: the keyboard cursor lands on a point; the card names it.
        if mapview is not None:
            # A click on an empty corner of the map gives it the keyboard
            # focus. Without a window manager the window sits at the
            # screen's origin, so window coordinates are screen ones.
            ext = Atspi.Component.get_extents(mapview, Atspi.CoordType.WINDOW)
            print(f"# map at {ext.x},{ext.y} {ext.width}x{ext.height}", flush=True)
            rawinput.click(ext.x + ext.width // 2, ext.y + ext.height - 20)
            time.sleep(0.5)
            weft.key("Right")
            desc = weft.wait_until(lambda: mapview.description if "·" in (mapview.description or "") else None,
                                   "the map to describe the hovered point")
            checks.ok(" point" in desc, f"the keyboard cursor on a point describes it: {desc!r}")
            weft.screenshot("hover")
            weft.key("Right")
            time.sleep(0.3)
            weft.key("Return")
            header = checks.step("Enter lists the point's neighbours", label_starting, weft,
                                 "Neighbours of")
            print(f"# {header}", flush=True)
            rows = weft.wait_until(lambda: rows_with(weft, "similarity"), "neighbour rows")
            checks.ok(len(rows) >= 5, f"neighbour rows with similarities ({len(rows)}): {rows[:3]}")
            checks.ok(bool(label_starting(weft, "Nearest images")) and bool(label_starting(weft, "Nearest texts")),
                      "neighbours are listed in both modalities")
            weft.screenshot("neighbours")

        # Search "cat".
        entry = checks.step("the search entry", weft.find, "Search the map", parent=PAGE)
        if entry is not None:
            # The entry searches as one types.
            Atspi.EditableText.set_text_contents(entry, "cat")
            checks.step("searching 'cat' lists the closest points", label_starting, weft,
                        "Closest to “cat”")
            rows = weft.wait_until(lambda: rows_with(weft, "similarity"), "search result rows")
            print(f"# search rows: {rows[:5]}", flush=True)
            checks.ok(any("cat" in r.lower() for r in rows),
                      "a caption mentioning a cat is among the results")
            weft.screenshot("search-cat")

        # The epoch timeline.
        scale = checks.step("the epoch timeline", weft.find, "Epoch timeline", role="slider",
                            parent=PAGE)
        if scale is not None:
            Atspi.Value.set_current_value(scale, 0)
            checks.step("scrubbing to the start shows epoch 1", label_starting, weft, "Epoch 1")
            weft.screenshot("timeline-epoch-1")
            Atspi.Value.set_current_value(scale, 2)
            checks.step("then epoch 15", label_starting, weft, "Epoch 15")
            Atspi.Value.set_current_value(scale, 3)
            checks.step("and the end is the final map", label_starting, weft, "Final")

        # Evaluation tab.
        checks.step("the Evaluation tab", weft.click, "Evaluation", parent=PAGE)
        checks.step("retrieval recall per direction", label_starting, weft, "image → text")
        checks.step("recall without a modality", label_starting, weft, "Without image", 90)
        weft.screenshot("evaluation")

        # Export for TensorBoard (Ctrl+Shift+E; the test hook picks the folder).
        if mapview is not None:
            rawinput.click(ext.x + ext.width // 2, ext.y + ext.height - 20)
            time.sleep(0.5)
        weft.key("<Control><Shift>e")
        vectors = os.path.join(export_dir, "projector", "vectors.tsv")
        checks.step("the projector TSV files are written",
                    weft.wait_until, lambda: os.path.exists(vectors), "vectors.tsv")
        if os.path.exists(vectors):
            with open(vectors) as f:
                n = sum(1 for _ in f)
            checks.ok(n == 2 * 300, f"one vector per image and text ({n})")

        # Dark style.
        # Dark style, through the setting the main menu's Style item changes.
        subprocess.run(["gsettings", "set", "org.weft.Weft", "color-scheme", "dark"],
                       env=weft.env(), check=True)
        checks.step("the Neighbours tab", weft.click, "Neighbours", parent=PAGE)
        time.sleep(1)
        weft.screenshot("map-dark")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
