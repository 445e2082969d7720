"""Whether this machine has the devices ``trainer.accelerator`` and ``trainer.devices`` ask for.

Checked with the config, before data loads: Lightning finds out only when the Trainer is built,
after the data and the model, and says so in a traceback (``trainer=gpu`` on a laptop: "No
supported gpu backend found!"). ``accelerator=auto`` needs nothing: it takes the CPU when there is
no GPU.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

GPU_NAMES = ("gpu", "cuda")


class HardwareUnavailable(ValueError):
    """The config asks for a device this machine does not have."""


def _preset() -> str:
    """`` (trainer=gpu)`` when a trainer preset other than the default chose the accelerator."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return ""
    choice = HydraConfig.get().runtime.choices.get("trainer")
    return f" (trainer={choice})" if choice and choice != "default" else ""


def _gpus_visible() -> tuple[str, int]:
    """The backend Lightning's ``gpu`` means here and how many of its devices torch sees."""
    if torch.cuda.is_available():
        return "cuda", torch.cuda.device_count()
    if torch.backends.mps.is_available():
        return "mps", 1
    return "", 0


def _no_gpu_fix() -> str:
    if torch.version.cuda is None:
        return f"use trainer=cpu or the default trainer, or install a CUDA build of torch (this is {torch.__version__})"
    return "use trainer=cpu or the default trainer, or check the driver (nvidia-smi) and CUDA_VISIBLE_DEVICES"


def _available(accelerator: str) -> tuple[bool, int]:
    """Whether ``accelerator`` (a Lightning name other than gpu/auto/cpu) is usable, and its device count."""
    from lightning.pytorch.accelerators import AcceleratorRegistry

    if accelerator not in AcceleratorRegistry.available_accelerators():
        return False, 0
    cls = AcceleratorRegistry[accelerator]["accelerator"]
    if not cls.is_available():
        return False, 0
    return True, int(cls.auto_device_count())


def _requested(devices: Any) -> tuple[int | None, list[int] | None]:
    """``trainer.devices`` as (a count, or None for all) and (device ids, or None), as Lightning reads it."""
    if isinstance(devices, str) and devices != "auto":
        devices = [int(d) for d in devices.split(",") if d.strip()] if "," in devices else int(devices)
    if isinstance(devices, list):
        return len(devices), [int(d) for d in devices]
    if isinstance(devices, int) and devices > 0:
        return devices, None
    return None, None  # auto, -1: all there are


def hardware_error(accelerator: Any, devices: Any, preset: str = "") -> str | None:
    """The one-line reason this machine cannot run ``accelerator`` x ``devices``, or None; ``preset``
    (`` (trainer=gpu)``) follows the accelerator's name."""
    accelerator = str(accelerator).lower()
    count, ids = _requested(devices)
    if accelerator in GPU_NAMES:
        backend, visible = _gpus_visible()
        if accelerator == "cuda" and backend == "mps":
            backend, visible = "", 0
        if not visible:
            return (
                f"trainer.accelerator={accelerator}{preset} asks for a GPU but torch sees none "
                f"(torch.cuda.is_available() is False); {_no_gpu_fix()}"
            )
        unit = "GPU"
    elif accelerator in ("auto", "cpu"):
        if ids is not None and (accelerator == "cpu" or not _gpus_visible()[1]):
            return (
                f"trainer.devices={devices} names GPU ids but the run is on the CPU (no GPU here); "
                "use a number of processes (trainer.devices=1) or run on a GPU machine"
            )
        return None
    else:
        usable, visible = _available(accelerator)
        if not usable:
            return (
                f"trainer.accelerator={accelerator}{preset} asks for a {accelerator.upper()} device but this "
                "machine has none (or Lightning has no support for it installed); use trainer=cpu or the default "
                "trainer (accelerator auto)"
            )
        unit = f"{accelerator.upper()} device"
    wanted = max(ids) + 1 if ids else count
    if wanted is not None and wanted > visible:
        asked = f"device ids {ids}" if ids else f"{count} {unit}s"
        return (
            f"trainer.devices={devices} asks for {asked} but torch sees {visible}; "
            f"use trainer.devices={visible} or fewer (or trainer.devices=auto)"
        )
    return None


def check_hardware(cfg: DictConfig) -> None:
    """Refuse a config whose trainer needs devices this machine lacks (see ``hardware_error``)."""
    accelerator = OmegaConf.select(cfg, "trainer.accelerator", default="auto")
    devices = OmegaConf.select(cfg, "trainer.devices", default="auto")
    error = hardware_error(accelerator, devices, _preset())
    if error:
        raise HardwareUnavailable(error)
