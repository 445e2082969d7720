"""The typed settings: one class per config node, the schemas of every YAML option, checked once,
recorded in run_config.json and read back through the same classes."""

import dataclasses
import inspect
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from helpers.entry_points import run_in_process
from helpers.paths import CONFIG_DIR
from helpers.train_configs import compose_train_config
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class
from omegaconf import OmegaConf
from safetensors.torch import save_file

from loralab.files.safe_paths import RunFolderError
from loralab.lora import adapter_config, apply_lora, lora_layers
from loralab.models import TextClassifier
from loralab.runs.lora_adapter import save_adapter
from loralab.runs.run_config import read_settings
from loralab.settings import ConfigValueError, DataSettings, LoraSettings, TextClassifierNet, settings_of
from loralab.settings.schemas import TYPED_NODES

LORA = "model=lora_textclassifier"
# Groups whose options are typed by loralab's schemas; callbacks and logger build Lightning's own
# classes (their keys are checked against those classes' signatures below); hydra is Hydra's.
TYPED_GROUPS = ("data", "model", "optim", "trainer", "paths")


def _options(group: str) -> list[Path]:
    return sorted((CONFIG_DIR / group).glob("*.yaml"))


def _compose(config_dir: Path, overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _node_of(path: Path) -> str:
    """Where a YAML option's own keys land: its group, or the top level for ``@package _global_``."""
    return "" if "@package _global_" in path.read_text() else path.parent.name


def _add_key(path: Path, key: str) -> None:
    """Append ``key: 1`` to the option's own node (``model: {key: 1}`` in a global-package file)."""
    text = path.read_text()
    node = _node_of(path)
    if node == "":
        data = yaml.safe_load(text) or {}
        group = "model" if "model" in data else "optim"
        path.write_text(
            text + f"\n{group}:\n  {key}: 1\n"
            if group not in data
            else text.replace(f"\n{group}:\n", f"\n{group}:\n  {key}: 1\n", 1)
        )
    else:
        path.write_text(text + f"\n{key}: 1\n")


TYPED_OPTIONS = [p for group in TYPED_GROUPS for p in _options(group)] + [CONFIG_DIR / "train.yaml"]


@pytest.mark.parametrize("option", TYPED_OPTIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_yaml_key_without_a_typed_field_fails_composition(option, tmp_path):
    """Every key of every typed option is a field of its schema: one more key in the file is refused,
    named, when that option is composed."""
    conf = tmp_path / "conf"
    shutil.copytree(CONFIG_DIR, conf, symlinks=False)
    copy = conf / option.relative_to(CONFIG_DIR)
    choice = [] if option.name == "train.yaml" else [f"{option.parent.name}={option.stem}"]
    _compose(conf, choice)  # the shipped file composes
    _add_key(copy, "not_a_field")
    with pytest.raises(ConfigCompositionException) as refused:
        _compose(conf, choice)
    assert "not_a_field" in str(refused.value.__cause__ or refused.value)


def _targets(value, where=""):
    if isinstance(value, dict):
        if "_target_" in value:
            yield where, value
        for key, item in value.items():
            yield from _targets(item, f"{where}.{key}" if where else key)


@pytest.mark.parametrize(
    "option", [*_options("callbacks"), *_options("logger")], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_key_of_a_lightning_object_is_an_argument_of_its_class(option):
    data = yaml.safe_load(option.read_text()) or {}
    found = list(_targets(data))
    assert found or option.stem in ("none", "many"), option
    for where, node in found:
        try:
            target = get_class(node["_target_"])
        except ImportError:
            pytest.skip(f"{node['_target_']} is not installed")
        parameters = inspect.signature(target).parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        unknown = [key for key in node if not key.startswith("_") and key not in parameters]
        assert accepts_any or not unknown, (
            f"{option.name}: {where} has keys {unknown} that {target.__name__} does not take"
        )


@pytest.mark.parametrize(
    ("override", "key", "shown"),
    [
        ("model.lora.rank=abc", "model.lora.rank", "abc"),
        ("model.lora.alpha=strong", "model.lora.alpha", "strong"),
        ("model.lora.rnk=2", "model.lora.rnk", "rnk"),
        ("data.batch_size=big", "data.batch_size", "big"),
        ("trainer.max_epochs=many", "trainer.max_epochs", "many"),
        ("optim.optimizer.lr=fast", "optim.optimizer.lr", "fast"),
        ("model.net.hidden=4", "model.net.hidden", "hidden"),
    ],
)
def test_a_wrong_type_or_unknown_key_fails_composition_naming_the_key(tmp_path, override, key, shown):
    with pytest.raises(ConfigCompositionException) as refused:
        compose_train_config(tmp_path, [LORA, override])
    message = f"{refused.value} {refused.value.__cause__}"
    assert key.rsplit(".", 1)[-1] in message and shown in message


def test_the_command_line_refuses_a_wrong_type_at_compose_time(monkeypatch, capsys):
    result = run_in_process(monkeypatch, capsys, "train.py", LORA, "model.lora.rank=abc", "--cfg", "job")
    assert result.returncode != 0
    assert "model.lora.rank" in result.stderr and "abc" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("overrides", "key", "value"),
    [
        ([LORA, "model.lora.rank=0"], "model.lora.rank", "0"),
        ([LORA, "model.lora.rank=5000"], "model.lora.rank", "5000"),
        ([LORA, "model.lora.dropout=1.0"], "model.lora.dropout", "1.0"),
        ([LORA, "model.lora.scaling=sqrt"], "model.lora.scaling", "sqrt"),
        ([LORA, "model.lora.rank_pattern={fc1:0}"], "model.lora.rank_pattern", "fc1"),
        ([LORA, "model.lora.target_modules=[]"], "model.lora.target_modules", "[]"),
        ([LORA, "model.lora.target_modules='fc('"], "model.lora.target_modules", "fc("),
        (["model=lora_distilbert", "model.lora.dropout=-0.1"], "model.lora.dropout", "-0.1"),
        (["optim.optimizer.lr=0"], "optim.optimizer.lr", "0"),
        (["optim=adamw_warmup", "optim.scheduler.warmup_ratio=1.5"], "optim.scheduler.warmup_ratio", "1.5"),
        (["optim=lab_sgd", "optim.scheduler.gamma=-1"], "optim.scheduler.gamma", "-1"),
        (["data.max_length=0"], "data.max_length", "0"),
        (["data.val_fraction=1.0"], "data.val_fraction", "1.0"),
        (["data.num_classes=1"], "data.num_classes", "1"),
        (["data.encoding=klingon"], "data.encoding", "klingon"),
        (["data.label_names=[a,b,c]"], "data.label_names", "'c'"),
        (["data=ag_news", "data.num_classes=3"], "data.label_names", "World"),
        (["data.label_names=[a,a]"], "data.label_names", "'a'"),
        (["trainer.max_epochs=0"], "trainer.max_epochs", "0"),
        (["trainer.accelerator=gpuu"], "trainer.accelerator", "gpuu"),
        (["+trainer.min_epochs=5", "trainer.max_epochs=2"], "trainer.min_epochs", "5"),
        (["seed=-1"], "seed", "-1"),
        (["model.net.word_dropout=1"], "model.net.word_dropout", "1"),
        (["model.net.embed_dim=0"], "model.net.embed_dim", "0"),
        (
            ["model=distilbert", "model.net.attn_implementation=kernels-community/flash-attn"],
            "model.net.attn_implementation",
            "kernels",
        ),
    ],
)
def test_a_value_out_of_range_is_refused_naming_key_value_and_what_is_allowed(tmp_path, overrides, key, value):
    with pytest.raises(ConfigValueError) as refused:
        settings_of(compose_train_config(tmp_path, overrides))
    message = str(refused.value)
    assert message.startswith(f"{key}=") and value in message and "is not allowed: " in message
    assert "\n" not in message


def test_a_key_added_with_plus_is_refused_except_on_the_trainer(tmp_path):
    with pytest.raises(ConfigValueError) as refused:
        settings_of(compose_train_config(tmp_path, [LORA, "+model.lora.rnk=4"]))
    assert str(refused.value).startswith("model.lora.rnk=4 is not allowed") and "rank" in str(refused.value)
    settings_of(compose_train_config(tmp_path, ["+trainer.max_time=00:00:10:00"]))


def test_trainer_defaults_are_lightnings():
    from lightning.pytorch import Trainer

    from loralab.settings.trainer import TrainerSettings

    parameters = inspect.signature(Trainer.__init__).parameters
    for field in dataclasses.fields(TrainerSettings):
        if not field.name.startswith("_"):
            assert field.default == parameters[field.name].default, field.name


def test_every_typed_node_of_the_default_config_is_a_settings_object(tmp_path):
    settings = settings_of(compose_train_config(tmp_path, [LORA]))
    for node in TYPED_NODES:
        assert dataclasses.is_dataclass(getattr(settings, node)), node
    assert isinstance(settings.model.lora, LoraSettings) and settings.model.lora.rank == 2


def _model() -> TextClassifier:
    torch.manual_seed(0)
    return TextClassifier(vocab_size=30, num_classes=2, embed_dim=8, hidden_dim=4)


def test_the_config_node_builds_the_layers_it_names(tmp_path):
    overrides = [
        LORA,
        "model.lora.target_modules=[fc1,embedding]",
        "model.lora.rank=3",
        "model.lora.rank_pattern={embedding:4}",
        "model.lora.scaling=alpha",
    ]
    model = apply_lora(_model(), settings_of(compose_train_config(tmp_path, overrides)).model.lora)
    assert {n: (layer.rank, layer.scaling) for n, layer in lora_layers(model)} == {
        "embedding": (4, 1.0),
        "fc1": (3, 1.0),
    }


@pytest.mark.parametrize(
    ("cls", "record"),
    [
        (LoraSettings, {"target_modules": ["fc1"], "rank": 3, "alpha": 2.0, "rank_pattern": {"fc1": 4}}),
        (TextClassifierNet, {"embed_dim": 16, "word_dropout": 0.25}),
        (DataSettings, {"name": "imdb", "label_names": ["neg", "pos"], "max_train_samples": 100}),
    ],
)
def test_a_record_is_the_settings_plain_values_and_reads_back_equal(cls, record, tmp_path):
    settings = cls(**record)
    plain = json.loads(json.dumps(dataclasses.asdict(settings)))
    assert read_settings(cls, plain, tmp_path / "run_config.json", "section") == settings


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ({"rank": "3"}, "section.rank"),
        ({"rank": 0}, "section.rank"),
        ({"extra": 1}, "section.extra"),
        ({"alpha": "${oc.env:HOME}"}, "section"),
        ({"dropout": [0.1]}, "section.dropout"),
    ],
)
def test_a_record_with_a_wrong_value_is_refused_naming_file_and_key(edit, key, tmp_path):
    plain = dataclasses.asdict(LoraSettings(target_modules=["fc1"])) | edit
    if edit == {"rank": "3"}:
        settings = read_settings(LoraSettings, plain, tmp_path / "run_config.json", "section")
        assert settings.rank == 3  # OmegaConf's conversion of a numeric string, then the range check
        return
    with pytest.raises(RunFolderError) as refused:
        read_settings(LoraSettings, plain, tmp_path / "run_config.json", "section")
    assert f"key {key}" in str(refused.value) and "run_config.json" in str(refused.value)


