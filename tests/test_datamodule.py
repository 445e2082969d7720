import lightning as L
import pytest
import torch
from helpers.messages import naming
from helpers.tiny_data import sentiment_rows, write_parquet

from loralab.data import PadCollator, TextClassificationDataModule, WordTokenizer
from loralab.data.encoded_split import encode_cached
from loralab.data.text_split import TextSplit
from loralab.settings import DataSettings


def _datamodule(data_dir, tmp_path, **kwargs) -> TextClassificationDataModule:
    settings = {"val_fraction": 0.1, "batch_size": 8, "seed": 0, "cache_dir": str(tmp_path / "cache")} | kwargs
    dm = TextClassificationDataModule(
        DataSettings(name="imdb", num_classes=2, data_dir=str(data_dir), **settings), WordTokenizer(min_frequency=1)
    )
    dm.setup("fit")
    return dm


def _texts(dm, split):
    encoded = dm.splits[split]
    return [tuple(encoded[i][0].tolist()) for i in range(len(encoded))]


def test_split_sizes_and_whole_test(tiny_data_dir, tmp_path):
    dm = _datamodule(tiny_data_dir, tmp_path)
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 180, "val": 20, "test": 100}


def test_same_seed_same_split_other_seed_other_split(tiny_data_dir, tmp_path):
    first = _datamodule(tiny_data_dir, tmp_path, seed=0)
    again = _datamodule(tiny_data_dir, tmp_path, seed=0)
    other = _datamodule(tiny_data_dir, tmp_path, seed=1)
    assert _texts(first, "val") == _texts(again, "val")
    assert _texts(first, "val") != _texts(other, "val")
    assert len(first.splits["val"]) == len(other.splits["val"])


def test_max_samples_take_a_random_subset_of_both_labels(tiny_data_dir, tmp_path):
    dm = _datamodule(tiny_data_dir, tmp_path, max_train_samples=50, max_test_samples=10)
    assert len(dm.splits["train"]) + len(dm.splits["val"]) == 50 and len(dm.splits["test"]) == 10
    assert set(dm.splits["test"].labels.tolist()) == {0, 1}


