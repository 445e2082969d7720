"""An epoch's accuracy, macro F1 and mean loss from one cheap update per step."""

from __future__ import annotations

import torch
from torchmetrics import Metric


class ClassificationEpochMetrics(Metric):
    """Counts a confusion matrix and sums the loss over an epoch; ``compute()`` turns them into
    ``acc`` (micro), ``f1`` (macro, over the classes seen in labels or predictions, as
    torchmetrics' ``MulticlassF1Score``) and ``loss`` (a mean over examples, not batches).

    One ``bincount`` per step, where separate accuracy, F1 and mean metrics cost three updates with
    their input checks: those were a ninth of a small model's CPU epoch. States are summed across
    processes when computed, so every DDP rank gets the global figures.
    """

    full_state_update = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.add_state("confusion", torch.zeros(num_classes, num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("loss_sum", torch.zeros(()), dist_reduce_fx="sum")  # float32: MPS has no float64

    def update(self, logits: torch.Tensor, labels: torch.Tensor, mean_loss: torch.Tensor) -> None:
        """``mean_loss``: the batch's loss averaged over its examples (CrossEntropyLoss's default)."""
        cells = labels * self.num_classes + logits.argmax(dim=-1)
        self.confusion += torch.bincount(cells, minlength=self.num_classes**2).view(self.num_classes, self.num_classes)
        self.loss_sum += mean_loss.detach().float() * len(labels)

    def compute(self) -> dict[str, torch.Tensor]:
        confusion = self.confusion.float()  # rows: true class, columns: predicted class
        examples = confusion.sum().clamp(min=1.0)
        true_positives = confusion.diag()
        support_or_predicted = confusion.sum(dim=0) + confusion.sum(dim=1)
        seen = support_or_predicted > 0
        f1_per_class = 2 * true_positives[seen] / support_or_predicted[seen]
        return {
            "acc": true_positives.sum() / examples,
            "f1": f1_per_class.mean() if seen.any() else torch.zeros((), device=confusion.device),
            "loss": self.loss_sum / examples,
        }
