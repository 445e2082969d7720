"""The variant keys as settings: multirun axes that compose, values refused in one line, presets
resolved per network, LoRA+ and LoRA-FA as optimizer groups, and run records without the keys."""

import functools
import itertools
from pathlib import Path

import pytest
import torch
from helpers.entry_points import assert_refused, run_in_process
from helpers.train_configs import compose_train_config
from omegaconf import OmegaConf

from loralab.lora import LoraSettings, adapter_tensors, apply_lora, resolve_presets
from loralab.models import TextClassifier
from loralab.runs.run_config import read_settings
from loralab.settings import ConfigValueError, settings_of
from loralab.training.classification_module import TextClassificationModule


def _net() -> TextClassifier:
    torch.manual_seed(0)
    return TextClassifier(vocab_size=30, num_classes=2, embed_dim=8, hidden_dim=4)


def test_the_variants_sweep_and_the_issue_s_command_compose_for_every_value(tmp_path):
    """Every value of the axes this issue adds to experiment=sweep_lora_variants (rank and seed are
    swept elsewhere) and of ``-m experiment=imdb_lora_embedding model.lora.variant=lora,dora
    seed=1,2,3`` is a valid run."""
    sweep = compose_train_config(tmp_path, ["experiment=sweep_lora_variants", "model.pretrained=base"])
    axes = {key: str(values).split(",") for key, values in sweep.hydra.sweeper.params.items()}
    assert len(list(itertools.product(*axes.values()))) == 96
    for key in ("model.lora.variant", "model.lora.init"):
        for value in axes[key]:
            cfg = compose_train_config(
                tmp_path, ["experiment=sweep_lora_variants", "model.pretrained=base", f"{key}={value}"]
            )
            assert str(OmegaConf.select(cfg, key)) == value and settings_of(cfg)
    for variant, seed in (("lora", 1), ("dora", 3)):
        overrides = [
            "experiment=imdb_lora_embedding",
            "model.pretrained=base",
            f"model.lora.variant={variant}",
            f"seed={seed}",
        ]
        settings = settings_of(compose_train_config(tmp_path, overrides))
        assert (settings.model.lora.variant, settings.seed) == (variant, seed)
    optim = settings_of(
        compose_train_config(tmp_path, ["model=lora_distilbert", "optim.loraplus_lr_ratio=16", "optim.lora_fa=true"])
    ).optim
    assert (optim.loraplus_lr_ratio, optim.lora_fa) == (16, True)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("variant", "vera", "lora, dora"),
        ("init", "loftq", "default, gaussian, pissa, olora"),
        ("target_modules", "[", "attention or all-linear"),
    ],
    ids=["variant", "init", "target_modules"],
)
def test_a_bad_variant_value_is_one_line_naming_key_value_and_choices(key, value, allowed):
    with pytest.raises(ConfigValueError) as refused:
        LoraSettings(**{"target_modules": ["fc1"], key: value})
    assert str(refused.value).startswith(f"model.lora.{key}='{value}'") and allowed in str(refused.value)


def test_pissa_with_alpha_zero_is_refused():
    with pytest.raises(ConfigValueError, match=r"model.lora.init='pissa' .* need alpha > 0"):
        LoraSettings(target_modules=["fc1"], init="pissa", alpha=0)


def test_presets_resolve_per_network_and_one_that_names_nothing_is_refused():
    settings = LoraSettings(target_modules="all-linear", modules_to_save=["fc2"])
    assert resolve_presets(_net(), settings).target_modules == ["fc1"]
    with pytest.raises(ConfigValueError) as refused:
        apply_lora(_net(), LoraSettings(target_modules="attention"))
    message = str(refused.value)
    assert (
        message.startswith("model.lora.target_modules='attention'")
        and "no linear layer in an attention block" in message
    )
    assert "e.g. [embedding]" in message


def test_a_preset_that_names_nothing_stops_train_py_in_one_line(monkeypatch, capsys, tiny_data_dir, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = run_in_process(
        monkeypatch,
        capsys,
        "train.py",
        "model=lora_textclassifier",
        "model.lora.target_modules=attention",
        f"paths.data_dir={tiny_data_dir}",
        "trainer.max_epochs=1",
        "model.tokenizer.min_frequency=1",
    )
    assert_refused(result, "model.lora.target_modules='attention'", "TextClassifier")


def test_loraplus_gives_b_its_ratio_and_lora_fa_freezes_a_yet_saves_it():
    net = apply_lora(_net(), LoraSettings(target_modules=["fc1", "embedding"], modules_to_save=["fc2"]))
    adamw = functools.partial(torch.optim.AdamW, lr=0.01)
    module = TextClassificationModule(net, 2, optimizer=adamw, lora_fa=True, loraplus_lr_ratio=8)
    module._unfused_if_clipping_mixed_precision = dict  # no Trainer here: nothing to unfuse
    optimizer = module.configure_optimizers()
    groups = {group["lr"]: {id(p) for p in group["params"]} for group in optimizer.param_groups}
    assert groups[0.08] == {id(net.fc1.lora_B), id(net.embedding.lora_B)}
    assert groups[0.01] == {id(p) for p in net.fc2.parameters()}  # A is frozen: in no group
    assert not net.fc1.lora_A.requires_grad and "fc1.lora_A" in adapter_tensors(net)


def test_lora_fa_or_loraplus_without_lora_is_refused():
    with pytest.raises(ConfigValueError, match=r"optim.lora_fa=True is not allowed: the model has no LoRA adapter"):
        TextClassificationModule(_net(), 2, lora_fa=True)


def test_a_run_record_without_the_variant_keys_reads_as_plain_lora(tmp_path):
    recorded = {
        "target_modules": ["fc1"],
        "rank": 2,
        "alpha": 1.0,
        "dropout": 0.0,
        "scaling": "standard",
        "rank_pattern": {},
        "alpha_pattern": {},
        "modules_to_save": ["fc2"],
        "freeze_embeddings": True,
    }
    settings = read_settings(LoraSettings, recorded, Path(tmp_path / "run_config.json"), "lora")
    assert (settings.variant, settings.init) == ("lora", "default")
