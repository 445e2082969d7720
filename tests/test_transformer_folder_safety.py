"""Opening a transformer run folder someone hands you: the backbone's config, weights and index,
the tokenizer files and the recorded LoRA patterns are data. A crafted file is refused in one line
naming the file and the key, through the command line (a subprocess under a memory limit and a
timeout) and as a ``RunFolderError`` from ``loralab.api.load_run``; files outside the folder are
left alone. Valid runs, moved or not, give the logits they had when training ended."""

import copy
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch
from helpers.entry_points import assert_refused, run_entry_point, run_in_process
from helpers.run_folders import edit_json
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import FILLER, NEGATIVE, POSITIVE, TOPICS, write_tiny_data
from helpers.train_configs import compose_train_config, quiet_run_overrides, tiny_run_overrides
from safetensors.torch import load_file, save_file

from loralab import api
from loralab.data import PadCollator
from loralab.files.safe_paths import RunFolderError
from loralab.tools.prediction import predict_texts
from loralab.training import experiment

# Trains several runs and starts entry points in subprocesses: the full suite (CONTRIBUTING.md).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("transformer_runs"),
]  # one worker builds the module's runs

TEXTS = ["great superb film", "awful waste of a plot", "the actors and the story", "Ünïcode 中文 [SEP] text!!"]


