"""The lab's "loss and accuracy per epoch" figure, for every run: ``curves.png`` in the run folder
and the same image in TensorBoard's IMAGES tab."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import matplotlib
import numpy as np

from loralab.atomic_files import atomic_write

matplotlib.use("Agg")  # no display on servers and in sweeps
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

CURVES = {"loss": ("train/loss_epoch", "val/loss"), "accuracy": ("train/acc", "val/acc")}


class EpochCurves(L.Callback):
    """Records the epoch-level train and validation metrics and draws them when fitting ends."""

    def __init__(self, filename: str = "curves.png") -> None:
        self.filename = filename
        self.history: list[dict[str, float]] = []

    def state_dict(self) -> dict:
        return {"history": self.history}  # in checkpoints: a resumed run draws every epoch

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = list(state_dict["history"])

    def _record_finished_epoch(self, trainer: L.Trainer) -> None:
        # Lightning reduces a train epoch's metrics after the epoch-end hooks, so the epoch just
        # finished is read when the next one starts (and when fitting ends).
        tags = [tag for pair in CURVES.values() for tag in pair]
        values = {tag: float(trainer.callback_metrics[tag]) for tag in tags if tag in trainer.callback_metrics}
        if "train/loss_epoch" in values and len(self.history) < trainer.current_epoch + 1:
            self.history.append(values)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self._record_finished_epoch(trainer)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record_finished_epoch(trainer)
        if not self.history or not trainer.is_global_zero:
            return
        # Rendered once for both the file and TensorBoard (savefig and add_figure would each render it).
        pixels = rendered_rgb(draw_epoch_curves(self.history))
        atomic_write(Path(trainer.default_root_dir) / self.filename, lambda tmp: plt.imsave(tmp, pixels, format="png"))
        for logger in trainer.loggers:
            if hasattr(logger.experiment, "add_image"):  # TensorBoard's SummaryWriter
                logger.experiment.add_image(
                    "curves/loss_and_accuracy", pixels, global_step=trainer.global_step, dataformats="HWC"
                )


def rendered_rgb(figure: plt.Figure) -> np.ndarray:
    """The figure's pixels (height x width x RGB), and the figure closed."""
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return pixels


def draw_epoch_curves(history: list[dict[str, float]]) -> plt.Figure:
    """Two panels, loss and accuracy, each with a train and a validation line."""
    epochs = range(1, len(history) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for axis, (title, (train_tag, val_tag)) in zip(axes, CURVES.items()):
        for tag, label in ((train_tag, "train"), (val_tag, "validation")):
            points = [(epoch, row[tag]) for epoch, row in zip(epochs, history) if tag in row]
            if points:
                axis.plot(*zip(*points), marker="o", label=label)
        axis.set_xlabel("epoch")
        axis.set_xlim(0.5, len(history) + 0.5)  # whole epochs as ticks, even for a one-epoch run
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()  # what savefig's bbox_inches="tight" did, now before the one render
    return figure
