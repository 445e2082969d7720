"""Models: the lab's TextClassifier and the builders the configs point at."""

from loralab.models.build import build_text_classifier
from loralab.models.glove import load_glove
from loralab.models.text_classifier import TextClassifier

__all__ = ["TextClassifier", "build_text_classifier", "load_glove"]
