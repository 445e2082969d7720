"""One object for a LoRA adapter's settings, as PEFT has ``LoraConfig``, checked once when built.

The custom path (``apply_lora``, ``inject_lora``), the PEFT path (``apply_peft_lora``) and the adapter
file (``adapter_config.json``) all take a :class:`LoraSettings`. Fields carry PEFT's names where the
meaning is the same (``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``, ``modules_to_save``,
``rank_pattern``, ``alpha_pattern``); the Hydra node ``model.lora`` keeps its shorter keys (``rank``,
``alpha``, ``dropout``, ``scaling``), which :meth:`LoraSettings.from_config_keys` maps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# How alpha and r become the factor on ``x A B``; see ``loralab.lora.layers.lora_scaling``.
SCALING_RULES = ("standard", "rslora", "lab")


def check_rank(rank: Any, key: str = "model.lora.rank") -> None:
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ValueError(f"LoRA rank must be a positive integer, got {rank}; set {key} >= 1")


def check_alpha(alpha: Any, key: str = "model.lora.alpha") -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ValueError(f"LoRA alpha must be >= 0, got {alpha}; set {key} to a non-negative value")


def check_dropout(dropout: Any) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout}; set model.lora.dropout")


def check_scaling_rule(rule: Any) -> None:
    if rule not in SCALING_RULES:
        raise ValueError(
            f"unknown LoRA scaling rule {rule!r}; choose one of {', '.join(SCALING_RULES)} (set model.lora.scaling)"
        )


def check_lora_hyperparameters(rank: int, alpha: float, dropout: float = 0.0) -> None:
    """Refuse values that would train nothing or diverge, naming the config key to fix."""
    check_rank(rank)
    check_alpha(alpha)
    check_dropout(dropout)


def _module_names(value: Any, key: str) -> tuple[str, ...]:
    """A list of module names as a tuple; a bare string would be read letter by letter."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{key} must be a list of module names, got {value!r}; write e.g. [fc2]")
    bad = [name for name in value if not isinstance(name, str) or not name]
    if bad:
        raise ValueError(f"{key} holds {bad!r}, which are not module names; give non-empty strings")
    return tuple(value)


def _pattern(value: Any, key: str, check) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must map module names to values, got {value!r}; write e.g. {{embedding: 4}}")
    for name, entry in value.items():
        check(entry, f"{key}.{name}")
    return dict(value)


