"""A TensorBoard server on a free local port, for reading a run's or a sweep's logs from code."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def get_json(url: str, body: dict | None = None):
    """GET ``url`` (POST ``body`` as JSON when given, as TensorBoard's HPARAMS plugin wants) and parse the reply."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def tensorboard_server(logdir: str | Path, min_runs: int = 1, timeout: float = 90) -> Iterator[str]:
    """Serve ``logdir`` on 127.0.0.1 and yield its URL once TensorBoard lists ``min_runs`` runs
    (it loads event files in the background); the server stops on leaving the block."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        runs: list[str] = []
        while len(runs) < min_runs:
            if time.time() > deadline:
                raise TimeoutError(
                    f"TensorBoard on {logdir} listed {len(runs)} runs, not {min_runs}, within {timeout:.0f} s"
                )
            with contextlib.suppress(OSError):
                runs = get_json(f"{url}/data/runs")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
