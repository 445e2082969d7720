"""Bad config values: refused in one line, with the key, the value and what is allowed, before any data loads."""

import pytest
from conftest import compose_train_config, tiny_run_overrides

from loralab.cli_errors import run_cli
from loralab.training.config_schema import ConfigValueError, config_errors
from loralab.training.experiment import train

LORA = "model=lora_textclassifier"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([LORA, "model.lora.rank=abc"], "model.lora.rank='abc' (str) is not allowed: use an integer >= 1"),
        ([LORA, "model.lora.rank=2.5"], "model.lora.rank=2.5 is not allowed: use an integer >= 1"),
        ([LORA, "model.lora.rank=0"], "model.lora.rank=0 is not allowed"),
        ([LORA, "model.lora.dropout=1.0"], "model.lora.dropout=1.0 is not allowed: use a number in [0, 1)"),
        ([LORA, "model.lora.scaling=sqrt"], "model.lora.scaling='sqrt' (str) is not allowed: use one of standard"),
        ([LORA, "model.lora.rank_pattern={fc1:0}"], "model.lora.rank_pattern={'fc1': 0} is not allowed"),
        (["model=lora_distilbert", "model.lora.dropout=-0.1"], "model.lora.dropout=-0.1 is not allowed"),
        (["optim.optimizer.lr=abc"], "optim.optimizer.lr='abc' (str) is not allowed: use a number > 0"),
        (["optim.optimizer.lr=0"], "optim.optimizer.lr=0 is not allowed"),
        (["optim=adamw_warmup", "optim.scheduler.warmup_ratio=1.5"], "optim.scheduler.warmup_ratio=1.5"),
        (["data.max_length=0"], "data.max_length=0 is not allowed: use an integer >= 1 or null"),
        (["data.max_length=-1"], "data.max_length=-1 is not allowed"),
        (["data.batch_size=0"], "data.batch_size=0 is not allowed: use an integer >= 1"),
        (["data.val_fraction=1.0"], "data.val_fraction=1.0 is not allowed: use a number in [0, 1)"),
        (["data.num_classes=1"], "data.num_classes=1 is not allowed: use an integer >= 2"),
        (["data.encoding=klingon"], "data.encoding='klingon' (str) is not allowed"),
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 is not allowed: use an integer >= 1 or null"),
        (["trainer.accelerator=gpuu"], "trainer.accelerator='gpuu' (str) is not allowed: use one of auto"),
        (
            ["trainer.enable_progress_bar=yes"],
            "trainer.enable_progress_bar='yes' (str) is not allowed: use true or false",
        ),
        (["+trainer.min_epochs=5", "trainer.max_epochs=2"], "trainer.min_epochs=5 is above trainer.max_epochs=2"),
        (["seed=-1"], "seed=-1 is not allowed: use an integer in [0, 4294967295]"),
        (["model.net.word_dropout=1"], "model.net.word_dropout=1 is not allowed"),
        (["callbacks.model_checkpoint.mode=best"], "callbacks.model_checkpoint.mode='best' (str) is not allowed"),
        (["data.label_names=[a,b,c]"], "data.label_names has 3 names ['a', 'b', 'c'] but data.num_classes=2"),
        (["data=ag_news", "data.num_classes=3"], "data.label_names has 4 names"),
        ([LORA, "model.lora.rank=${model.lora.rnk}"], "model.lora.rank cannot be resolved"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(tmp_path, overrides, expected):
    errors = config_errors(compose_train_config(tmp_path, overrides))
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_a_copied_value_is_named_once_at_its_source(tmp_path):
    assert config_errors(compose_train_config(tmp_path, ["seed=-1"])) == [
        "seed=-1 is not allowed: use an integer in [0, 4294967295]"
    ]  # data.seed is ${seed}


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model=lora_textclassifier", "trainer=cpu"],
        ["model=lora_distilbert", "trainer=gpu_bf16_base"],
        ["model=lora_bert", "trainer=ddp", "optim=lab_sgd"],
        ["model=distilbert", "trainer=gpu"],
        ["experiment=agnews_pretrain_imdb_vocab"],
        ["experiment=imdb_lora_embedding", "+model.pretrained=x"],
        ["experiment=sweep_lora_distilbert"],
        ["data=text_classification", "experiment=quick"],
    ],
)
def test_every_shipped_config_passes(tmp_path, overrides):
    overrides = [o.replace("+model.pretrained", "model.pretrained") for o in overrides]
    assert config_errors(compose_train_config(tmp_path, overrides)) == []


def test_a_bad_value_stops_the_run_before_data_loads(tmp_path):
    overrides = [*tiny_run_overrides(tmp_path / "no_data_here"), "data.max_length=0"]
    with pytest.raises(ConfigValueError, match=r"^data.max_length=0 is not allowed"):
        train(compose_train_config(tmp_path / "run", overrides))
    assert not (tmp_path / "run" / "vocab.json").exists()


def test_the_command_line_shows_one_line_and_hydra_full_error_the_traceback(
    tmp_path, capsys, monkeypatch, tiny_data_dir
):
    cfg = compose_train_config(tmp_path / "run", [*tiny_run_overrides(tiny_data_dir), "trainer.max_epochs=0"])
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: train(cfg))
    assert stopped.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: trainer.max_epochs=0 is not allowed: use an integer >= 1 or null"
    ]
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ConfigValueError):
        run_cli(lambda: train(cfg))
