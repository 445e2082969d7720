"""Opening a run folder someone hands you: hostile folders are refused in one line naming the file
and key, and nothing they name runs (no marker file appears); moved runs give the same outputs."""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from helpers.entry_points import assert_refused, run_entry_point, run_in_process
from helpers.paths import PROJECT_ROOT
from helpers.run_folders import copy_run, edit_json
from helpers.train_configs import compose_train_config, quiet_run_overrides
from safetensors.torch import load_file

from loralab.tools.evaluation import evaluate_run
from loralab.tools.merged_export import export_merged
from loralab.tools.prediction import predict_texts
from loralab.training.experiment import train

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("run_folders")]  # one worker builds the shared runs

CONFIG_DIR = PROJECT_ROOT / "conf"
TEXTS = ["great superb film", "awful waste of a plot", "the actors and the story"]


@pytest.fixture
def runs(finished_runs):
    return finished_runs


def _hostile_target(marker: Path) -> dict:
    return {"_target_": "builtins.open", "file": str(marker), "mode": "w"}


def _entry_point(kind: str, run: Path, tmp_path: Path, cache: str = "") -> list:
    return {
        "eval": ["eval.py", run, *([cache] if cache else [])],
        "predict": ["predict.py", run, "a text"],
        "export": ["export.py", run, tmp_path / "exported"],
    }[kind]


# What a hostile run_config.json may try, and what the refusal must name.
def _target_in_net(run, marker):
    edit_json(run / "run_config.json", lambda c: c["net"].update(_hostile_target(marker)))
    return ["run_config.json", "net._target_"]


def _target_as_family(run, marker):
    edit_json(run / "run_config.json", lambda c: c.update(family="builtins.open"))
    return ["run_config.json", "family", "builtins.open"]


def _target_in_data(run, marker):
    edit_json(run / "run_config.json", lambda c: c["data"].update(tokenizer=_hostile_target(marker)))
    return ["run_config.json", "data.tokenizer._target_"]


def _base_is_a_device(run, marker):
    depth = len(run.resolve().parts) - 1
    edit_json(run / "run_config.json", lambda c: c["base"].update(path="../" * depth + "dev/zero"))
    return ["/dev/zero", "device"]


def _vocabulary_links_out(run, marker):
    (run / "vocab.json").unlink()
    (run / "vocab.json").symlink_to(marker.parent / "elsewhere.json")
    (marker.parent / "elsewhere.json").write_text("{}")
    return ["vocab.json", "leads out of the run folder"]


def _base_is_a_fifo(run, marker):
    (run / "base_model.safetensors").unlink()
    os.mkfifo(run / "base_model.safetensors")
    return ["base_model.safetensors", "fifo"]


def _data_is_a_fifo(run, marker):
    os.mkfifo(marker.parent / "data.csv")
    edit_json(run / "run_config.json", lambda c: c["data"].update(path=str(marker.parent / "data.csv")))
    return ["data.csv", "fifo"]


@pytest.mark.parametrize(
    ("entry", "make_hostile"),
    [
        ("eval", _target_in_net),
        ("predict", _target_in_net),
        ("export", _target_in_net),
        ("predict", _target_as_family),
        ("eval", _target_in_data),
        ("predict", _base_is_a_device),
        ("export", _vocabulary_links_out),
        ("eval", _base_is_a_fifo),
        ("eval", _data_is_a_fifo),
    ],
)
def test_a_hostile_run_config_is_refused_and_runs_nothing(runs, tmp_path, monkeypatch, capsys, entry, make_hostile):
    run = copy_run(runs["own_base"], tmp_path / "run")
    marker = tmp_path / "marker"
    names = make_hostile(run, marker)
    args = _entry_point(entry, run, tmp_path, runs["cache"])
    if "fifo" in names:  # what could hang runs in a subprocess, bounded in time
        assert_refused(run_entry_point(*args, timeout=120), *names)
    else:
        assert_refused(run_in_process(monkeypatch, capsys, *args), *names)
    assert not marker.exists()


