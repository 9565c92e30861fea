#!/usr/bin/python3
"""test-model.py — the architecture editor on the Model page, driven over
AT-SPI as a person would: with the Emoji sample open, build late fusion
block by block from an empty canvas (inputs, encoders, classifiers, late
fusion, loss) through the palette's Add buttons, the node buttons and the
property panel's "Connect Output To…" list; provoke a shape error with a
wrong connection, read the engine's message, fix it; export it as PyTorch
(WEFT_TEST_EXPORT_PATH hook); undo and redo; load a template from the
gallery and undo that; save the project (Save As, through the
WEFT_TEST_SAVE_PATH hook), reopen it and check the model is the same. Screenshots (light and dark) go to
SCREENSHOT_DIR/test-model/.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-model` under `xvfb-run -a dbus-run-session`).
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SOURCE_DIR, "data", "emoji", "sample")

# What a person adds, as (palette title, the id the editor gives it).
BLOCKS = [
    ("Image input", "image"), ("Audio input", "audio"), ("Text input", "text"),
    ("Label input", "label"),
    ("Small CNN", "cnn"), ("Conv1D audio", "audio_conv1d"), ("EmbeddingBag", "embedding_bag"),
    ("Classifier", "classifier"), ("Classifier", "classifier_2"), ("Classifier", "classifier_3"),
    ("Late fusion", "late_fusion"), ("Cross-entropy", "cross_entropy"),
]
TITLES = {"image": "Image input", "audio": "Audio input", "text": "Text input",
          "label": "Label input", "cnn": "Small CNN", "audio_conv1d": "Conv1D audio",
          "embedding_bag": "EmbeddingBag", "classifier": "Classifier",
          "classifier_2": "Classifier", "classifier_3": "Classifier",
          "late_fusion": "Late fusion", "cross_entropy": "Cross-entropy"}


def node_name(node_id):
    return f"Node {node_id} ({TITLES[node_id]})"


def labels(weft, parent):
    return [name for (role, name) in weft.index(parent) if role == "label"]


class Editor:
    """Handles on the Model page's parts, found once: every search walks
    the accessibility tree over D-Bus, so searches stay inside a part."""

    def __init__(self, weft, index):
        self.weft = weft
        self.menu = index[("push button", "Main Menu")][0]
        editor = next(nodes[0] for (role, name), nodes in index.items() if name == "Model editor")
        parts = weft.index(editor)

        def part(name):
            for (role, n), nodes in parts.items():
                if n == name:
                    return nodes[0]
            raise weftgui.WeftError(f"no '{name}' on the Model page")
        self.palette = part("Block palette")
        self.canvas = part("Model canvas")
        self.panel = part("Block properties")
        self.toolbar = part("Model toolbar")
        self.messages = part("Model messages")
        self.add_buttons = {name: nodes[0] for (role, name), nodes in weft.index(self.palette).items()
                            if role == "push button" and name.startswith("Add ")}

    def open_main_menu(self):
        toggle = self.weft.find("Main Menu", role="push button", parent=self.menu, action="click")
        weftgui.do_action(toggle, "click")

    def label_in(self, parent, prefix):
        return self.weft.wait_until(
            lambda: next((n for n in labels(self.weft, parent) if n.startswith(prefix)), None),
            f"a label starting with {prefix!r}")

    def open_templates(self):
        menu = self.weft.find("New from Template…", role="push button", parent=self.toolbar)
        toggle = self.weft.find("New from Template…", role="push button", parent=menu,
                                action="click")
        weftgui.do_action(toggle, "click")
        self.weft.find("Template Late fusion", role="push button", parent=menu)

    def totals(self, prefix):
        return self.label_in(self.toolbar, prefix)

    def add(self, title):
        weftgui.do_action(self.add_buttons[f"Add {title}"], "click")

    def node(self, node_id):
        return self.weft.find(node_name(node_id), role="push button", parent=self.canvas)

    def select(self, node_id):
        weftgui.do_action(self.node(node_id), "click")
        self.weft.wait_until(lambda: node_id in labels(self.weft, self.panel),
                             f"the panel to show {node_id}")

    def connect(self, src, dst):
        """Selects SRC and picks DST's first free input in Connect Output To…
        (one walk of the panel finds both the new selection and the menu)."""
        weftgui.do_action(self.node(src), "click")

        def menu_of_src():
            index = self.weft.index(self.panel)
            if ("label", src) not in index:
                return None
            buttons = index.get(("push button", "Connect Output To…"), [])
            return next((b for b in buttons if "click" in weftgui.action_names(b)), None)
        toggle = self.weft.wait_until(menu_of_src, f"the panel of {src}")
        weftgui.do_action(toggle, "click")

        def target():
            for (role, name), nodes in self.weft.index(self.panel).items():
                if role == "push button" and name.startswith(f"Connect to {dst}:"):
                    return nodes[0]
            return None
        weftgui.do_action(self.weft.wait_until(target, f"a free input of {dst}"), "click")


# The other pages hold thousands of accessible objects (the Dataset page's
# sample grid); walking them costs tens of seconds over D-Bus.
OTHER_PAGES = {"WeftDatasetPage", "WeftTrainPage", "WeftExplorePage"}


def index_without_other_pages(weft):
    found = {}

    def visit(node):
        try:
            role, name = node.getRoleName(), node.name
            found.setdefault((role, name), []).append(node)
            if role in weftgui.LEAF_ROLES or name in OTHER_PAGES:
                return
            children = [node.getChildAtIndex(i) for i in range(node.childCount)]
        except Exception:  # the tree changed under us
            return
        for child in children:
            if child is not None:
                visit(child)
    visit(weft.frame())
    return found


def go_to_model_page(weft):
    index = index_without_other_pages(weft)
    switcher = index[("page tab list", "AdwViewSwitcher")][0]
    tabs = {tab.name: tab for tab in switcher.children}
    weftgui.do_action(tabs["Model"], "click")
    index = weft.wait_until(
        lambda: (lambda i: i if any(n == "Model editor" for (_, n) in i) else None)(
            index_without_other_pages(weft)), "the Model editor")
    return Editor(weft, index)


def main():
    checks = weftgui.Checks()

    with tempfile.TemporaryDirectory(prefix="weft-gui-model-") as tmp, \
         weftgui.Weft("test-model", timeout=40.0) as weft:
        saved = os.path.join(tmp, "late-fusion.weft")
        weft.extra_env["WEFT_TEST_SAVE_PATH"] = saved
        weft.extra_env["WEFT_TEST_EXPORT_PATH"] = os.path.join(tmp, "late_fusion.py")

        frame = checks.step("weft DATASET starts", weft.start, SAMPLE)
        if frame is None:
            return checks.exit()
        checks.step("the project is open", weft.frame, "• sample", timeout=15)
        ed = checks.step("go to the Model page", go_to_model_page, weft)
        if ed is None:
            return checks.exit()
        checks.ok("Add Image input" in ed.add_buttons and "Add Late fusion" in ed.add_buttons,
                  f"the palette offers the registry's blocks ({len(ed.add_buttons)})")
        checks.step("the palette shows the registry's blurbs", ed.label_in, ed.palette,
                    "A modality of the dataset")
        checks.step("the totals say the model is empty", ed.totals, "Empty model")
        weft.screenshot("empty-canvas")

        # Build it block by block.
        for title, node_id in BLOCKS:
            checks.step(f"add {title}", ed.add, title)
            checks.step(f"node {node_id} appears", ed.node, node_id)
        weft.screenshot("blocks-added")

        for src, dst in [("image", "cnn"), ("audio", "audio_conv1d"), ("text", "embedding_bag"),
                         ("cnn", "classifier"), ("audio_conv1d", "classifier_2"),
                         ("embedding_bag", "classifier_3"),
                         ("classifier", "late_fusion"), ("classifier_2", "late_fusion")]:
            checks.step(f"connect {src} → {dst}", ed.connect, src, dst)
        checks.step("Arrange Automatically", weft.click, "Arrange Automatically",
                    role="push button", parent=ed.toolbar)
        weft.screenshot("encoders-connected")

        # A wrong connection: an encoder's 128 features into late fusion of
        # class scores. The engine names the node.
        checks.step("connect cnn → late_fusion (wrong)", ed.connect, "cnn", "late_fusion")
        message = checks.step("the engine's message names late_fusion", ed.label_in,
                              ed.messages, "node 'late_fusion'")
        print(f"# engine says: {message}", flush=True)
        checks.ok(message is not None and "128" in message,
                  "the message gives the offending shape")
        checks.step("the totals say Invalid", ed.totals, "Invalid")
        weft.screenshot("shape-error")

        # Fix it in the property panel of late_fusion.
        checks.step("select late_fusion", ed.select, "late_fusion")
        checks.step("disconnect cnn from late_fusion", weft.click,
                    "Disconnect cnn from late_fusion", role="push button", parent=ed.panel)
        checks.step("connect classifier_3 → late_fusion", ed.connect, "classifier_3",
                    "late_fusion")
        checks.step("add the loss: late_fusion → cross_entropy", ed.connect, "late_fusion",
                    "cross_entropy")
        checks.step("Arrange Automatically again", weft.click, "Arrange Automatically",
                    role="push button", parent=ed.toolbar)
        checks.step("label → cross_entropy", ed.connect, "label", "cross_entropy")
        totals = checks.step("the model is valid", ed.totals, "Valid")
        print(f"# totals: {totals}", flush=True)
        checks.ok(not any(labels(weft, ed.messages)), "no engine message left")
        checks.step("select late_fusion", ed.select, "late_fusion")
        checks.step("the panel shows late fusion's output shape", ed.label_in, ed.panel,
                    "Output (")
        weft.screenshot("late-fusion-valid")

        # Export as PyTorch (Model Menu), to the WEFT_TEST_EXPORT_PATH hook.
        menu = weft.find("Model Menu", role="push button", parent=ed.toolbar)
        toggle = weft.find("Model Menu", role="push button", parent=menu, action="click")
        weftgui.do_action(toggle, "click")
        checks.step("Model Menu: Export as PyTorch…", weft.click, "Export as PyTorch…",
                    role="menu item", parent=menu)
        exported = weft.extra_env["WEFT_TEST_EXPORT_PATH"]
        checks.step("the .py file is written", weft.wait_until,
                    lambda: os.path.exists(exported), exported, timeout=10)
        if os.path.exists(exported):
            with open(exported) as f:
                source = f.read()
            checks.ok("nn.Module" in source and "late_fusion" in source,
                      "it holds an nn.Module with the late_fusion node")

        # Undo and redo.
        checks.step("Undo", weft.click, "Undo", role="push button", parent=ed.toolbar)
        checks.step("undoing the last connection makes it invalid", ed.totals, "Invalid")
        checks.step("Redo", weft.click, "Redo", role="push button", parent=ed.toolbar)
        checks.step("redo makes it valid again", ed.totals, "Valid")

        # Dark style, then light again.
        ed.open_main_menu()
        checks.step("main menu: Dark style", weft.click, "Dark", role="radio menu item",
                    parent=ed.menu)
        weft.screenshot("late-fusion-dark")
        ed.open_main_menu()
        checks.step("main menu: Light style", weft.click, "Light", role="radio menu item",
                    parent=ed.menu)

        # Templates gallery: loading one replaces the model, and undo brings
        # ours back.
        checks.step("open New from Template…", ed.open_templates)
        weft.screenshot("template-gallery")
        checks.step("pick the Siamese template", weft.click, "Template Siamese",
                    role="push button", parent=ed.toolbar)
        checks.step("its nodes replace ours", weft.wait_gone, node_name("late_fusion"),
                    role="push button", parent=ed.canvas)
        checks.step("the template is valid", ed.totals, "Valid")
        weft.screenshot("template-siamese")
        checks.step("Undo", weft.click, "Undo", role="push button", parent=ed.toolbar)
        checks.step("our late fusion is back", ed.node, "late_fusion")
        again = checks.step("with the same totals", ed.totals, "Valid")
        checks.ok(again == totals, f"undo restores the model exactly ({again})")

        # Save, close, reopen.
        ed.open_main_menu()
        checks.step("main menu: Save As…", weft.click, "Save As…", role="menu item",
                    parent=ed.menu)
        checks.step("saved: the title loses its '•'", weft.frame, "late-fusion", timeout=10)
        model = None
        if checks.ok(os.path.exists(saved), "the project file was written"):
            with open(saved) as f:
                model = json.load(f).get("model")
        checks.ok(model is not None, "the project has a model")
        if model:
            ids = [i["id"] for i in model["inputs"]] + [n["id"] for n in model["nodes"]]
            checks.ok(sorted(ids) == sorted(i for _, i in BLOCKS),
                      f"it has every block ({ids})")
            checks.ok(sorted(model.get("layout", {})) == sorted(ids), "and a position for each")
            fusion = next(n for n in model["nodes"] if n["id"] == "late_fusion")
            checks.ok(fusion["inputs"] == ["classifier", "classifier_2", "classifier_3"],
                      f"late fusion reads the three classifiers ({fusion['inputs']})")
            checks.ok([loss["node"] for loss in model.get("losses", [])] == ["cross_entropy"],
                      "cross_entropy is the loss")
        status = weft.close_window()
        checks.ok(status == 0, f"the saved project closes without asking (status {status})")

        frame = checks.step("weft FILE.weft starts", weft.start, saved)
        if frame is not None:
            checks.step("the project is back, unmodified", weft.frame, "late-fusion", timeout=15)
            ed = checks.step("go to the Model page", go_to_model_page, weft)
            if ed is not None:
                index = weft.index(ed.canvas)
                missing = [i for _, i in BLOCKS if ("push button", node_name(i)) not in index]
                checks.ok(not missing, f"every node is on the canvas (missing: {missing})")
                again = checks.step("the totals are the same", ed.totals, "Valid")
                checks.ok(again == totals, f"same parameters and FLOPs ({again})")
            checks.ok("late-fusion" in weft.frame_names(), "opening the editor changes nothing")
            weft.screenshot("reopened")
            with open(saved) as f:
                checks.ok(json.load(f).get("model") == model, "the file is unchanged")
            status = weft.close_window()
            checks.ok(status == 0, f"weft exits (status {status})")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
