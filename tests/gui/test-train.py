#!/usr/bin/python3
"""test-train.py — the Train page as a person uses it, over AT-SPI: open a
project on the AV-Fashion sample with the late-fusion template, start
training, wait for points in the loss plot, pause, resume, stop (the run is
kept as "stopped"), train to the end, export a plot and the metrics, compare
two templates for one epoch (Start is disabled meanwhile) and export the
comparison as CSV, sort the runs table by a column heading, delete a run
(confirmed, undone, deleted again: its folder goes when the toast does),
and reopen the project to find the remaining runs again.
A second launch in the dark style takes the same screenshots.

Exports use the test hook WEFT_TEST_EXPORT_DIR (files go there instead of
through a file chooser). Screenshots go to SCREENSHOT_DIR/test-train/.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY).
"""
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SOURCE_DIR, "data", "av-fashion", "sample")
TEMPLATE = os.path.join(SOURCE_DIR, "data", "models", "late-fusion.json")


_workspace = {}
# Roles whose insides never hold the Train page: leaves, and the grids and
# lists of other pages (the Dataset page's hundreds of cards).
BULKY_ROLES = weftgui.LEAF_ROLES | {"table", "tree table", "list", "list box", "tree",
                                    "grid", "menu"}


def find_showing(parent, name):
    """Breadth-first search for NAME that never enters grids and lists,
    which on a loaded machine is the difference between seconds and minutes."""
    queue = [parent]
    while queue:
        node = queue.pop(0)
        try:
            children = [node.getChildAtIndex(i) for i in range(node.childCount)]
        except Exception:
            continue
        for child in children:
            try:
                if child is None:
                    continue
                if child.name == name:
                    return child
                if child.getRoleName() not in BULKY_ROLES:
                    queue.append(child)
            except Exception:
                continue
    return None


def workspace(weft):
    """The Train page's workspace (found once per weft process): searching
    below it skips every other page."""
    node = _workspace.get(weft.proc.pid)
    if node is None:
        node = weft.wait_until(lambda: find_showing(weft.frame(), "Training workspace"),
                               "the Train page's workspace", timeout=60)
        _workspace[weft.proc.pid] = node
    return node


def plot(weft, title):
    return weft.find(title, role="panel", parent=workspace(weft))


def plot_points(weft, title):
    """The number of points a plot says it shows (its accessible description)."""
    m = re.match(r"(\d+) points?", plot(weft, title).description or "")
    return int(m.group(1)) if m else 0


def button(weft, prefix, parent=None, timeout=None):
    """The enabled push button whose name starts with PREFIX (GTK 4.8 appends
    the visible label to the accessible one: "Start training Start")."""
    def probe():
        for (role, name), nodes in weft.index(parent or workspace(weft)).items():
            if role == "push button" and name.startswith(prefix):
                for node in nodes:
                    if "click" in weftgui.action_names(node):
                        return node
        return None
    return weft.wait_until(probe, f"push button '{prefix}'", timeout)


def press(weft, prefix, parent=None, timeout=None):
    weftgui.do_action(button(weft, prefix, parent, timeout), "click")


def status_text(weft):
    for (role, name) in weft.index(workspace(weft)):
        if role == "label" and (name.startswith("Epoch ") or name.startswith("Paused")
                                or name.startswith("Finished") or name.startswith("Stopped")
                                or name.startswith("Failed") or name == "Stopping…"):
            return name
    return ""


def overlay_names(weft):
    """The runs table's rows, top to bottom, by their overlay switches."""
    return [name for (role, name), nodes in weft.index(workspace(weft)).items()
            if name.startswith("Overlay run ") for _ in nodes]


def row_templates(weft):
    return [name[len("Overlay run "):].split(" · ")[0] for name in overlay_names(weft)]


def label_in_workspace(weft, text):
    for (role, name), nodes in weft.index(workspace(weft)).items():
        if name == text and role in ("label", "column header", "table column header"):
            return nodes[0]
    return None


