"""A transformer run's backbone network, built by loralab and filled from hashed safetensors files.

``from_pretrained`` on a backbone folder would read whatever the folder holds: its config (which can
select code and kernels), an index whose shards name files anywhere, other weight formats. Here
transformers sees no file at all. The network is built from the checked config
(``runs/backbone_config.py``), first on the meta device so that its size and shapes are compared
with the weights' headers before anything is allocated, and its tensors come only from the
``.safetensors`` files that ``run_config.json`` lists in ``base.files`` (already hashed). An index
file is accepted only when it is hashed too and every shard it names is one of those files, by a
plain name in the same folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from loralab.files.safe_paths import RunFolderError, read_json_capped
from loralab.files.safetensors_header import read_safetensors_header
from loralab.runs.backbone_config import PARAMETER_LIMIT, BackboneConfig
from loralab.settings import TransformerNet
from loralab.terminal_text import escaped

WEIGHTS_SUFFIX = ".safetensors"
INDEX_SUFFIX = ".safetensors.index.json"
INDEX_LIMIT = 16 << 20
# Older checkpoints name LayerNorm parameters as TensorFlow did; transformers renames them on load.
LEGACY_NAMES = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}


def _fail(path: Path, key: str, problem: str) -> RunFolderError:
    return RunFolderError(f"{escaped(path)}: key {escaped(key)} {problem}")


def _plain_file_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
    )


def check_index(path: Path, recorded: dict[str, str]) -> None:
    """An index file whose every shard is a recorded, hashed ``.safetensors`` file of the same folder
    and holds the tensors the index says it does."""
    index = read_json_capped(path, INDEX_LIMIT)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise _fail(path, "weight_map", "must be an object of tensor names to shard file names")
    headers: dict[str, dict] = {}
    for tensor, shard in weight_map.items():
        key = f"weight_map.{tensor}"
        if not _plain_file_name(shard) or not shard.endswith(WEIGHTS_SUFFIX):
            raise _fail(path, key, f"names {escaped(repr(shard))[:120]}, not a .safetensors file of this folder")
        if shard not in recorded:
            raise _fail(
                path,
                key,
                f"names {escaped(shard)}, which run_config.json's base.files does not record (nothing hashes it)",
            )
        if shard not in headers:
            headers[shard] = read_safetensors_header(path.parent / shard)
        if tensor not in headers[shard]:
            raise _fail(path, key, f"names {escaped(shard)}, which holds no tensor {escaped(tensor)}")


def tensor_sources(folder: Path, recorded: dict[str, str]) -> dict[str, tuple[Path, tuple[int, ...]]]:
    """Each tensor of the recorded weight files: the file that holds it and its shape (from headers)."""
    for name in sorted(recorded):
        if name.endswith(INDEX_SUFFIX):
            check_index(folder / name, recorded)
    sources: dict[str, tuple[Path, tuple[int, ...]]] = {}
    for name in sorted(n for n in recorded if n.endswith(WEIGHTS_SUFFIX)):
        path = folder / name
        for tensor, shape in read_safetensors_header(path).items():
            if tensor in sources:
                raise RunFolderError(
                    f"{escaped(path)}: tensor {escaped(tensor)} is also in {escaped(sources[tensor][0])}; "
                    "a backbone holds each tensor once"
                )
            sources[tensor] = (path, shape)
    if not sources:
        raise RunFolderError(f"{escaped(folder)} has no .safetensors weights recorded in run_config.json's base.files")
    return sources


def _model_key(tensor: str, own: dict[str, Any], prefix: str) -> str | None:
    """The model's name for a checkpoint tensor: as is, with or without the base model's prefix."""
    for old, new in LEGACY_NAMES.items():
        if tensor.endswith(old):
            tensor = tensor[: -len(old)] + new
    for key in (tensor, f"{prefix}.{tensor}"):
        if key in own:
            return key
    return None


def _build(config: BackboneConfig, num_classes: int, attention: str | None, dtype: str, record: Path) -> nn.Module:
    from transformers import AutoModelForSequenceClassification

    built = config.build(num_classes)
    try:
        return AutoModelForSequenceClassification.from_config(
            built, attn_implementation=attention, dtype=getattr(torch, dtype)
        )
    except (ImportError, ValueError, RuntimeError) as error:
        raise RunFolderError(
            f"{escaped(record)}: key net.attn_implementation {attention!r} cannot build {config.model_type} here "
            f"({escaped(error)[:200]})"
        ) from None


def build_backbone(
    folder: Path, recorded: dict[str, str], config: BackboneConfig, num_classes: int, net: TransformerNet, record: Path
) -> tuple[nn.Module, set[str]]:
    """The classifier of ``config``'s family with the backbone's tensors loaded, and the names of
    its tensors the backbone does not hold (a new head: the run's own weights must hold them).
    Every tensor's shape is checked against the header of its file before the network is allocated."""
    sources = tensor_sources(folder, recorded)
    with torch.device("meta"):
        skeleton = _build(config, num_classes, net.attn_implementation, net.dtype, record)
    count = sum(parameter.numel() for parameter in skeleton.parameters())
    if count > PARAMETER_LIMIT:
        sizes = ", ".join(
            key
            for key, value in config.settings.items()
            if isinstance(value, int) and not isinstance(value, bool) and not key.endswith("token_id")
        )
        raise RunFolderError(
            f"{escaped(config.path)}: keys {sizes} make a network of {count} parameters, more than the "
            f"{PARAMETER_LIMIT} loralab opens; the backbone config is damaged or crafted"
        )
    own = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    plan: dict[Path, dict[str, str]] = {}
    for tensor, (path, shape) in sources.items():
        key = _model_key(tensor, own, skeleton.base_model_prefix)
        if key is None:
            continue  # a pretraining head (cls.predictions...), as from_pretrained ignores it
        if shape != own[key]:
            raise RunFolderError(
                f"{escaped(path)}: tensor {escaped(tensor)} has shape {list(shape)}, but {escaped(config.path)} makes "
                f"{key} {list(own[key])}; the weights and the config are not one backbone"
            )
        plan.setdefault(path, {})[tensor] = key
    if not plan:
        raise RunFolderError(
            f"{escaped(folder)}: no tensor of its weights fits the {config.model_type} network its config.json describes"
        )
    del skeleton
    model = _build(config, num_classes, net.attn_implementation, net.dtype, record)
    _load(model, plan)
    missing = set(own) - {key for names in plan.values() for key in names.values()}
    return model.train(), missing  # train mode as build_hf_classifier returns it; open_run sets eval mode


def _load(model: nn.Module, plan: dict[Path, dict[str, str]]) -> None:
    from safetensors import SafetensorError, safe_open

    state = model.state_dict()
    with torch.no_grad():
        for path, names in plan.items():
            try:
                with safe_open(str(path), framework="pt") as weights:
                    for tensor, key in names.items():
                        state[key].copy_(weights.get_tensor(tensor))
            except (OSError, SafetensorError) as error:
                raise RunFolderError(f"cannot read {escaped(path)} ({escaped(error)}); the file is damaged") from None
