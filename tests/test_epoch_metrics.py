"""The one-update epoch metrics give torchmetrics' figures, however the epoch is cut into batches."""

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from loralab.training.epoch_metrics import ClassificationEpochMetrics


@pytest.mark.parametrize("num_classes, label_classes", [(2, 2), (4, 4), (4, 3)])  # (4, 3): a class never seen
def test_matches_torchmetrics_accuracy_f1_and_example_weighted_loss(num_classes, label_classes):
    generator = torch.Generator().manual_seed(num_classes + label_classes)
    batches = [
        (
            torch.randn(size, num_classes, generator=generator),
            torch.randint(0, label_classes, (size,), generator=generator),
        )
        for size in (64, 64, 17)  # a short last batch: the loss mean must weight by examples
    ]
    criterion = torch.nn.CrossEntropyLoss()
    metrics = ClassificationEpochMetrics(num_classes)
    accuracy = MulticlassAccuracy(num_classes, average="micro")
    f1 = MulticlassF1Score(num_classes, average="macro")
    for logits, labels in batches:
        metrics.update(logits, labels, criterion(logits, labels))
        accuracy.update(logits, labels)
        f1.update(logits, labels)
    values = metrics.compute()
    all_logits = torch.cat([logits for logits, _ in batches])
    all_labels = torch.cat([labels for _, labels in batches])
    assert values["acc"] == pytest.approx(accuracy.compute().item(), abs=1e-6)
    assert values["f1"] == pytest.approx(f1.compute().item(), abs=1e-6)
    assert values["loss"] == pytest.approx(criterion(all_logits, all_labels).item(), abs=1e-6)


def test_reset_starts_a_new_epoch():
    metrics = ClassificationEpochMetrics(2)
    metrics.update(torch.tensor([[0.0, 1.0]]), torch.tensor([0]), torch.tensor(3.0))
    assert metrics.compute()["acc"] == 0.0
    metrics.reset()
    metrics.update(torch.tensor([[0.0, 1.0]]), torch.tensor([1]), torch.tensor(0.5))
    assert metrics.compute() == {"acc": 1.0, "f1": 1.0, "loss": 0.5}


def test_macro_f1_leaves_out_a_class_never_seen_nor_predicted_as_torchmetrics_does():
    logits = torch.tensor([[2.0, 0.0, -5.0], [0.0, 2.0, -5.0], [2.0, 0.0, -5.0], [0.0, 2.0, -5.0]])
    labels = torch.tensor([0, 1, 1, 1])
    metrics = ClassificationEpochMetrics(3)
    metrics.update(logits, labels, torch.tensor(0.0))
    expected = MulticlassF1Score(3, average="macro")(logits, labels).item()
    assert metrics.compute()["f1"] == pytest.approx(expected, abs=1e-6) == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-6)
