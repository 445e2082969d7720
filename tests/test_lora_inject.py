import pytest
import torch
from helpers.messages import naming
from torch import nn

from loralab.lora import (
    LoRAEmbedding,
    LoRALinear,
    apply_lora,
    inject_lora,
    mark_only_lora_as_trainable,
    merge_and_unload,
    merge_lora,
)
from loralab.models import TextClassifier
from loralab.settings import LoraSettings


def _model() -> TextClassifier:
    torch.manual_seed(0)
    return TextClassifier(vocab_size=50, num_classes=2, embed_dim=100, hidden_dim=128)


def _batch() -> dict[str, torch.Tensor]:
    ids = torch.randint(2, 50, (4, 7))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_inject_by_name_wraps_only_the_target():
    model = _model()
    assert inject_lora(model, LoraSettings(target_modules=["fc1"], rank=2, alpha=1)) == ["fc1"]
    assert isinstance(model.fc1, LoRALinear) and isinstance(model.fc2, nn.Linear)


def test_inject_by_regex_matches_full_names():
    model = _model()
    assert sorted(inject_lora(model, LoraSettings(target_modules=r"fc\d", rank=2, alpha=1))) == ["fc1", "fc2"]


def test_suffix_match_reaches_nested_modules():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(3, 3)

    model = nn.Sequential(Block(), Block())
    assert inject_lora(model, LoraSettings(target_modules=["fc1"], rank=1, alpha=1)) == ["0.fc1", "1.fc1"]


def test_target_that_matches_nothing_lists_candidates():
    with pytest.raises(ValueError, match=naming("'fc3'", "embedding, fc1, fc2")):
        inject_lora(_model(), LoraSettings(target_modules=["fc1", "fc3"], rank=2, alpha=1))


def test_target_of_unsupported_type_is_refused():
    model = nn.Sequential(nn.Conv1d(3, 3, 1), nn.Linear(3, 3))
    with pytest.raises(ValueError, match=naming("Conv1d", "Linear, Embedding")):
        inject_lora(model, LoraSettings(target_modules=["0"], rank=2, alpha=1))


def test_embedding_and_linear_targets_together():
    model = _model()
    assert inject_lora(model, LoraSettings(target_modules=["fc1", "embedding"], rank=2, alpha=1)) == [
        "embedding",
        "fc1",
    ]
    assert isinstance(model.embedding, LoRAEmbedding)


def test_injecting_twice_does_not_wrap_a_lora_layer():
    model = _model()
    inject_lora(model, LoraSettings(target_modules=["fc1"], rank=2, alpha=1))
    with pytest.raises(ValueError, match="match no module"):
        inject_lora(model, LoraSettings(target_modules=["fc1"], rank=2, alpha=1))


def test_gradients_reach_only_adapters_and_named_extras():
    model = apply_lora(_model(), LoraSettings(target_modules=["fc1"], rank=2, alpha=1, modules_to_save=["fc2"]))
    logits = model(**_batch())
    logits.sum().backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == {"fc1.lora_A", "fc1.lora_B", "fc2.weight", "fc2.bias"}
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 456 + 128 * 2 + 2


def test_unfrozen_embeddings_train_too():
    model = apply_lora(
        _model(),
        LoraSettings(target_modules=["fc1"], rank=2, alpha=1, modules_to_save=["fc2"], freeze_embeddings=False),
    )
    assert model.embedding.weight.requires_grad and not model.fc1.base.weight.requires_grad


def test_unknown_modules_to_save_is_refused():
    model = _model()
    inject_lora(model, LoraSettings(target_modules=["fc1"], rank=2, alpha=1))
    with pytest.raises(ValueError, match="'head' matches no module"):
        mark_only_lora_as_trainable(model, ["head"])


def test_merge_lora_keeps_model_logits():
    model = apply_lora(_model(), LoraSettings(target_modules=["fc1"], rank=2, alpha=4))
    with torch.no_grad():
        model.fc1.lora_B.normal_()
    batch = _batch()
    before = model(**batch)
    merge_lora(model)
    torch.testing.assert_close(model(**batch), before, atol=1e-6, rtol=0)


def test_merge_and_unload_gives_a_plain_model_with_the_same_logits():
    model = apply_lora(_model(), LoraSettings(target_modules=["fc1", "embedding"], rank=2, alpha=4))
    with torch.no_grad():
        model.fc1.lora_B.normal_(std=0.05)
        model.embedding.lora_B.normal_(std=0.05)
    batch = _batch()
    before = model(**batch)
    plain = merge_and_unload(model)
    assert type(plain.fc1) is nn.Linear and type(plain.embedding) is nn.Embedding
    torch.testing.assert_close(plain(**batch), before, atol=1e-6, rtol=0)
