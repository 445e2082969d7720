"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): read
what a page shows, shadow DOM included, and take its screenshot once it shows it.

TensorBoard draws its dashboards in the browser, mostly inside shadow roots that
``chromium --dump-dom`` leaves out; the protocol evaluates JavaScript in the page instead. A pipe
needs no port and no websocket library: messages are JSON, each ended by a NUL byte, on the
browser's file descriptors 3 (in) and 4 (out).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# Every visible text of the page, walking into shadow roots, a line per text node.
DEEP_TEXT = """(() => {
  const skip = new Set(["STYLE", "SCRIPT", "TEMPLATE", "NOSCRIPT"]);
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { const t = node.textContent.trim(); if (t) out.push(t); return; }
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (skip.has(node.tagName) || (node.checkVisibility && !node.checkVisibility())) return;
      if (node.shadowRoot) walk(node.shadowRoot);
    } else if (node.nodeType !== Node.DOCUMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return out.join("\\n");
})()"""


# Click every visible element matching a CSS selector, in the page and in every shadow root.
CLICK_ALL = """((selector) => {
  let clicked = 0;
  const walk = (root) => {
    for (const element of root.querySelectorAll(selector)) {
      if (!element.checkVisibility || element.checkVisibility()) { element.click(); clicked += 1; }
    }
    for (const element of root.querySelectorAll("*")) if (element.shadowRoot) walk(element.shadowRoot);
  };
  walk(document);
  return clicked;
})"""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary on PATH, or None."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or did not answer."""


class Page:
    """One tab of a headless browser: ``goto``, ``text``, ``wait_for_text``, ``screenshot``."""

    def __init__(self, to_browser, from_browser, width: int, height: int) -> None:
        self._out, self._in = to_browser, from_browser
        self._ids = itertools.count(1)
        self._buffer = b""
        target = self._call("Target.createTarget", {"url": "about:blank"})
        attached = self._call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self._session = attached["sessionId"]
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def _call(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60) -> dict:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                if time.monotonic() > deadline:
                    raise BrowserError(f"no answer to {method} within {timeout:.0f} s")
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise BrowserError(f"the browser closed its pipe during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") != message_id:  # an event, or an answer to another command
                continue
            if "error" in reply:
                raise BrowserError(f"{method}: {reply['error'].get('message')}")
            return reply.get("result", {})

    def close_browser(self) -> None:
        """Ask the browser to close itself (its helper processes with it)."""
        with contextlib.suppress(BrowserError, OSError):
            self._call("Browser.close", timeout=10)

    def goto(self, url: str) -> None:
        self._call("Page.navigate", {"url": url}, session=True)

    def evaluate(self, expression: str):
        result = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def text(self) -> str:
        """Every text the page shows, shadow roots included, a line per text node."""
        return self.evaluate(DEEP_TEXT) or ""

    def click_all(self, selector: str) -> int:
        """Click every visible element that matches the CSS ``selector``, shadow roots included; how many."""
        return self.evaluate(f"{CLICK_ALL}({json.dumps(selector)})")

    def wait_for_text(self, *needles: str, timeout: float = 30) -> str:
        """The page's text once it holds every one of ``needles`` (a client-side app draws late);
        raises ``TimeoutError`` naming those still missing."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            missing = [needle for needle in needles if needle not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never showed {missing} within {timeout:.0f} s")
            time.sleep(0.3)

    def screenshot(self, path: str | Path) -> Path:
        """A PNG of the visible window."""
        data = self._call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)


@contextlib.contextmanager
def headless_page(width: int = 1400, height: int = 900, browser: str | None = None) -> Iterator[Page]:
    """A tab of a fresh headless Chromium (its own temporary profile), closed on leaving the block."""
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("no chromium on PATH; install it (Debian: apt-get install chromium)")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def connect_pipes() -> None:  # in the child: the protocol's fds 3 and 4 (copies first: either may be 3 or 4)
        reading, writing = os.dup(to_browser_r), os.dup(from_browser_w)
        os.dup2(reading, 3)
        os.dup2(writing, 4)

    # Its helper processes may still be writing the profile as the browser exits.
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                browser,
                "--headless=new",
                "--no-sandbox",  # root in containers and CI has no user namespace for the sandbox
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(3, 4),  # kept open in the child after connect_pipes
            preexec_fn=connect_pipes,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        page = None
        try:
            page = Page(to_browser_w, from_browser_r, width, height)
            yield page
        finally:
            if page is not None:
                page.close_browser()
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)
