"""What the test accuracy hides, in TensorBoard when testing ends: the confusion matrix as an image
with the labels by name (IMAGES), precision, recall and F1 of each class and a few misclassified
test texts with their true and predicted labels (TEXT).

The confusion matrix is the one the module counts for its test metrics (read before it resets), so
the table costs no second pass; the misclassified texts come from a second forward pass over the
first test batches only, until ``max_examples`` are found or ``max_batches`` are read.
"""

from __future__ import annotations

import html

import lightning as L
import matplotlib
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger

matplotlib.use("Agg")  # no display on servers and in sweeps
import matplotlib.pyplot as plt

from loralab.callbacks.epoch_curves import rendered_rgb

CONFUSION_TAG = "test/confusion_matrix"
PER_CLASS_TAG = "test/per_class"
MISCLASSIFIED_TAG = "test/misclassified"


def per_class_scores(confusion: torch.Tensor) -> dict[str, list[float]]:
    """Precision, recall, F1 and support of each class from a confusion matrix (rows: true class,
    columns: predicted); 0 where a class was never predicted or never present, as torchmetrics'
    ``MulticlassPrecision(average=None)`` and its siblings give."""
    confusion = confusion.double()
    hits = confusion.diag()
    predicted, support = confusion.sum(dim=0), confusion.sum(dim=1)
    precision = torch.where(predicted > 0, hits / predicted.clamp(min=1), torch.zeros_like(hits))
    recall = torch.where(support > 0, hits / support.clamp(min=1), torch.zeros_like(hits))
    both = precision + recall
    f1 = torch.where(both > 0, 2 * precision * recall / both.clamp(min=1e-12), torch.zeros_like(hits))
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(), "support": support.tolist()}


def per_class_markdown(confusion: torch.Tensor, labels: list[str]) -> str:
    """A Markdown table, a row per class (TensorBoard's TEXT tab draws it as a table)."""
    scores = per_class_scores(confusion)
    rows = ["| class | precision | recall | F1 | test examples |", "|---|---|---|---|---|"]
    for i, label in enumerate(labels):
        rows.append(
            f"| {_cell(label)} | {scores['precision'][i]:.4f} | {scores['recall'][i]:.4f} | {scores['f1'][i]:.4f} "
            f"| {int(scores['support'][i])} |"
        )
    return "\n".join(rows)


def shortened(text: str, max_chars: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``max_chars`` characters (and "…")."""
    flat = " ".join(text.replace("<br />", " ").split())
    if len(flat) <= max_chars:
        return flat
    cut = flat[: max_chars - 1].rsplit(" ", 1)[0] or flat[: max_chars - 1]
    return cut + "…"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell that TensorBoard renders: no HTML, no column breaks."""
    return html.escape(text).replace("|", "\\|")


def misclassified_markdown(examples: list[tuple[str, str, str]]) -> str:
    """``(text, true label, predicted label)`` rows as a Markdown table."""
    if not examples:
        return "No misclassified example in the test batches read."
    rows = ["| true | predicted | text |", "|---|---|---|"]
    rows += [f"| {_cell(true)} | {_cell(predicted)} | {_cell(text)} |" for text, true, predicted in examples]
    return "\n".join(rows)


def draw_confusion_matrix(confusion: torch.Tensor, labels: list[str]) -> plt.Figure:
    """Counts in each cell, shaded by the share of the true class (so a small class reads as well)."""
    counts = confusion.cpu().numpy()
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.2 + 0.6 * len(labels)
    figure, axis = plt.subplots(figsize=(size + 1.2, size))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(counts):
        axis.text(
            column, row, f"{count}", ha="center", va="center", color="white" if shares[row, column] > 0.5 else "black"
        )
    axis.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels)) > 6 else 0, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set(xlabel="predicted", ylabel="true", title="test split: confusion matrix")
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true class")
    figure.tight_layout()
    return figure


class TestSetReport(L.Callback):
    """``max_examples`` misclassified texts of at most ``max_chars`` characters, looked for in the
    first ``max_batches`` test batches; the confusion matrix and per-class table always."""

    def __init__(self, max_examples: int = 8, max_chars: int = 300, max_batches: int = 20) -> None:
        self.max_examples, self.max_chars, self.max_batches = max_examples, max_chars, max_batches
        self._confusion: torch.Tensor | None = None
        self._misclassified: list[tuple[int, int, int]] = []  # (dataset index, true, predicted)
        self._order: list[int] = []

    def _tensorboards(self, trainer: L.Trainer) -> list:
        return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._confusion, self._misclassified = None, []
        loader = trainer.test_dataloaders
        texts = getattr(trainer.datamodule, "test_texts", None)
        # The texts of a batch are found through the sampler's order, known in one process only.
        sampler = getattr(loader, "sampler", None)
        usable = texts and trainer.world_size == 1 and sampler is not None and loader.batch_size
        self._order = list(iter(sampler)) if usable and self._tensorboards(trainer) else []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if not self._order or batch_idx >= self.max_batches or len(self._misclassified) >= self.max_examples:
            return
        with trainer.precision_plugin.forward_context():
            predicted = pl_module(batch["input_ids"], batch["attention_mask"]).argmax(dim=-1).cpu()
        labels = batch["labels"].cpu()
        start = batch_idx * trainer.test_dataloaders.batch_size
        for row in torch.nonzero(predicted != labels).flatten().tolist():
            if len(self._misclassified) < self.max_examples:
                self._misclassified.append((self._order[start + row], int(labels[row]), int(predicted[row])))

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metric = pl_module.metrics["test_epoch"]  # callbacks run before the module, which resets it
        with metric.sync_context():  # summed over every process
            self._confusion = metric.confusion.detach().cpu().clone()

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writers = self._tensorboards(trainer)
        if self._confusion is None or not writers or not trainer.is_global_zero:
            return
        labels = list(getattr(trainer.datamodule, "label_names", None) or range(len(self._confusion)))
        labels = [str(label) for label in labels]
        pixels = rendered_rgb(draw_confusion_matrix(self._confusion, labels))
        texts = getattr(trainer.datamodule, "test_texts", [])
        examples = [(shortened(texts[i], self.max_chars), labels[t], labels[p]) for i, t, p in self._misclassified]
        for writer in writers:
            writer.add_image(CONFUSION_TAG, pixels, global_step=trainer.global_step, dataformats="HWC")
            writer.add_text(PER_CLASS_TAG, per_class_markdown(self._confusion, labels), global_step=trainer.global_step)
            writer.add_text(MISCLASSIFIED_TAG, misclassified_markdown(examples), global_step=trainer.global_step)
            writer.flush()
