"""A run killed with SIGKILL mid-epoch and resumed in its own folder ends with the metrics of an
uninterrupted run (a full one, a LoRA one and a PEFT one, whose checkpoints hold only what trains);
bad resume requests, a checkpoint of another base and a NaN loss stop with a clear error."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from helpers.messages import naming
from helpers.paths import PROJECT_ROOT
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import sentiment_rows, write_parquet
from helpers.train_configs import compose_train_config, quiet_run_overrides, tiny_run_overrides

from loralab.callbacks.finite_loss import NonFiniteLossError
from loralab.runs.resume import resume_arguments
from loralab.training.classification_module import TextClassificationModule
from loralab.training.experiment import train
from loralab.training.frozen_base import FROZEN_BASE_KEY

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = pytest.mark.integration

# One torch thread: on a busy machine two threads spin-waiting on each other made a tiny DistilBERT's
# step 35 times slower (2.3 s against 0.065 s, 2-core CPU under load 12); every run of a test the same.
_ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "train.py", *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


# train.py, killed with SIGKILL at the fourth batch of its second epoch (epoch 1): after the first
# epoch's checkpoints, at the same point whatever the machine's speed.
_KILLED_IN_EPOCH_1 = """
import os, runpy, signal, sys
from loralab.training.classification_module import TextClassificationModule
training_step = TextClassificationModule.training_step
def killed_in_epoch_1(self, batch, batch_idx):
    if self.current_epoch == 1 and batch_idx == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return training_step(self, batch, batch_idx)
TextClassificationModule.training_step = killed_in_epoch_1
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
"""


def _run_killed_in_epoch_1(args):
    return subprocess.Popen(
        [sys.executable, "-c", _KILLED_IN_EPOCH_1, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_ONE_THREAD,
    )


def _small_data(tmp_path):
    data_dir = tmp_path / "data"
    write_parquet(data_dir / "imdb" / "train.parquet", sentiment_rows(400, seed=1))
    write_parquet(data_dir / "imdb" / "test.parquet", sentiment_rows(100, seed=2))
    return data_dir


def _full_overrides(tmp_path):
    return tiny_run_overrides(_small_data(tmp_path)) + ["optim.optimizer.lr=0.003"]


def _lora_overrides(tmp_path):
    return _full_overrides(tmp_path) + ["model=lora_textclassifier", "model.lora.rank=4"]


def _peft_overrides(tmp_path):
    """PEFT LoRA on a tiny DistilBERT, whose dropout reads the global RNG."""
    backbone = save_tiny_distilbert(tmp_path / "tiny_distilbert")
    return quiet_run_overrides(_small_data(tmp_path)) + [
        "model=lora_distilbert",
        f"model.backbone={backbone}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "model.lora.rank=4",
        "optim.optimizer.lr=0.003",
    ]


def _is_frozen(key: str, model: str) -> bool:
    """A key of the frozen base: every TextClassifier weight but LoRA's and the head (fc2); every
    DistilBERT weight but LoRA's and PEFT's trained copy of the head."""
    if model == "full" or "lora_" in key or key.startswith("val_acc_best"):
        return False
    return not key.startswith("net.fc2.") if model == "lora" else ".modules_to_save." not in key


@pytest.mark.parametrize(
    ("model", "overrides"), [("full", _full_overrides), ("lora", _lora_overrides), ("peft", _peft_overrides)]
)
def test_a_killed_run_resumes_in_its_folder_with_the_same_final_metrics(model, overrides, tmp_path):
    overrides = overrides(tmp_path) + ["data.batch_size=4", "trainer.max_epochs=2"]
    whole_dir, killed_dir = tmp_path / "whole", tmp_path / "killed"
    whole = _run([*overrides, f"hydra.run.dir={whole_dir}"], env=_ONE_THREAD)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()[-2000:]

    killed = _run_killed_in_epoch_1([*overrides, f"hydra.run.dir={killed_dir}"])
    assert killed.wait(timeout=300) == -signal.SIGKILL, killed.stderr.read()[-2000:]
    assert not (killed_dir / "metrics.json").exists()
    last = killed_dir / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["epoch"] == 0  # it really stopped before the end
    # A LoRA checkpoint holds what trains and the frozen base's record; a full one holds everything.
    assert not [key for key in checkpoint["state_dict"] if _is_frozen(key, model)]
    assert (FROZEN_BASE_KEY in checkpoint) == (model != "full")
    if model == "full":
        assert "net.embedding.weight" in checkpoint["state_dict"]

    # Where a run writes is never replayed from its folder: the cache is given again.
    cache = [o for o in overrides if o.startswith("paths.cache_dir=")]
    resumed = _run([f"resume={killed_dir}", *cache], env=_ONE_THREAD)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    expected = json.loads((whole_dir / "metrics.json").read_text())
    got = json.loads((killed_dir / "metrics.json").read_text())
    # The last epoch's losses as well as the best checkpoint's test metrics (often the first epoch's):
    # a resumed epoch with other dropout masks would change them.
    for key in ("val/acc_best", "val/loss", "train/loss_epoch", "test/acc", "test/loss", "epochs"):
        assert got[key] == expected[key], key
    assert (killed_dir / "curves.png").is_file()


def test_a_lora_checkpoint_of_another_base_is_refused_with_both_hashes(tiny_data_dir, tmp_path):
    """A LoRA TextClassifier's frozen base comes from its seed: another seed is another base."""
    lora = tiny_run_overrides(tiny_data_dir) + ["model=lora_textclassifier", "trainer.max_epochs=1"]
    train(compose_train_config(tmp_path / "first", lora + ["seed=1"]))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    trained_on = torch.load(last, weights_only=True)[FROZEN_BASE_KEY]["sha256"]
    cfg = compose_train_config(tmp_path / "second", lora + ["seed=2", "trainer.max_epochs=2", f"ckpt_path={last}"])
    with pytest.raises(ValueError, match=naming(trained_on, "sha256")):
        train(cfg)
    assert not (tmp_path / "second" / "metrics.json").exists()


