"""The CUSTOM SCALARS tab as the first view of a run: one chart of train and validation loss, one of
train and validation accuracy, so "is it learning, is it overfitting" is answered at a glance.

TensorBoard merges the layouts of every run it reads, and each chart draws every selected run, so
the same charts compare the jobs of a sweep.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.custom_scalar import metadata
from tensorboard.plugins.custom_scalar.layout_pb2 import Category, Chart, Layout, MultilineChartContent

# Chart title -> the scalar tags it draws (TensorBoard reads them as regular expressions).
LEARNING_CHARTS = {
    "loss (train, validation)": ["^train/loss_epoch$", "^val/loss$"],
    "accuracy (train, validation)": ["^train/acc$", "^val/acc$"],
    "macro F1 (train, validation)": ["^train/f1$", "^val/f1$"],
}
LEARNING_CATEGORY = "is it learning, is it overfitting"
SCHEDULE_CATEGORY = "learning rate"
SCHEDULE_TAGS = ["^train/lr"]  # written by ScheduledLearningRateMonitor, only when a schedule changes it


def _chart(title: str, tags: list[str]) -> Chart:
    return Chart(title=title, multiline=MultilineChartContent(tag=tags))


def loss_accuracy_layout(scheduled_lr: bool) -> Layout:
    """The learning charts, open; with ``scheduled_lr``, the learning rate in a closed section below."""
    categories = [Category(title=LEARNING_CATEGORY, chart=[_chart(t, tags) for t, tags in LEARNING_CHARTS.items()])]
    if scheduled_lr:
        schedule = [_chart("learning rate", SCHEDULE_TAGS)]
        categories.append(Category(title=SCHEDULE_CATEGORY, chart=schedule, closed=True))
    return Layout(category=categories)


class LossAccuracyLayout(L.Callback):
    """Writes the layout into every TensorBoard logger's run when training starts."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        layout = loss_accuracy_layout(scheduled_lr=bool(trainer.lr_scheduler_configs))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):  # not fast_dev_run's stand-in logger
                logger.experiment._get_file_writer().add_summary(_layout_summary(layout))


def _layout_summary(layout: Layout) -> Summary:
    """What ``SummaryWriter.add_custom_scalars`` writes, from a ``Layout`` (that method takes a dict
    with no way to close a section)."""
    tensor = TensorProto(dtype="DT_STRING", string_val=[layout.SerializeToString()], tensor_shape=TensorShapeProto())
    value = Summary.Value(tag=metadata.CONFIG_SUMMARY_TAG, tensor=tensor, metadata=metadata.create_summary_metadata())
    return Summary(value=[value])
