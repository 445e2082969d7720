"""The from-scratch LoRA against the reference: the lab's adapter of a TextClassifier (fc1 and the
embedding), loaded into PEFT's own LoRA on the same TextClassifier, gives the same logits."""

import copy

import pytest
import torch
from helpers.messages import naming
from helpers.tiny_classifier import VOCAB_SIZE, padded_batch, tiny_text_classifier
from safetensors.torch import save_file

from loralab.lora import LoraSettings, apply_lora, merge_and_unload, peft_lora_config, to_peft_state_dict
from loralab.models import TextClassifier


def _randomised_lab_adapter(base: TextClassifier, settings: LoraSettings) -> TextClassifier:
    """The lab's LoRA with every trained tensor moved off its initial value (B is zero at first,
    which would hide a wrong layout or scaling)."""
    model = apply_lora(copy.deepcopy(base), settings)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return model


def _peft_twin(base: TextClassifier, lab: TextClassifier, settings: LoraSettings):
    from peft import get_peft_model, set_peft_model_state_dict

    model = get_peft_model(copy.deepcopy(base), peft_lora_config(settings))
    loaded = set_peft_model_state_dict(model, to_peft_state_dict(lab))
    assert loaded.unexpected_keys == []
    return model


SETTINGS = {
    "standard": LoraSettings(target_modules=["fc1", "embedding"], rank=2, alpha=4, modules_to_save=["fc2"]),
    "rslora": LoraSettings(
        target_modules=["fc1", "embedding"], rank=4, alpha=3, scaling="rslora", modules_to_save=["fc2"]
    ),
    "patterns": LoraSettings(
        target_modules=["fc1", "embedding"],
        rank=2,
        alpha=4,
        rank_pattern={"embedding": 5},
        alpha_pattern={"embedding": 7},
    ),
}


@pytest.mark.parametrize("name", SETTINGS)
def test_lab_adapter_in_peft_gives_the_same_logits(name):
    from peft.tuners.lora import Embedding, Linear

    settings = SETTINGS[name]
    base = tiny_text_classifier()
    lab = _randomised_lab_adapter(base, settings).eval()
    peft_model = _peft_twin(base, lab, settings).eval()
    assert isinstance(peft_model.base_model.model.fc1, Linear)
    assert isinstance(peft_model.base_model.model.embedding, Embedding)
    for layer in ("fc1", "embedding"):  # the same factor on x A B
        assert peft_model.base_model.model.get_submodule(layer).scaling["default"] == pytest.approx(
            lab.get_submodule(layer).scaling
        )
    ids, mask = padded_batch()
    with torch.no_grad():
        ours = lab(ids, mask)
        assert not torch.allclose(ours, base(ids, mask), atol=1e-3)  # the adapter does change the logits
        torch.testing.assert_close(peft_model(input_ids=ids, attention_mask=mask), ours)
        torch.testing.assert_close(peft_model.merge_and_unload()(ids, mask), merge_and_unload(lab)(ids, mask))


def test_gradients_match_peft_after_conversion():
    """Training would go the same way: the loss's gradients, converted, are PEFT's (padding row included)."""
    settings = SETTINGS["standard"]
    base = tiny_text_classifier()
    lab = _randomised_lab_adapter(base, settings)
    peft_model = _peft_twin(base, lab, settings)
    ids, mask = padded_batch()
    lab(ids, mask).logsumexp(-1).sum().backward()
    peft_model(input_ids=ids, attention_mask=mask).logsumexp(-1).sum().backward()
    lab_grads = {name: p.grad for name, p in lab.named_parameters() if p.requires_grad}
    expected = to_peft_state_dict(lab, lab_grads)
    peft_grads = {
        name.replace(".default", "").replace(".modules_to_save", ""): p.grad
        for name, p in peft_model.named_parameters()
        if p.requires_grad
    }
    assert peft_grads.keys() == expected.keys() and len(expected) == 6
    for name, grad in expected.items():
        torch.testing.assert_close(peft_grads[name], grad, msg=name)
    assert lab.embedding.lora_A.grad[0].abs().sum() == 0  # the padding row gets no update


def test_converted_adapter_saved_as_files_loads_with_peft_from_pretrained(tmp_path):
    """PEFT's own loading path: adapter_config.json + adapter_model.safetensors."""
    from peft import PeftModel

    settings = SETTINGS["standard"]
    base = tiny_text_classifier()
    lab = _randomised_lab_adapter(base, settings).eval()
    peft_lora_config(settings).save_pretrained(tmp_path)
    save_file(to_peft_state_dict(lab), str(tmp_path / "adapter_model.safetensors"))
    loaded = PeftModel.from_pretrained(copy.deepcopy(base), tmp_path).eval()
    ids, mask = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids, attention_mask=mask), lab(ids, mask))


def test_layouts_are_transposed_and_keys_are_peft_saved_names():
    settings = SETTINGS["standard"]
    lab = _randomised_lab_adapter(tiny_text_classifier(), settings)
    converted = to_peft_state_dict(lab)
    assert lab.fc1.lora_A.shape == (12, 2) and lab.embedding.lora_A.shape == (VOCAB_SIZE, 2)
    assert {key: tuple(value.shape) for key, value in converted.items()} == {
        "base_model.model.fc1.lora_A.weight": (2, 12),
        "base_model.model.fc1.lora_B.weight": (6, 2),
        "base_model.model.embedding.lora_embedding_A": (2, VOCAB_SIZE),
        "base_model.model.embedding.lora_embedding_B": (12, 2),
        "base_model.model.fc2.weight": (3, 6),
        "base_model.model.fc2.bias": (3,),
    }
    assert set(to_peft_state_dict(lab, prefix="")) == {key.removeprefix("base_model.model.") for key in converted}


def test_lab_scaling_and_a_trained_lora_base_have_no_peft_counterpart():
    with pytest.raises(ValueError, match=naming("'alpha'", "standard", "rslora")):
        peft_lora_config(LoraSettings(target_modules=["fc1"], rank=2, alpha=1, scaling="alpha"))
    lab = apply_lora(
        tiny_text_classifier(), LoraSettings(target_modules=["embedding"], rank=2, alpha=1, freeze_embeddings=False)
    )
    with pytest.raises(ValueError, match=naming("embedding.base.weight")):
        to_peft_state_dict(lab)
