"""``model.lora``: what a LoRA adapter is, for loralab's own LoRA and for PEFT alike.

The keys are the config's (``rank``, ``alpha``, ``dropout``, ``scaling``) from YAML to Python to
``run_config.json``; PEFT's names (``r``, ``lora_alpha``...) appear only where a
``peft.LoraConfig`` is built (``lora/peft_format.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from omegaconf import MISSING

from loralab.settings.checks import is_int, is_number, require, require_choice

# How alpha and r become the factor on ``x A B`` (lora/layers.py: lora_scaling).
SCALING_RULES = ("standard", "rslora", "alpha")
# lora: W0 + s B A (Hu et al. 2021); dora: a learnt magnitude per output times the normalised
# direction of W0 + s B A (Liu et al. 2024, https://arxiv.org/abs/2402.09353).
VARIANTS = ("lora", "dora")
# default: A random, B zero; gaussian: A ~ N(0, 1/r), B zero; pissa: A, B from the r largest
# singular values of W0 (Meng et al. 2024); olora: from a QR decomposition of W0 (Buyukakyuz 2024).
# pissa and olora move s B0 A0 out of the base (the base keeps the residual).
INITS = ("default", "gaussian", "pissa", "olora")
BASE_CHANGING_INITS = ("pissa", "olora")
# Names for sets of targets, resolved on each network (lora/targets.py).
TARGET_PRESETS = ("attention", "all-linear")
# Bounds that hold for any model loralab trains and keep a crafted run record from sizing memory.
RANK_LIMIT = 1 << 12
ALPHA_LIMIT = 1e6


def _names(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(name, str) and name for name in value)


def _is_regex(value: Any) -> bool:
    try:
        re.compile(value)
    except (re.error, TypeError):
        return False
    return isinstance(value, str) and value != ""


@dataclass
class LoraSettings:
    """Where adapters go, their rank and strength, and what else trains with them.

    ``target_modules``: module names (a name matches itself and any ``*.name``), one regex that
    must match a whole module name (PEFT's rule), or a preset: ``attention`` (every linear layer of
    the attention blocks) or ``all-linear`` (every linear layer but the classification head).
    ``variant``: ``lora`` or ``dora``. ``init``: how A and B start (``INITS``). ``scaling``: ``standard`` is ``alpha / r`` (the
    LoRA paper: less retuning when r changes), ``rslora`` is ``alpha / sqrt(r)`` (stable at high
    rank), ``alpha`` is alpha itself (the course lab's rule; PEFT lacks it). ``rank_pattern`` /
    ``alpha_pattern``: per-target rank / alpha, keys matched as in ``target_modules``.
    ``modules_to_save``: trained in full and saved with the adapter (a new head).
    ``freeze_embeddings``: false trains every embedding table in full besides the adapters.
    """

    config_key: ClassVar[str] = "model.lora"
    # Keys a run_config.json may lack, and the values that stand in for them: plain LoRA.
    record_defaults: ClassVar[dict[str, str]] = {"variant": "lora", "init": "default"}

    target_modules: Any = MISSING
    rank: int = 8
    alpha: float = 8.0
    dropout: float = 0.0
    scaling: str = "standard"
    variant: str = "lora"
    init: str = "default"
    # Untyped for OmegaConf (a command-line mapping replaces null, where a typed empty mapping would
    # refuse new keys); __post_init__ checks them.
    rank_pattern: Any = None
    alpha_pattern: Any = None
    modules_to_save: list[str] | None = field(default_factory=list)
    freeze_embeddings: bool = True

    def __post_init__(self) -> None:
        targets = self.target_modules
        if isinstance(targets, str):
            ok = targets in TARGET_PRESETS or _is_regex(targets)
            require(ok, self, "target_modules", "give a list of module names, one valid regex, attention or all-linear")
        else:
            require(
                _names(targets) and len(targets) > 0, self, "target_modules", "name at least one module, e.g. [fc1]"
            )
            self.target_modules = list(targets)
        require(_rank(self.rank), self, "rank", f"use an integer from 1 to {RANK_LIMIT}")
        require(_alpha(self.alpha), self, "alpha", f"use a number from 0 to {ALPHA_LIMIT:g}")
        ok = is_number(self.dropout) and 0 <= self.dropout < 1
        require(ok, self, "dropout", "use a number in [0, 1)")
        require_choice(self, "scaling", SCALING_RULES)
        require_choice(self, "variant", VARIANTS)
        require_choice(self, "init", INITS)
        for key in ("rank_pattern", "alpha_pattern"):
            pattern = getattr(self, key) or {}
            ok = isinstance(pattern, dict) and all(isinstance(name, str) and name for name in pattern)
            require(ok, self, key, "map module names to values, e.g. {embedding: 4}")
            setattr(self, key, dict(pattern))
        for name, rank in self.rank_pattern.items():
            require(_rank(rank), self, "rank_pattern", f"use integers from 1 to {RANK_LIMIT} ({name})")
        for name, alpha in self.alpha_pattern.items():
            require(_alpha(alpha), self, "alpha_pattern", f"use numbers from 0 to {ALPHA_LIMIT:g} ({name})")
        if self.init in BASE_CHANGING_INITS:  # they divide the singular values by the scaling
            alphas = [self.alpha, *self.alpha_pattern.values()]
            require(min(alphas) > 0, self, "init", "pissa and olora need alpha > 0 (and in alpha_pattern)")
        self.modules_to_save = list(self.modules_to_save or [])
        require(_names(self.modules_to_save), self, "modules_to_save", "give a list of module names, e.g. [fc2]")
        require(isinstance(self.freeze_embeddings, bool), self, "freeze_embeddings", "use true or false")


def _rank(value: Any) -> bool:
    return is_int(value) and 1 <= value <= RANK_LIMIT


def _alpha(value: Any) -> bool:
    return is_number(value) and 0 <= value <= ALPHA_LIMIT