def test_resume_needs_a_run_folder_with_a_last_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=naming(f"resume={tmp_path}", "overrides.yaml")):
        resume_arguments([f"resume={tmp_path}"])
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- data=ag_news\n- trainer.max_epochs=2\n")
    with pytest.raises(FileNotFoundError, match=naming(f"resume={tmp_path}", "last.ckpt")):
        resume_arguments([f"resume={tmp_path}"])
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert resume_arguments([f"resume={tmp_path}", "trainer.max_epochs=5"]) == [
        "data=ag_news",
        "trainer.max_epochs=5",
        f"hydra.run.dir={tmp_path}",
        f"ckpt_path={tmp_path}/checkpoints/last.ckpt",
    ]


def test_a_damaged_checkpoint_is_refused_before_training(tiny_data_dir, tmp_path):
    damaged = tmp_path / "last.ckpt"
    damaged.write_bytes(b"PK\x03\x04 not really a checkpoint")
    cfg = compose_train_config(tmp_path / "run", tiny_run_overrides(tiny_data_dir) + [f"ckpt_path={damaged}"])
    with pytest.raises(ValueError, match=naming(f"ckpt_path={damaged}")):
        train(cfg)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_data_dir, tmp_path, monkeypatch):
    real_step = TextClassificationModule.training_step

    def step_that_diverges(self, batch, batch_idx):
        loss = real_step(self, batch, batch_idx)
        return (
            loss * float("nan") if self.trainer.global_step >= 15 else loss
        )  # 12 steps per epoch: the 16th step is batch 3 of epoch 1

    monkeypatch.setattr(TextClassificationModule, "training_step", step_that_diverges)
    run_dir = tmp_path / "run"
    cfg = compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["trainer.max_epochs=3"])
    with pytest.raises(NonFiniteLossError, match=naming("nan", "step 16", "epoch 1", "last.ckpt")):
        train(cfg)
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 0 and all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())
    assert not (run_dir / "metrics.json").exists()


def test_a_nan_loss_checked_every_few_steps_is_still_caught_before_the_next_checkpoint(
    tiny_data_dir, tmp_path, monkeypatch
):
    """The GPU mode (a device-side flag read every N steps): one bad step between two checks is
    remembered, and the epoch-end check stops the run before its checkpoint is written."""
    real_step = TextClassificationModule.training_step

    def one_bad_step(self, batch, batch_idx):
        loss = real_step(self, batch, batch_idx)
        return (
            loss * float("inf") if self.trainer.global_step == 14 else loss
        )  # step 15 only; later losses are finite again

    monkeypatch.setattr(TextClassificationModule, "training_step", one_bad_step)
    run_dir = tmp_path / "run"
    overrides = tiny_run_overrides(tiny_data_dir) + [
        "trainer.max_epochs=3",
        "callbacks.stop_on_non_finite_loss.check_every_n_steps=100",
    ]
    with pytest.raises(
        NonFiniteLossError,
        match=naming("step 13", "step 24", "last.ckpt"),
    ):
        train(compose_train_config(run_dir, overrides))
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0


def test_checkpoints_are_written_atomically(tiny_data_dir, tmp_path):
    from loralab.plugins.atomic_checkpoints import AtomicCheckpointIO

    path = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 1}, path)
    with pytest.raises(Exception):  # noqa: B017  a kill or a failure midway through the write
        AtomicCheckpointIO().save_checkpoint({"epoch": 2, "unpicklable": lambda: None}, path)
    assert torch.load(path, weights_only=True) == {"epoch": 1} and [p.name for p in path.parent.iterdir()] == [
        "last.ckpt"
    ]
    run_dir = tmp_path / "run"
    cfg = compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir))
    train(cfg)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_001.ckpt", "last.ckpt"]
