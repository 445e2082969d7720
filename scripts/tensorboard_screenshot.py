"""A PNG of TensorBoard's HPARAMS view of a sweep, taken with headless Chromium (Debian's
``chromium``): ``python scripts/tensorboard_screenshot.py <sweep folder> docs/sweep_hparams.png``."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_runs(url: str, timeout: float = 90) -> list[str]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/data/runs", timeout=5) as response:
                runs = json.loads(response.read())
            if runs:
                return runs
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"TensorBoard at {url} listed no runs within {timeout:.0f} s")


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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", args.sweep_dir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        print(f"{len(wait_for_runs(url))} runs")
        subprocess.run(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={args.size}",
             "--virtual-time-budget=20000", f"--screenshot={args.output_png}", f"{url}/#{args.view}"],
            check=True, capture_output=True, timeout=120,
        )
        print(f"wrote {args.output_png}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
