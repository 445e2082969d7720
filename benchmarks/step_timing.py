"""Timing, FLOPs and peak memory of training steps, measured the same way for HF Trainer and
Lightning (``bench_gpu.py``)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch import nn

PEAK_FLOPS = 989e12  # H100/H200 SXM, dense bf16
CUDA = torch.cuda.is_available()


@dataclass(frozen=True)
class EncoderShape:
    """What the FLOP count needs to know of the frozen base."""

    non_embedding_params: int
    layers: int
    hidden_size: int

    def lora_training_flops(self, tokens: int, seq_len: int) -> float:
        """FLOPs of a training step over ``tokens`` tokens in sequences of ``seq_len``."""
        return tokens * (4 * self.non_embedding_params + 12 * self.layers * self.hidden_size * seq_len)


def synchronize() -> None:
    if CUDA:
        torch.cuda.synchronize()


class TimedSteps:
    """Batches seen and seconds taken by the optimizer steps after warm-up.

    A forward pre-hook on the model records each batch's shape and real-token count, so that HF
    Trainer and Lightning are measured by the same code; each trainer's callback reports the end of
    every optimizer step to ``step_ended``. Token counts stay on the device until the end: reading
    them each step would add a host sync that neither trainer has.
    """

    def __init__(self, model: nn.Module, warmup_steps: int, timed_steps: int) -> None:
        self.warmup_steps, self.timed_steps = warmup_steps, timed_steps
        self.shapes: list[tuple[int, int]] = []
        self.real_tokens: list[torch.Tensor] = []
        self.first_batch: float | None = None  # clock at the first forward: warm-up seconds include compiling
        self.start: tuple[float, int] | None = None  # (clock, batches seen) when the warm-up ended
        self.stop: tuple[float, int] | None = None
        # Kept out of torch.compile's graph (model.compile=true): a Python side effect, not model code.
        model.register_forward_pre_hook(torch.compiler.disable(self._record_batch), with_kwargs=True)

    def _record_batch(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        mask = kwargs["attention_mask"]
        if self.first_batch is None:
            self.first_batch = time.perf_counter()
        self.shapes.append(tuple(mask.shape))
        self.real_tokens.append(mask.sum())

    def step_ended(self, step: int) -> None:
        if step in (self.warmup_steps, self.warmup_steps + self.timed_steps):
            synchronize()
            mark = (time.perf_counter(), len(self.shapes))
            if step == self.warmup_steps:
                self.start = mark
            else:
                self.stop = mark

    def figures(self, shape: EncoderShape) -> dict[str, float]:
        if self.start is None or self.stop is None:
            raise RuntimeError(
                f"training ended before step {self.warmup_steps + self.timed_steps}; the row timed nothing"
            )
        seconds = self.stop[0] - self.start[0]
        timed = slice(self.start[1], self.stop[1])
        shapes = self.shapes[timed]
        real_per_batch = torch.stack(self.real_tokens[timed]).tolist()
        real = sum(real_per_batch)
        padded = sum(batch * length for batch, length in shapes)
        flops = sum(shape.lora_training_flops(batch * length, length) for batch, length in shapes)
        # the work the reviews needed: padding tokens cost time but are not useful FLOPs
        useful_flops = sum(
            shape.lora_training_flops(tokens, length) for tokens, (_, length) in zip(real_per_batch, shapes)
        )
        return {
            "warm-up s": self.start[0] - self.first_batch,
            "timed steps": len(shapes),
            "seconds": seconds,
            "samples/s": sum(batch for batch, _ in shapes) / seconds,
            "tokens/s": real / seconds,
            "padded tokens/s": padded / seconds,
            "padding %": 100 * (1 - real / padded),
            "MFU %": 100 * flops / seconds / PEAK_FLOPS,
            "MFU % real": 100 * useful_flops / seconds / PEAK_FLOPS,
        }


class LightningStepClock(L.Callback):
    def __init__(self, timer: TimedSteps) -> None:
        self.timer = timer

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.timer.step_ended(trainer.global_step)


def hf_step_clock(timer: TimedSteps):
    """A ``TrainerCallback`` (transformers is imported only where it is used: it is slow to import)."""
    from transformers import TrainerCallback

    class HFStepClock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs) -> None:
            timer.step_ended(state.global_step)

    return HFStepClock()


def with_peak_memory(run: Callable[[], dict]) -> dict:
    """``run()``'s figures plus its peak GPU memory, from the same seed and an emptied GPU cache."""
    gc.collect()
    L.seed_everything(0, verbose=False)
    if CUDA:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    figures = run()
    figures["peak GiB"] = torch.cuda.max_memory_allocated() / 2**30 if CUDA else None
    return figures