def test_batches_are_padded_to_their_own_longest_text(tiny_data_dir, tmp_path):
    dm = _datamodule(tiny_data_dir, tmp_path)
    batch = next(iter(dm.val_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    lengths = batch["attention_mask"].sum(dim=1)
    assert batch["input_ids"].shape == (8, lengths.max().item())
    assert (batch["input_ids"][batch["attention_mask"] == 0] == dm.tokenizer.pad_id).all()
    assert (batch["input_ids"][batch["attention_mask"] == 1] != dm.tokenizer.pad_id).all()


def test_collator_pads_and_masks():
    batch = PadCollator(pad_id=0)([(torch.tensor([5, 6, 7]), torch.tensor(1)), (torch.tensor([8]), torch.tensor(0))])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]


@pytest.mark.parametrize("max_length", [None, 2])
def test_batched_fetch_equals_the_collator_over_single_examples(max_length):
    from loralab.data import EncodedSplit

    split = EncodedSplit.from_lists([[5, 6, 7], [8], [9, 10], [11, 12, 13, 14], []], [1, 0, 1, 0, 1])
    split.max_length, split.pad_id = max_length, 3
    indices = [3, 1, 4, 0]
    expected = PadCollator(pad_id=3)([split[i] for i in indices])
    batch = split.__getitems__(indices)
    for key in expected:
        assert torch.equal(batch[key], expected[key]), key


def test_batch_lengths_round_up_to_the_multiple_but_not_past_the_longest_example():
    """Few distinct batch shapes on a GPU (its kernels are set up once per shape), and never a
    length the model has no position for."""
    from loralab.data import EncodedSplit

    split = EncodedSplit.from_lists([[5] * 3, [6] * 9, [7] * 10, [8]], [1, 0, 1, 0])
    split.pad_to_multiple_of = 4
    assert split.__getitems__([0, 3])["input_ids"].shape[1] == 4
    batch = split.__getitems__([1, 0])
    assert batch["input_ids"].shape[1] == 10  # 12 would pass the longest example
    assert batch["attention_mask"].sum(1).tolist() == [9, 3]
    assert batch["input_ids"][1, 3:].eq(split.pad_id).all()
    split.max_length = 9  # set after the first batch, as the DataModule may: 12 would pass it too
    assert split.__getitems__([1, 0])["input_ids"].shape[1] == 9


def test_pad_to_multiple_of_must_be_positive(tiny_data_dir, tmp_path):
    with pytest.raises(ValueError, match=naming("data.pad_to_multiple_of", "0")):
        _datamodule(tiny_data_dir, tmp_path, pad_to_multiple_of=0)


def test_max_length_cuts_texts(tiny_data_dir, tmp_path):
    dm = _datamodule(tiny_data_dir, tmp_path, max_length=4)
    assert dm.splits["train"].lengths().max().item() == 4
    assert next(iter(dm.train_dataloader()))["input_ids"].shape[1] <= 4


def test_empty_split_after_max_samples_is_refused(tiny_data_dir, tmp_path):
    with pytest.raises(ValueError, match=naming("train split", "imdb")):
        _datamodule(tiny_data_dir, tmp_path, max_train_samples=1, val_fraction=0.5)


def test_labels_outside_the_classes_are_refused(tiny_data_dir, tmp_path):
    settings = DataSettings(name="ag_news", num_classes=2, data_dir=str(tiny_data_dir), cache_dir=str(tmp_path))
    dm = TextClassificationDataModule(settings, WordTokenizer())
    with pytest.raises(ValueError, match=naming("[2, 3]", "data.num_classes")):
        dm.setup("fit")


class CountingEncoder:
    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return [[len(t)] for t in texts]

    def fingerprint(self):
        return "counting-v1"


def test_token_ids_are_cached_by_data_and_tokenizer(tmp_path):
    split = TextSplit(["a", "bb", "ccc"], [0, 1, 0])
    encoder = CountingEncoder()
    first = encode_cached(split, encoder, tmp_path)
    second = encode_cached(split, encoder, tmp_path)
    assert encoder.calls == 1
    assert torch.equal(first.ids, second.ids) and torch.equal(second.labels, torch.tensor([0, 1, 0]))
    encode_cached(TextSplit(["a", "bb", "cccc"], [0, 1, 0]), encoder, tmp_path)
    assert encoder.calls == 2


def test_second_datamodule_reads_the_cache(tiny_data_dir, tmp_path, monkeypatch):
    _datamodule(tiny_data_dir, tmp_path)
    calls = []
    monkeypatch.setattr(WordTokenizer, "encode", lambda self, texts: calls.append(1))
    monkeypatch.setattr("loralab.data.word_tokenizer.Tokenizer.train_from_iterator", lambda *a, **k: calls.append(2))
    _datamodule(tiny_data_dir, tmp_path)
    assert calls == []


class LabelRecorder(L.LightningModule):
    """Records the labels of each test batch, nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[int] = []

    def test_step(self, batch, batch_idx) -> None:
        self.labels += batch["labels"].tolist()


@pytest.mark.parametrize("group_by_length", [False, True])
def test_a_partial_test_pass_on_a_label_sorted_file_sees_every_class(tmp_path, group_by_length):
    """Real files are sorted by label: the first batches of a limited pass must not be one class."""
    for split, n in (("train", 100), ("test", 200)):
        rows = sentiment_rows(n, seed=5)
        order = sorted(range(n), key=lambda i: rows["label"][i])  # all negatives, then all positives
        write_parquet(
            tmp_path / "data" / "imdb" / f"{split}.parquet", {k: [v[i] for i in order] for k, v in rows.items()}
        )
    # max_length=3 cuts every text to the same length: length order alone would keep the file's order.
    dm = _datamodule(tmp_path / "data", tmp_path, group_by_length=group_by_length, max_length=3, eval_batch_size=16)
    recorder = LabelRecorder()
    trainer = L.Trainer(
        accelerator="cpu", limit_test_batches=2, logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.test(recorder, datamodule=dm, verbose=False)
    assert len(recorder.labels) == 32
    assert 8 <= sum(recorder.labels) <= 24  # both classes, in about their share (100 of 200)
