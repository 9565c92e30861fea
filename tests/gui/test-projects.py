#!/usr/bin/python3
"""test-projects.py — Weft projects (*.weft), driven over AT-SPI: a dataset
folder makes the project modified ("•" in the title), Save As writes it,
`weft FILE.weft` reopens its dataset, closing a modified project asks
Save/Discard (and a failed save keeps the window), an autosaved project
is offered back after weft is killed,
saved projects are listed on the welcome page, and a damaged file shows
the core's error in a dialog. Screenshots go to SCREENSHOT_DIR/test-projects/.

Save As uses the test hook WEFT_TEST_SAVE_PATH (the path weft saves to
instead of asking with a file chooser).

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-projects` under `xvfb-run -a dbus-run-session`).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)
from gi.repository import Atspi  # noqa: E402

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SOURCE_DIR, "data", "emoji", "sample")


def labels(weft):
    return [name for (role, name) in weft.index() if role == "label"]


def open_menu(weft):
    menu = weft.find("Main Menu", role="push button")
    toggle = weft.find("Main Menu", role="push button", parent=menu, action="click")
    weftgui.do_action(toggle, "click")
    return menu


def autosaves(weft):
    folder = os.path.join(weft.home, "state", "weft", "autosave")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def main():
    checks = weftgui.Checks()

    with tempfile.TemporaryDirectory(prefix="weft-gui-projects-") as tmp, \
         weftgui.Weft("test-projects") as weft:
        saved = os.path.join(tmp, "emoji-project.weft")
        weft.extra_env["WEFT_TEST_SAVE_PATH"] = saved

        # 1. A dataset folder on the command line: a new, modified project.
        frame = checks.step("weft DATASET starts", weft.start, SAMPLE)
        if frame is None:
            return checks.exit()
        checks.step("the title is the dataset with a '•' (modified)",
                    weft.frame, "• sample", timeout=10)
        weft.screenshot("dataset-modified")

        # 2. Main menu -> Save As… (never saved: Save would ask too).
        menu = open_menu(weft)
        weft.screenshot("main-menu")
        checks.step("main menu: Save As…", weft.click, "Save As…", role="menu item",
                    parent=menu)
        checks.step("the title loses the '•' and names the file",
                    weft.frame, "emoji-project", timeout=10)
        checks.ok(os.path.exists(saved), f"{saved} was written")
        if os.path.exists(saved):
            with open(saved) as f:
                data = json.load(f)
            checks.ok(data.get("weft_project") == 1, "it is a version 1 project")
            dataset = data.get("dataset") or ""
            checks.ok(os.path.realpath(os.path.join(tmp, dataset)) == os.path.realpath(SAMPLE),
                      f"its dataset is the sample folder (got {dataset!r})")
        weft.screenshot("saved")
        status = weft.close_window()
        checks.ok(status == 0, f"an unmodified project closes without asking (status {status})")

        # 3. `weft FILE.weft`: the project and its dataset are back.
        other = os.path.join(tmp, "other-dataset")
        os.makedirs(other)
        with open(os.path.join(other, "metadata.csv"), "w") as f:
            f.write("image_file_name,text,label\nimages/a.png,a red square,red\n")
        subprocess.run(["gsettings", "set", "org.weft.Weft", "recent-folders",
                        str(["file://" + other, "file://" + SAMPLE])],
                       env=weft.env(), check=True)
        frame = checks.step("weft FILE.weft starts", weft.start, saved)
        if frame is not None:
            checks.step("the title is the project, unmodified",
                        weft.frame, "emoji-project", timeout=10)
            checks.step("the dataset folder is open again", weft.wait_until,
                        lambda: any(name.endswith("emoji/sample") for name in labels(weft)),
                        "a label with the dataset's path")
            weft.screenshot("reopened")

            # 4. Open another dataset (main menu -> Recent Datasets): modified.
            menu = open_menu(weft)
            checks.step("main menu: Recent Datasets", weft.click, "Recent Datasets",
                        role="menu item", parent=menu)
            weft.screenshot("recent-datasets")
            checks.step("Recent Datasets: other-dataset", weft.click, "other-dataset",
                        role="menu item", parent=menu)
            checks.step("the title gets its '•' back",
                        weft.frame, "• emoji-project", timeout=10)
            checks.step("the change is autosaved within a few seconds", weft.wait_until,
                        lambda: autosaves(weft), "an autosave file", timeout=10)
            weft.screenshot("modified")

            # 5. Closing asks; Cancel keeps the window.
            weft.activate_window_action("window.close")
            question = "Save changes to “emoji-project”?"
            checks.step("closing asks to save changes", weft.find, question, role="label")
            for button in ("Cancel", "Discard", "Save"):
                checks.step(f"the dialog has a {button} button", weft.wait_until,
                            lambda: weft._button(button, weft.frame(question)),
                            f"button {button}", timeout=5)
            weft.screenshot("save-changes")
            checks.step("Cancel", weft.click_button, "Cancel", parent=weft.frame(question))
            checks.step("the dialog is gone", weft.wait_gone, question, role="label")
            checks.ok("• emoji-project" in weft.frame_names(), "the window stays open")

            # 6. Recovery: weft killed with unsaved changes.
            weft.stop()
            checks.ok(len(autosaves(weft)) == 1,
                      f"the autosave outlives weft ({autosaves(weft)})")
            frame = checks.step("weft starts again", weft.start)
            if frame is not None:
                toast = "1 project has unsaved changes from last time"
                checks.step("a toast offers to restore it", weft.find, toast, role="label")
                weft.screenshot("recovery-toast")
                checks.step("click Restore", weft.click_button, "Restore")
                checks.step("the project is back, modified",
                            weft.frame, "• emoji-project", timeout=10)
                checks.step("with the other dataset", weft.wait_until,
                            lambda: any(name.endswith("other-dataset") for name in labels(weft)),
                            "a label with the other dataset's path")
                weft.screenshot("restored")
                weft.activate_window_action("window.close")
                checks.step("closing asks again", weft.frame, question)
                checks.step("Save", weft.click_button, "Save", parent=weft.frame(question))
                try:
                    status = weft.proc.wait(timeout=weft.timeout)
                    weft.proc = None
                    weft.app = None
                except subprocess.TimeoutExpired:
                    status = None
                checks.ok(status == 0, f"Save saves, closes and weft exits (status {status})")
                checks.ok(autosaves(weft) == [], f"saving deletes the autosave ({autosaves(weft)})")
                with open(saved) as f:
                    checks.ok("other-dataset" in f.read(), "the saved file has the new dataset")

        # 7. Errors while saving keep the window; Discard drops the changes.
        weft.extra_env["WEFT_TEST_SAVE_PATH"] = "/nonexistent/folder/lost.weft"
        frame = checks.step("weft DATASET starts", weft.start, SAMPLE)
        if frame is not None:
            checks.step("a new modified project", weft.frame, "• sample", timeout=10)
            checks.step("it is autosaved", weft.wait_until, lambda: autosaves(weft),
                        "an autosave file", timeout=10)
            weft.activate_window_action("window.close")
            question = "Save changes to “sample”?"
            checks.step("Save, to a folder that does not exist", weft.click_button, "Save",
                        parent=weft.frame(question))
            error = checks.step("an error dialog says it could not save", weft.frame,
                                "Could Not Save “lost”")
            weft.screenshot("save-error")
            if error is not None:
                checks.step("Close the error", weft.click_button, "Close", parent=error)
            checks.ok("• sample" in weft.frame_names(), "the window stays open")
            status = weft.close_window(discard=True)
            checks.ok(status == 0, f"Discard closes and weft exits (status {status})")
            checks.ok(autosaves(weft) == [], f"Discard deletes the autosave ({autosaves(weft)})")
        del weft.extra_env["WEFT_TEST_SAVE_PATH"]

        # 8. A damaged project: the core's message in a dialog; the welcome
        # page lists the saved project.
        damaged = os.path.join(tmp, "damaged.weft")
        with open(damaged, "w") as f:
            f.write('{"weft_project": 1, "runs": [')
        frame = checks.step("weft DAMAGED.weft starts", weft.start, damaged)
        if frame is not None:
            checks.step("an error dialog says it could not open", weft.find,
                        "Could Not Open Project", role="label")
            checks.step("with the core's message", weft.wait_until,
                        lambda: [n for n in labels(weft)
                                 if n.startswith("damaged.weft: the file is damaged")],
                        "the core's message")
            weft.screenshot("damaged")
            # The dialog's Close, not the window's title bar one.
            dialog = weft.frame("Could Not Open Project")
            checks.step("Close the error", weft.click_button, "Close", parent=dialog)
            checks.step("the error dialog is gone", weft.wait_gone,
                        "Could Not Open Project", role="label")
            checks.ok(weft.frame().name == "Weft", "the window stays blank")
            checks.step("the welcome page lists the saved project", weft.find,
                        "emoji-project")
            weft.screenshot("recent-projects")

            # A missing project handed to the running weft: the same dialog.
            missing = os.path.join(tmp, "missing.weft")
            remote = subprocess.run([weft.binary, missing], env=weft.env(), timeout=60,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            checks.ok(remote.returncode == 0, "a second `weft MISSING.weft` hands it over")
            dialog = checks.step("an error dialog says it could not open", weft.frame,
                                 "Could Not Open Project")
            checks.step("naming the missing file", weft.wait_until,
                        lambda: [n for n in labels(weft)
                                         if n.startswith("missing.weft: the file does not exist")],
                        "the missing file's name")
            weft.screenshot("missing")
            if dialog is not None:
                checks.step("Close the error", weft.click_button, "Close", parent=dialog)

            # Activating the recent project opens it in this (blank) window.
            # GTK 4.8 gives list box rows no AT-SPI action, so each row
            # carries a button named "Open project NAME" that the row
            # forwards its activation to: click that by its name.
            # GTK 4.8 appends the row's title to the button's name
            # ("Open project emoji-project emoji-project"): match its start.
            def open_button():
                for (role, name), nodes in weft.index().items():
                    if role == "push button" and name.startswith("Open project emoji-project"):
                        return nodes[0]
                return None
            button = checks.step("the recent project's Open button", weft.wait_until,
                                 open_button, "push button 'Open project emoji-project'", 15)
            if button is not None:
                weftgui.do_action(button, "click")
            checks.step("the project opens: the title names it", weft.frame,
                        "emoji-project", timeout=30)
            checks.step("and its dataset (saved as other-dataset above) is open", weft.wait_until,
                        lambda: any(name.endswith("other-dataset") for name in labels(weft)),
                        "a label with the dataset's path", 30)
            weft.screenshot("recent-opened")
            status = weft.close_window()
            checks.ok(status == 0, f"weft exits cleanly (status {status})")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
