"""loralab: Hydra + Lightning experiments for LoRA fine-tuning of text classifiers."""

__version__ = "0.1.0"
