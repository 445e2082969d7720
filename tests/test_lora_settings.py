"""LoraSettings: one validated object for the custom path, the PEFT path and adapter_config.json."""

import json

import pytest
import torch
from conftest import compose_train_config
from safetensors.torch import save_file

from loralab.instantiate import instantiate
from loralab.lora import LoraSettings, apply_lora, as_lora_settings, lora_layers
from loralab.models import TextClassifier
from loralab.runs.lora_adapter import save_adapter


def _model() -> TextClassifier:
    torch.manual_seed(0)
    return TextClassifier(vocab_size=30, num_classes=2, embed_dim=8, hidden_dim=4)


def test_config_keys_map_to_peft_names():
    settings = LoraSettings.from_config_keys(
        target_modules=["fc1"], rank=4, alpha=16, dropout=0.1, scaling="rslora", modules_to_save=["fc2"]
    )
    assert settings == LoraSettings(
        target_modules=("fc1",), r=4, lora_alpha=16, lora_dropout=0.1, scaling_rule="rslora", modules_to_save=("fc2",)
    )
    assert settings.use_rslora and settings.freeze_embeddings
    with pytest.raises(AttributeError):
        settings.r = 8  # frozen: checked once, then it cannot drift


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"r": 0}, r"LoRA rank must be a positive integer, got 0; set model.lora.rank >= 1"),
        ({"r": 2.5}, r"got 2.5; set model.lora.rank"),
        ({"lora_alpha": -1}, r"alpha must be >= 0, got -1; set model.lora.alpha"),
        ({"lora_dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0; set model.lora.dropout"),
        ({"scaling_rule": "sqrt"}, r"'sqrt'; choose one of standard, rslora, lab \(set model.lora.scaling\)"),
        ({"target_modules": []}, r"model.lora.target_modules is empty"),
        ({"target_modules": "fc("}, r"model.lora.target_modules 'fc\(' is not a valid regex"),
        ({"modules_to_save": "fc2"}, r"model.lora.modules_to_save must be a list of module names, got 'fc2'"),
        ({"rank_pattern": {"embedding": 0}}, r"got 0; set model.lora.rank_pattern.embedding >= 1"),
        ({"alpha_pattern": {"fc1": -2}}, r"got -2; set model.lora.alpha_pattern.fc1 to a non-negative"),
        ({"freeze_embeddings": "no"}, r"model.lora.freeze_embeddings must be true or false, got 'no'"),
    ],
)
def test_bad_settings_name_the_key_the_value_and_what_is_allowed(fields, message):
    with pytest.raises(ValueError, match=message):
        LoraSettings(**({"target_modules": ["fc1"]} | fields))


def test_settings_or_config_keys_not_both():
    settings = LoraSettings(["fc1"], r=2, lora_alpha=1)
    assert as_lora_settings(settings) is settings
    assert as_lora_settings(["fc1"], rank=2, alpha=1, _target_="ignored") == settings
    with pytest.raises(TypeError, match="not both"):
        as_lora_settings(settings, rank=4)
    with pytest.raises(ValueError, match="model.lora lacks rank, alpha; set model.lora.rank"):
        as_lora_settings(["fc1"])


def test_a_settings_object_and_config_keys_build_the_same_model():
    from_keys = apply_lora(_model(), target_modules=["fc1", "embedding"], rank=2, alpha=4, rank_pattern={"fc1": 3})
    settings = LoraSettings(["fc1", "embedding"], r=2, lora_alpha=4, rank_pattern={"fc1": 3})
    from_settings = apply_lora(_model(), settings)
    assert {n: layer.rank for n, layer in lora_layers(from_keys)} == {"embedding": 2, "fc1": 3}
    assert {n: (layer.rank, layer.scaling) for n, layer in lora_layers(from_keys)} == {
        n: (layer.rank, layer.scaling) for n, layer in lora_layers(from_settings)
    }


def test_hydra_node_keeps_its_keys(tmp_path):
    overrides = [
        "model=lora_textclassifier",
        "model.lora.target_modules=[fc1,embedding]",
        "model.lora.rank=3",
        "model.lora.rank_pattern={embedding:4}",
        "model.lora.scaling=lab",
    ]
    cfg = compose_train_config(tmp_path, overrides)
    model = instantiate(cfg.model.lora, model=_model())
    assert {n: (layer.rank, layer.scaling) for n, layer in lora_layers(model)} == {
        "embedding": (4, 1.0),
        "fc1": (3, 1.0),
    }


def test_adapter_config_json_holds_the_settings_under_peft_names(tmp_path):
    settings = LoraSettings(["fc1"], r=2, lora_alpha=4, lora_dropout=0.1, modules_to_save=["fc2"])
    model = apply_lora(_model(), settings)
    save_file(model.state_dict(), str(tmp_path / "base.safetensors"))
    (tmp_path / "vocab.json").write_text("{}")
    save_adapter(model, tmp_path / "adapter", settings, tmp_path / "base.safetensors", tmp_path / "vocab.json")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config | settings.to_adapter_config() == config  # every setting is in the file
    assert (config["r"], config["lora_alpha"], config["lora_dropout"], config["scaling"]) == (2, 4, 0.1, 2.0)
    assert config["target_modules"] == ["fc1"] and config["use_rslora"] is False
