"""Learning-rate schedules that need the run's length, which only the Trainer knows."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR
from transformers import get_linear_schedule_with_warmup


def warmup_steps(num_training_steps: int, warmup_ratio: float) -> int:
    """Steps of warmup for a ratio, rounded up as Hugging Face's Trainer does (``warmup_ratio``)."""
    return math.ceil(num_training_steps * warmup_ratio)


def linear_warmup_decay(optimizer: Optimizer, num_training_steps: int, warmup_ratio: float = 0.06) -> LambdaLR:
    """Linear warmup from 0 over ``warmup_ratio`` of the steps, then linear decay to 0: BERT's schedule,
    transformers' own ``get_linear_schedule_with_warmup``, sized by a ratio since the run's step count
    is only known once the Trainer has the data."""
    return get_linear_schedule_with_warmup(
        optimizer, warmup_steps(num_training_steps, warmup_ratio), num_training_steps
    )
