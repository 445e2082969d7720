import pytest
import torch

from loralab.models import TextClassifier, build_text_classifier
from loralab.settings import TextClassifierNet


def test_mean_pooling_ignores_padding():
    torch.manual_seed(0)
    model = TextClassifier(vocab_size=20, num_classes=3, embed_dim=8, hidden_dim=4)
    ids = torch.tensor([[4, 5, 6]])
    padded = torch.tensor([[4, 5, 6, 0, 0, 0, 0]])
    alone = model(ids, torch.ones_like(ids))
    in_long_batch = model(padded, (padded != 0).long())
    torch.testing.assert_close(alone, in_long_batch)


def _lookup_mean(embedding, ids, mask):
    """The plain masked mean the embedding_bag path replaces."""
    embedded = embedding(ids) * mask.unsqueeze(-1)
    return embedded.sum(1) / mask.sum(1, keepdim=True)


@pytest.mark.parametrize("lora", ["none", "unmerged", "merged"])
def test_bag_pooling_equals_the_masked_mean_of_the_lookup(lora):
    from loralab.lora import LoRAEmbedding

    torch.manual_seed(0)
    model = TextClassifier(vocab_size=30, num_classes=2, embed_dim=8, hidden_dim=4)
    if lora != "none":
        model.embedding = LoRAEmbedding(model.embedding, rank=3, alpha=6)
        torch.nn.init.normal_(model.embedding.lora_B)  # trained-looking update
    expected_ids = torch.tensor([[4, 5, 6, 7, 0], [9, 0, 0, 0, 0]])
    mask = (expected_ids != 0).float()
    expected = _lookup_mean(model.embedding, expected_ids, mask)
    if lora == "merged":
        model.embedding.merge()
    torch.testing.assert_close(model.mean_embedding(expected_ids, mask.long()), expected)


def test_submodule_names_and_frozen_embeddings():
    model = TextClassifier(vocab_size=20, num_classes=2, freeze_embeddings=True)
    assert [name for name, _ in model.named_children()] == ["embedding", "fc1", "fc2"]
    assert not model.embedding.weight.requires_grad and model.fc1.weight.requires_grad
    assert model.fc1.in_features == 100 and model.fc1.out_features == 128


def test_glove_initialisation(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("movie 1 2 3 4\nunrelated 9 9 9 9\ngreat -1 -2 -3 -4\n")
    vocab = {"<pad>": 0, "<unk>": 1, "movie": 2, "great": 3}
    model = build_text_classifier(vocab, 2, TextClassifierNet(embed_dim=4), glove_path=glove)
    assert model.embedding.weight[2].tolist() == [1, 2, 3, 4]
    assert model.embedding.weight[3].tolist() == [-1, -2, -3, -4]
    assert model.embedding.weight[0].abs().sum() == 0  # padding row stays zero


def test_glove_dimension_mismatch_names_the_fix(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("movie 1 2 3\n")
    with pytest.raises(ValueError, match="set model.net.embed_dim=3"):
        build_text_classifier({"<pad>": 0, "movie": 1}, 2, TextClassifierNet(embed_dim=4), glove_path=glove)


def test_word_dropout_drops_words_while_training_only():
    torch.manual_seed(0)
    model = TextClassifier(vocab_size=50, num_classes=2, embed_dim=8, hidden_dim=4, word_dropout=0.5)
    ids = torch.randint(1, 50, (4, 30))
    mask = torch.ones_like(ids)
    model.eval()
    plain = TextClassifier(vocab_size=50, num_classes=2, embed_dim=8, hidden_dim=4)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(model.mean_embedding(ids, mask), plain.eval().mean_embedding(ids, mask))
    model.train()
    assert not torch.allclose(model.mean_embedding(ids, mask), model.mean_embedding(ids, mask))
    with pytest.raises(ValueError, match=r"^model.net.word_dropout=1.0 is not allowed"):
        TextClassifierNet(word_dropout=1.0)


def test_counting_each_word_once_pools_the_distinct_words_padding_left_out():
    torch.manual_seed(0)
    model = TextClassifier(vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=4, count_each_word_once=True)
    repeated = torch.tensor([[4, 5, 4, 4, 6, 5, 0, 0]])
    distinct = torch.tensor([[6, 5, 4]])
    torch.testing.assert_close(
        model.mean_embedding(repeated, (repeated != 0).long()),
        model.mean_embedding(distinct, torch.ones_like(distinct)),
    )
    bag = TextClassifier(vocab_size=20, num_classes=2, embed_dim=8, hidden_dim=4)
    bag.load_state_dict(model.state_dict())
    assert not torch.allclose(
        bag.mean_embedding(repeated, (repeated != 0).long()), model.mean_embedding(distinct, torch.ones_like(distinct))
    )


def test_count_each_word_once_reaches_a_pretrained_model_through_the_builder(tmp_path):
    from safetensors.torch import save_file

    vocab = {"<pad>": 0, "<unk>": 1, "good": 2, "bad": 3}
    base = TextClassifier(vocab_size=4, num_classes=4, embed_dim=8, hidden_dim=4)
    save_file(base.state_dict(), tmp_path / "model.safetensors")
    net = TextClassifierNet(embed_dim=8, hidden_dim=4, count_each_word_once=True)
    model = build_text_classifier(vocab, 2, net, pretrained=tmp_path)
    assert model.count_each_word_once and model.fc2.out_features == 2