def save_tiny_bert(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with its own WordPiece ``vocab.txt``, its weights in two shards and
    an index (``model.safetensors.index.json``): the sharded layout of larger backbones."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted(set(POSITIVE + NEGATIVE + FILLER + [w for t in TOPICS for w in t] + ["really", "yes", "!", "."]))
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    BertTokenizer(vocab=str(folder / "vocab.txt"), model_max_length=64).save_pretrained(folder)
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=5 + len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertForSequenceClassification(config).save_pretrained(folder, max_shard_size="60KB")
    assert (folder / "model.safetensors.index.json").is_file()
    return folder


def save_tiny_roberta(folder: Path) -> Path:
    """A 2-layer, 32-wide RoBERTa with a byte-level BPE tokenizer learnt from the tiny data's words."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    words = POSITIVE + NEGATIVE + FILLER + [w for t in TOPICS for w in t] + ["Really!", "Yes.", "<br />"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(words)] * 4, vocab_size=400, min_frequency=1, special_tokens=specials)
    bpe.save_model(str(folder))
    RobertaTokenizer(
        vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=60
    ).save_pretrained(folder)
    torch.manual_seed(2)
    config = RobertaConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    RobertaForSequenceClassification(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished runs under ``<root>/runs`` on tiny backbones in ``<root>/distilbert`` and
    ``<root>/bert``, each PEFT run with the network it had when training ended (``<name>_net``)."""
    root = tmp_path_factory.mktemp("transformer_folders")
    data_dir = write_tiny_data(root / "data")
    cache = f"paths.cache_dir={root / 'cache'}"
    distilbert, bert = save_tiny_distilbert(root / "distilbert"), save_tiny_bert(root / "bert")
    roberta = save_tiny_roberta(root / "roberta")
    common = quiet_run_overrides(data_dir) + [cache, "trainer.max_epochs=1", "optim.optimizer.lr=3e-3"]
    recipes = {
        # lab_peft's regex over q_lin/k_lin/v_lin, and a rank pattern for k_lin
        "distilbert_peft": [
            "experiment=lab_peft",
            f"model.backbone={distilbert}",
            "data.max_train_samples=null",
            "data.max_test_samples=null",
            "trainer.max_epochs=1",
            "model.lora.rank=4",
            "+model.lora.rank_pattern={k_lin: 2}",
        ],
        "bert_peft": [
            "model=lora_bert",
            f"model.backbone={bert}",
            "model.lora.target_modules='.*\\.(query|value)'",
            "model.lora.rank=4",
            "model.lora.alpha_pattern={value: 4}",
        ],
        "distilbert_full": ["model=distilbert", f"model.backbone={distilbert}"],
        "roberta_peft": ["model=lora_bert", f"model.backbone={roberta}", "model.lora.rank=4"],
    }
    nets = {}
    real_save = experiment.save_run_model

    def keep_net(net, cfg, output_dir, settings):
        nets[Path(output_dir).name] = copy.deepcopy(net).eval()
        return real_save(net, cfg, output_dir, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment, "save_run_model", keep_net)
        for name, overrides in recipes.items():
            experiment.train(compose_train_config(root / "runs" / name, common + overrides))
    text_classifier = tiny_run_overrides(data_dir) + [
        cache,
        "model=lora_textclassifier",
        "model.lora.target_modules=fc.*",
    ]
    experiment.train(compose_train_config(root / "runs" / "textclassifier", text_classifier))
    folders = {name: root / "runs" / name for name in [*recipes, "textclassifier"]}
    backbones = {"distilbert": distilbert, "bert": bert, "roberta": roberta}
    return {"root": root, "cache": cache, **backbones, "nets": nets, **folders}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _crafted(runs, name: str, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of run ``name`` holding a copy of its backbone (``base.path: backbone``), as a
    handed-over folder may."""
    run = shutil.copytree(runs[name], tmp_path / "run", symlinks=True)
    recorded = json.loads((run / "run_config.json").read_text())["base"]["path"]
    backbone = shutil.copytree((runs[name] / recorded).resolve(), run / "backbone")
    edit_json(run / "run_config.json", lambda c: c["base"].update(path="backbone"))
    return run, backbone


def _record(run: Path, backbone: Path, *names: str, digest: str | None = None) -> None:
    """What a crafter does after editing backbone files: record their sha256 in ``base.files``."""
    files = {name: digest or _sha256(backbone / name) for name in names}
    edit_json(run / "run_config.json", lambda c: c["base"]["files"].update(files))


def _edit_config(edit):
    def craft(run, backbone, outside):
        edit_json(backbone / "config.json", edit)
        _record(run, backbone, "config.json")

    return craft


def _index_names_a_shard_outside(run, backbone, outside):
    index = {
        "metadata": {},
        "weight_map": {"distilbert.embeddings.word_embeddings.weight": "../../outside/fifo.safetensors"},
    }
    (backbone / "model.safetensors.index.json").write_text(json.dumps(index))
    _record(run, backbone, "model.safetensors.index.json")


def _index_names_a_fifo(run, backbone, outside):
    os.mkfifo(backbone / "shard.safetensors")
    index = {"metadata": {}, "weight_map": {"distilbert.embeddings.word_embeddings.weight": "shard.safetensors"}}
    (backbone / "model.safetensors.index.json").write_text(json.dumps(index))
    _record(run, backbone, "model.safetensors.index.json")
    _record(run, backbone, "shard.safetensors", digest="0" * 64)


def _shard_index_names_an_unrecorded_file(run, backbone, outside):
    index_path = backbone / "model.safetensors.index.json"
    edit_json(index_path, lambda i: i["weight_map"].update({"bert.pooler.dense.weight": "extra.json"}))
    _record(run, backbone, "model.safetensors.index.json")


def _auto_map(run, backbone, outside):
    (backbone / "evil.py").write_text(f"open({str(outside / 'ran')!r}, 'w').close()\nEvilModel = None\n")
    _edit_config(lambda c: c.update(auto_map={"AutoModelForSequenceClassification": "evil.EvilModel"}))(
        run, backbone, outside
    )


def _replace_chain(run, backbone, outside):
    replace = {"type": "Replace", "pattern": {"String": "a"}, "content": "aaaa"}
    edit_json(
        run / "tokenizer" / "tokenizer.json",
        lambda t: t.update(normalizer={"type": "Sequence", "normalizers": [replace] * 40}),
    )
    edit_json(
        run / "tokenizer" / "tokenizer_config.json", lambda c: c.update(tokenizer_class="PreTrainedTokenizerFast")
    )


def _tokenizer_config(**values):
    def craft(run, backbone, outside):
        edit_json(run / "tokenizer" / "tokenizer_config.json", lambda c: c.update(values))

    return craft


def _lora(**values):
    def craft(run, backbone, outside):
        edit_json(run / "run_config.json", lambda c: c["lora"].update(values))

    return craft


def _misshaped_adapter_tensor(run, backbone, outside):
    path = run / "adapter" / "adapter_model.safetensors"
    tensors = load_file(path)
    name = "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight"
    tensors[name] = torch.zeros(tensors[name].shape[0] + 3, tensors[name].shape[1])
    save_file(tensors, path)


def _misshaped_model_tensor(run, backbone, outside):
    tensors = load_file(run / "model.safetensors")
    tensors["classifier.weight"] = torch.zeros(5, tensors["classifier.weight"].shape[1])
    save_file(tensors, run / "model.safetensors")


BACKTRACKING = "(a|aa)+(b|bb)+$" * 3

# (run, crafting, entry point, what the one-line refusal must name)
CASES = {
    "index_shard_outside": (
        "distilbert_peft",
        _index_names_a_shard_outside,
        "predict",
        ["model.safetensors.index.json", "weight_map.distilbert.embeddings.word_embeddings.weight"],
    ),
    "index_names_a_fifo": ("distilbert_peft", _index_names_a_fifo, "predict", ["shard.safetensors", "fifo"]),
    "index_unrecorded_shard": (
        "bert_peft",
        _shard_index_names_an_unrecorded_file,
        "predict",
        ["model.safetensors.index.json", "weight_map.bert.pooler.dense.weight"],
    ),
    "config_auto_map": ("distilbert_peft", _auto_map, "predict", ["config.json", "auto_map"]),
    "config_hub_kernel": (
        "distilbert_peft",
        _edit_config(lambda c: c.update(_attn_implementation="kernels-community/flash-attn")),
        "eval",
        ["config.json", "_attn_implementation"],
    ),
    "config_quantization": (
        "bert_peft",
        _edit_config(lambda c: c.update(quantization_config={"quant_method": "bitsandbytes", "load_in_8bit": True})),
        "export",
        ["config.json", "quantization_config"],
    ),
    "config_remote_code": (
        "distilbert_full",
        _edit_config(lambda c: c.update(trust_remote_code=True)),
        "predict",
        ["config.json", "trust_remote_code"],
    ),
    "config_huge_vocabulary": (
        "distilbert_peft",
        _edit_config(lambda c: c.update(vocab_size=10**12)),
        "predict",
        ["config.json", "vocab_size"],
    ),
    "config_huge_network": (
        "distilbert_peft",
        _edit_config(lambda c: c.update(dim=16_384, n_layers=128, n_heads=128, hidden_dim=65_536)),
        "predict",
        ["config.json", "keys", "n_layers", "parameters"],
    ),
    "config_unknown_model_type": (
        "bert_peft",
        _edit_config(lambda c: c.update(model_type="gpt2")),
        "predict",
        ["config.json", "model_type", "gpt2"],
    ),
    "config_foreign_architecture": (
        "bert_peft",
        _edit_config(lambda c: c.update(architectures=["EvilForSequenceClassification"])),
        "predict",
        ["config.json", "architectures"],
    ),
    "config_activation": (
        "bert_peft",
        _edit_config(lambda c: c.update(hidden_act="evil")),
        "predict",
        ["config.json", "hidden_act"],
    ),
    "tokenizer_replace_chain": ("distilbert_peft", _replace_chain, "predict", ["tokenizer.json", "normalizer.type"]),
    "tokenizer_length_word": (
        "bert_peft",
        _tokenizer_config(model_max_length="big"),
        "predict",
        ["tokenizer_config.json", "model_max_length"],
    ),
    "tokenizer_length_negative": (
        "distilbert_full",
        _tokenizer_config(model_max_length=-5),
        "predict",
        ["tokenizer_config.json", "model_max_length"],
    ),
    "tokenizer_special_token": (
        "distilbert_peft",
        _tokenizer_config(pad_token="[NOT-THERE]"),
        "predict",
        ["tokenizer_config.json", "pad_token"],
    ),
    "rank_pattern_backtracks": (
        "distilbert_peft",
        _lora(rank_pattern={BACKTRACKING: 2}),
        "predict",
        ["run_config.json", "lora.rank_pattern", "holds the key"],
    ),
    "alpha_pattern_backtracks": (
        "bert_peft",
        _lora(alpha_pattern={"(.*a){20}": 2}),
        "eval",
        ["run_config.json", "lora.alpha_pattern", "holds the key"],
    ),
    "target_modules_backtracks": (
        "bert_peft",
        _lora(target_modules=BACKTRACKING),
        "predict",
        ["run_config.json", "lora.target_modules"],
    ),
    "target_module_name_backtracks": (
        "distilbert_peft",
        _lora(target_modules=["q_lin", BACKTRACKING]),
        "predict",
        ["run_config.json", "lora.target_modules[1]"],
    ),
    "textclassifier_target_modules_backtracks": (
        "textclassifier",
        _lora(target_modules=BACKTRACKING),
        "predict",
        ["run_config.json", "lora.target_modules"],
    ),
    "adapter_tensor_misshaped": (
        "distilbert_peft",
        _misshaped_adapter_tensor,
        "export",
        ["adapter_model.safetensors", "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight"],
    ),
    "roberta_tokenizer_normalizer": (
        "roberta_peft",
        _replace_chain,
        "predict",
        ["tokenizer.json", "normalizer", "must be null"],
    ),
    "roberta_config_token_id": (
        "roberta_peft",
        _edit_config(lambda c: c.update(bos_token_id=10**9)),
        "predict",
        ["config.json", "bos_token_id"],
    ),
    "model_tensor_misshaped": (
        "distilbert_full",
        _misshaped_model_tensor,
        "predict",
        ["model.safetensors", "classifier.weight"],
    ),
}


def _outside(tmp_path: Path) -> Path:
    """Files a crafted folder may point at: a marker that must keep its content, and a fifo."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "marker.safetensors").write_text("untouched")
    os.mkfifo(outside / "fifo.safetensors")
    return outside


def _assert_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["fifo.safetensors", "marker.safetensors"]
    assert (outside / "marker.safetensors").read_text() == "untouched"
    assert stat.S_ISFIFO(os.stat(outside / "fifo.safetensors").st_mode)


def _prepare(runs, tmp_path, case: str) -> tuple[Path, list[str], str, Path]:
    name, craft, entry, names = CASES[case]
    if name == "textclassifier":
        run, backbone = shutil.copytree(runs[name], tmp_path / "run"), None
    else:
        run, backbone = _crafted(runs, name, tmp_path)
    outside = _outside(tmp_path)
    craft(run, backbone, outside)
    return run, names, entry, outside


# Through the command line, one case of each kind (every case goes through load_run below), in this
# process but for the one that could hang: a subprocess costs some 10 s of imports on two cores.
CLI_CASES = [
    "index_names_a_fifo",
    "config_hub_kernel",
    "tokenizer_replace_chain",
    "tokenizer_length_word",
    "rank_pattern_backtracks",
    "adapter_tensor_misshaped",
]


@pytest.mark.parametrize("case", CLI_CASES)
def test_a_crafted_transformer_folder_is_refused_in_one_line(runs, tmp_path, monkeypatch, capsys, case):
    run, names, entry, outside = _prepare(runs, tmp_path, case)
    command = {
        "predict": ["predict.py", run, "a text"],
        "eval": ["eval.py", run, runs["cache"]],
        "export": ["export.py", run, tmp_path / "exported"],
    }[entry]
    if "fifo" in case:  # what could hang runs in a subprocess, bounded in time and memory
        assert_refused(run_entry_point(*command, timeout=240), *names)
    else:
        assert_refused(run_in_process(monkeypatch, capsys, *command), *names)
    _assert_untouched(outside)
    assert not (tmp_path / "exported").exists()


@pytest.mark.parametrize("case", list(CASES))
def test_load_run_raises_run_folder_error_naming_file_and_key(runs, tmp_path, case):
    run, names, _, outside = _prepare(runs, tmp_path, case)
    with pytest.raises(RunFolderError) as raised:
        api.load_run(run)
    message = str(raised.value)
    assert "\n" not in message.strip()
    for name in names:
        assert name in message, (name, message)
    _assert_untouched(outside)


def _logits(net, tokenizer, texts=TEXTS) -> torch.Tensor:
    batch = PadCollator(tokenizer.pad_id)([(torch.tensor(ids), torch.tensor(0)) for ids in tokenizer.encode(texts)])
    with torch.no_grad():
        return net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


@pytest.mark.parametrize(
    ("name", "backbone"), [("distilbert_peft", "distilbert"), ("bert_peft", "bert"), ("roberta_peft", "roberta")]
)
def test_a_reopened_run_gives_the_logits_training_ended_with(runs, name, backbone):
    """Regex targets and patterns are recorded as the module names they matched; PEFT's matching
    of those names rebuilds the same adapters, and the rebuilt tokenizer tokenizes as the backbone's."""
    from transformers import AutoTokenizer

    lora = json.loads((runs[name] / "run_config.json").read_text())["lora"]
    assert all(target.count(".") >= 3 for target in lora["target_modules"])  # full names, no pattern
    assert lora["rank_pattern"] or lora["alpha_pattern"] or name == "roberta_peft"
    opened = api.load_run(runs[name])
    own = AutoTokenizer.from_pretrained(runs[backbone])
    texts = [*TEXTS, "word " * 80, " <mask> and [MASK] </s>"]  # cut at the usable positions
    assert (
        opened.tokenizer.encode(texts)
        == own(texts, truncation=True, max_length=opened.tokenizer.max_length)["input_ids"]
    )
    trained = runs["nets"][name]
    torch.testing.assert_close(
        _logits(opened.net, opened.tokenizer), _logits(trained, opened.tokenizer), atol=0, rtol=0
    )


@pytest.mark.parametrize("name", ["distilbert_peft", "bert_peft", "distilbert_full", "roberta_peft"])
def test_a_moved_transformer_run_predicts_the_same(runs, tmp_path, name):
    """Moved with its backbone (the relative path holds), then alone (the backbone given as
    model.pretrained=): the same output (the command line's is tested in test_run_folder_safety)."""
    before = predict_texts(runs[name], TEXTS)
    recorded = json.loads((runs[name] / "run_config.json").read_text())["base"]["path"]
    backbone = (runs[name] / recorded).resolve()
    together = tmp_path / "together"
    shutil.copytree(runs[name], together / "runs" / name)
    shutil.copytree(backbone, together / backbone.name)
    assert predict_texts(together / "runs" / name, TEXTS) == before
    alone = shutil.copytree(runs[name], tmp_path / "a" / "b" / "c" / name)
    assert predict_texts(alone, TEXTS, base=together / backbone.name) == before


def test_a_text_classifier_run_trained_with_a_regex_reopens_by_module_names(runs):
    lora = json.loads((runs["textclassifier"] / "run_config.json").read_text())["lora"]
    assert lora["target_modules"] == ["fc1", "fc2"]
    assert len(api.load_run(runs["textclassifier"]).predict(TEXTS)) == len(TEXTS)
