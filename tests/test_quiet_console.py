"""Third-party lines that tell a user nothing are gone from a training's console; real warnings stay."""

import logging
import os
import subprocess
import sys

import pytest
from helpers.paths import PROJECT_ROOT
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.train_configs import quiet_run_overrides
from transformers import AutoModelForSequenceClassification

from loralab.quiet_console import LIGHTNING_INFO_LOGGER as LIGHTNING_LOGGER
from loralab.quiet_console import LOAD_REPORT, TRANSFORMERS_LOAD_LOGGER, filter_third_party_noise

NOISE = ["LeafSpec", "litlogger", "LOAD REPORT", "is_gradient_checkpointing"]


@pytest.mark.integration
def test_a_training_console_has_no_library_noise_but_keeps_real_warnings(tiny_data_dir, tmp_path):
    # A checkpoint without the classification head: transformers reports the new head on loading.
    backbone = tmp_path / "encoder"
    save_tiny_distilbert(backbone)
    AutoModelForSequenceClassification.from_pretrained(backbone).distilbert.save_pretrained(backbone)
    args = quiet_run_overrides(tiny_data_dir) + [
        "model=lora_distilbert",
        f"model.backbone={backbone}",
        "trainer.max_epochs=1",
        "trainer.log_every_n_steps=50",  # more than an epoch's batches: Lightning's real warning
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, "train.py", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert [line for line in output.splitlines() if any(noise in line for noise in NOISE)] == []
    assert "smaller than the logging interval" in output


def test_a_load_report_that_explains_an_error_still_shows(caplog):
    filter_third_party_noise()
    logger = logging.getLogger(TRANSFORMERS_LOAD_LOGGER)
    with caplog.at_level(logging.WARNING, logger=TRANSFORMERS_LOAD_LOGGER):
        logger.warning(f"Model {LOAD_REPORT}\nclassifier.weight | MISSING")
        logger.warning(f"Model {LOAD_REPORT}\nclassifier.weight | MISMATCH | ckpt: (2, 8) vs model: (3, 8)")
        logger.warning("another transformers warning")
    assert [r.getMessage().splitlines()[-1] for r in caplog.records] == [
        "classifier.weight | MISMATCH | ckpt: (2, 8) vs model: (3, 8)",
        "another transformers warning",
    ]


def test_import_loralab_leaves_warning_filters_and_loggers_alone():
    """A library import changes no global state a user's program owns: the filters are the entry points'."""
    script = (
        "import logging, warnings; "
        "before = list(warnings.filters); "
        "import loralab; "
        f"loggers = [logging.getLogger(name).filters for name in ({TRANSFORMERS_LOAD_LOGGER!r}, {LIGHTNING_LOGGER!r})]; "
        "print(warnings.filters == before, loggers == [[], []])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )
    assert result.returncode == 0 and result.stdout.split() == ["True", "True"], result.stderr[-2000:]


def test_the_entry_points_install_the_filters(monkeypatch, capsys):
    """What ``import loralab`` no longer does, each command does when it runs."""
    import warnings

    from loralab import console_scripts

    monkeypatch.setattr(warnings, "filters", [])
    monkeypatch.setattr(sys, "argv", ["predict.py", "--help"])
    with pytest.raises(SystemExit):
        console_scripts.predict()
    assert any(message and "LeafSpec" in message.pattern for _, message, *_ in warnings.filters)
