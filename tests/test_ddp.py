"""DDP kept equal: two processes at half the batch train what one process does at the full batch.

What makes the comparison fair: the same seed (the same initial weights, split and vocabulary), a
per-process batch of global / 2, and each process taking every second index of the one seeded order
(``TextClassificationDataModule._process_shards``), so each optimizer step averages the gradients of
the very examples one process batches; the step count is then the same (190 training texts: 12
steps of 16, or of 2 x 8). Epoch metrics are sums over both processes (torchmetrics states), and the
split sizes are even, so no process pads its share with a repeated example.
"""

import json
from types import SimpleNamespace

import pytest
from helpers.tiny_data import assert_learned
from helpers.train_configs import compose_train_config, tiny_run_overrides
from test_datamodule import _datamodule
from test_sweep_summary import run_train

# Rounding only: the gradient of a step is the mean of two half-batch means instead of one mean, in
# float32, which moves losses in their 7th or 8th digit; 1e-5 is a hundred times what that leaves
# after two epochs, and far below what other batches do (a shuffled order moves them by 0.1).
LOSS_TOLERANCE = 1e-5
# Accuracy and F1 count argmaxes: a count moves only if rounding flips a prediction, whose logit
# margin would have to be below the losses' tolerance; with a fixed seed the runs are repeatable.
COUNTED = ["train/acc", "train/f1", "val/acc", "val/f1", "val/acc_best", "test/acc", "test/f1"]
LOSSES = ["train/loss_epoch", "val/loss", "test/loss"]  # not train/loss_step: rank 0's half batch only


def _batches(dm, shards=None) -> list[set[int]]:
    """The training split's batches of one epoch as sets of example positions."""
    dm.trainer = None if shards is None else SimpleNamespace(distributed_sampler_kwargs=shards)
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(1)
    positions = list(loader.sampler)
    return [set(positions[i : i + loader.batch_size]) for i in range(0, len(positions), loader.batch_size)]


@pytest.mark.parametrize("group_by_length", [False, True])
def test_two_processes_share_out_the_batches_of_one(tiny_data_dir, tmp_path, group_by_length):
    one = _batches(_datamodule(tiny_data_dir, tmp_path, batch_size=16, group_by_length=group_by_length))
    half = _datamodule(tiny_data_dir, tmp_path, batch_size=8, group_by_length=group_by_length)
    ranks = [_batches(half, {"num_replicas": 2, "rank": rank}) for rank in (0, 1)]
    assert [first | second for first, second in zip(*ranks)] == one
    assert all(not (first & second) for first, second in zip(*ranks))


@pytest.mark.integration  # DDP starts train.py again for its second process: a subprocess
def test_ddp_over_two_cpu_processes_ends_where_one_process_does(tiny_data_dir, tmp_path):
    from loralab.training.experiment import train

    common = [*tiny_run_overrides(tiny_data_dir), "seed=7"]
    one = train(compose_train_config(tmp_path / "one", [*common, "data.batch_size=16"]))
    run_dir = tmp_path / "ddp"
    ddp = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "data.batch_size=8"]
    result = run_train([*common, *ddp, f"hydra.run.dir={run_dir}"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sync_dist=True" not in result.stderr  # every epoch-level figure is logged synced
    two = json.loads((run_dir / "metrics.json").read_text())

    assert (one["world_size"], two["world_size"]) == (1, 2) and one["epochs"] == two["epochs"] == 2
    assert (run_dir / "train_ddp_process_1.log").is_file()  # the second process, started by Lightning
    assert_learned(one)
    assert {key: two[key] for key in COUNTED} == {key: one[key] for key in COUNTED}
    assert {key: two[key] for key in LOSSES} == pytest.approx({key: one[key] for key in LOSSES}, abs=LOSS_TOLERANCE)