def sensitive(node):
    """Whether a widget can be used now (the state, read afresh: a cached
    one may be from before the change)."""
    node.clear_cache()
    return node.getState().contains(weftgui.Atspi.StateType.SENSITIVE)


def click_first_row(weft, heading):
    """Clicks the first row of the runs table, just below the heading (GTK
    4.8 reports wrong extents for the cells of a column view, not for its
    headings)."""
    box = weftgui.Atspi.Component.get_extents(heading, weftgui.Atspi.CoordType.WINDOW)
    return weft.click_at(heading, dy=box.height + 20)


def undo_toast(weft, title):
    """Clicks Undo on the toast that says run TITLE was deleted (the Model
    page has an Undo button of its own)."""
    def probe():
        label = find_showing(weft.frame(), f"Deleted run “{title}”")
        if label is not None:
            # label < AdwBin < AdwToastWidget, which holds the button.
            for (r, n), buttons in weft.index(label.parent.parent).items():
                if r == "push button" and n.endswith("Undo"):
                    return buttons[0]
        return None
    weftgui.do_action(weft.wait_until(probe, "the toast's Undo button", timeout=5), "click")


def run_folders(weft):
    runs = os.path.join(weft.home, "data", "weft", "runs")
    return set(os.listdir(runs)) if os.path.isdir(runs) else set()


def delete_selected(weft, checks, how):
    """Deletes the selected run (HOW: the Delete key or the button) and
    answers the confirmation with Delete."""
    if how == "key":
        weft.key("Delete")
    else:
        press(weft, "Delete Run")
    dialog = checks.step(f"the confirmation asks ({how})", weft.frame, "Delete Run?")
    if dialog is not None:
        weft.screenshot(f"delete-confirm-{how}")
        body = [name for (role, name) in weft.index(dialog) if role == "label"]
        if checks.ok(any(name.startswith("“image-only") for name in body),
                     f"it names the image-only run ({body})"):
            checks.step(f"confirm with Delete ({how})", weft.click_button, "Delete", dialog)
        else:
            weft.click_button("Cancel", dialog)


def run_states(path):
    with open(path) as f:
        return [r.get("state") for r in json.load(f).get("runs", [])]


def open_train_page(weft, checks):
    switcher = weft.find("AdwViewSwitcher", role="page tab list")
    tabs = {tab.name: tab for tab in switcher.children}
    checks.step("switch to the Train page", weftgui.do_action, tabs["Train"], "click")
    # The dataset is featurised in the background; Start is enabled after.
    return checks.step("Start training becomes available", button, weft, "Start training",
                       timeout=90)


