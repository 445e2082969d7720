"""The real entry point on tiny data: composed config in-process, and ``train.py`` as a subprocess."""

import json
import subprocess
import sys

import pytest
import torch
from helpers.messages import naming
from helpers.paths import PROJECT_ROOT
from helpers.tiny_data import assert_learned
from helpers.train_configs import compose_train_config, tiny_run_overrides
from hydra.utils import instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from loralab.training.components import build_datamodule, build_module, build_trainer
from loralab.training.experiment import train

REQUIRED_METRICS = {
    "val/acc_best",
    "test/acc",
    "test/loss",
    "trainable_params",
    "total_params",
    "train_seconds",
    "epochs",
}


def test_textclassifier_run_writes_metrics_vocab_checkpoints_and_tensorboard(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    metrics = train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir)))
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert set(saved) >= REQUIRED_METRICS and saved == metrics
    assert saved["epochs"] == 2 and saved["trainable_params"] == saved["total_params"]
    assert saved["test/acc"] > 0.9  # the synthetic reviews are easy
    assert (run_dir / "vocab.json").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"train/loss_step", "val/acc", "val/acc_best", "test/acc"} <= set(events.Tags()["scalars"])
    assert sorted(events.Tags()["images"]) == ["curves/loss_and_accuracy", "test/confusion_matrix"]
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_run_info_records_code_packages_and_data(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["data.max_test_samples=50"]))
    info = json.loads((run_dir / "run_info.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
    assert info["git"]["commit"] == head
    assert info["packages"]["torch"] and info["packages"]["lightning"]
    splits = info["data"]["splits"]
    assert {name: split["rows"] for name, split in splits.items()} == {"train": 190, "val": 10, "test": 50}
    assert len(splits["train"]["sha256"]) == 64 and str(tiny_data_dir) in info["data"]["source"]


def test_lora_run_trains_only_the_adapter_and_head(tiny_data_dir, tmp_path):
    overrides = tiny_run_overrides(tiny_data_dir) + [
        "model=lora_textclassifier",
        "model.net.hidden_dim=128",
        "model.net.embed_dim=100",
    ]
    metrics = train(compose_train_config(tmp_path / "run", overrides))
    assert metrics["trainable_params"] == (100 * 2 + 2 * 128) + (128 * 2 + 2)
    assert metrics["trainable_params"] < metrics["total_params"]


def test_reusing_a_vocabulary_gives_the_same_model_size(tiny_data_dir, tmp_path):
    first = train(compose_train_config(tmp_path / "first", tiny_run_overrides(tiny_data_dir)))
    overrides = tiny_run_overrides(tiny_data_dir) + [
        f"model.tokenizer.vocab_path={tmp_path / 'first' / 'vocab.json'}",
        "model.tokenizer.min_frequency=5",  # ignored: the saved vocabulary wins
        "trainer.max_epochs=1",
    ]
    second = train(compose_train_config(tmp_path / "second", overrides))
    assert second["total_params"] == first["total_params"]


@pytest.mark.parametrize("optim", ["adamw", "lab_sgd"])
def test_optimizer_presets_train(tiny_data_dir, tmp_path, optim):
    overrides = tiny_run_overrides(tiny_data_dir) + [f"optim={optim}", "trainer.max_epochs=1"]
    if optim == "lab_sgd":
        overrides.remove("optim.optimizer.lr=0.03")
    metrics = train(compose_train_config(tmp_path / "run", overrides))
    assert metrics["epochs"] == 1
    # The lab's SGD takes a dozen steps in this epoch: it learns less than AdamW, but more than a blind guess.
    assert_learned(metrics, margin=0.03 if optim == "adamw" else 0.01)


@pytest.mark.parametrize("optim", ["adamw", "adamw_warmup"])
def test_adamw_presets_are_fused_and_step_as_the_unfused_loop(tmp_path, optim):
    """Fused AdamW is the presets' default for speed (2x faster steps on CPU); it must not change
    what a step does."""
    factory = instantiate(compose_train_config(tmp_path, [f"optim={optim}"]).optim.optimizer)
    torch.manual_seed(0)
    start, gradients = torch.randn(5, 3), [torch.randn(5, 3) for _ in range(3)]
    weights = {}
    for fused in (True, False):
        weight = torch.nn.Parameter(start.clone())
        optimizer = factory([weight]) if fused else factory([weight], fused=False)
        assert optimizer.defaults["fused"] is fused
        for gradient in gradients:
            weight.grad = gradient.clone()
            optimizer.step()
        weights[fused] = weight.detach()
    torch.testing.assert_close(weights[True], weights[False])


@pytest.mark.parametrize("clip", ["null", "1.0"])
def test_clipping_under_mixed_precision_steps_adamw_unfused(tiny_data_dir, tmp_path, clip):
    """Lightning refuses to clip under mixed precision with an optimizer that unscales its own
    gradients, as fused AdamW does: with clipping on, the preset must step unfused instead."""
    overrides = tiny_run_overrides(tiny_data_dir) + [
        "trainer.precision=bf16-mixed",
        f"trainer.gradient_clip_val={clip}",
        "++trainer.max_steps=2",
    ]
    cfg = compose_train_config(tmp_path / "run", overrides)
    datamodule = build_datamodule(cfg)
    trainer = build_trainer(cfg)
    trainer.fit(build_module(cfg, datamodule), datamodule=datamodule)
    assert trainer.global_step == 2
    assert trainer.optimizers[0].defaults["fused"] is (clip == "null")


@pytest.mark.integration
def test_train_py_entry_point(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "cli_run"
    overrides = tiny_run_overrides(tiny_data_dir) + ["data=ag_news", "data.name=imdb", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(
        [sys.executable, "train.py", *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["total_params"] > 0 and (run_dir / ".hydra" / "config.yaml").is_file()
    # the run ends saying where it is, how it did and how to see its curves
    report = (result.stdout + result.stderr).split(f"run folder: {run_dir}\n", 1)[1].splitlines()[:4]
    assert report == [
        f"  val/acc_best {metrics['val/acc_best']:.4f}, test/acc {metrics['test/acc']:.4f}",
        f"  trainable parameters: {metrics['trainable_params']:,} of {metrics['total_params']:,} (100.00%)",
        f"  model size: {metrics['model_bytes'] / 1024:.1f} KiB",
        f"  curves: tensorboard --logdir {run_dir}",
    ]


def test_a_required_key_left_unset_is_named(tiny_data_dir, tmp_path):
    overrides = tiny_run_overrides(tiny_data_dir) + ["experiment=imdb_lora"]
    with pytest.raises(ValueError, match=naming("model.pretrained=<value>")):
        train(compose_train_config(tmp_path / "run", overrides))


@pytest.mark.integration
def test_an_output_folder_that_cannot_be_written_is_refused_in_one_line(tiny_data_dir, tmp_path):
    from loralab.callbacks.output_check import unwritable_reason

    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    overrides = tiny_run_overrides(tiny_data_dir) + [f"hydra.run.dir={blocker}/run"]
    result = subprocess.run(
        [sys.executable, "train.py", *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot write the output folder {blocker}/run: {blocker} is a file, not a folder; set hydra.run.dir=<a writable folder>"
    )
    assert blocker.read_text() == "keep me"
    assert unwritable_reason(tmp_path / "new" / "deeper") is None  # a folder that can be made is fine
