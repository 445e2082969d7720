import torch

from loralab.data import LengthGroupedBatchSampler
from loralab.schedules import linear_warmup_decay


def test_length_grouped_batches_cover_every_example_once_with_less_padding():
    torch.manual_seed(0)
    lengths = torch.randint(1, 500, (1000,))
    sampler = LengthGroupedBatchSampler(lengths, batch_size=16, seed=3, mega_batch_factor=10)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def padding(batches):
        return sum(lengths[b].max().item() * len(b) - lengths[b].sum().item() for b in batches)

    random_batches = torch.randperm(1000).split(16)
    assert padding(batches) < padding(random_batches) / 4


def test_length_grouped_order_is_seeded_and_changes_each_epoch():
    lengths = torch.arange(100)
    first, again = LengthGroupedBatchSampler(lengths, 8, seed=1), LengthGroupedBatchSampler(lengths, 8, seed=1)
    epoch_one = list(first)
    assert epoch_one == list(again)
    assert list(first) != epoch_one


def test_evaluation_batches_go_longest_first():
    batches = list(LengthGroupedBatchSampler(torch.tensor([3, 9, 1, 7]), 2, shuffle=False))
    assert batches == [[1, 3], [0, 2]]


def test_linear_warmup_then_decay_to_zero():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = linear_warmup_decay(optimizer, num_training_steps=100, warmup_ratio=0.1)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0.1 and rates[9] == 1.0 and max(rates) == 1.0
    assert rates[50] < rates[20] and rates[-1] == 1 / 90
