"""The transformer recipes as users compose them: the lab's PEFT recipe on DistilBERT and on a
BERT-family folder, early stopping as a callbacks option, and the transformer defaults."""

import torch
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.train_configs import compose_train_config, tiny_run_overrides
from safetensors.torch import load_file

from loralab.models.hf_classifier import build_hf_classifier
from loralab.settings import settings_of
from loralab.training.experiment import train
from loralab.training.model_builders import add_adapters


def save_tiny_bert(folder):
    """A 2-layer, 32-wide BERT (the MiniLM's family: query, key, value, one-layer head)."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def lora_targets(model) -> set[str]:
    return {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if hasattr(module, "lora_A")}


def test_lab_peft_is_the_labs_recipe_on_distilbert_and_on_a_bert_folder(tmp_path):
    for backbone, targets, head in [
        (save_tiny_distilbert(tmp_path / "distilbert"), {"q_lin", "k_lin", "v_lin"}, {"pre_classifier", "classifier"}),
        (save_tiny_bert(tmp_path / "bert"), {"query", "key", "value"}, {"classifier"}),
    ]:
        cfg = compose_train_config(tmp_path / "run", ["experiment=lab_peft", f"model.backbone={backbone}"])
        assert (cfg.data.max_train_samples, cfg.data.max_test_samples, cfg.data.batch_size) == (3000, 300, 16)
        assert (cfg.model.lora.rank, cfg.model.lora.alpha, cfg.model.lora.dropout) == (8, 16.0, 0.1)
        model = add_adapters(settings_of(cfg).model, build_hf_classifier(str(backbone), 2))
        assert lora_targets(model) == targets
        assert sum(hasattr(m, "lora_A") for m in model.modules()) == 3 * 2  # q, k, v in each of 2 layers
        trained = {
            name.split(".")[2] for name, p in model.named_parameters() if p.requires_grad and "lora_" not in name
        }
        assert trained == head


def test_early_stopping_is_off_by_default(tmp_path):
    assert "early_stopping" not in compose_train_config(tmp_path / "run", []).callbacks
    assert "early_stopping" not in compose_train_config(tmp_path / "run", ["model=lora_bert"]).callbacks


def test_early_stopping_stops_after_patience_and_tests_the_best_checkpoint(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    overrides = tiny_run_overrides(tiny_data_dir) + [
        "callbacks=early_stopping",
        "callbacks.early_stopping.patience=1",
        "trainer.max_epochs=30",
    ]
    metrics = train(compose_train_config(run_dir, overrides))
    (best,) = (run_dir / "checkpoints").glob("epoch_*.ckpt")
    best_epoch = int(best.stem.split("_")[1])
    assert metrics["epochs"] == best_epoch + 2 < 30  # one epoch without improvement, then stop

    # The saved network is what test scored: the best epoch's weights, not the epoch trained after it.
    saved = load_file(run_dir / "model.safetensors")
    best_state = torch.load(best, weights_only=True)["state_dict"]
    assert all(torch.equal(tensor, best_state[f"net.{name}"]) for name, tensor in saved.items())


def test_transformer_models_bring_their_batch_and_schedule_not_the_textclassifiers(tmp_path):
    textclassifier = compose_train_config(tmp_path / "a", [])
    for model in ("lora_bert", "lora_distilbert", "distilbert"):
        cfg = compose_train_config(tmp_path / "b", [f"model={model}"])
        assert cfg.data.batch_size == 16 and cfg.optim.scheduler.warmup_ratio == 0.1
        assert cfg.optim.scheduler_interval == "step"
    assert textclassifier.data.batch_size == 64 and textclassifier.optim.scheduler is None
