"""loralab: Hydra + Lightning experiments for LoRA fine-tuning of text classifiers."""

from loralab.quiet_console import filter_third_party_noise

__version__ = "0.1.0"

filter_third_party_noise()
