import math

import pytest
import torch

from loralab.data import EpochShuffleSampler, LengthGroupedSampler
from loralab.training.schedules import linear_warmup_decay


def _batches(sampler, batch_size):
    """What a DataLoader with ``batch_size`` makes of the sampler's order."""
    return [batch.tolist() for batch in torch.tensor(list(sampler)).split(batch_size)]


def test_length_grouped_batches_cover_every_example_once_with_less_padding():
    torch.manual_seed(0)
    lengths = torch.randint(1, 500, (1000,))
    sampler = LengthGroupedSampler(lengths, batch_size=16, seed=3, mega_batch_factor=10)
    batches = _batches(sampler, 16)
    assert len(batches) == 63 and len(sampler) == 1000
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def padding(batches):
        return sum(lengths[b].max().item() * len(b) - lengths[b].sum().item() for b in batches)

    random_batches = torch.randperm(1000).split(16)
    assert padding(batches) < padding(random_batches) / 4


@pytest.mark.parametrize(
    "make", [lambda: LengthGroupedSampler(torch.arange(100), 8, seed=1), lambda: EpochShuffleSampler(100, seed=1)]
)
def test_the_order_depends_on_seed_and_epoch_only(make):
    first, again = make(), make()
    torch.manual_seed(123)  # the global RNG plays no part: a resumed run gets the same order
    epoch_zero = list(first)
    assert epoch_zero == list(first) == list(again)
    first.set_epoch(1)
    assert list(first) != epoch_zero
    again.set_epoch(1)
    assert list(again) == list(first)


def test_lightning_sets_the_epoch_of_the_datamodule_sampler():
    from lightning.fabric.utilities.data import _set_sampler_epoch
    from torch.utils.data import DataLoader

    loader = DataLoader(list(range(10)), batch_size=4, sampler=EpochShuffleSampler(10, seed=0))
    _set_sampler_epoch(loader, 3)
    assert loader.sampler.epoch == 3


def test_evaluation_batches_go_longest_first():
    assert _batches(LengthGroupedSampler(torch.tensor([3, 9, 1, 7]), 2, shuffle=False), 2) == [[1, 3], [0, 2]]


def _rates(schedule_factory, steps: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = schedule_factory(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_linear_warmup_then_decay_to_zero():
    rates = _rates(lambda opt: linear_warmup_decay(opt, num_training_steps=100, warmup_ratio=0.1), 100)
    assert rates[0] == 0.0 and rates[1] == 0.1 and rates[10] == 1.0 and max(rates) == 1.0
    assert rates[50] < rates[20] and rates[-1] == 1 / 90


@pytest.mark.parametrize(("steps", "ratio"), [(100, 0.1), (37, 0.06), (5, 0.5), (10, 0.0)])
def test_warmup_schedule_is_transformers_linear_schedule(steps, ratio):
    from transformers import get_linear_schedule_with_warmup

    ours = _rates(lambda opt: linear_warmup_decay(opt, num_training_steps=steps, warmup_ratio=ratio), steps)
    warmup = math.ceil(steps * ratio)  # what Hugging Face's Trainer makes of warmup_ratio
    theirs = _rates(lambda opt: get_linear_schedule_with_warmup(opt, warmup, steps), steps)
    assert ours == theirs
