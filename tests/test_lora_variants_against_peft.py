"""DoRA and the inits (gaussian, PiSSA, OLoRA) of the from-scratch LoRA against PEFT, for every
variant x init, on a TextClassifier whose fc1 (Linear) and embedding both carry adapters: the same
init where PEFT has it (Linear layers), the same logits unmerged and merged, the same gradients, and
a saved adapter that PEFT loads onto the unmodified base with the same logits."""

import copy
import itertools
import json

import pytest
import torch
from helpers.tiny_classifier import padded_batch, tiny_text_classifier
from safetensors.torch import save_file

from loralab.lora import (
    LoraSettings,
    apply_lora,
    merge_and_unload,
    merge_lora,
    peft_lora_config,
    plain_settings,
    to_peft_state_dict,
    unmerge_lora,
)
from loralab.models import TextClassifier
from loralab.settings.lora import INITS, VARIANTS

CASES = [*itertools.product(VARIANTS, INITS), ("dora", "pissa-rslora")]


def _settings(variant: str, init: str) -> LoraSettings:
    init, _, scaling = init.partition("-")
    return LoraSettings(
        target_modules=["fc1", "embedding"],
        rank=2,
        alpha=4,
        scaling=scaling or "standard",
        variant=variant,
        init=init,
        modules_to_save=["fc2"],
    )


def _trained(base: TextClassifier, settings: LoraSettings) -> TextClassifier:
    """The lab's adapter, initialised as ``settings`` say, then every trainable tensor moved (as
    training would move it; B at zero would hide a wrong layout, a magnitude at its norm a wrong DoRA)."""
    model = apply_lora(copy.deepcopy(base), settings)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn(param.shape, generator=generator) * 0.3)
    return model


def _own_tensors(lab: TextClassifier) -> dict:
    """The lab model's adapter tensors as they are (not converted for the unmodified base)."""
    return {name: p.detach() for name, p in lab.named_parameters() if p.requires_grad}


def _peft_twin(lab: TextClassifier, settings: LoraSettings):
    """PEFT's LoRA on the lab model's own (possibly residual) base, holding the lab's tensors."""
    from peft import get_peft_model, set_peft_model_state_dict

    from loralab.lora import base_state_dict

    residual = tiny_text_classifier()
    residual.load_state_dict({**base_state_dict(lab), **_residual_weights(lab)})
    config = peft_lora_config(LoraSettings(**{**vars(settings), "init": "default"}))
    model = get_peft_model(residual, config)
    loaded = set_peft_model_state_dict(model, to_peft_state_dict(lab, _own_tensors(lab)))
    assert loaded.unexpected_keys == []
    return model


def _residual_weights(lab: TextClassifier) -> dict:
    return {"fc1.weight": lab.fc1.base.weight.detach(), "embedding.weight": lab.embedding.base.weight.detach()}


@pytest.mark.parametrize(("variant", "init"), CASES)
def test_init_of_a_linear_layer_is_peft_s_and_changes_nothing(variant, init):
    """PEFT starts Linear layers the same way (A, B, the residual base, DoRA's magnitude); PEFT
    starts every embedding with its default, so for embeddings only the identity is checked."""
    from peft import get_peft_model

    settings = _settings(variant, init)
    base = tiny_text_classifier()
    torch.manual_seed(3)
    lab = apply_lora(copy.deepcopy(base), settings)
    torch.manual_seed(3)
    peft_model = get_peft_model(copy.deepcopy(base), peft_lora_config(settings))
    fc1 = peft_model.base_model.model.fc1
    if settings.init in ("pissa", "olora"):
        torch.testing.assert_close(lab.fc1.lora_A.T, fc1.lora_A["default"].weight)
        torch.testing.assert_close(lab.fc1.lora_B.T, fc1.lora_B["default"].weight)
        torch.testing.assert_close(lab.fc1.base.weight, fc1.base_layer.weight)
    else:
        assert lab.fc1.lora_B.abs().sum() == 0 and fc1.lora_B["default"].weight.abs().sum() == 0
    if variant == "dora":
        torch.testing.assert_close(lab.fc1.lora_magnitude, fc1.lora_magnitude_vector["default"].weight)
    ids, mask = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(lab(ids, mask), base(ids, mask), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("variant", "init"), CASES)
