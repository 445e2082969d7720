"""loralab: Hydra + Lightning experiments for LoRA fine-tuning of text classifiers."""

from loralab.settings.schemas import register_schemas
from loralab.training.config_checks import register_required_resolver

__version__ = "0.1.0"

# Configs compose anywhere (tests, loralab.api, Hydra's --cfg job): the schemas must be registered and
# ${loralab.required:...} must resolve.
register_required_resolver()
register_schemas()
