"""A run's tokenizer and network from its settings: the family's builders, then ``model.lora``,
then compiling. Training builds a fresh network this way; a finished run's folder is rebuilt with
the same builders (``runs/open_run.py``)."""

from __future__ import annotations

from typing import Any

from torch import nn

from loralab.data import PretrainedTokenizer, WordTokenizer
from loralab.lora import apply_lora, resolve_presets
from loralab.lora.plain_adapter import keep_initial_factors
from loralab.models.hf_classifier import apply_peft_lora, build_hf_classifier
from loralab.models.text_classifier_builder import build_text_classifier
from loralab.settings.data import DataSettings
from loralab.settings.model import TextClassifierModel, TransformerModel


def build_tokenizer(model: TextClassifierModel | TransformerModel, data: DataSettings):
    """A vocabulary learnt from the data (TextClassifier), or the backbone's own tokenizer."""
    if isinstance(model, TransformerModel):
        return PretrainedTokenizer(model.backbone, data.max_length, trust_remote_code=model.trust_remote_code)
    tokenizer = model.tokenizer
    return WordTokenizer(tokenizer.min_frequency, tokenizer.max_size, tokenizer.vocab_path, tokenizer.vocab_corpora)


def build_net(model: TextClassifierModel | TransformerModel, num_classes: int, tokenizer) -> nn.Module:
    """The network sized for the tokenizer and ``num_classes``, before any adapter."""
    if isinstance(model, TransformerModel):
        net = model.net
        return build_hf_classifier(
            model.backbone,
            num_classes,
            trust_remote_code=model.trust_remote_code,
            attn_implementation=net.attn_implementation,
            dtype=net.dtype,
            gradient_checkpointing=net.gradient_checkpointing,
        )
    return build_text_classifier(tokenizer.vocab, num_classes, model.net, model.glove_path, model.pretrained)


def add_adapters(model: TextClassifierModel | TransformerModel, net: nn.Module) -> nn.Module:
    """``net`` wrapped by ``model.lora`` when the model has one: loralab's LoRA on a TextClassifier,
    PEFT's on a transformer. A preset ``target_modules`` is resolved on ``net`` first, the same way
    for both."""
    if model.lora is None:
        return net
    lora = resolve_presets(net, model.lora)
    if not isinstance(model, TransformerModel):
        return apply_lora(net, lora)
    net = apply_peft_lora(net, lora)
    keep_initial_factors(net, lora)  # a pissa or olora adapter is saved for the unmodified backbone
    return net


def compiled(net: nn.Module, options: Any) -> nn.Module:
    """``net`` compiled in place when ``model.compile`` asks for it (true, or a dict of
    ``torch.compile`` options). In place, not ``torch.compile(net)``: the wrapper that returns
    would prefix every state_dict key with ``_orig_mod.``, so checkpoints and adapters would no
    longer load into an uncompiled model."""
    if options:
        net.compile(**(options if isinstance(options, dict) else {}))
    return net
