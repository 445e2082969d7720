"""Every option of every config group, and every experiment, composes and builds what it can without data.

A typo in a rarely used YAML (a wrong ``_target_``, an interpolation to a key that moved) fails here,
not in the first run that picks that option.
"""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import pytest
import torch
from helpers.paths import CONFIG_DIR
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import POSITIVE, write_tiny_data
from helpers.train_configs import compose_train_config
from hydra.utils import get_class
from omegaconf import DictConfig

from loralab.data import TextClassificationDataModule, TextSplit, WordTokenizer
from loralab.instantiate import instantiate
from loralab.settings import settings_of
from loralab.training.components import build_trainer
from loralab.training.config_checks import check_required_keys
from loralab.training.model_builders import add_adapters, build_net, build_tokenizer


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml"))


# Groups whose options build objects; hydra/ and hparams_search/ configure Hydra itself (tested below).
OBJECT_GROUPS = ["data", "model", "optim", "trainer", "logger", "callbacks", "paths", "debug"]
CASES = [(group, option) for group in OBJECT_GROUPS for option in options(group)]
CASES += [("experiment", option) for option in options("experiment")]
# Options whose objects need a package outside the core dependencies (an extra, or the user's own).
OPTIONAL_PACKAGES = {("logger", "mlflow"): "mlflow", ("logger", "wandb"): "wandb"}


def test_every_group_and_experiment_is_covered():
    """A new config group must be added to this test's list (or to the Hydra groups tested below)."""
    groups = {path.name for path in CONFIG_DIR.iterdir() if path.is_dir()}
    assert groups == set(OBJECT_GROUPS) | {"experiment", "hydra", "hparams_search"}
    assert {f"{group}/{option}.yaml" for group, option in CASES} == {
        str(path.relative_to(CONFIG_DIR))
        for group in [*OBJECT_GROUPS, "experiment"]
        for path in (CONFIG_DIR / group).glob("*.yaml")
    }


@pytest.fixture(scope="module")
def tiny_backbones(tmp_path_factory) -> dict[str, Path]:
    """A tiny DistilBERT and a tiny BERT (same WordPiece tokenizer), as Hugging Face folders."""
    from transformers import BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("backbones")
    distilbert = save_tiny_distilbert(root / "distilbert")
    bert = root / "bert"
    shutil.copytree(distilbert, bert)
    for weights in bert.glob("*.safetensors"):
        weights.unlink()
    vocab_size = json.loads((bert / "config.json").read_text())["vocab_size"]
    (bert / "config.json").unlink()
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertForSequenceClassification(config).save_pretrained(bert)
    return {"distilbert": str(distilbert), "bert": str(bert)}


def backbone_override(cfg: DictConfig, backbones: dict[str, Path]) -> list[str]:
    """Point a transformer config at the tiny folder of its family (no download in tests)."""
    if "backbone" not in cfg.model:
        return []
    family = (
        "distilbert" if "q_lin" in list((cfg.model.get("lora") or {}).get("target_modules") or ["q_lin"]) else "bert"
    )
    return [f"model.backbone={backbones[family]}"]


def compose(tmp_path: Path, overrides: list[str]) -> DictConfig:
    """The config with paths.data_dir on tiny data (a vocabulary may read other corpora's texts)."""
    data_dir = tmp_path / "data"
    if not data_dir.exists():
        write_tiny_data(data_dir)
    return compose_train_config(tmp_path / "run", [f"paths.data_dir={data_dir}", *overrides])


def build_without_data(cfg: DictConfig) -> None:
    """Tokenizer, network with adapters, optimizer and schedule, DataModule, Trainer with callbacks and loggers.
    A recipe that starts from a trained run (``model.pretrained: ???``) builds all but the network.
    Every shipped value passes the settings' checks, which train.py runs first."""
    settings = settings_of(cfg)
    trainer = build_trainer(cfg)
    assert trainer.max_epochs == cfg.trainer.max_epochs
    if getattr(settings.model, "pretrained", None):
        return
    tokenizer = build_tokenizer(settings.model, settings.data)
    if isinstance(tokenizer, WordTokenizer):  # learns its vocabulary; a backbone's tokenizer has one
        words = [" ".join(POSITIVE)] * 4
        tokenizer.fit(TextSplit(words, [0, 1, 0, 1]), cfg.paths.cache_dir)
    net = add_adapters(settings.model, build_net(settings.model, settings.data.num_classes, tokenizer))
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert trainable, "nothing would train"
    optimizer = instantiate(cfg.optim.optimizer)(trainable)
    if cfg.optim.get("scheduler"):
        schedule = instantiate(cfg.optim.scheduler)
        length = {"num_training_steps": 10} if "num_training_steps" in inspect.signature(schedule).parameters else {}
        schedule(optimizer, **length)
    TextClassificationDataModule(settings.data, tokenizer)


@pytest.mark.parametrize(("group", "option"), CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_option_composes_and_builds(group, option, tmp_path, tiny_backbones):
    if (group, option) in OPTIONAL_PACKAGES:
        pytest.importorskip(OPTIONAL_PACKAGES[group, option])
    overrides = [f"{group}={option}"]
    cfg = compose(tmp_path, overrides)
    # No GPU here: the GPU presets are built on the CPU with their own precision and plugins.
    cpu = ["trainer.accelerator=cpu", "trainer.devices=1"] if cfg.trainer.get("accelerator") != "cpu" else []
    cfg = compose(tmp_path, overrides + cpu + backbone_override(cfg, tiny_backbones))
    if group == "data" and option == "text_classification":
        assert cfg.data.path is None  # the user's own file: nothing more to build without one
    build_without_data(cfg)
    torch.set_grad_enabled(True)


@pytest.mark.parametrize("option", options("hparams_search"))
def test_hparams_search_composes_with_its_sweeper(option, tmp_path):
    cfg = compose(tmp_path, [f"hparams_search={option}"])
    assert get_class(cfg.hydra.sweeper._target_)
    if option != "grid":  # the grid's lists come from the command line
        assert cfg.hydra.sweeper.params, "a search with nothing to search"


@pytest.mark.parametrize("option", options("hydra/launcher"))
def test_launcher_composes_with_its_plugin(option, tmp_path):
    cfg = compose(tmp_path, [f"hydra/launcher={option}"])
    assert get_class(cfg.hydra.launcher._target_)


@pytest.mark.parametrize("choice", ["model=textclassifier", "model=lora_textclassifier", "experiment=imdb_lora"])
@pytest.mark.parametrize("spelling", ["model.pretrained", "+model.pretrained"])
def test_model_pretrained_is_a_declared_key_in_both_spellings(choice, spelling, tmp_path):
    unset = compose(tmp_path, [choice])
    if choice.startswith("experiment"):  # the recipe needs it: refused before anything loads
        with pytest.raises(ValueError, match=r"^model.pretrained must be set .*add model.pretrained=<value>"):
            check_required_keys(unset)
    else:
        assert unset.model.pretrained is None
        check_required_keys(unset)
    cfg = compose(tmp_path, [choice, f"{spelling}=outputs/agnews_pretrain/run"])
    assert settings_of(cfg).model.pretrained == "outputs/agnews_pretrain/run"
    check_required_keys(cfg)
