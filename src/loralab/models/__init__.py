"""Models: the lab's TextClassifier and the builders the configs point at."""

from loralab.models.glove import load_glove
from loralab.models.hf_classifier import apply_peft_lora, build_hf_classifier
from loralab.models.text_classifier import TextClassifier
from loralab.models.text_classifier_builder import build_text_classifier

__all__ = ["TextClassifier", "apply_peft_lora", "build_hf_classifier", "build_text_classifier", "load_glove"]
