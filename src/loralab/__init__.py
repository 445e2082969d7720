"""loralab: Hydra + Lightning experiments for LoRA fine-tuning of text classifiers."""

from loralab.quiet_console import filter_third_party_noise
from loralab.settings.schemas import register_schemas
from loralab.training.config_checks import register_required_resolver

__version__ = "0.1.0"

filter_third_party_noise()
register_required_resolver()
register_schemas()
