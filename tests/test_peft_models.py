"""PEFT LoRA on a tiny DistilBERT saved to disk: the real loading, training, saving and reloading path."""

import json
import time

import pytest
import torch
from helpers.messages import naming
from helpers.paths import PROJECT_ROOT
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, quiet_run_overrides
from omegaconf import OmegaConf
from safetensors.torch import load_file

from loralab.data import PadCollator, PretrainedTokenizer
from loralab.models import apply_peft_lora, build_hf_classifier
from loralab.runs.open_run import open_run
from loralab.settings import LoraSettings
from loralab.training.experiment import train
from loralab.training.model_builders import compiled

pytestmark = pytest.mark.xdist_group("peft_run")  # one worker builds the module's runs

CONFIG_DIR = PROJECT_ROOT / "conf"


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return save_tiny_distilbert(tmp_path_factory.mktemp("tiny_distilbert"))


@pytest.fixture(scope="module")
def peft_run(backbone, tmp_path_factory):
    root = tmp_path_factory.mktemp("peft_run")
    overrides = quiet_run_overrides(write_tiny_data(root / "data")) + [
        "model=lora_distilbert",
        f"model.backbone={backbone}",
        f"paths.cache_dir={root / 'cache'}",
        "model.lora.rank=4",
        "optim.optimizer.lr=3e-3",
        "trainer.max_epochs=3",
    ]
    run_dir = root / "run"
    return run_dir, train(compose_train_config(run_dir, overrides))


def _batch(tokenizer: PretrainedTokenizer, texts: list[str]) -> dict:
    batch = PadCollator(tokenizer.pad_id)([(torch.tensor(ids), torch.tensor(0)) for ids in tokenizer.encode(texts)])
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def test_tokenizer_from_folder_knows_the_words(backbone):
    tokenizer = PretrainedTokenizer(str(backbone))
    ids = tokenizer.encode(["The movie was great!"])[0]
    unk = tokenizer.tokenizer.unk_token_id
    assert ids[0] == tokenizer.tokenizer.cls_token_id and ids[-1] == tokenizer.tokenizer.sep_token_id
    assert unk not in ids and len(ids) == 7


def test_truncation_keeps_the_closing_special_token(backbone):
    tokenizer = PretrainedTokenizer(str(backbone), max_length=4)
    ids = tokenizer.encode(["the movie was great and the plot was superb"])[0]
    assert len(ids) == 4 and ids[-1] == tokenizer.tokenizer.sep_token_id


