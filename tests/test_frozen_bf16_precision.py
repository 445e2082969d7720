"""trainer=gpu_bf16_base: the frozen base in bfloat16, what trains in float32, no autocast."""

import pytest
import torch
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, quiet_run_overrides
from safetensors.torch import load_file

from loralab.models import apply_peft_lora, build_hf_classifier
from loralab.plugins.frozen_bf16_precision import FrozenBF16Precision
from loralab.settings import LoraSettings
from loralab.training.experiment import train

HEAD = ["pre_classifier", "classifier"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return save_tiny_distilbert(tmp_path_factory.mktemp("tiny_distilbert"))


def _lora_model(backbone) -> torch.nn.Module:
    torch.manual_seed(0)
    model = apply_peft_lora(
        build_hf_classifier(str(backbone), 2),
        LoraSettings(target_modules=["q_lin", "k_lin", "v_lin"], rank=4, alpha=8, modules_to_save=HEAD),
    )
    for name, parameter in model.named_parameters():
        if "lora_B" in name:  # B starts at zero, which would leave A without a gradient to compare
            torch.nn.init.normal_(parameter, std=0.1)
    return model.eval()  # no dropout: both models must see the same computation


def _saved_bytes_logits_and_grads(model: torch.nn.Module) -> tuple[int, torch.Tensor, dict]:
    saved = {}

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    ids = torch.randint(5, model.config.vocab_size, (4, 48), generator=torch.Generator().manual_seed(1))
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    logits.logsumexp(-1).mean().backward()
    return sum(saved.values()), logits, {name: p.grad for name, p in model.named_parameters() if p.requires_grad}


def test_frozen_weights_turn_bf16_and_trained_ones_stay_fp32(backbone):
    model = FrozenBF16Precision().convert_module(_lora_model(backbone))
    dtypes = {
        (name.split(".")[-2] if "lora_" in name else "head" if "modules_to_save" in name else "frozen", p.dtype)
        for name, p in model.named_parameters()
    }
    assert dtypes == {("frozen", torch.bfloat16), ("default", torch.float32), ("head", torch.float32)}
    assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
    assert {p.dtype for p in model.parameters() if not p.requires_grad} == {torch.bfloat16}


def test_gradients_match_fp32_and_less_is_kept_for_backward(backbone):
    """The plugin's point: half-size activations, with float32 logits and gradients close to fp32."""
    fp32_bytes, fp32_logits, fp32_grads = _saved_bytes_logits_and_grads(_lora_model(backbone))
    bf16_bytes, bf16_logits, bf16_grads = _saved_bytes_logits_and_grads(
        FrozenBF16Precision().convert_module(_lora_model(backbone))
    )
    assert bf16_logits.dtype == torch.float32
    torch.testing.assert_close(bf16_logits, fp32_logits, atol=5e-3, rtol=0.05)
    assert bf16_bytes < 0.8 * fp32_bytes
    assert (
        bf16_grads.keys() == fp32_grads.keys() and len(bf16_grads) == 16
    )  # 2 layers x 3 targets x A, B + head's 2 x 2
    for name, grad in fp32_grads.items():
        assert bf16_grads[name].dtype == torch.float32
        assert (bf16_grads[name] - grad).norm() <= 0.05 * grad.norm(), name  # bf16 rounding: ~1% seen


def test_a_module_keeps_one_dtype_and_converting_twice_hooks_once():
    """A frozen weight with a trained bias would not multiply: the module trains, so both stay fp32.
    Lightning converts at every fit, validate and test: one input cast per module, not one per call."""
    layer = torch.nn.Linear(4, 3)
    layer.weight.requires_grad_(False)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4).requires_grad_(False), layer)
    plugin = FrozenBF16Precision()
    plugin.convert_module(plugin.convert_module(net))
    assert (net[0].weight.dtype, layer.weight.dtype, layer.bias.dtype) == (torch.bfloat16, torch.float32, torch.float32)
    assert [len(module._forward_pre_hooks) for module in net] == [1, 1]
    assert net(torch.randn(2, 4)).dtype == torch.float32


def test_a_compiled_model_gets_a_warning(caplog):
    """The two levers together train slower than either alone (docs/performance.md): the run says so."""
    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    FrozenBF16Precision().convert_module(net)
    assert "model.compile" not in caplog.text
    net.compile()  # lazy: nothing compiles until the first call
    FrozenBF16Precision().convert_module(net)
    assert "drop one of them" in caplog.text


def test_training_run_with_bf16_base_saves_an_fp32_adapter(backbone, tmp_path):
    """Through train.py's path: the Trainer built from conf/trainer/gpu_bf16_base.yaml (on the CPU)."""
    overrides = quiet_run_overrides(write_tiny_data(tmp_path / "data")) + [
        "model=lora_distilbert",
        f"model.backbone={backbone}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "trainer=gpu_bf16_base",
        "trainer.accelerator=cpu",
    ]
    metrics = train(compose_train_config(tmp_path / "run", overrides))
    assert 0 <= metrics["test/acc"] <= 1
    adapter = load_file(next((tmp_path / "run").rglob("adapter_model.safetensors")))
    assert any("lora_A" in key for key in adapter) and any("classifier" in key for key in adapter)
    assert {tensor.dtype for tensor in adapter.values()} == {torch.float32}
