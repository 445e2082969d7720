"""Learning-rate schedules that need the run's length, which only the Trainer knows."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup_decay(optimizer: Optimizer, num_training_steps: int, warmup_ratio: float = 0.06) -> LambdaLR:
    """Linear warmup over ``warmup_ratio`` of the steps, then linear decay to zero (BERT's schedule,
    as transformers' ``get_linear_schedule_with_warmup``)."""
    warmup = max(1, int(num_training_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (num_training_steps - step) / max(1, num_training_steps - warmup))

    return LambdaLR(optimizer, factor)
