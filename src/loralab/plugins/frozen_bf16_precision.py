"""A Lightning precision plugin for adapter training: the frozen base in bfloat16, what trains in
float32, no autocast."""

from __future__ import annotations

import logging
from typing import Any

import torch
from lightning.pytorch.plugins.precision import Precision
from torch import nn

log = logging.getLogger(__name__)

_INPUT_DTYPE = "_loralab_input_dtype"  # set on a module whose input cast is registered: what it casts to


def _cast_floating(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != dtype:
        return value.to(dtype)
    return value


def _cast_inputs_to_own_dtype(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    dtype = getattr(module, _INPUT_DTYPE)
    return tuple(_cast_floating(a, dtype) for a in args), {k: _cast_floating(v, dtype) for k, v in kwargs.items()}


class FrozenBF16Precision(Precision):
    """Weights that do not train are stored and multiplied in bfloat16; weights that train (LoRA's A
    and B, a new head) stay float32, and so does their AdamW state.

    Why not ``bf16-mixed``: autocast keeps float32 master copies of frozen weights that never
    update, and its LayerNorms return float32, so every linear layer casts its input to bfloat16
    again, forward and backward. Why not
    ``bf16-true``: it casts the trained weights too, and bfloat16's 8-bit mantissa drops small
    AdamW updates. Each module with weights of its own takes its floating inputs cast to its
    weights' dtype, so a float32 head reads the bfloat16 encoder's output. It pays at small batches,
    where the casts weigh most, and saves memory, most with gradient checkpointing; at large batches
    LoRA's float32 products cost what the casts saved (figures: docs/performance.md).
    """

    precision = "bf16-true"  # what Lightning's model summary sizes the (mostly frozen) weights by

    def convert_module(self, module: nn.Module) -> nn.Module:
        # nn.Module.compile sets _compiled_call_impl (no public accessor)
        if any(getattr(submodule, "_compiled_call_impl", None) is not None for submodule in module.modules()):
            log.warning(
                "trainer=gpu_bf16_base with model.compile=true trains slower than either alone (docs/performance.md); "
                "drop one of them"
            )
        for submodule in module.modules():
            own = [p for p in submodule.parameters(recurse=False) if p.is_floating_point()]
            if not own:
                continue
            # One dtype per module (a frozen weight with a trained bias would not multiply).
            dtype = torch.float32 if any(p.requires_grad for p in own) else torch.bfloat16
            for parameter in own:
                parameter.data = parameter.data.to(dtype)
            if not hasattr(submodule, _INPUT_DTYPE):
                submodule.register_forward_pre_hook(_cast_inputs_to_own_dtype, with_kwargs=True)
            setattr(submodule, _INPUT_DTYPE, dtype)  # read on every forward: no search of the parameters there
        return module
