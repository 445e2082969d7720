"""PNGs of TensorBoard's tabs for a run or a sweep folder, taken with headless Chromium (Debian's
``chromium``) once each tab shows what it should:

    python scripts/tensorboard_screenshot.py <run or sweep folder> docs/images/run --tabs custom_scalars images text

writes ``docs/images/run_custom_scalars.png`` and so on. Curves are drawn unsmoothed and with every
point in range, so a run of a few epochs reads as it is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from urllib.parse import quote

from headless_chromium import headless_page
from tensorboard_server import tensorboard_server

# What each tab shows once it has drawn its content (besides the tab bar).
READY_TEXT = {
    "custom_scalars": ["Matches"],
    "scalars": ["train/acc"],
    "images": ["tag:"],
    "text": ["run/summary"],
    "hparams": ["Hyperparameters", "Metrics"],
    "timeseries": ["Pinned"],
}
# What to click in each tab before the picture: custom scalars' lists of which marker is which tag.
CLICK = {"custom_scalars": ".toggle-matches-button"}
SETTLE_SECONDS = 2.0  # charts animate in after their data arrives


def shrink_png(path: Path, max_width: int) -> None:
    """Scale ``path`` down to ``max_width`` pixels wide (keeping its shape), as a palette PNG: docs
    pictures of a flat user interface lose nothing to 256 colours and shrink several times."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def _click_once_drawn(page, selector: str, timeout: float = 30) -> None:
    """Click what ``selector`` matches once it exists (the charts draw it after their data arrives)."""
    deadline = time.monotonic() + timeout
    while not page.click_all(selector) and time.monotonic() < deadline:
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logdir", help="a run folder or a sweep folder")
    parser.add_argument("prefix", help="output path prefix; each tab is written to <prefix>_<tab>.png")
    parser.add_argument("--tabs", nargs="+", default=["custom_scalars", "images", "text"], choices=sorted(READY_TEXT))
    parser.add_argument("--size", default="1400,900", help="window width,height in pixels")
    parser.add_argument("--max-width", type=int, default=1100, help="scale each PNG down to this width")
    parser.add_argument("--tag-filter", default="", help="show only the tags this regular expression finds")
    parser.add_argument("--min-runs", type=int, default=1, help="wait until TensorBoard lists this many runs")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split(","))
    with tensorboard_server(args.logdir, min_runs=args.min_runs) as url, headless_page(width, height) as page:
        page.goto(f"{url}/")
        page.evaluate("localStorage.setItem('_ignoreYOutliers', 'false')")  # a setting kept in the browser
        for tab in args.tabs:
            page.goto("about:blank")
            page.goto(f"{url}/#{tab}&_smoothingWeight=0&tagFilter={quote(args.tag_filter)}")
            page.wait_for_text(*READY_TEXT[tab], timeout=60)
            time.sleep(SETTLE_SECONDS)
            if tab in CLICK:
                _click_once_drawn(page, CLICK[tab])
                time.sleep(SETTLE_SECONDS)
            output = page.screenshot(f"{args.prefix}_{tab}.png")
            shrink_png(output, args.max_width)
            print(f"wrote {output} ({output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
