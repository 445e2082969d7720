"""Every config key loralab owns, once: one dataclass per config node.

The classes are the Hydra schemas of the YAML options under ``conf/`` (structured configs,
registered by :func:`register_schemas`), so composing a config refuses an unknown key or a value
of the wrong type, naming the key. Ranges and rules between keys live in each class's
``__post_init__``, reached through ``OmegaConf.to_object`` (:func:`settings_of`). A finished run
records the same classes' plain values in ``run_config.json`` and reads them back through them.
"""

from loralab.settings.checks import ConfigValueError
from loralab.settings.data import DataSettings
from loralab.settings.lora import SCALING_RULES, LoraSettings
from loralab.settings.model import (
    TextClassifierModel,
    TextClassifierNet,
    TransformerModel,
    TransformerNet,
    WordTokenizerSettings,
)
from loralab.settings.run import RunSettings
from loralab.settings.schemas import register_schemas, settings_of

__all__ = [
    "SCALING_RULES",
    "ConfigValueError",
    "DataSettings",
    "LoraSettings",
    "RunSettings",
    "TextClassifierModel",
    "TextClassifierNet",
    "TransformerModel",
    "TransformerNet",
    "WordTokenizerSettings",
    "register_schemas",
    "settings_of",
]