def test_logits_merged_logits_and_gradients_match_peft(variant, init):
    settings = _settings(variant, init)
    lab = _trained(tiny_text_classifier(), settings)
    peft_model = _peft_twin(lab, settings)
    ids, mask = padded_batch()
    lab(ids, mask).logsumexp(-1).sum().backward()
    peft_model(input_ids=ids, attention_mask=mask).logsumexp(-1).sum().backward()
    expected = to_peft_state_dict(lab, {name: p.grad for name, p in lab.named_parameters() if p.requires_grad})
    peft_grads = {
        name.replace(".default", "").replace(".modules_to_save", "").replace("_vector.weight", "_vector"): p.grad
        for name, p in peft_model.named_parameters()
        if p.requires_grad
    }
    assert peft_grads.keys() == expected.keys()
    for name, grad in expected.items():
        torch.testing.assert_close(peft_grads[name], grad, msg=name)
    lab.eval()
    peft_model.eval()
    with torch.no_grad():
        ours = lab(ids, mask)
        torch.testing.assert_close(peft_model(input_ids=ids, attention_mask=mask), ours)
        merge_lora(lab)
        torch.testing.assert_close(lab(ids, mask), ours, rtol=1e-5, atol=1e-5)
        unmerge_lora(lab)
        torch.testing.assert_close(lab(ids, mask), ours)
        torch.testing.assert_close(peft_model.merge_and_unload()(ids, mask), merge_and_unload(lab)(ids, mask))


@pytest.mark.parametrize(("variant", "init"), CASES)
def test_saved_adapter_loads_into_peft_on_the_unmodified_base(variant, init, tmp_path):
    """What the adapter file holds (a pissa or olora one converted to rank 2r) applies to the base as
    it was before the init, in PEFT's own loading path."""
    from peft import PeftModel

    settings = _settings(variant, init)
    base = tiny_text_classifier()
    lab = _trained(base, settings).eval()
    peft_lora_config(plain_settings(settings)).save_pretrained(tmp_path)
    save_file(to_peft_state_dict(lab), str(tmp_path / "adapter_model.safetensors"))
    loaded = PeftModel.from_pretrained(copy.deepcopy(base), tmp_path).eval()
    ids, mask = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids, attention_mask=mask), lab(ids, mask), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_distilbert(tmp_path_factory):
    from helpers.tiny_backbone import save_tiny_distilbert

    return save_tiny_distilbert(tmp_path_factory.mktemp("backbone") / "tiny_distilbert")


@pytest.mark.parametrize(("variant", "init"), itertools.product(VARIANTS, ("pissa", "olora")))
def test_a_peft_run_s_pissa_or_olora_adapter_applies_to_the_unmodified_backbone(
    variant, init, tiny_distilbert, tmp_path
):
    """Through PEFT (a transformer run): the adapter the run folder gets, converted at save time,
    gives the trained network's logits on a backbone loaded afresh, in PEFT's own loading path."""
    from peft import PeftModel

    from loralab.runs.peft_adapter import save_peft_adapter
    from loralab.settings import TransformerModel
    from loralab.training.model_builders import add_adapters, build_net

    lora = LoraSettings(
        target_modules="attention",
        rank=2,
        alpha=4,
        variant=variant,
        init=init,
        modules_to_save=["pre_classifier", "classifier"],
    )
    model = TransformerModel(backbone=str(tiny_distilbert), lora=lora)
    torch.manual_seed(0)
    trained = add_adapters(model, build_net(model, 2, None))
    with torch.no_grad():
        for param in trained.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.1)
    save_peft_adapter(trained, tmp_path / "adapter", str(tiny_distilbert))
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    # Left as pissa/olora, PEFT would init again on load and change the backbone it is given.
    assert (config["init_lora_weights"], config["r"]) == (True, 4)
    torch.manual_seed(0)
    fresh = build_net(model, 2, None)
    q_lin = fresh.distilbert.transformer.layer[0].attention.q_lin.weight.detach().clone()
    loaded = PeftModel.from_pretrained(fresh, tmp_path / "adapter").eval()
    torch.testing.assert_close(
        loaded.base_model.model.distilbert.transformer.layer[0].attention.q_lin.base_layer.weight, q_lin, rtol=0, atol=0
    )
    ids = torch.randint(5, 30, (3, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = trained.eval()(input_ids=ids).logits
        torch.testing.assert_close(loaded(input_ids=ids).logits, expected, rtol=1e-5, atol=1e-5)
