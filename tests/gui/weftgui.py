"""weftgui.py — drives the real `weft` binary through AT-SPI with dogtail.

Starts weft under the current DISPLAY with the Cairo renderer and private
XDG config/cache/data directories, finds widgets by accessible name, clicks
them through their AT-SPI 'click' action (no synthesized pointer events),
and saves screenshots of the screen to SCREENSHOT_DIR/<test>/<step>.png.

Environment:
  WEFT_BUILD_DIR       the meson build directory (has app/weft and
                       resources/gschemas.compiled); required
  WEFT_SCREENSHOT_DIR  where screenshots go (default
                       $WEFT_BUILD_DIR/tests/gui/screenshots)

Usage:
  with weftgui.Weft("test-shell") as weft:
      weft.start()
      weft.click("Model", role="page tab")
      weft.find("No Model Yet", role="label")
      weft.screenshot("model")
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Skip rather than fail when there is nothing to draw on (meson: 77 = skip).
SKIP = 77


def require_display():
    if not os.environ.get("DISPLAY"):
        print("weftgui: DISPLAY is not set; run under xvfb-run -a dbus-run-session",
              file=sys.stderr)
        sys.exit(SKIP)


require_display()

import dogtail.config  # noqa: E402

dogtail.config.config.checkForA11y = False
dogtail.config.config.logDebugToStdOut = False
dogtail.config.config.logDebugToFile = False
dogtail.config.config.searchShowingOnly = False
dogtail.config.config.defaultDelay = 0.1
dogtail.config.config.actionDelay = 0.1

from dogtail import rawinput, tree  # noqa: E402
from gi.repository import Atspi, GLib  # noqa: E402

# libatspi gives up on a call after 800 ms; weft under AddressSanitizer, or
# on a loaded machine, can take longer to build a window before it answers.
Atspi.set_timeout(10000, 30000)

# dogtail routes uncaught exceptions to its own (here silenced) log; a test
# that fails must say why on stderr.
sys.excepthook = sys.__excepthook__

APP_NAME = "weft"
# ImageMagick's own convert, not whatever else PATH may call convert.
CONVERT = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else "convert"


# Roles whose descendants no test needs (a page tab's icon and label, say).
LEAF_ROLES = {"page tab", "label", "image", "scroll bar", "separator", "icon"}


class WeftError(AssertionError):
    pass


# Actions go through Atspi directly, not dogtail's node.actions: that reads
# the NActions property, whose GTK 4.8 implementation leaks the action list
# (gtkatspiaction.c, widget_handle_get_property), which LeakSanitizer then
# reports against weft. The GetName and DoAction methods do not leak.
def action_names(node):
    """The names of the AT-SPI actions NODE offers now (none if insensitive)."""
    names = []
    for index in range(64):
        try:
            names.append(Atspi.Action.get_action_name(node, index))
        except GLib.GError:
            break
    return names


def do_action(node, name):
    """Runs NODE's AT-SPI action NAME. The call returns once weft has run the
    action; a reply that never comes (weft quit, or was slow to build a
    window) is not an error here: the caller checks the effect."""
    names = action_names(node)
    if name not in names:
        raise WeftError(f"{node.roleName} '{node.name}' has no action '{name}' "
                        f"(it has {names})")
    try:
        Atspi.Action.do_action(node, names.index(name))
    except GLib.GError as e:
        if "reply" not in str(e) and "disconnected" not in str(e):
            raise


class Weft:
    """One running weft process and the dogtail view of it."""

    def __init__(self, test_name, timeout=15.0):
        build_dir = os.environ.get("WEFT_BUILD_DIR")
        if not build_dir:
            raise WeftError("WEFT_BUILD_DIR is not set (meson test sets it)")
        self.build_dir = os.path.abspath(build_dir)
        self.binary = os.environ.get("WEFT_TEST_BINARY") or os.path.join(self.build_dir, "app", "weft")
        self.schema_dir = os.path.join(self.build_dir, "resources")
        shots = os.environ.get("WEFT_SCREENSHOT_DIR",
                               os.path.join(self.build_dir, "tests", "gui", "screenshots"))
        self.screenshot_dir = os.path.join(shots, test_name)
        self.test_name = test_name
        self.timeout = timeout
        self.proc = None
        self.app = None
        self.home = None
        self.shot_index = 0
        self.compositor = None
        self.extra_env = {}  # more variables for weft (test hooks)
        os.makedirs(self.screenshot_dir, exist_ok=True)
        for old in os.listdir(self.screenshot_dir):
            if old.endswith(".png") or old == "weft.log":
                os.unlink(os.path.join(self.screenshot_dir, old))

    # -- process -----------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if self.compositor is not None:
            self.compositor.terminate()
            self.compositor.wait()
            self.compositor = None
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None
        return False

    def env(self):
        """The environment weft runs in: deterministic rendering, private
        settings and caches, the schema from the build directory."""
        if self.home is None:
            self.home = tempfile.mkdtemp(prefix="weft-gui-")
            for sub in ("config", "cache", "data", "state"):
                os.makedirs(os.path.join(self.home, sub))
        env = dict(os.environ)
        env.pop("GTK_A11Y", None)  # the default (atspi); 'none' hides weft
        # Under AddressSanitizer, record whole allocation stacks: GLib and GTK
        # have no frame pointers, and with the fast unwinder LeakSanitizer
        # sees two frames, too few to match build-aux/lsan.supp.
        asan = env.get("ASAN_OPTIONS")
        if asan is not None and "fast_unwind_on_malloc" not in asan:
            env["ASAN_OPTIONS"] = asan + ":fast_unwind_on_malloc=0"
        env.update({
            "GSK_RENDERER": "cairo",
            "GSETTINGS_SCHEMA_DIR": self.schema_dir,
            "GSETTINGS_BACKEND": "keyfile",
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "XDG_CACHE_HOME": os.path.join(self.home, "cache"),
            "XDG_DATA_HOME": os.path.join(self.home, "data"),
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
        })
        env.update(self.extra_env)
        return env

    def new_home(self):
        """Gives the next start() fresh XDG config, cache, data and state
        folders, so that nothing one run leaves behind (an autosave copy
        that a SIGTERM did not clean, recent files, settings) reaches the
        next. Call it between runs that must not share state."""
        if self.proc is not None:
            raise WeftError("stop weft before giving it a new home")
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    @property
    def cache_dir(self):
        self.env()
        return os.path.join(self.home, "cache")

    def start_compositor(self):
        """Popovers and toasts have translucent shadows: without a compositing
        manager Xvfb paints them black. xcompmgr -n fixes the screenshots; if
        another compositor runs, it exits at once and that one is used."""
        if self.compositor is None and shutil.which("xcompmgr"):
            self.compositor = subprocess.Popen(["xcompmgr", "-n"],
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
            time.sleep(0.3)

    def start(self, *args):
        """Launches weft with ARGS and waits for its first window."""
        if self.proc is not None:
            raise WeftError("weft is already running")
        self.start_compositor()
        log = open(os.path.join(self.screenshot_dir, "weft.log"), "a")
        self.proc = subprocess.Popen([self.binary, *args], env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.app = self.wait_until(self._find_app, "the weft application on the AT-SPI bus")
        return self.frame()

    def stop(self):
        """Ends weft: closes its windows, then terminates what is left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.app = None

    def close_window(self, name=None, discard=False):
        """Closes a window through its window.close action; weft quits when
        the last one closes. With DISCARD, answers the "Save changes?"
        dialog of a modified project with Discard. Returns weft's exit
        status if it quit, else None."""
        do_action(self.frame(name), "window.close")
        if discard:
            # An unmodified project closes without asking.
            def probe():
                if self.proc.poll() is not None:
                    return "exited"
                node = self._button("Discard")
                if node is not None:
                    do_action(node, "click")
                    return "discarded"
                if name is not None and name not in self.frame_names():
                    return "closed"
                return None
            self.wait_until(probe, "the window to close or ask to save")
        try:
            status = self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None
        self.proc = None
        self.app = None
        return status

    def _find_app(self):
        if self.proc.poll() is not None:
            raise WeftError(f"weft exited with status {self.proc.returncode} "
                            f"(log: {self.screenshot_dir}/weft.log)")
        for app in tree.root.applications():
            try:
                if app.name == APP_NAME and app.get_process_id() == self.proc.pid:
                    return app
            except Exception:  # a dying application can vanish mid-query
                continue
        return None

    # -- finding -----------------------------------------------------------

    def wait_until(self, probe, what, timeout=None):
        """Polls PROBE until it returns something true, and returns that;
        raises WeftError naming WHAT after TIMEOUT seconds."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                found = probe()
            except (GLib.GError, LookupError):  # weft busy, or the tree changed
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                raise WeftError(f"timed out after {timeout or self.timeout:.0f} s "
                                f"waiting for {what}")
            time.sleep(0.2)

    def _walk(self, parent, visit):
        """Depth-first walk below PARENT calling VISIT(node, role) on each
        node. Every attribute read is a D-Bus round trip into weft, so the
        walk never enters subtrees that hold nothing a test looks for (the
        insides of page tabs, labels, images, scroll bars)."""
        def walk(node):
            try:
                role = node.getRoleName()
                visit(node, role)
                if role in LEAF_ROLES:
                    return
                children = [node.getChildAtIndex(i) for i in range(node.childCount)]
            except Exception:  # the tree changed under us
                return
            for child in children:
                if child is not None:
                    walk(child)
        try:
            children = [parent.getChildAtIndex(i) for i in range(parent.childCount)]
        except Exception:
            return
        for child in children:
            if child is not None:
                walk(child)

    def _matches(self, parent, name, role):
        found = []

        def visit(node, node_role):
            if (role is None or node_role == role) and node.name == name:
                found.append(node)
        self._walk(parent, visit)
        return found

    def find(self, name, role=None, parent=None, timeout=None, action=None):
        """The first widget whose accessible name is NAME (and role ROLE, and
        which offers the AT-SPI action ACTION), waiting up to TIMEOUT seconds
        for it to appear."""
        def probe():
            for node in self._matches(parent or self.app, name, role):
                try:
                    if action is None or action in action_names(node):
                        return node
                except Exception:
                    continue
            return None
        what = f"{role or 'widget'} '{name}'" + (f" with action '{action}'" if action else "")
        return self.wait_until(probe, what, timeout)

    def index(self, parent=None):
        """One walk of the tree under PARENT (default: all of weft):
        {(role, name): [nodes]}. Cheaper than a find() per widget."""
        found = {}
        self._walk(parent or self.app,
                   lambda node, role: found.setdefault((role, node.name), []).append(node))
        return found

    def exists(self, name, role=None, parent=None):
        return bool(self._matches(parent or self.app, name, role))

    def wait_gone(self, name, role=None, parent=None, timeout=None):
        self.wait_until(lambda: not self.exists(name, role, parent),
                   f"{role or 'widget'} '{name}' to go away", timeout)

    def frame(self, name=None, timeout=None):
        """A top-level window of weft, by title (any window if NAME is None)."""
        def probe():
            for child in self.app.children:
                try:
                    # GTK 4.8 gives dialogs odd roles (a file chooser is a
                    # 'filler'), so a named window may have any role.
                    if child.name == name if name is not None else \
                       child.roleName in ("frame", "window", "dialog"):
                        return child
                except Exception:
                    continue
            return None
        return self.wait_until(probe, f"window '{name or '*'}'", timeout)

    def frame_names(self):
        """Titles of weft's top-level windows."""
        names = []
        for child in self.app.children:
            try:
                names.append(child.name)
            except Exception:  # closing right now
                continue
        return names

    def wait_window_gone(self, name, timeout=None):
        self.wait_until(lambda: name not in self.frame_names(),
                        f"window '{name}' to close", timeout)

    # -- acting ------------------------------------------------------------

    def click(self, name, role=None, parent=None, timeout=None):
        """Activates a widget through its AT-SPI 'click' action."""
        node = self.find(name, role, parent, timeout, action="click")
        do_action(node, "click")
        return node

    def _button(self, label, parent=None):
        for (role, name), nodes in self.index(parent).items():
            if role == "push button" and (name == label or name.endswith(" " + label)):
                for node in nodes:
                    if "click" in action_names(node):
                        return node
        return None

    def click_button(self, label, parent=None, timeout=None):
        """Clicks the push button labelled LABEL. GTK 4.8 names buttons with
        a mnemonic oddly ("_Discard Discard"), so the name need only end
        with LABEL."""
        node = self.wait_until(lambda: self._button(label, parent),
                               f"push button '{label}'", timeout)
        do_action(node, "click")
        return node

    def activate_window_action(self, action, name=None):
        """Runs a GAction that the window exposes over AT-SPI (win.*, window.*)."""
        do_action(self.frame(name), action)

    def click_at(self, node, dy=None):
        """Clicks the pointer on NODE (on its centre, or DY pixels below its
        top): what a person does to focus or select a thing that has no
        AT-SPI action, like a grid cell. Without a window manager every
        window sits at (0, 0), so the window coordinates GTK reports are
        the screen's."""
        box = Atspi.Component.get_extents(node, Atspi.CoordType.WINDOW)
        if box.width <= 0 or box.height <= 0:
            raise WeftError(f"{node.roleName} '{node.name}' has no extents")
        rawinput.click(box.x + box.width // 2,
                       box.y + (box.height // 2 if dy is None else dy))
        return node

    def key(self, combo):
        """Presses a key combination like '<Control>q' in the focused window."""
        rawinput.keyCombo(combo)

    def screenshot(self, step):
        """Saves the screen, cropped to weft's windows, as NN-STEP.png."""
        self.shot_index += 1
        path = os.path.join(self.screenshot_dir, f"{self.shot_index:02d}-{step}.png")
        time.sleep(0.5)  # let transitions (crossfade, popovers) settle
        root = subprocess.run(["import", "-window", "root", "png:-"],
                              check=True, capture_output=True).stdout
        # Without a window manager every window sits at (0, 0); the bottom
        # right pixel is the bare root window, whose colour -trim cuts away.
        background = subprocess.run([CONVERT, "png:-", "-format", "%[pixel:p{W-1,H-1}]",
                                     "info:"], input=root, check=True,
                                    capture_output=True).stdout.decode().strip()
        subprocess.run([CONVERT, "png:-", "-bordercolor", background, "-border", "1",
                        "-trim", "+repage", path], input=root, check=True)
        return path


class Checks:
    """Collects named checks; a failed one does not stop the ones after it
    unless it raises. exit() prints a summary and returns the status."""

    def __init__(self):
        self.failed = []
        self.count = 0
        self.start = time.monotonic()

    def ok(self, cond, what):
        self.count += 1
        elapsed = time.monotonic() - self.start
        print(("ok     " if cond else "FAILED ") + f"[{elapsed:5.1f} s] " + what, flush=True)
        if not cond:
            self.failed.append(what)
        return cond

    def step(self, what, fn, *args, **kwargs):
        """Runs FN; an exception fails the check WHAT and returns None."""
        try:
            result = fn(*args, **kwargs)
            self.ok(True, what)
            return result
        except Exception as e:  # noqa: BLE001 — report every failure the same way
            self.ok(False, f"{what}: {e}")
            return None

    def exit(self):
        print(f"{self.count - len(self.failed)}/{self.count} checks passed", flush=True)
        return 1 if self.failed else 0