@pytest.mark.parametrize("entry", ["predict", "export"])
def test_remote_code_in_a_transformer_run_is_refused(runs, tmp_path, monkeypatch, capsys, entry):
    run = copy_run(runs["peft"], tmp_path / "run")
    if entry == "predict":
        edit_json(run / "run_config.json", lambda c: c["tokenizer"].update(trust_remote_code=True))
        names = ["run_config.json", "tokenizer.trust_remote_code"]
    else:
        auto_map = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
        edit_json(run / "tokenizer" / "tokenizer_config.json", lambda c: c.update(auto_map=auto_map))
        names = ["tokenizer_config.json", "auto_map"]
    assert_refused(run_in_process(monkeypatch, capsys, *_entry_point(entry, run, tmp_path)), *names)


def test_hub_attention_kernels_are_refused(runs, tmp_path, monkeypatch, capsys):
    run = copy_run(runs["peft"], tmp_path / "run")
    edit_json(run / "run_config.json", lambda c: c["net"].update(attn_implementation="kernels-community/evil"))
    refused = run_in_process(monkeypatch, capsys, "predict.py", run, "a text")
    assert_refused(refused, "run_config.json", "net.attn_implementation")


def test_hydra_files_of_a_folder_are_never_read_by_predict(runs, tmp_path, monkeypatch, capsys):
    """``.hydra/`` is the run's provenance: eval, predict and export do not replay it."""
    run = copy_run(runs["own_base"], tmp_path / "run")
    marker = tmp_path / "marker"
    hostile = f"+callbacks.evil={{_target_:builtins.open,file:'{marker}',mode:w}}"
    (run / ".hydra" / "overrides.yaml").write_text(json.dumps([hostile, "+hydra.callbacks.evil._target_=x"]))
    predicted = run_in_process(monkeypatch, capsys, "predict.py", run, *TEXTS)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert len(predicted.stdout.strip().splitlines()) == 3 and not marker.exists()


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("+callbacks.evil={_target_:builtins.open,file:'MARKER',mode:w}", ["callbacks.evil", "_target_"]),
        ("+hydra.callbacks.evil={_target_:builtins.open,file:'MARKER',mode:w}", ["hydra.callbacks.evil"]),
        ("+hydra.job_logging.handlers.evil={class:logging.FileHandler,filename:'MARKER'}", ["hydra.job_logging"]),
        ("model.trust_remote_code=true", ["model.trust_remote_code"]),
        ("model=../../../../tmp/evil", ["model", "not a config of loralab's conf/"]),
        ("model.net.embed_dim=${oc.env:HOME}", ["model.net.embed_dim", "interpolation"]),
    ],
)
def test_resume_refuses_recorded_overrides_that_select_code(runs, tmp_path, monkeypatch, capsys, override, names):
    run = copy_run(runs["own_base"], tmp_path / "run")
    marker = tmp_path / "marker"
    recorded = (run / ".hydra" / "overrides.yaml").read_text()
    (run / ".hydra" / "overrides.yaml").write_text(
        recorded + f"- {json.dumps(override.replace('MARKER', str(marker)))}\n"
    )
    resumed = run_in_process(monkeypatch, capsys, "train.py", f"resume={run}", runs["cache"])
    assert_refused(resumed, ".hydra/overrides.yaml", *names)
    assert not marker.exists()


def _outputs(run: Path, out: Path, cache: str, base: Path | None = None) -> dict:
    """Predictions, test metrics and the exported merged tensors of ``run``."""
    extra = [f"model.pretrained={base}"] if base else []
    metrics = evaluate_run(run, CONFIG_DIR, [cache, *extra], force=True)  # a moved copy holds the earlier result
    exported = export_merged(run, out, base=base)
    weights = sorted(exported.glob("*.safetensors"))
    return {
        "predictions": predict_texts(run, TEXTS, base=base),
        "metrics": {k: v for k, v in metrics.items() if k.startswith("test/")},
        "exported": {k: v for w in weights for k, v in load_file(w).items()},
    }