def test_adapter_config_json_holds_the_settings_under_peft_names(tmp_path):
    settings = LoraSettings(target_modules=["fc1"], rank=2, alpha=4, dropout=0.1, modules_to_save=["fc2"])
    model = apply_lora(_model(), settings)
    save_file(model.state_dict(), str(tmp_path / "base.safetensors"))
    (tmp_path / "vocab.json").write_text("{}")
    save_adapter(model, tmp_path / "adapter", settings, tmp_path / "base.safetensors", tmp_path / "vocab.json")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config | adapter_config(settings) == config  # every setting is in the file
    assert (config["r"], config["lora_alpha"], config["lora_dropout"], config["scaling"]) == (2, 4, 0.1, 2.0)
    assert config["target_modules"] == ["fc1"] and config["use_rslora"] is False


def test_the_shipped_configs_hold_no_value_the_settings_refuse(tmp_path):
    for overrides in (
        [],
        [LORA, "trainer=cpu"],
        ["model=lora_distilbert", "trainer=gpu_bf16_base"],
        ["model=lora_bert", "trainer=ddp", "optim=adamw"],
        ["optim=lab_sgd"],
        ["experiment=agnews_pretrain_imdb_vocab"],
        ["experiment=imdb_lora_embedding", "model.pretrained=x"],
        ["experiment=lab_peft"],
        ["data=text_classification", "experiment=quick"],
    ):
        settings_of(compose_train_config(tmp_path, overrides))
    assert OmegaConf.is_config(compose_train_config(tmp_path, []))