def test_trainable_count_is_the_lora_formula_plus_the_head(backbone):
    model = apply_peft_lora(
        build_hf_classifier(str(backbone), 2),
        LoraSettings(
            target_modules=["q_lin", "v_lin"], rank=4, alpha=8, modules_to_save=["pre_classifier", "classifier"]
        ),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lora = 2 * 2 * 4 * (32 + 32)  # layers x targets x r x (in + out)
    head = (32 * 32 + 32) + (32 * 2 + 2)  # pre_classifier + classifier
    assert trainable == lora + head


def test_unknown_target_lists_the_linear_layers(backbone):
    with pytest.raises(ValueError, match=naming("'q_lim'", "q_lin", "v_lin")):
        apply_peft_lora(build_hf_classifier(str(backbone), 2), LoraSettings(target_modules=["q_lim"], rank=4, alpha=8))


def test_hub_id_offline_fails_fast_with_one_line(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setattr("loralab.models.hf_loading.hub_reachable", lambda: False)
    started = time.perf_counter()
    with pytest.raises(FileNotFoundError, match=naming("model.backbone=<local folder>")):
        PretrainedTokenizer("distilbert-base-uncased")
    assert time.perf_counter() - started < 5


def test_hub_id_not_cached_while_offline_names_the_fix():
    with pytest.raises(FileNotFoundError, match=naming("model.backbone=<local folder>")) as error:
        build_hf_classifier("no-such-org/no-such-model", 2)
    assert "\n" not in str(error.value)


def test_peft_run_saves_an_adapter_with_the_head(peft_run):
    run_dir, metrics = peft_run
    adapter = run_dir / "adapter"
    tensors = load_file(adapter / "adapter_model.safetensors")
    assert any("lora_A" in k and "q_lin" in k for k in tensors)
    assert any("classifier" in k for k in tensors) and any("pre_classifier" in k for k in tensors)
    assert not any("word_embeddings" in k for k in tensors)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 4 and sorted(config["target_modules"]) == ["q_lin", "v_lin"]
    assert metrics["adapter_bytes"] == (adapter / "adapter_model.safetensors").stat().st_size
    assert 0 < metrics["trainable_params"] < metrics["total_params"]
    assert (run_dir / "tokenizer" / "tokenizer.json").is_file()


def test_plain_peft_reload_reproduces_the_run(peft_run, backbone):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    run_dir, metrics = peft_run
    base = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2)
    plain = PeftModel.from_pretrained(base, run_dir / "adapter").eval()
    opened = open_run(run_dir)
    tokenizer, ours = opened.tokenizer, opened.net
    batch = _batch(tokenizer, ["a wonderful film", "awful and boring", "the plot"])
    with torch.no_grad():
        torch.testing.assert_close(plain(**batch).logits, ours(**batch).logits, atol=0, rtol=0)
        merged = ours.merge_and_unload()
        torch.testing.assert_close(merged(**batch).logits, plain(**batch).logits, atol=1e-5, rtol=0)

    from loralab.tools.evaluation import evaluate_run

    evaluated = evaluate_run(run_dir, CONFIG_DIR, [f"paths.cache_dir={run_dir.parent / 'cache'}"])
    assert evaluated["test/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)


def test_unfrozen_embeddings_train_and_are_saved(backbone, tmp_path):
    model = apply_peft_lora(
        build_hf_classifier(str(backbone), 2),
        LoraSettings(target_modules=["q_lin"], rank=2, alpha=4, freeze_embeddings=False),
    )
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("word_embeddings" in n for n in trainable)
    model.save_pretrained(tmp_path)
    assert any("word_embeddings" in k for k in load_file(tmp_path / "adapter_model.safetensors"))


def test_predict_and_merged_export_of_a_peft_run(peft_run, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from loralab.tools.merged_export import export_merged
    from loralab.tools.prediction import predict_texts

    run_dir, _ = peft_run
    texts = ["a wonderful film", "awful and boring"]
    predictions = predict_texts(run_dir, texts)
    assert [label for label, _ in predictions] == [label for label, _ in predict_texts(run_dir, texts)]
    assert all(label in ("positive", "negative") and 0.5 <= p <= 1 for label, p in predictions)

    merged_dir = export_merged(run_dir, tmp_path / "merged")
    merged = AutoModelForSequenceClassification.from_pretrained(merged_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    with torch.no_grad():
        probabilities = torch.softmax(merged(**tokenizer(texts, return_tensors="pt", padding=True)).logits, dim=-1)
    torch.testing.assert_close(
        probabilities.max(dim=-1).values, torch.tensor([p for _, p in predictions]), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 0}, "model.lora.rank"),
        ({"alpha": -1}, "model.lora.alpha"),
        ({"dropout": 1.5}, "model.lora.dropout"),
        ({"scaling": "alpha"}, "standard or rslora"),
    ],
)
def test_bad_peft_hyperparameters_name_the_key(backbone, kwargs, message):
    settings = {"rank": 4, "alpha": 8} | kwargs
    with pytest.raises(ValueError, match=message):
        apply_peft_lora(build_hf_classifier(str(backbone), 2), LoraSettings(target_modules=["q_lin"], **settings))


def test_float16_checkpoints_load_as_float32(tmp_path):
    """transformers 5 keeps a float16 file in float16, ten times slower on a CPU (seen with MiniLM)."""
    from transformers import AutoModelForSequenceClassification

    folder = save_tiny_distilbert(tmp_path / "fp32")
    AutoModelForSequenceClassification.from_pretrained(folder).half().save_pretrained(tmp_path / "fp16")
    assert {p.dtype for p in build_hf_classifier(str(tmp_path / "fp16"), 2).parameters()} == {torch.float32}


def test_compile_option_keeps_state_dict_keys(backbone):
    """model.compile compiles in place: checkpoints and adapters keep their keys (no ``_orig_mod.``)."""
    model = apply_peft_lora(
        build_hf_classifier(str(backbone), 2), LoraSettings(target_modules=["q_lin"], rank=2, alpha=4)
    )
    keys = list(model.state_dict())
    assert compiled(model, False)._compiled_call_impl is None
    assert compiled(model, OmegaConf.create({"dynamic": True}))._compiled_call_impl is not None
    assert list(model.state_dict()) == keys


def _saved_bytes_and_lora_grads(model: torch.nn.Module, batch: dict) -> tuple[int, dict]:
    """Bytes that autograd keeps for the backward pass (activation memory on any device), and the
    LoRA gradients of one step."""
    saved = {}

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    torch.manual_seed(0)
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        loss = model(**batch).logits.logsumexp(-1).mean()
    loss.backward()
    return sum(saved.values()), {name: p.grad for name, p in model.named_parameters() if "lora_" in name}


def test_gradient_checkpointing_keeps_less_and_gives_the_same_gradients(backbone):
    """Dropout included: the recomputed forward replays the same random masks."""
    results = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        net = build_hf_classifier(str(backbone), 2, gradient_checkpointing=checkpointing)
        vocab_size = net.config.vocab_size
        batch = {
            "input_ids": torch.randint(5, vocab_size, (4, 48), generator=torch.Generator().manual_seed(1)),
            "attention_mask": torch.ones(4, 48, dtype=torch.int64),
        }
        model = apply_peft_lora(net, LoraSettings(target_modules=["q_lin", "v_lin"], rank=4, alpha=8, dropout=0.1))
        for name, parameter in model.named_parameters():
            if "lora_B" in name:  # B starts at zero, which would leave A without a gradient to compare
                torch.nn.init.normal_(parameter, std=0.1)
        results.append(_saved_bytes_and_lora_grads(model, batch))
    (plain_bytes, plain_grads), (checkpointed_bytes, checkpointed_grads) = results
    assert checkpointed_bytes < plain_bytes / 2
    assert plain_grads.keys() == checkpointed_grads.keys()
    assert len(plain_grads) == 8 and all(
        grad.abs().sum() > 0 for grad in plain_grads.values()
    )  # 2 layers x 2 targets x A, B
    for name, grad in plain_grads.items():
        torch.testing.assert_close(checkpointed_grads[name], grad, msg=name)