def _assert_same(before: dict, after: dict) -> None:
    assert after["predictions"] == before["predictions"]
    assert after["metrics"] == before["metrics"]
    assert after["exported"].keys() == before["exported"].keys()
    for key, tensor in before["exported"].items():
        torch.testing.assert_close(after["exported"][key], tensor, atol=0, rtol=0)


@pytest.mark.parametrize("name", ["own_base", "peft"])
def test_a_moved_run_gives_the_same_outputs(runs, tmp_path, name):
    """Moved beside the original (same depth: a base outside is found by its relative path), then
    deeper (the base given as model.pretrained=); the original deleted each time."""
    original = copy_run(runs[name], runs["root"] / "runs" / f"{name}_to_move")
    before = _outputs(original, tmp_path / "before", runs["cache"])
    beside = runs["root"] / "moved" / name
    shutil.move(original, beside)
    _assert_same(before, _outputs(beside, tmp_path / "beside", runs["cache"]))
    deeper = tmp_path / "a" / "b" / name
    shutil.copytree(beside, deeper)
    shutil.rmtree(beside)
    base = runs["backbone"] if name == "peft" else None
    _assert_same(before, _outputs(deeper, tmp_path / "deeper", runs["cache"], base))
    predicted = run_entry_point("predict.py", deeper, *([f"model.pretrained={base}"] if base else []), *TEXTS)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert [line.split("\t")[0] for line in predicted.stdout.strip().splitlines()] == [
        label for label, _ in before["predictions"]
    ]


def test_a_run_moved_away_from_its_pretrained_base_finds_it_when_told(runs, tmp_path, monkeypatch, capsys):
    before = _outputs(runs["on_pretrain"], tmp_path / "before", runs["cache"])
    together = tmp_path / "together"
    copy_run(runs["pretrain"], together / "pretrain")
    moved = copy_run(runs["on_pretrain"], together / "on_pretrain")
    _assert_same(before, _outputs(moved, tmp_path / "together_out", runs["cache"]))  # the relative path holds
    alone = copy_run(moved, tmp_path / "x" / "y" / "alone")
    shutil.rmtree(together / "pretrain")
    missing = run_in_process(monkeypatch, capsys, "predict.py", alone, "a text")
    assert_refused(missing, "does not exist", "pass model.pretrained=")
    elsewhere = copy_run(runs["pretrain"], tmp_path / "elsewhere")
    _assert_same(before, _outputs(alone, tmp_path / "alone_out", runs["cache"], elsewhere))


def test_a_base_that_changed_is_refused_with_both_hashes(runs, tmp_path, monkeypatch, capsys):
    run = copy_run(runs["peft"], tmp_path / "run")
    other = copy_run(runs["backbone"], tmp_path / "other_backbone")
    edit_json(other / "config.json", lambda c: c.update(dropout=0.2))
    refused = run_in_process(monkeypatch, capsys, "predict.py", run, f"model.pretrained={other}", "a text")
    assert_refused(refused, "config.json has sha256", "run_config.json records")


def test_a_fully_fine_tuned_transformer_run_opens_with_its_test_metrics(runs, tmp_path):
    overrides = quiet_run_overrides(runs["root"] / "data") + [
        runs["cache"],
        "model=distilbert",
        f"model.backbone={runs['backbone']}",
        "trainer.max_epochs=1",
    ]
    metrics = train(compose_train_config(tmp_path / "full", overrides))
    described = json.loads((tmp_path / "full" / "run_config.json").read_text())
    assert described["family"] == "hf_classifier" and described["lora"] is None
    assert described["base"]["path"] == os.path.relpath(runs["backbone"], tmp_path / "full")
    evaluated = evaluate_run(tmp_path / "full", CONFIG_DIR, [runs["cache"]])
    assert evaluated["test/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)
