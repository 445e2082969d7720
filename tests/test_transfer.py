"""The transfer recipe end to end on tiny data: AG News pretraining, IMDb LoRA, adapter files,
reloading, eval.py and predict.py."""

import json
import subprocess
import sys

import pytest
import torch
from helpers.messages import naming
from helpers.paths import PROJECT_ROOT
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, tiny_run_overrides
from safetensors.torch import load_file, save_file

from loralab.data import PadCollator
from loralab.files.safe_paths import RunFolderError
from loralab.lora import apply_lora, merge_and_unload
from loralab.models import TextClassifier
from loralab.runs.lora_adapter import load_adapter, save_adapter
from loralab.runs.open_run import open_run
from loralab.settings import LoraSettings
from loralab.training.experiment import train

pytestmark = pytest.mark.xdist_group("transfer_runs")  # one worker builds the module's runs

CONFIG_DIR = PROJECT_ROOT / "conf"


@pytest.fixture(scope="module")
def transfer_runs(tmp_path_factory):
    """One AG News pretraining run and one IMDb LoRA run on it, shared by the tests below."""
    root = tmp_path_factory.mktemp("transfer")
    data_dir = write_tiny_data(root / "data")
    common = tiny_run_overrides(data_dir) + [f"paths.cache_dir={root / 'cache'}"]
    pretrain = root / "pretrain"
    imdb_words = f"model.tokenizer.vocab_corpora=[{{name:imdb,data_dir:'{data_dir}'}}]"
    train(compose_train_config(pretrain, common + ["experiment=agnews_pretrain", imdb_words]))
    lora = root / "lora"
    metrics = train(compose_train_config(lora, common + ["experiment=imdb_lora", f"model.pretrained={pretrain}"]))
    return {"pretrain": pretrain, "lora": lora, "metrics": metrics, "common": common}


def test_pretraining_saves_the_whole_model_and_a_vocabulary_with_imdb_words(transfer_runs):
    pretrain = transfer_runs["pretrain"]
    assert set(load_file(pretrain / "model.safetensors")) == {
        "embedding.weight",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    }
    vocab = json.loads((pretrain / "vocab.json").read_text())["model"]["vocab"]
    assert "election" in vocab and "wonderful" in vocab  # vocab_corpora brought IMDb's words in


