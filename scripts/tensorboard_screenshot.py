"""A PNG of TensorBoard's HPARAMS view of a sweep, taken with headless Chromium (Debian's
``chromium``): ``python scripts/tensorboard_screenshot.py <sweep folder> docs/sweep_hparams.png``."""

from __future__ import annotations

import argparse
import shutil
import subprocess

from loralab.runs.tensorboard_server import tensorboard_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sweep_dir")
    parser.add_argument("output_png")
    parser.add_argument("--view", default="hparams", help="TensorBoard tab to capture (hparams, scalars, images)")
    parser.add_argument("--size", default="1600,1000", help="window width,height in pixels")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no chromium on PATH; install it (Debian: apt-get install chromium)")
    with tensorboard_server(args.sweep_dir) as url:
        subprocess.run(
            [
                browser,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={args.size}",
                "--virtual-time-budget=20000",
                f"--screenshot={args.output_png}",
                f"{url}/#{args.view}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.output_png}")


if __name__ == "__main__":
    main()
