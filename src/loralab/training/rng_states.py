"""The global random generators' states, kept in a checkpoint so that a resumed run draws the
same dropout masks as an uninterrupted one (DistilBERT and LoRA dropout read the global RNG)."""

from __future__ import annotations

import random

import numpy as np
import torch

RNG_STATES_KEY = "loralab_rng_states"  # in a checkpoint


def collect_rng_states() -> dict:
    """Python's, NumPy's, torch's and (once CUDA is in use) every GPU's generator state, in types
    that ``torch.load(weights_only=True)`` reads back."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.copy()), position, has_gauss, cached_gaussian),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    """Set the generators ``collect_rng_states`` described (GPUs beyond those present are skipped)."""
    random.setstate(states["python"])
    kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
    np.random.set_state((kind, keys.numpy(), position, has_gauss, cached_gaussian))
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        for device, state in enumerate(states["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(state, device)