@dataclass(frozen=True)
class LoraSettings:
    """What a LoRA adapter is: where it goes, its rank and strength, and what else trains with it.

    Args:
        target_modules: module names to wrap (a name matches itself and any ``*.name``), or one
            regex that must match a whole module name; PEFT's rule.
        r: rank, the inner size of ``A`` and ``B``.
        lora_alpha: strength of the update; ``scaling_rule`` turns it into the factor on ``x A B``.
        lora_dropout: dropout on the adapter's input (embeddings have no input features to drop
            and ignore it, as in PEFT).
        scaling_rule: ``standard`` (``alpha / r``), ``rslora`` (``alpha / sqrt(r)``) or ``lab``
            (``alpha``, the course lab's rule, which PEFT lacks).
        rank_pattern / alpha_pattern: per-target ``r`` / ``lora_alpha``, keys matched as in
            ``target_modules``, e.g. ``{"embedding": 4}``.
        modules_to_save: modules trained in full and saved with the adapter (a new head).
        freeze_embeddings: false trains every embedding table in full besides the adapters.
    """

    target_modules: str | tuple[str, ...]
    r: int = 8
    lora_alpha: float = 8.0
    lora_dropout: float = 0.0
    scaling_rule: str = "standard"
    rank_pattern: dict[str, int] = field(default_factory=dict)
    alpha_pattern: dict[str, float] = field(default_factory=dict)
    modules_to_save: tuple[str, ...] = ()
    freeze_embeddings: bool = True

    def __post_init__(self) -> None:
        targets = self.target_modules
        if isinstance(targets, str):
            try:
                re.compile(targets)
            except re.error as error:
                raise ValueError(
                    f"model.lora.target_modules {targets!r} is not a valid regex ({error}); give a list of names"
                ) from None
        else:
            if isinstance(targets, Sequence) and not targets:
                raise ValueError("model.lora.target_modules is empty; name at least one module, e.g. [fc1]")
            object.__setattr__(self, "target_modules", _module_names(targets, "model.lora.target_modules"))
        check_lora_hyperparameters(self.r, self.lora_alpha, self.lora_dropout)
        check_scaling_rule(self.scaling_rule)
        object.__setattr__(self, "rank_pattern", _pattern(self.rank_pattern, "model.lora.rank_pattern", check_rank))
        object.__setattr__(self, "alpha_pattern", _pattern(self.alpha_pattern, "model.lora.alpha_pattern", check_alpha))
        object.__setattr__(self, "modules_to_save", _module_names(self.modules_to_save, "model.lora.modules_to_save"))
        if not isinstance(self.freeze_embeddings, bool):
            raise ValueError(f"model.lora.freeze_embeddings must be true or false, got {self.freeze_embeddings!r}")

    @classmethod
    def from_config_keys(
        cls,
        target_modules: str | Sequence[str],
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        scaling: str = "standard",
        modules_to_save: Sequence[str] | None = (),
        freeze_embeddings: bool = True,
        rank_pattern: Mapping[str, int] | None = None,
        alpha_pattern: Mapping[str, float] | None = None,
    ) -> LoraSettings:
        """The settings from the keys of a ``model.lora`` config node (``rank``, ``alpha``, ...)."""
        return cls(
            target_modules=target_modules,
            r=rank,
            lora_alpha=alpha,
            lora_dropout=dropout,
            scaling_rule=scaling,
            rank_pattern=rank_pattern,
            alpha_pattern=alpha_pattern,
            modules_to_save=modules_to_save or (),
            freeze_embeddings=freeze_embeddings,
        )

    @property
    def use_rslora(self) -> bool:
        """PEFT's flag for the ``rslora`` rule."""
        return self.scaling_rule == "rslora"

    def to_adapter_config(self) -> dict:
        """The settings under PEFT's ``adapter_config.json`` names (plus ``scaling_rule`` and
        ``freeze_embeddings``, which PEFT lacks)."""
        return {
            "r": self.r,
            "lora_alpha": self.lora_alpha,
            "rank_pattern": dict(self.rank_pattern),
            "alpha_pattern": dict(self.alpha_pattern),
            "lora_dropout": self.lora_dropout,
            "scaling_rule": self.scaling_rule,
            "use_rslora": self.use_rslora,
            "target_modules": self.target_modules
            if isinstance(self.target_modules, str)
            else list(self.target_modules),
            "modules_to_save": list(self.modules_to_save),
            "freeze_embeddings": self.freeze_embeddings,
        }


def as_lora_settings(settings: LoraSettings | str | Sequence[str] | None = None, /, **config_keys: Any) -> LoraSettings:
    """A :class:`LoraSettings` as given, or built from ``model.lora`` config keys.

    ``settings`` may also be the ``target_modules`` followed by the other keys
    (``inject_lora(model, ["fc1"], rank=2, alpha=1)``); keys starting with ``_`` (Hydra's
    ``_target_``) are ignored.
    """
    config_keys = {key: value for key, value in config_keys.items() if not key.startswith("_")}
    if isinstance(settings, LoraSettings):
        if config_keys:
            raise TypeError(f"pass either a LoraSettings or config keys, not both (got {sorted(config_keys)})")
        return settings
    if settings is not None:
        config_keys = {"target_modules": settings, **config_keys}
    missing = [key for key in ("target_modules", "rank", "alpha") if key not in config_keys]
    if missing:
        raise ValueError(f"model.lora lacks {', '.join(missing)}; set model.lora.{missing[0]}")
    return LoraSettings.from_config_keys(**config_keys)
