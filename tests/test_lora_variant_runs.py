"""A PiSSA + DoRA run folder stays honest: its base is the unmodified one (PiSSA moved s B0 A0 out of
fc1 only in memory), its adapter is converted to apply to that base, a moved folder predicts the
same, and a run resumed from its checkpoint ends as the uninterrupted one did. One tiny run, shared."""

import json
from pathlib import Path

import pytest
import torch
from helpers.run_folders import copy_run
from helpers.tiny_data import sentiment_rows, write_parquet
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.runs.open_run import open_run
from loralab.runs.run_model import save_run_model
from loralab.training import experiment
from loralab.training.experiment import train

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("pissa_run")]

RANK = 2
VARIANT = ["model=lora_textclassifier", f"model.lora.rank={RANK}", "model.lora.variant=dora", "model.lora.init=pissa"]


IDS = torch.tensor([[5, 9, 12, 0], [7, 7, 3, 21], [4, 0, 0, 0]])


@pytest.fixture(scope="module")
def pissa_run(tmp_path_factory) -> tuple[Path, list[str], dict, torch.Tensor]:
    """The run, and the logits of its network as training left it (PiSSA's residual in memory)."""
    root = tmp_path_factory.mktemp("pissa")
    data_dir = root / "data"
    write_parquet(data_dir / "imdb" / "train.parquet", sentiment_rows(200, seed=1))
    write_parquet(data_dir / "imdb" / "test.parquet", sentiment_rows(60, seed=2))
    overrides = tiny_run_overrides(data_dir) + VARIANT + ["optim.loraplus_lr_ratio=4"]
    run_dir = root / "run"
    trained = {}

    def save_and_keep_logits(net, cfg, output_dir, settings):
        with torch.no_grad():
            trained["logits"] = net.eval()(input_ids=IDS, attention_mask=(IDS != 0).long())
        return save_run_model(net, cfg, output_dir, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment, "save_run_model", save_and_keep_logits)
        metrics = train(compose_train_config(run_dir, overrides))
    return run_dir, overrides, metrics, trained["logits"]


def _logits(run_dir: Path) -> torch.Tensor:
    with torch.no_grad():
        return open_run(run_dir).net(input_ids=IDS, attention_mask=(IDS != 0).long())


def test_a_moved_pissa_run_predicts_as_before_and_records_the_converted_adapter(pissa_run, tmp_path):
    run_dir, _, _, trained = pissa_run
    lora = json.loads((run_dir / "run_config.json").read_text())["lora"]
    assert (lora["init"], lora["rank"], lora["variant"]) == ("default", 2 * RANK, "dora")
    adapter = json.loads((run_dir / "adapter" / "adapter_config.json").read_text())
    assert (adapter["converted_from_init"], adapter["r"], adapter["use_dora"]) == ("pissa", 2 * RANK, True)
    before = _logits(run_dir)
    # The unmodified base plus the converted adapter is the trained network (to rounding).
    torch.testing.assert_close(before, trained, rtol=1e-5, atol=1e-6)
    moved = copy_run(run_dir, tmp_path / "elsewhere" / "moved")
    run_dir.rename(run_dir.with_name("gone"))
    try:
        torch.testing.assert_close(_logits(moved), before, rtol=0, atol=0)
    finally:
        run_dir.with_name("gone").rename(run_dir)


def test_a_pissa_run_resumed_from_its_first_epoch_ends_as_the_whole_run(pissa_run, tmp_path):
    """The checkpoint holds what trains; the frozen base (PiSSA's residual) is derived again from the
    seed and must hash the same, then the second epoch goes exactly as the uninterrupted one."""
    run_dir, overrides, whole, _ = pissa_run
    first = tmp_path / "first"
    train(compose_train_config(first, overrides + ["trainer.max_epochs=1"]))
    last = first / "checkpoints" / "last.ckpt"
    resumed = train(compose_train_config(tmp_path / "resumed", overrides + [f"ckpt_path={last}"]))
    for key in ("val/loss", "train/loss_epoch", "val/acc_best"):
        assert resumed[key] == whole[key], key
