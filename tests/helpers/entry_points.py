"""The command lines run as a user runs them: in a subprocess (bounded in time and memory) or in
this process, and the one-line refusal they must end in."""

from __future__ import annotations

import io
import logging
import os
import resource
import subprocess
import sys

from helpers.paths import PROJECT_ROOT

# Opening run folders someone hands you: the entry points in subprocesses, bounded in time and memory.
CLI_MEMORY_LIMIT = 8 << 30  # address space: torch and transformers imported take about 3 GiB of it


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_LIMIT, CLI_MEMORY_LIMIT))


def run_entry_point(*args, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python <script> <args>`` from the project root, offline, under ``CLI_MEMORY_LIMIT``."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )


def run_in_process(monkeypatch, capsys, script: str, *args, stdin: str = "") -> subprocess.CompletedProcess:
    """``python <script> <args>`` run in this process (the entry point's own function, errors
    through ``run_cli``): seconds faster than a subprocess, for what ends before any training.
    The logging handlers a Hydra job installs on the root logger write to this test's captured
    streams: they are closed and removed afterwards, or later tests' log lines would hit a closed file."""
    from loralab import console_scripts

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return _run_in_process(console_scripts, monkeypatch, capsys, script, *args, stdin=stdin)
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def _run_in_process(
    console_scripts, monkeypatch, capsys, script: str, *args, stdin: str
) -> subprocess.CompletedProcess:
    entry_points = {
        "train.py": console_scripts.train,
        "eval.py": console_scripts.evaluate,
        "predict.py": console_scripts.predict,
        "export.py": console_scripts.export,
    }
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        entry_points[script]()
        code = 0
    except SystemExit as stopped:
        code = stopped.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess([script, *args], code, captured.out, captured.err)


def assert_refused(result: subprocess.CompletedProcess, *names: str) -> None:
    """Exit 1 with one line ``error: ...`` naming each of ``names``, no traceback (log lines of the
    run before it, ``INFO: ...``, may come first)."""
    assert result.returncode == 1, (result.returncode, result.stdout[-1000:], result.stderr[-2000:])
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(("INFO: ", "WARNING: "))]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
