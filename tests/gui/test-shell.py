#!/usr/bin/python3
"""test-shell.py — the application shell, driven like a user would over
AT-SPI: the four pages, the main menu, Keyboard Shortcuts, About, the style
switch, a demo dataset button, and a folder given on the command line.
Screenshots of every step go to SCREENSHOT_DIR/test-shell/.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-shell` under `xvfb-run -a dbus-run-session`), or
by hand: WEFT_BUILD_DIR=BUILD xvfb-run -a dbus-run-session tests/gui/test-shell.py
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)
import pyatspi  # noqa: E402

PAGES = [
    # page tab, the empty state's title on that page
    ("Dataset", "Welcome to Weft"),
    ("Model", "No Model Yet"),
    ("Train", "Nothing to Train Yet"),
    ("Explore", "No Embeddings to Explore"),
]

# Roles a user can operate; each must carry an accessible name.
INTERACTIVE = {"push button", "toggle button", "page tab", "menu item",
               "radio menu item", "check menu item", "check box", "radio button",
               "entry", "combo box", "spin button", "slider", "link"}


def selected_tab(weft):
    """Names of the page tabs that say they are selected."""
    names = set()
    for tab in weft.app.findChildren(lambda n: n.roleName == "page tab"):
        if tab.getState().contains(pyatspi.STATE_SELECTED):
            names.add(tab.name)
    return names


def unnamed_widgets(weft):
    return [f"{n.roleName} in {n.parent.roleName} '{n.parent.name}'"
            for n in weft.app.findChildren(lambda n: n.roleName in INTERACTIVE)
            if not n.name]


def main():
    checks = weftgui.Checks()

    with weftgui.Weft("test-shell") as weft:
        frame = checks.step("weft starts and shows its window", weft.start)
        if frame is None:
            return checks.exit()
        checks.ok(frame.name == "Weft", f"window title is 'Weft' (got {frame.name!r})")
        checks.step("welcome page offers Open Dataset Folder",
                    weft.find, "Open Dataset Folder…", role="push button", action="click")
        for demo in ("Emoji", "Tux Paint Stamps", "AV-Fashion-MNIST"):
            checks.step(f"welcome page offers the {demo} demo",
                        weft.find, f"Open the {demo} demo dataset", role="push button")
        checks.step("recent projects list shows its empty state",
                    weft.find, "No recent projects. The projects you save appear here.",
                    role="label")
        weft.screenshot("welcome")

        for tab, title in PAGES:
            checks.step(f"page switcher has a '{tab}' button",
                        weft.find, tab, role="page tab", action="click")
        for tab, title in reversed(PAGES):
            checks.step(f"switch to the {tab} page", weft.click, tab, role="page tab")
            checks.ok(selected_tab(weft) == {tab}, f"{tab} is the selected page")
            checks.step(f"{tab} page shows '{title}'", weft.find, title, role="label")
            weft.screenshot(f"page-{tab.lower()}")

        checks.step("'Go to Dataset' on an empty page leads back to Dataset",
                    weft.click, "Go to the Dataset page", role="push button")
        checks.ok(selected_tab(weft) == {"Dataset"}, "Dataset is the selected page again")

        unnamed = unnamed_widgets(weft)
        checks.ok(not unnamed, "every interactive widget has an accessible name"
                  + (f" (unnamed: {unnamed})" if unnamed else ""))

        # Main menu -> Keyboard Shortcuts
        checks.step("open the main menu", weft.click, "Main Menu", role="push button")
        weft.screenshot("main-menu")
        checks.step("main menu: Keyboard Shortcuts",
                    weft.click, "Keyboard Shortcuts", role="menu item")
        shortcuts = checks.step("the Keyboard Shortcuts window opens",
                                weft.frame, "Keyboard Shortcuts")
        if shortcuts is not None:
            checks.step("it lists Open a dataset folder",
                        weft.find, "Open a dataset folder", parent=shortcuts)
            weft.screenshot("shortcuts")
            checks.step("close the Keyboard Shortcuts window",
                        shortcuts.doActionNamed, "window.close")
            checks.step("the Keyboard Shortcuts window is gone",
                        weft.wait_gone, "Keyboard Shortcuts", role="frame", parent=weft.app)

        # Main menu -> About Weft
        weft.click("Main Menu", role="push button")
        checks.step("main menu: About Weft", weft.click, "About Weft", role="menu item")
        about = checks.step("the About window opens", weft.frame, "About")
        if about is not None:
            checks.step("About shows the version", weft.find, "0.1.0", parent=about,
                        timeout=5)
            weft.screenshot("about")
            checks.step("close the About window", about.doActionNamed, "window.close")
            checks.step("the About window is gone",
                        weft.wait_gone, "About", role="frame", parent=weft.app)

        # Style: dark, then back to following the system
        weft.click("Main Menu", role="push button")
        checks.step("main menu: Dark style", weft.click, "Dark", role="radio menu item")
        weft.screenshot("dark-style")
        weft.click("Main Menu", role="push button")
        checks.step("main menu: Follow System", weft.click, "Follow System",
                    role="radio menu item")

        # A demo dataset: opens if built, otherwise a toast says how to build it.
        checks.step("click the Emoji demo", weft.click, "Open the Emoji demo dataset",
                    role="push button")

        def demo_outcome():
            if weft.exists("Reading the dataset…", role="label") and \
               weft.frame().name != "Weft":
                return "opened"
            for label in weft.app.findChildren(lambda n: n.roleName == "label"):
                if "demo dataset is not built yet" in (label.name or ""):
                    return "toast"
            return None
        outcome = checks.step("the Emoji demo opens or a toast says how to build it",
                              weft._wait, demo_outcome, "the demo's outcome")
        print(f"#      emoji demo: {outcome}")
        weft.screenshot("emoji-demo")

        checks.step("close the window quits weft", weft.close_window)

        # A folder on the command line opens as the dataset.
        with tempfile.TemporaryDirectory(prefix="weft-gui-") as tmp:
            folder = os.path.join(tmp, "tiny-dataset")
            os.makedirs(os.path.join(folder, "images"))
            with open(os.path.join(folder, "metadata.csv"), "w") as f:
                f.write("image_file_name,text,label\nimages/a.png,a red square,red\n")

            frame = checks.step("weft DIR starts", weft.start, folder)
            if frame is not None:
                checks.step("window title is the folder name",
                            weft.frame, "tiny-dataset", timeout=10)
                checks.step("the Dataset page shows the folder being read",
                            weft.find, "Reading the dataset…", role="label")
                checks.ok(selected_tab(weft) == {"Dataset"}, "the Dataset page is selected")
                weft.screenshot("open-folder")
                weft.click("Main Menu", role="push button")
                checks.step("main menu lists Recent Datasets",
                            weft.find, "Recent Datasets", role="menu item", timeout=5)
                weft.screenshot("recent-menu")
                status = weft.close_window()
                checks.ok(status == 0, f"weft exits cleanly (status {status})")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
