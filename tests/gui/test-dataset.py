#!/usr/bin/python3
"""test-dataset.py — the Dataset page, driven like a user would over AT-SPI:
open the Emoji sample from the command line, wait for its cards, filter by a
label, search the captions (Ctrl+F), play a clip and watch its button turn
into Stop and back, then open a broken dataset (a missing file and a
truncated PNG) and read the validation report's rows. Screenshots of every
step go to SCREENSHOT_DIR/test-dataset/.

Exit status: 0 pass, 1 fail, 77 skip (no DISPLAY). Run through meson
(`meson test -C BUILD gui-dataset` under `xvfb-run -a dbus-run-session`), or
by hand: WEFT_BUILD_DIR=BUILD xvfb-run -a dbus-run-session tests/gui/test-dataset.py
"""
import csv
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftgui  # noqa: E402  (exits 77 without a DISPLAY)

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMOJI = os.path.join(SOURCE, "data", "emoji", "sample")

# Sounds go nowhere, in real time, so that "playing" lasts as long as the clip.
os.environ["WEFT_AUDIO_SINK"] = "fakesink sync=true"


def read_manifest(folder):
    with open(os.path.join(folder, "metadata.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def short_text(text):
    return text.split(";")[0][:80]


def card_name(row):
    return f"Sample {row['id']}: {short_text(row['text'])}, label {row['label']}"


def count_text(shown, total):
    return f"{total} samples" if shown == total else f"{shown} of {total} samples"


def labels_starting(weft, prefix):
    return sorted(name for (role, name) in weft.index() if role == "label"
                  and name.startswith(prefix))


def choose_in_dropdown(weft, name, presses):
    """Opens the drop-down NAME and moves PRESSES rows down (negative: up)
    from the selected one with the keyboard, then activates that row."""
    dropdown = weft.find(name)
    toggles = [n for (role, _), nodes in weft.index(dropdown).items()
               for n in nodes if "click" in weftgui.action_names(n)]
    target = toggles[0] if toggles else dropdown
    weftgui.do_action(target, "click")
    time.sleep(0.6)
    for _ in range(abs(presses)):
        weft.key("<Down>" if presses > 0 else "<Up>")
        time.sleep(0.1)
    weft.key("Return")
    time.sleep(0.3)


def main():
    checks = weftgui.Checks()
    rows = read_manifest(EMOJI)
    total = len(rows)
    labels = sorted({r["label"] for r in rows})

    with weftgui.Weft("test-dataset", timeout=30) as weft:
        frame = checks.step("weft EMOJI starts", weft.start, EMOJI)
        if frame is None:
            return checks.exit()

        first = rows[0]
        checks.step("the first card is named after its id, caption and label",
                    weft.find, card_name(first), timeout=30)
        checks.step(f"the count says '{count_text(total, total)}'",
                    weft.find, count_text(total, total), role="label")
        checks.step("its play button is named after the sample",
                    weft.find, f"Play sound of {first['id']}", role="push button")
        checks.step("featurisation finishes", weft.wait_until,
                    lambda: labels_starting(weft, "Features ready"), "Features ready", 60)
        weft.screenshot("cards")

        # Label filter: the second entry is the first label in sorted order.
        label = labels[0]
        n_label = sum(1 for r in rows if r["label"] == label)
        checks.step(f"choose the label '{label}'", choose_in_dropdown, weft,
                    "Filter by label", 1)
        checks.step(f"the count says '{count_text(n_label, total)}'", weft.find,
                    count_text(n_label, total), role="label", timeout=10)
        in_label = [r for r in rows if r["label"] == label][0]
        checks.step(f"a '{label}' card is shown", weft.find, card_name(in_label), timeout=10)
        weft.screenshot("filter-label")
        checks.step("back to all labels", choose_in_dropdown, weft, "Filter by label", -1)
        checks.step("the count is back to all samples", weft.find,
                    count_text(total, total), role="label", timeout=10)

        # Search: Ctrl+F focuses the search entry.
        word = "cat"
        n_word = sum(1 for r in rows if word in (r["id"] + " " + r["text"]).casefold())
        checks.ok(n_word > 0, f"the sample has captions with '{word}' ({n_word})")
        checks.step("Ctrl+F", weft.key, "<Control>f")
        time.sleep(0.3)
        checks.step(f"type '{word}'", weftgui.rawinput.typeText, word)
        checks.step(f"the count says '{count_text(n_word, total)}'", weft.find,
                    count_text(n_word, total), role="label", timeout=10)
        match = [r for r in rows if word in (r["id"] + " " + r["text"]).casefold()][0]
        checks.step(f"{match['id']} ({match['text']!r}) is shown", weft.find,
                    card_name(match), timeout=10)
        weft.screenshot("search")

        # Play: the button turns into Stop while the clip plays, then back.
        play = checks.step(f"click Play sound of {match['id']}", weft.click,
                           f"Play sound of {match['id']}", role="push button")
        if play is not None:
            checks.step("the button now says Stop", weft.find,
                        f"Stop sound of {match['id']}", role="push button", timeout=10)
            weft.screenshot("playing")
            checks.step("it says Play again when the clip ends", weft.find,
                        f"Play sound of {match['id']}", role="push button", timeout=30)
            weft.screenshot("played")

            # Space plays the focused card: a click on its picture selects
            # and focuses the card, then Space starts and stops the clip.
            card = checks.step("click the card's picture", weft.click_at,
                               weft.find(card_name(match)), 30)
            if card is not None:
                time.sleep(0.3)
                checks.step("Space", weft.key, "space")
                checks.step("Space started the clip (the button says Stop)", weft.find,
                            f"Stop sound of {match['id']}", role="push button", timeout=10)
                checks.step("Space again", weft.key, "space")
                checks.step("Space stopped it (the button says Play)", weft.find,
                            f"Play sound of {match['id']}", role="push button", timeout=10)

        # Side panel: statistics.
        checks.step("show the statistics", weft.click, "Statistics", role="push button")
        # Sound durations are measured on a worker; the chart's description
        # says what it shows (every Emoji clip is about a second long).
        stats = weft.find("Dataset statistics")
        durations = checks.step(
            "the statistics give the sound durations", weft.wait_until,
            lambda: stats.description if "Shortest" in stats.description else None,
            "the sound durations", 30)
        print(f"#      statistics: {durations}")
        if durations:
            checks.ok("300 samples" in durations and "longest" in durations,
                      f"they cover the sample ({durations!r})")
        weft.screenshot("statistics")
        checks.step("the Emoji sample has no problems", weft.click, "Validation Report",
                    role="push button")
        checks.step("the report says 'No problems found'", weft.find,
                    "No problems found", role="label", timeout=10)
        weft.screenshot("no-problems")
        weft.stop()
        # SIGTERM leaves the autosave copy behind: the broken dataset's run
        # must not offer to restore it.
        weft.new_home()

        with tempfile.TemporaryDirectory(prefix="weft-gui-broken-") as tmp:
            folder = os.path.join(tmp, "broken-dataset")
            os.makedirs(os.path.join(folder, "images"))
            for r in rows[:3]:
                shutil.copy(os.path.join(EMOJI, r["image_file_name"]),
                            os.path.join(folder, "images", f"{r['id']}.png"))
            with open(os.path.join(EMOJI, rows[3]["image_file_name"]), "rb") as f:
                png = f.read()
            with open(os.path.join(folder, "images", "truncated.png"), "wb") as f:
                f.write(png[:len(png) // 3])
            with open(os.path.join(folder, "metadata.csv"), "w", encoding="utf-8") as f:
                f.write("id,image_file_name,text,label\n")
                for r in rows[:3]:
                    f.write(f"{r['id']},images/{r['id']}.png,\"{r['text']}\",{r['label']}\n")
                f.write("lost,images/cat.png,a cat that went missing,Animals\n")
                f.write("cut,images/truncated.png,half of a picture,Animals\n")

            frame = checks.step("weft BROKEN starts", weft.start, folder)
            if frame is not None:
                checks.step("the broken dataset's cards appear", weft.find,
                            card_name(rows[0]), timeout=30)
                weft.screenshot("broken-cards")
                checks.step("open the validation report", weft.click, "Validation Report",
                            role="push button")
                missing = checks.step(
                    "the missing file is reported", weft.wait_until,
                    lambda: labels_starting(weft, "row 4 · images/cat.png · the file is missing"),
                    "row 4 · images/cat.png · the file is missing", 30)
                print(f"#      missing: {missing}")
                truncated = checks.step(
                    "the truncated PNG is reported once featurised", weft.wait_until,
                    lambda: labels_starting(weft, "row 5 · images/truncated.png"),
                    "row 5 · images/truncated.png", 60)
                print(f"#      truncated: {truncated}")
                if truncated:
                    checks.ok("truncated" in truncated[0] or "damaged" in truncated[0],
                              f"it says why ({truncated[0]!r})")
                # The truncated PNG's card shows a "broken image" mark, not a
                # partly grey picture: its name says it could not be decoded.
                checks.step("the truncated image's card is marked broken", weft.find,
                            "Sample cut: half of a picture, label Animals, "
                            "could not be decoded", timeout=30)
                # A kept row whose file is missing says so on its card.
                checks.step("the missing image's card names its problem", weft.find,
                            "Sample lost: a cat that went missing, label Animals, "
                            "problem: row 4: images/cat.png is missing", timeout=10)
                checks.step("each problem has a Show in Files button", weft.find,
                            f"Show in Files: {missing[0]}" if missing else "Show in Files",
                            role="push button")
                weft.screenshot("report")
                try:  # a dataset may count as an unsaved project
                    status = weft.close_window(discard=True)
                except TypeError:
                    status = weft.close_window()
                checks.ok(status == 0, f"weft exits cleanly (status {status})")

    return checks.exit()


if __name__ == "__main__":
    sys.exit(main())