def main():
    checks = weftgui.Checks()
    with tempfile.TemporaryDirectory(prefix="weft-gui-train-") as tmp:
        with open(TEMPLATE) as f:
            model = json.load(f)
        project = os.path.join(tmp, "train.weft")
        with open(project, "w") as f:
            json.dump({"weft_project": 1, "dataset": SAMPLE, "model": model,
                       "training": {"optimizer": "adam", "lr": 0.002, "epochs": 200,
                                    "batch_size": 16, "seed": 3, "threads": 1}}, f)
        exports = os.path.join(tmp, "exports")
        os.makedirs(exports)

        with weftgui.Weft("test-train", timeout=30) as weft:
            weft.extra_env["WEFT_TEST_EXPORT_DIR"] = exports
            weft.extra_env["WEFT_TEST_SAVE_PATH"] = project
            if checks.step("weft PROJECT starts", weft.start, project) is None:
                return checks.exit()
            if open_train_page(weft, checks) is None:
                weft.screenshot("no-start")
                return checks.exit()
            weft.screenshot("train-ready")
            checks.ok(plot_points(weft, "Loss") == 0, "the loss plot starts empty")

            # 1. Start, and watch points arrive.
            checks.step("click Start training", press, weft, "Start training")
            checks.step("points appear in the loss plot", weft.wait_until,
                        lambda: plot_points(weft, "Loss") >= 5, "loss points", timeout=60)
            weft.screenshot("training")
            compare = [nodes[0] for (role, name), nodes in weft.index(workspace(weft)).items()
                       if role == "push button" and name.startswith("Compare fusion strategies")]
            checks.ok(len(compare) == 1 and not sensitive(compare[0]),
                      "Compare is disabled while a run trains")

            # 2. Pause: the status says so and the step count stops.
            checks.step("click Pause training", press, weft, "Pause training")
            checks.step("the status says Paused", weft.wait_until,
                        lambda: status_text(weft).startswith("Paused"), "Paused", timeout=20)
            n1 = plot_points(weft, "Loss")
            time.sleep(1.0)
            n2 = plot_points(weft, "Loss")
            checks.ok(n1 == n2, f"no new points while paused ({n1} then {n2})")
            weft.screenshot("paused")

            # 3. Resume, then Stop.
            checks.step("click Resume training", press, weft, "Resume training")
            checks.step("points grow again", weft.wait_until,
                        lambda: plot_points(weft, "Loss") > n2, "more loss points", timeout=30)
            checks.step("click Stop training", press, weft, "Stop training")
            checks.step("the status says Stopped", weft.wait_until,
                        lambda: status_text(weft).startswith("Stopped"), "Stopped", timeout=30)
            checks.step("the banner explains the stop", weft.wait_until,
                        lambda: any(name.startswith("stopped during epoch")
                                    for (role, name) in weft.index(workspace(weft))
                                    if role == "label"),
                        "the stop message", timeout=10)
            weft.screenshot("stopped")

            # 4. A whole run: four epochs on the sample.
            spins = [nodes[0] for (role, name), nodes in weft.index(workspace(weft)).items()
                     if role == "spin button" and name.startswith("Epochs")]
            checks.ok(len(spins) == 1, "the Epochs setting is there")
            if spins:
                spins[0].queryValue().currentValue = 4
            checks.step("start a second run", press, weft, "Start training", timeout=10)
            checks.step("the run finishes", weft.wait_until,
                        lambda: status_text(weft).startswith("Finished"), "Finished", timeout=120)
            acc = plot(weft, "Validation Accuracy")
            checks.ok(re.match(r"[1-9]\d* points?", acc.description or "") is not None,
                      f"the accuracy plot has points ({acc.description!r})")
            weft.screenshot("finished")

            # 5. Exports: a plot as PNG, SVG and PDF, the metrics as CSV.
            for fmt in ("PNG", "SVG", "PDF"):
                press(weft, "Export plot: Loss")
                checks.step(f"Export as {fmt}", weft.click, f"Export as {fmt}…", role="menu item",
                            parent=workspace(weft))
                path = os.path.join(exports, f"Loss.{fmt.lower()}")
                checks.step(f"Loss.{fmt.lower()} is written", weft.wait_until,
                            lambda: os.path.exists(path) and os.path.getsize(path) > 1000,
                            path, timeout=10)
            with open(os.path.join(exports, "Loss.png"), "rb") as f:
                checks.ok(f.read(8) == b"\x89PNG\r\n\x1a\n", "the PNG export is a PNG")
            with open(os.path.join(exports, "Loss.pdf"), "rb") as f:
                checks.ok(f.read(5) == b"%PDF-", "the PDF export is a PDF")
            checks.step("export the metrics as CSV", press, weft, "Export metrics as CSV")
            csv_path = os.path.join(exports, "metrics.csv")
            checks.step("metrics.csv is written", weft.wait_until,
                        lambda: os.path.exists(csv_path), csv_path, timeout=10)
            if os.path.exists(csv_path):
                with open(csv_path) as f:
                    rows = f.read().splitlines()
                checks.ok(rows[0].startswith("run,template,epoch,train_loss,val_loss"),
                          "the CSV has a header")
                checks.ok(len(rows) >= 1 + 4, f"the CSV has the finished run's epochs ({len(rows) - 1} rows)")

            # 6. Overlay the stopped run on the finished one.
            overlays = [name for (role, name), nodes in weft.index(workspace(weft)).items()
                        if name.startswith("Overlay run") for _ in nodes]
            checks.ok(len(overlays) == 2, f"the runs list shows both runs ({overlays})")
            if overlays:
                checks.step("overlay the first run", weftgui.do_action,
                            weft.find(overlays[-1], parent=workspace(weft)),
                            "toggle")
                checks.step("the loss plot gains the overlay", weft.wait_until,
                            lambda: " train " in (plot(weft, "Loss").description or ""),
                            "the overlay series", timeout=10)
            weft.screenshot("overlay")

            # 7. Compare two templates for one epoch.
            checks.step("click Compare fusion strategies", press, weft,
                        "Compare fusion strategies")
            dialog = checks.step("the compare window opens", weft.frame,
                                 "Compare Fusion Strategies")
            if dialog is not None:
                wanted = {"image-only", "late-fusion"}
                # A switch's name is its label and the row's title again.
                boxes = [(name.split(" ")[0], nodes) for (role, name), nodes
                         in weft.index(dialog).items() if role == "check box"]
                for name, nodes in boxes:
                    checked = nodes[0].getState().contains(weftgui.Atspi.StateType.CHECKED)
                    if checked != (name in wanted):
                        weftgui.do_action(nodes[0], "toggle")
                checks.ok({n for n, _ in boxes} >= wanted,
                          f"image-only and late-fusion are offered ({[n for n, _ in boxes]})")
                for (role, name), nodes in weft.index(dialog).items():
                    if role == "spin button" and name.startswith("Epochs for each template"):
                        nodes[0].queryValue().currentValue = 1
                weft.screenshot("compare-choose")
                checks.step("click Train and compare", press, weft, "Train and compare",
                            parent=dialog)
                # The page under the dialog: no run may start beside the comparison.
                start = [nodes[0] for (role, name), nodes in weft.index(workspace(weft)).items()
                         if role == "push button" and name.startswith("Start training")]
                checks.ok(len(start) == 1, "the Start button is there")
                if start:
                    checks.step("Start training is disabled while the comparison trains",
                                weft.wait_until, lambda: not sensitive(start[0]),
                                "Start disabled", timeout=5)
                weft.screenshot("compare-progress")
                checks.step("the comparison finishes with a table", weft.wait_until,
                            lambda: any(name.startswith(("Fusion helps", "Fusion did not help"))
                                        for (role, name) in weft.index(dialog) if role == "label"),
                            "the comparison summary", timeout=140)
                weft.screenshot("compare-results")
                checks.step("export the comparison", press, weft, "Export results as CSV",
                            parent=dialog)
                cmp_path = os.path.join(exports, "comparison.csv")
                checks.step("comparison.csv is written", weft.wait_until,
                            lambda: os.path.exists(cmp_path), cmp_path, timeout=10)
                if os.path.exists(cmp_path):
                    with open(cmp_path) as f:
                        rows = f.read().splitlines()
                    checks.ok(rows[0].startswith("template,accuracy,"),
                              f"the comparison CSV has a header ({rows[0]!r})")
                    checks.ok(sorted(r.split(",")[0] for r in rows[1:]) == sorted(wanted),
                              f"one row per compared template ({rows[1:]})")
                checks.step("close the compare window", weftgui.do_action, dialog, "window.close")
                checks.step("the compare window is gone", weft.wait_window_gone,
                            "Compare Fusion Strategies")

            # 8. The runs table: newest first, sorted by a click on a heading.
            checks.ok(len(overlay_names(weft)) == 4, "the table lists four runs")
            weft.screenshot("runs-table")
            heading = checks.step("the Template heading is there", weft.wait_until,
                                  lambda: label_in_workspace(weft, "Template"), "Template heading")
            if heading is not None:
                checks.step("click the Template heading", weft.click_at, heading)
                checks.step("the rows are sorted by template", weft.wait_until,
                            lambda: row_templates(weft) == sorted(row_templates(weft))
                            and row_templates(weft)[0] == "image-only", "ascending order",
                            timeout=10)
                time.sleep(0.8)
                checks.step("click it again", weft.click_at, heading)
                checks.step("the order turns round", weft.wait_until,
                            lambda: row_templates(weft)[-1] == "image-only", "descending order",
                            timeout=10)
                # Ascending again: the image-only row on top, in view. (A
                # pause first, or the heading counts a double click.)
                time.sleep(0.8)
                checks.step("click it a third time", weft.click_at, heading)
                checks.step("ascending again", weft.wait_until,
                            lambda: row_templates(weft)[0] == "image-only", "ascending order",
                            timeout=10)
                weft.screenshot("runs-sorted")

            # 9. Delete the image-only run: confirm, undo, delete for good.
            folders = run_folders(weft)
            checks.ok(len(folders) >= 4, f"every run has a folder ({len(folders)})")
            image_title = overlay_names(weft)[0][len("Overlay run "):]
            if heading is not None and row_templates(weft)[0] == "image-only":
                checks.step("select the image-only run", click_first_row, weft, heading)
                delete_selected(weft, checks, "key")
                checks.step("the run leaves the table", weft.wait_until,
                            lambda: len(overlay_names(weft)) == 3, "three rows", timeout=10)
                weft.screenshot("deleted-toast")
                checks.step("undo the deletion", undo_toast, weft, image_title)
                checks.step("the run is back", weft.wait_until,
                            lambda: "image-only" in row_templates(weft), "the run back", timeout=10)
                checks.ok(run_folders(weft) == folders, "undo kept the run's folder")
                checks.ok(row_templates(weft)[0] == "image-only", "it is back on top")
                checks.step("select it again", click_first_row, weft, heading)
                delete_selected(weft, checks, "button")
                checks.step("the run leaves the table again", weft.wait_until,
                            lambda: "image-only" not in row_templates(weft), "no image-only row",
                            timeout=10)
                checks.step("its folder goes once the toast does", weft.wait_until,
                            lambda: len(run_folders(weft)) == len(folders) - 1,
                            "one folder fewer", timeout=30)

            # 10. Save; the project file holds the three runs left. (Through
            # the action: without a window manager, the keyboard focus need
            # not come back to the main window after the dialogs.)
            weft.activate_window_action("win.save")
            checks.step("the project is saved with three runs", weft.wait_until,
                        lambda: len(run_states(project)) == 3, "three runs in the file", timeout=15)
            states = run_states(project)
            checks.ok(states[:2] == ["stopped", "finished"],
                      f"the runs are stopped, finished, ... ({states})")
            with open(project) as f:
                ids = {r["id"] for r in json.load(f).get("runs", [])}
            checks.ok(ids <= run_folders(weft), "every saved run still has its folder")
            weft.close_window(discard=True)

        # 11. Reopen, in the dark style: the runs are all there.
        with weftgui.Weft("test-train-dark", timeout=30) as weft:
            weft.extra_env["ADW_DEBUG_COLOR_SCHEME"] = "prefer-dark"
            if checks.step("weft PROJECT starts again (dark)", weft.start, project) is None:
                return checks.exit()
            open_train_page(weft, checks)
            overlays = overlay_names(weft)
            checks.ok(len(overlays) == 3, f"the reopened project lists three runs ({len(overlays)})")
            checks.ok(plot_points(weft, "Loss") > 0, "the plots show the newest run")
            weft.screenshot("reopened-dark")
            checks.step("start training (dark)", press, weft, "Start training")
            checks.step("points appear (dark)", weft.wait_until,
                        lambda: plot_points(weft, "Loss") >= 5, "loss points", timeout=60)
            weft.screenshot("training-dark")
            checks.step("stop (Ctrl+.)", press, weft, "Stop training")
            checks.step("stopped (dark)", weft.wait_until,
                        lambda: status_text(weft).startswith(("Stopped", "Finished")),
                        "Stopped", timeout=30)
            weft.close_window(discard=True)
    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
