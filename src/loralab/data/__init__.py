"""Data: where a data set comes from, its tokenizer, cached token ids, padded batches."""

from loralab.data.collate import PadCollator
from loralab.data.datamodule import TextClassificationDataModule
from loralab.data.encoded_split import EncodedSplit, encode_cached
from loralab.data.pretrained_tokenizer import PretrainedTokenizer
from loralab.data.samplers import EpochShuffleSampler, EvaluationOrderSampler, LengthGroupedSampler
from loralab.data.sources import DataNotFoundError, RawData, load_raw_data
from loralab.data.text_split import TextSplit
from loralab.data.word_tokenizer import WordTokenizer

__all__ = [
    "DataNotFoundError",
    "EncodedSplit",
    "EpochShuffleSampler",
    "EvaluationOrderSampler",
    "LengthGroupedSampler",
    "PadCollator",
    "PretrainedTokenizer",
    "RawData",
    "TextClassificationDataModule",
    "TextSplit",
    "WordTokenizer",
    "encode_cached",
    "load_raw_data",
]
