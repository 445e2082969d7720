from loralab.data import TextSplit, WordTokenizer

TRAIN = TextSplit(["Great movie!<br /><br />Loved it.", "Awful movie, boring.", "great, GREAT acting"], [1, 0, 1])


def _fitted(tmp_path, **kwargs) -> WordTokenizer:
    tokenizer = WordTokenizer(**({"min_frequency": 1} | kwargs))
    tokenizer.fit(TRAIN, tmp_path / "cache")
    return tokenizer


def test_lowercases_drops_br_and_splits_punctuation(tmp_path):
    tokenizer = _fitted(tmp_path)
    tokens = tokenizer.tokenizer.encode("GREAT movie!<br />Boring.", add_special_tokens=False).tokens
    assert tokens == ["great", "movie", "!", "boring", "."]
    assert "<br" not in tokenizer.vocab and "br" not in tokenizer.vocab


def test_specials_and_unknown_words(tmp_path):
    tokenizer = _fitted(tmp_path)
    assert tokenizer.pad_id == 0 and tokenizer.vocab["<unk>"] == 1
    assert tokenizer.encode(["zebra great"]) == [[1, tokenizer.vocab["great"]]]


def test_min_frequency_and_max_size(tmp_path):
    assert set(_fitted(tmp_path, min_frequency=2).vocab) == {"<pad>", "<unk>", "great", "movie", ".", ","}
    assert len(_fitted(tmp_path, max_size=4).vocab) == 4


def test_saved_vocabulary_reloads_with_the_same_ids(tmp_path):
    tokenizer = _fitted(tmp_path)
    saved = tokenizer.save(tmp_path / "run")
    assert saved.name == "vocab.json"
    reloaded = WordTokenizer(vocab_path=saved)
    reloaded.fit(TextSplit(["other words entirely"], [0]), tmp_path / "cache")
    texts = ["Great acting, awful movie.", "unseen words"]
    assert reloaded.encode(texts) == tokenizer.encode(texts)
    assert reloaded.fingerprint() == tokenizer.fingerprint()
