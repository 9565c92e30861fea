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
import subprocess
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


def selected_tab(switcher):
    """Names of the switcher's page tabs that say they are selected."""
    names = set()
    for tab in switcher.children:
        if tab.getState().contains(pyatspi.STATE_SELECTED):
            names.add(tab.name)
    return names


def unnamed_widgets(weft):
    return [f"{n.roleName} in {n.parent.roleName} '{n.parent.name}'"
            for (role, name), nodes in weft.index().items() if role in INTERACTIVE and not name
            for n in nodes]


def main():
    checks = weftgui.Checks()

    with weftgui.Weft("test-shell") as weft:
        frame = checks.step("weft starts and shows its window", weft.start)
        if frame is None:
            return checks.exit()
        checks.ok(frame.name == "Weft", f"window title is 'Weft' (got {frame.name!r})")

        index = weft.index()
        for role, name in [("push button", "Open Dataset Folder…"),
                           ("push button", "Open the Emoji demo dataset"),
                           ("push button", "Open the Tux Paint Stamps demo dataset"),
                           ("push button", "Open the AV-Fashion-MNIST demo dataset"),
                           ("label", "No recent projects. The projects you save appear here."),
                           *[("label", title) for tab, title in PAGES]]:
            checks.ok((role, name) in index, f"there is a {role} '{name}'")
        weft.screenshot("welcome")

        # Open Dataset Folder… shows GTK's folder chooser (no portal here).
        checks.step("click Open Dataset Folder…", weft.click, "Open Dataset Folder…",
                    role="push button")
        chooser = checks.step("the folder chooser opens", weft.frame, "Open Dataset Folder")
        if chooser is not None:
            weft.screenshot("folder-chooser")
            # GTK 4.8 names its mnemonic buttons oddly ("_Cancel Cancel").
            cancel = [nodes[0] for (role, name), nodes in weft.index(chooser).items()
                      if role == "push button" and name.endswith("Cancel")]
            checks.ok(len(cancel) == 1, "the folder chooser has a Cancel button")
            if cancel:
                checks.step("cancel the folder chooser", weftgui.do_action, cancel[0], "click")
                checks.step("the folder chooser is gone", weft.wait_window_gone,
                            "Open Dataset Folder")
            checks.ok(weft.frame().name == "Weft", "cancelling opens nothing")

        # The header's view switcher (the narrow one and the bottom bar hold
        # the same four tabs again).
        switcher = weft.find("AdwViewSwitcher", role="page tab list")
        tabs = {tab.name: tab for tab in switcher.children}
        for tab, title in PAGES:
            checks.ok(tab in tabs, f"page switcher has a '{tab}' button")
        for tab, title in reversed(PAGES):
            checks.step(f"switch to the {tab} page", weftgui.do_action, tabs[tab], "click")
            checks.step(f"{tab} is the selected page", weft.wait_until,
                        lambda: selected_tab(switcher) == {tab}, f"{tab} to be selected")
            weft.screenshot(f"page-{tab.lower()}")

        checks.step("'Go to Dataset' on an empty page leads back to Dataset",
                    weft.click, "Go to the Dataset page", role="push button")
        checks.step("Dataset is the selected page again", weft.wait_until,
                    lambda: selected_tab(switcher) == {"Dataset"}, "Dataset to be selected")

        unnamed = unnamed_widgets(weft)
        checks.ok(not unnamed, "every interactive widget has an accessible name"
                  + (f" (unnamed: {unnamed})" if unnamed else ""))

        # Main menu -> Keyboard Shortcuts. The GtkMenuButton holds both the
        # toggle button that opens the popover and the popover's items.
        menu = weft.find("Main Menu", role="push button")
        menu_toggle = weft.find("Main Menu", role="push button", parent=menu, action="click")

        def open_menu():
            weftgui.do_action(menu_toggle, "click")

        checks.step("open the main menu", open_menu)
        weft.screenshot("main-menu")
        checks.step("main menu: Keyboard Shortcuts",
                    weft.click, "Keyboard Shortcuts", role="menu item", parent=menu)
        shortcuts = checks.step("the Keyboard Shortcuts window opens",
                                weft.frame, "Keyboard Shortcuts")
        if shortcuts is not None:
            checks.step("it lists Open a dataset folder",
                        weft.find, "Open a dataset folder", parent=shortcuts)
            weft.screenshot("shortcuts")
            checks.step("close the Keyboard Shortcuts window",
                        weftgui.do_action, shortcuts, "window.close")
            checks.step("the Keyboard Shortcuts window is gone",
                        weft.wait_window_gone, "Keyboard Shortcuts")

        # Main menu -> About Weft
        open_menu()
        checks.step("main menu: About Weft", weft.click, "About Weft", role="menu item",
                    parent=menu)
        about = checks.step("the About window opens", weft.frame, "About")
        if about is not None:
            checks.step("About shows the version", weft.find, "0.1.0", parent=about,
                        timeout=5)
            weft.screenshot("about")
            checks.step("close the About window", weftgui.do_action, about, "window.close")
            checks.step("the About window is gone", weft.wait_window_gone, "About")

        # Style: dark, then back to following the system
        open_menu()
        checks.step("main menu: Dark style", weft.click, "Dark", role="radio menu item",
                    parent=menu)
        weft.screenshot("dark-style")
        open_menu()
        checks.step("main menu: Follow System", weft.click, "Follow System",
                    role="radio menu item", parent=menu)

        # The demo buttons: a demo opens if it is built (or has a committed
        # sample), otherwise a toast says how to build it.
        def demo_outcome(demo):
            # A dataset makes the project modified: "• Emoji (sample)".
            if weft.frame().name.removeprefix("• ").startswith(demo):
                return "opened as " + weft.frame().name
            for role, name in weft.index():
                if role == "label" and f"The {demo} demo is not built yet" in name:
                    return "toast: " + name
            return None

        for demo, step in (("Tux Paint Stamps", "demo-tuxpaint"), ("Emoji", "demo-emoji")):
            checks.step(f"click the {demo} demo", weft.click,
                        f"Open the {demo} demo dataset", role="push button")
            outcome = checks.step(f"the {demo} demo opens or a toast says how to build it",
                                  weft.wait_until, lambda: demo_outcome(demo), "the demo's outcome")
            print(f"#      {demo} demo: {outcome}")
            weft.screenshot(step)

        with tempfile.TemporaryDirectory(prefix="weft-gui-") as tmp:
            folder = os.path.join(tmp, "tiny-dataset")
            os.makedirs(os.path.join(folder, "images"))
            with open(os.path.join(folder, "metadata.csv"), "w") as f:
                f.write("image_file_name,text,label\nimages/a.png,a red square,red\n")

            # `weft DIR` while weft runs: the running instance opens DIR, in a
            # new window if this one already shows a dataset (a demo opened
            # above), else in this one.
            had_dataset = weft.frame().name != "Weft"
            remote = subprocess.run([weft.binary, folder], env=weft.env(), timeout=60,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            checks.ok(remote.returncode == 0, "a second `weft DIR` hands DIR over and exits")
            opened = checks.step("the running weft opens DIR", weft.frame, "• tiny-dataset")
            if opened is not None and had_dataset:
                checks.ok(len(weft.frame_names()) == 2, "it opens in a second window")
                checks.step("close the second window, discarding its project",
                            weft.close_window, "• tiny-dataset", discard=True)
                checks.step("the second window is gone", weft.wait_window_gone,
                            "• tiny-dataset")

            status = weft.close_window(discard=True)
            checks.ok(status == 0, f"closing the last window quits weft (status {status})")

            # A folder on the command line of a fresh weft opens as the dataset.
            frame = checks.step("weft DIR starts", weft.start, folder)
            if frame is not None:
                checks.step("window title is the folder name, marked modified",
                            weft.frame, "• tiny-dataset", timeout=10)
                checks.step("the Dataset page shows the folder being read",
                            weft.find, "Reading the dataset…", role="label")
                switcher = weft.find("AdwViewSwitcher", role="page tab list")
                checks.step("the Dataset page is selected", weft.wait_until,
                            lambda: selected_tab(switcher) == {"Dataset"},
                            "Dataset to be selected")
                weft.screenshot("open-folder")
                menu = weft.find("Main Menu", role="push button")
                weft.click("Main Menu", role="push button", parent=menu)
                checks.step("main menu lists Recent Datasets",
                            weft.find, "Recent Datasets", role="menu item", parent=menu,
                            timeout=5)
                weft.screenshot("recent-menu")
                status = weft.close_window(discard=True)
                checks.ok(status == 0, f"weft exits cleanly (status {status})")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
