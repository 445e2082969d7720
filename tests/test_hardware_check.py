"""A trainer that asks for devices this machine lacks is refused in one line, before data loads;
``accelerator=auto`` and the CPU presets keep working without a GPU."""

import pytest
import torch
from helpers.messages import assert_names
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.training.experiment import train
from loralab.training.hardware_check import HardwareUnavailable, check_hardware, hardware_error


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("accelerator", ["gpu", "cuda", "GPU"])
def test_a_gpu_asked_for_without_one_is_refused_with_the_fix(no_gpu, accelerator):
    error = hardware_error(accelerator, 1)
    assert_names(error, f"trainer.accelerator={accelerator.lower()}")
    assert "use trainer=cpu or the default trainer" in error and "\n" not in error


@pytest.mark.parametrize("accelerator", ["mps", "tpu", "hpu"])
def test_other_absent_accelerators_are_refused(no_gpu, accelerator):
    error = hardware_error(accelerator, 1)
    assert_names(error, f"trainer.accelerator={accelerator}", accelerator.upper())
    assert "use trainer=cpu" in error


@pytest.mark.parametrize("devices", [1, "auto", -1, 4, "4"])
def test_auto_and_cpu_need_no_gpu(no_gpu, devices):
    assert hardware_error("auto", devices) is None
    assert hardware_error("cpu", devices) is None


def test_gpu_ids_on_the_cpu_are_refused(no_gpu):
    assert_names(hardware_error("cpu", [0, 1]), "trainer.devices=[0, 1]", "trainer.devices=1")
    assert_names(hardware_error("auto", "0,1"), "trainer.devices=0,1")


@pytest.mark.parametrize(
    ("devices", "asked"), [(3, "3 GPUs"), ("3", "3 GPUs"), ([0, 2], "device ids [0, 2]"), ("1,2", "device ids [1, 2]")]
)
def test_more_gpus_than_there_are_are_refused(two_gpus, devices, asked):
    assert hardware_error("gpu", devices) == (
        f"trainer.devices={devices} asks for {asked} but torch sees 2; use trainer.devices=2 or fewer "
        "(or trainer.devices=auto)"
    )


@pytest.mark.parametrize("devices", [1, 2, "auto", -1, [1], "0,1"])
def test_gpus_that_are_there_pass(two_gpus, devices):
    assert hardware_error("gpu", devices) is None
    assert hardware_error("auto", devices) is None


@pytest.mark.parametrize("trainer", ["gpu", "gpu_bf16_base"])
def test_the_gpu_presets_stop_before_data_loads(no_gpu, tmp_path, trainer):
    overrides = [*tiny_run_overrides(tmp_path / "no_data_here"), f"trainer={trainer}"]
    overrides.remove("trainer.accelerator=cpu")
    cfg = compose_train_config(tmp_path / "run", overrides)
    expected = rf"^trainer.accelerator=gpu \(trainer={trainer}\) asks for a GPU but torch sees none"
    with pytest.raises(HardwareUnavailable, match=expected):
        train(cfg)
    check_hardware(compose_train_config(tmp_path / "run", [*overrides, "trainer=ddp", "trainer.devices=2"]))
