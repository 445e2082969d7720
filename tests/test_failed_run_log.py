"""A run that fails ends in one ``error:`` line on the terminal, and its folder's ``train.log`` says
it failed and why, so outputs/ tells a failed run from a running one."""

import pytest
import torch
from helpers.messages import assert_names
from helpers.train_configs import tiny_run_overrides
from test_sweep_summary import run_train

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = pytest.mark.integration


def _only_error_line(result) -> str:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    (line,) = [line for line in (result.stdout + result.stderr).splitlines() if "error:" in line or "failed" in line]
    return line


def _train_log(run_dir) -> str:
    return (run_dir / "train.log").read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
def test_trainer_gpu_without_a_gpu_is_one_line_and_logged(tmp_path):
    run_dir = tmp_path / "run"
    result = run_train(
        ["trainer=gpu", f"paths.data_dir={tmp_path / 'no_data_here'}", f"hydra.run.dir={run_dir}"], tmp_path
    )
    line = _only_error_line(result)
    assert line.startswith("error: ")
    assert_names(line, "trainer.accelerator=gpu", "trainer=gpu")
    assert line.endswith(f"install a CUDA build of torch (this is {torch.__version__})")
    assert f"[ERROR] - run failed: {line.removeprefix('error: ')}" in _train_log(run_dir)


def test_a_run_that_fails_before_training_says_why_in_its_train_log(tmp_path):
    run_dir = tmp_path / "run"
    missing = tmp_path / "missing.csv"
    result = run_train([*tiny_run_overrides(tmp_path), f"data.path={missing}", f"hydra.run.dir={run_dir}"], tmp_path)
    line = _only_error_line(result)  # once on the terminal, not also as a log record
    assert line.startswith("error: ") and str(missing) in line
    log = _train_log(run_dir).strip().splitlines()
    assert log[-1].endswith(f"[loralab.cli_errors][ERROR] - run failed: {line.removeprefix('error: ')}")
    assert not (run_dir / "metrics.json").exists()
