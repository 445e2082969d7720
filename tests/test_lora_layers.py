import math

import pytest
import torch
from torch import nn

from loralab.lora import LoRALinear, lora_scaling


def _trained(layer: LoRALinear) -> LoRALinear:
    """Give B non-zero values, as training would."""
    with torch.no_grad():
        layer.lora_B.normal_(std=0.05)  # the size trained adapters reach
    return layer


def test_untrained_adapter_leaves_output_unchanged():
    torch.manual_seed(0)
    base = nn.Linear(100, 128)
    x = torch.randn(4, 100)
    expected = base(x)
    assert torch.equal(LoRALinear(base, rank=2, alpha=8)(x), expected)


def test_lab_shape_has_456_adapter_parameters():
    layer = LoRALinear(nn.Linear(100, 128), rank=2, alpha=1)
    assert layer.lora_A.shape == (100, 2) and layer.lora_B.shape == (2, 128)
    assert layer.lora_A.numel() + layer.lora_B.numel() == 456


def test_merged_equals_unmerged_and_unmerge_restores_base():
    torch.manual_seed(0)
    layer = _trained(LoRALinear(nn.Linear(100, 128), rank=4, alpha=16))
    original_weight = layer.base.weight.clone()
    x = torch.randn(8, 100)
    unmerged = layer(x)
    layer.merge()
    assert layer.merged
    torch.testing.assert_close(layer(x), unmerged, atol=1e-6, rtol=0)
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, original_weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(layer(x), unmerged, atol=1e-6, rtol=0)


def test_merge_is_explicit_not_a_side_effect_of_eval():
    layer = _trained(LoRALinear(nn.Linear(10, 10), rank=2, alpha=2))
    layer.eval()
    assert not layer.merged


def test_dropout_only_touches_the_adapter_path():
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(10, 10), rank=2, alpha=2, dropout=0.9)
    layer.train()
    x = torch.randn(3, 10)
    # B is zero, so the output is the base's whatever dropout does.
    assert torch.equal(layer(x), layer.base(x))


@pytest.mark.parametrize(("rule", "expected"), [("standard", 16 / 4), ("rslora", 16 / math.sqrt(4)), ("alpha", 16.0)])
def test_scaling_rules(rule, expected):
    assert lora_scaling(16, 4, rule) == pytest.approx(expected)
    assert LoRALinear(nn.Linear(3, 3), rank=4, alpha=16, scaling=rule).scaling == pytest.approx(expected)


def test_adapter_output_is_scaled_x_a_b():
    torch.manual_seed(0)
    layer = _trained(LoRALinear(nn.Linear(6, 5), rank=3, alpha=6))
    x = torch.randn(2, 6)
    expected = layer.base(x) + 2.0 * (x @ layer.lora_A @ layer.lora_B)
    torch.testing.assert_close(layer(x), expected)


def test_an_unknown_scaling_rule_is_refused_naming_the_rules():
    """Values are checked where they are set (LoraSettings); the layer still names an unknown rule."""
    with pytest.raises(ValueError, match="standard, rslora or alpha"):
        LoRALinear(nn.Linear(3, 3), rank=2, alpha=1, scaling="sqrt")


def test_lora_embedding_untrained_is_base_and_merged_equals_unmerged():
    from loralab.lora import LoRAEmbedding

    torch.manual_seed(0)
    base = nn.Embedding(30, 8, padding_idx=0)
    ids = torch.tensor([[3, 7, 0], [29, 1, 0]])
    expected = base(ids)
    layer = LoRAEmbedding(base, rank=4, alpha=8)
    assert torch.equal(layer(ids), expected)
    assert layer.lora_A.shape == (30, 4) and layer.lora_B.shape == (4, 8)
    _trained(layer)
    unmerged = layer(ids)
    assert not torch.allclose(unmerged, expected)
    torch.testing.assert_close(unmerged[:, :2], expected[:, :2] + 2.0 * layer.lora_A[ids[:, :2]] @ layer.lora_B)
    layer.merge()
    torch.testing.assert_close(layer(ids), unmerged, atol=1e-6, rtol=0)
    assert layer.base.weight[0].abs().sum() == 0  # padding row stays zero after merging
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, base.weight, atol=1e-6, rtol=0)


def test_lora_embedding_gradients_skip_the_padding_row():
    from loralab.lora import LoRAEmbedding

    layer = _trained(LoRAEmbedding(nn.Embedding(10, 4, padding_idx=0), rank=2, alpha=2))
    layer(torch.tensor([[0, 5]])).sum().backward()
    assert layer.lora_A.grad[0].abs().sum() == 0 and layer.lora_A.grad[5].abs().sum() > 0
