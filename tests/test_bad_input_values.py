"""A bad config value stops a run before any data loads, in one line on the command line (the
values themselves: tests/test_settings.py)."""

import pytest
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.cli_errors import run_cli
from loralab.settings import ConfigValueError
from loralab.training.experiment import train


def test_a_bad_value_stops_the_run_before_data_loads(tmp_path):
    overrides = [*tiny_run_overrides(tmp_path / "no_data_here"), "data.max_length=0"]
    with pytest.raises(ConfigValueError) as refused:
        train(compose_train_config(tmp_path / "run", overrides))
    assert refused.value.key == "max_length" and refused.value.value == 0
    assert not (tmp_path / "run" / "vocab.json").exists()


def test_the_command_line_shows_one_line_and_hydra_full_error_the_traceback(
    tmp_path, capsys, monkeypatch, tiny_data_dir
):
    cfg = compose_train_config(tmp_path / "run", [*tiny_run_overrides(tiny_data_dir), "trainer.max_epochs=0"])
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: train(cfg))
    assert stopped.value.code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: trainer.max_epochs=0 ") and "integer" in line
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ConfigValueError):
        run_cli(lambda: train(cfg))
