"""What a finished run puts in TensorBoard for a person to read: the loss and accuracy charts of the
CUSTOM SCALARS tab, no ``epoch`` staircase and no flat learning rate, the test split's confusion
matrix, per-class table and misclassified texts, and the run's card. (The same pages, opened in
headless Chromium on a sweep and one of its runs: tests/test_sweep_summary.py.)"""

from __future__ import annotations

import re

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import Logger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2, metadata
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.classification import MulticlassF1Score, MulticlassPrecision, MulticlassRecall

from loralab.callbacks.loss_accuracy_layout import LEARNING_CATEGORY, SCHEDULE_CATEGORY, loss_accuracy_layout
from loralab.callbacks.scheduled_lr_monitor import SCHEDULED_LR_TAG, ScheduledLearningRateMonitor
from loralab.callbacks.test_set_report import misclassified_markdown, per_class_scores, shortened
from loralab.training.tensorboard_logger import RunTensorBoardLogger

# The finished runs are built once per session by one worker (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("run_folders")


def test_per_class_scores_match_torchmetrics():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (300,), generator=generator)
    predicted = torch.where(torch.rand(300, generator=generator) < 0.6, labels, torch.randint(0, 4, (300,)))
    predicted[predicted == 3] = 2  # class 3 is never predicted: its precision is 0, not NaN
    confusion = torch.bincount(labels * 4 + predicted, minlength=16).view(4, 4)
    scores = per_class_scores(confusion)
    for name, metric in (("precision", MulticlassPrecision), ("recall", MulticlassRecall), ("f1", MulticlassF1Score)):
        expected = metric(num_classes=4, average=None)(predicted, labels)
        assert scores[name] == pytest.approx(expected.tolist(), abs=1e-6), name
    assert scores["support"] == torch.bincount(labels, minlength=4).tolist()


def test_misclassified_texts_are_cut_short_and_cannot_break_the_table():
    text = "A <b>bold</b> | claim.<br /><br />" + "word " * 200
    cut = shortened(text, 80)
    assert len(cut) <= 80 and cut.endswith("…") and "<br />" not in cut and "  " not in cut
    table = misclassified_markdown([(cut, "neg", "pos")])
    row = table.splitlines()[-1]
    assert "<b>" not in row and "&lt;b&gt;" in row and "\\|" in row
    assert len(re.split(r"(?<!\\)\|", row)) == 5  # three cells between the outer pipes, whatever the text holds


def test_the_first_section_puts_train_and_validation_on_one_chart():
    layout = loss_accuracy_layout(scheduled_lr=True)
    learning, schedule = layout.category
    assert learning.title == LEARNING_CATEGORY and not learning.closed
    charts = {chart.title: list(chart.multiline.tag) for chart in learning.chart}
    assert charts["loss (train, validation)"] == ["^train/loss_epoch$", "^val/loss$"]
    assert charts["accuracy (train, validation)"] == ["^train/acc$", "^val/acc$"]
    assert schedule.title == SCHEDULE_CATEGORY and schedule.closed  # out of the way, one click away
    assert [c.title for c in loss_accuracy_layout(scheduled_lr=False).category] == [LEARNING_CATEGORY]


def test_the_logger_leaves_out_lightnings_epoch_scalar(tmp_path):
    logger = RunTensorBoardLogger(save_dir=str(tmp_path), name="", version="")
    logger.log_metrics({"epoch": 3, "val/acc": 0.5}, step=7)
    logger.log_metrics({"epoch": 3}, step=8)
    logger.finalize("success")
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert events.Tags()["scalars"] == ["val/acc"]


class _RecordingLogger(Logger):
    """Keeps what the Trainer logs, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[dict] = []

    name, version = "recording", 0

    def log_metrics(self, metrics, step=None) -> None:
        self.logged.append(dict(metrics))

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass


class _OneLayer(L.LightningModule):
    def __init__(self, scheduled: bool) -> None:
        super().__init__()
        self.layer, self.scheduled = torch.nn.Linear(2, 1), scheduled

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=0.1)
        if not self.scheduled:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)}


def _logged_rates(scheduled: bool) -> list[dict]:
    logger = _RecordingLogger()
    trainer = L.Trainer(
        max_epochs=2,
        logger=logger,
        callbacks=[ScheduledLearningRateMonitor(logging_interval="epoch")],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(_OneLayer(scheduled), DataLoader(TensorDataset(torch.ones(2, 2)), batch_size=2))
    return [
        {k: v for k, v in metrics.items() if "lr" in k} for metrics in logger.logged if any("lr" in k for k in metrics)
    ]


def test_the_learning_rate_is_logged_as_train_lr_only_when_a_schedule_moves_it():
    assert _logged_rates(scheduled=False) == []  # a flat line tells nothing; optim.optimizer.lr is in HPARAMS
    assert _logged_rates(scheduled=True) == [
        {SCHEDULED_LR_TAG: pytest.approx(0.1)},
        {SCHEDULED_LR_TAG: pytest.approx(0.01)},
    ]


@pytest.mark.integration
def test_a_finished_run_shows_its_charts_confusion_matrix_texts_and_card(finished_runs):
    run = finished_runs["own_base"]
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert {"train/loss_epoch", "val/loss", "train/acc", "val/acc"} <= set(tags["scalars"])
    assert not {"epoch", "lr-AdamW", SCHEDULED_LR_TAG} & set(tags["scalars"])  # adamw: a constant rate
    assert "test/confusion_matrix" in tags["images"]
    image = events.Images("test/confusion_matrix")[-1]
    assert image.encoded_image_string[:4] == b"\x89PNG" and image.width > 100
    layout = layout_pb2.Layout()
    layout.ParseFromString(events.Tensors(metadata.CONFIG_SUMMARY_TAG)[-1].tensor_proto.string_val[0])
    assert [category.title for category in layout.category] == [LEARNING_CATEGORY]

    def text(tag: str) -> str:
        return events.Tensors(f"{tag}/text_summary")[-1].tensor_proto.string_val[0].decode()

    card = text("run/summary")
    assert str(run) in card and "python train.py" in card and "model.lora.rank=2" in card
    assert "| test/acc |" in card and "| model.lora.rank | 2 |" in card
    per_class = text("test/per_class")
    assert "| negative |" in per_class and "| positive |" in per_class  # the labels by name
    assert "| true | predicted | text |" in text("test/misclassified") or "No misclassified" in text(
        "test/misclassified"
    )