def test_lora_run_saves_only_the_trained_tensors(transfer_runs):
    lora, metrics = transfer_runs["lora"], transfer_runs["metrics"]
    tensors = load_file(lora / "adapter" / "adapter_model.safetensors")
    assert set(tensors) == {"fc1.lora_A", "fc1.lora_B", "fc2.weight", "fc2.bias"}
    assert tensors["fc2.weight"].shape == (2, 8)  # the new 2-class head
    assert metrics["trainable_params"] == (16 * 2 + 2 * 8) + (8 * 2 + 2)
    assert metrics["adapter_bytes"] == (lora / "adapter" / "adapter_model.safetensors").stat().st_size
    config = json.loads((lora / "adapter" / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["target_modules"], config["modules_to_save"]) == (
        2,
        1.0,
        ["fc1"],
        ["fc2"],
    )
    assert config["base_model"]["path"] == "../pretrain/model.safetensors"  # relative to the run folder
    assert len(config["base_model"]["sha256"]) == 64 and config["vocab_file"]["path"].endswith("vocab.json")
    assert not (lora / "model.safetensors").exists()


def test_eval_of_the_reloaded_run_reproduces_its_test_metrics(transfer_runs):
    from loralab.tools.evaluation import evaluate_run

    metrics = evaluate_run(
        transfer_runs["lora"], CONFIG_DIR, [f"paths.cache_dir={transfer_runs['lora'].parent / 'cache'}"]
    )
    assert metrics["test/acc"] == pytest.approx(transfer_runs["metrics"]["test/acc"], abs=1e-6)
    assert metrics["examples"] == 100
    assert (transfer_runs["lora"] / "eval" / "imdb_test.json").is_file()


def test_merged_run_model_is_a_plain_text_classifier_with_the_same_logits(transfer_runs):
    run = open_run(transfer_runs["lora"])
    net, tokenizer = run.net, run.tokenizer
    batch = PadCollator(0)(
        [(torch.tensor(ids), torch.tensor(0)) for ids in tokenizer.encode(["great film", "dull plot and awful actors"])]
    )
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    before = net(**inputs)
    merged = merge_and_unload(net)
    assert type(merged.fc1) is torch.nn.Linear
    torch.testing.assert_close(merged(**inputs), before, atol=1e-6, rtol=0)


def test_adapter_on_another_base_is_refused(transfer_runs, tmp_path):
    lora = tmp_path / "lora"
    subprocess.run(["cp", "-r", str(transfer_runs["lora"]), str(lora)], check=True)
    other_base = tmp_path / "other.safetensors"
    state = load_file(transfer_runs["pretrain"] / "model.safetensors")
    state["fc1.bias"] = state["fc1.bias"] + 1
    save_file(state, str(other_base))
    with pytest.raises(RunFolderError, match=naming("other.safetensors", "sha256", "model.pretrained=")):
        open_run(lora, base=other_base)


def test_adapter_save_load_round_trip_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    base = TextClassifier(vocab_size=40, num_classes=2, embed_dim=12, hidden_dim=6)
    save_file(base.state_dict(), str(tmp_path / "base.safetensors"))
    (tmp_path / "vocab.json").write_text("{}")
    lora = LoraSettings(target_modules=["fc1", "embedding"], rank=2, alpha=4, modules_to_save=["fc2"])

    def fresh():
        model = TextClassifier(vocab_size=40, num_classes=2, embed_dim=12, hidden_dim=6)
        model.load_state_dict(load_file(tmp_path / "base.safetensors"))
        return apply_lora(model, lora)

    trained = fresh()
    with torch.no_grad():
        for param in trained.parameters():
            if param.requires_grad:
                param.normal_(std=0.1)
    save_adapter(trained, tmp_path / "adapter", lora, tmp_path / "base.safetensors", tmp_path / "vocab.json")
    saved = set(load_file(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert saved == {"embedding.lora_A", "embedding.lora_B", "fc1.lora_A", "fc1.lora_B", "fc2.weight", "fc2.bias"}
    reloaded = fresh()
    load_adapter(reloaded, tmp_path / "adapter")
    ids = torch.randint(1, 40, (3, 5))
    torch.testing.assert_close(reloaded(ids, torch.ones_like(ids)), trained(ids, torch.ones_like(ids)), atol=0, rtol=0)


def test_missing_pretrained_run_prints_the_command_to_create_it(tiny_data_dir, tmp_path):
    overrides = tiny_run_overrides(tiny_data_dir) + ["experiment=imdb_lora", f"model.pretrained={tmp_path / 'nope'}"]
    with pytest.raises(FileNotFoundError, match="python train.py experiment=agnews_pretrain"):
        train(compose_train_config(tmp_path / "run", overrides))


def test_pretrained_with_another_vocabulary_is_refused(transfer_runs, tmp_path):
    overrides = transfer_runs["common"] + [
        "experiment=imdb_lora",
        f"model.pretrained={transfer_runs['pretrain']}",
        "model.tokenizer.vocab_path=null",  # learn IMDb's own vocabulary instead
    ]
    with pytest.raises(ValueError, match=naming("model.tokenizer.vocab_path")):
        train(compose_train_config(tmp_path / "run", overrides))


def test_pretrained_of_another_architecture_is_refused(transfer_runs, tmp_path):
    checkpoint = tmp_path / "other.safetensors"
    save_file({"encoder.weight": torch.zeros(2, 2)}, str(checkpoint))
    overrides = transfer_runs["common"] + [
        "experiment=imdb_lora",
        f"model.pretrained={checkpoint}",
        f"model.tokenizer.vocab_path={transfer_runs['pretrain']}",
    ]
    with pytest.raises(ValueError, match=naming(checkpoint)):
        train(compose_train_config(tmp_path / "run", overrides))


def test_corrupt_checkpoint_is_named(transfer_runs, tmp_path):
    checkpoint = tmp_path / "broken.ckpt"
    checkpoint.write_bytes(b"\x00garbage")
    overrides = transfer_runs["common"] + [
        "experiment=imdb_lora",
        f"model.pretrained={checkpoint}",
        f"model.tokenizer.vocab_path={transfer_runs['pretrain']}",
    ]
    with pytest.raises(ValueError, match=naming(checkpoint)):
        train(compose_train_config(tmp_path / "run", overrides))


@pytest.mark.integration
def test_eval_and_predict_command_lines(transfer_runs):
    lora = str(transfer_runs["lora"])
    cache = f"paths.cache_dir={transfer_runs['lora'].parent / 'cache'}"
    evaluated = subprocess.run(
        [sys.executable, "eval.py", lora, "split=val", cache],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout)["split"] == "val"

    # The full model of the pretraining run names AG News topics...
    predicted = subprocess.run(
        [
            sys.executable,
            "predict.py",
            str(transfer_runs["pretrain"]),
            "The minister lost the election.",
            "A late goal won the match.",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    lines = predicted.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["World", "Sports"]
    assert all(0.25 <= float(line.split("\t")[1]) <= 1.0 for line in lines)
    assert lines[0].endswith("The minister lost the election.")

    # ...and the LoRA run (base + adapter) the IMDb labels, for texts on stdin.
    from_stdin = subprocess.run(
        [sys.executable, "predict.py", lora],
        input="great superb\nawful waste\n",
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert from_stdin.returncode == 0, from_stdin.stderr[-2000:]
    assert {line.split("\t")[0] for line in from_stdin.stdout.strip().splitlines()} <= {"positive", "negative"}
    assert len(from_stdin.stdout.strip().splitlines()) == 2

    missing = subprocess.run(
        [sys.executable, "predict.py", lora + "_typo", "x"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


def test_exported_merged_model_serves_as_a_pretrained_run(transfer_runs, tmp_path):
    from loralab.models.pretrained import read_text_classifier_weights
    from loralab.tools.merged_export import export_merged

    out = export_merged(transfer_runs["lora"], tmp_path / "merged")
    _, state = read_text_classifier_weights(out)
    assert state["fc2.weight"].shape == (2, 8) and (out / "vocab.json").is_file()


@pytest.mark.integration
def test_export_py_says_what_it_wrote(transfer_runs, tmp_path):
    out = tmp_path / "merged_cli"
    result = subprocess.run(
        [sys.executable, "export.py", str(transfer_runs["lora"]), str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    model_kib = (out / "model.safetensors").stat().st_size / 1024
    assert lines[0] == f"merged model written to {out}:"
    assert lines[1] == f"  model.safetensors  {model_kib:.1f} KiB" and lines[2].startswith("  vocab.json  ")
    assert lines[3] == f"use it as a base: python train.py +model.pretrained={out}"
