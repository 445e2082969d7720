"""A finished run shared the way models are shared: the merged export in ``transformers.pipeline``
with the run's label names and predict.py's scores, the adapter in ``PeftModel.from_pretrained``,
the TextClassifier export in plain torch, and model cards that ``huggingface_hub`` parses."""

import json
import re

import pytest
import torch
from helpers.run_folders import copy_run, edit_json
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from loralab.runs.model_card import build_card
from loralab.runs.run_config import read_run_config
from loralab.tools.merged_export import export_merged
from loralab.tools.prediction import predict_texts

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("run_folders")]  # one worker builds the shared runs

TEXTS = ["a wonderful film, loved it", "awful and boring", "the plot"]


def card_code(card_file, **paths) -> dict:
    """Run the card's Python block, with its placeholder paths set to ``paths``; returns its names."""
    code = re.search(r"```python\n(.*?)```", card_file.read_text(), re.S).group(1)
    for name, path in paths.items():
        code = re.sub(rf'^{name} = "[^"]*"', f"{name} = {str(path)!r}", code, flags=re.M)
    code = code.replace("print(", "(")  # the example's output is not the test's
    namespace = {}
    exec(compile(code, str(card_file), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def merged(finished_runs, tmp_path_factory):
    return export_merged(finished_runs["peft"], tmp_path_factory.mktemp("share") / "merged")


def test_pipeline_on_the_export_gives_predict_py_names_and_scores(finished_runs, merged):
    from transformers import pipeline

    expected = predict_texts(finished_runs["peft"], TEXTS)
    config = json.loads((merged / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["label2id"] == {"negative": 0, "positive": 1}
    answers = pipeline("text-classification", model=str(merged))(TEXTS)
    assert [a["label"] for a in answers] == [label for label, _ in expected]
    torch.testing.assert_close(
        torch.tensor([a["score"] for a in answers]), torch.tensor([p for _, p in expected]), atol=1e-5, rtol=0
    )


def test_the_adapter_card_code_loads_it_with_peft(finished_runs):
    """The card's own snippet: the backbone with the label names, ``PeftModel.from_pretrained``, a pipeline."""
    run = finished_runs["peft"]
    namespace = card_code(run / "adapter" / "README.md", run=run)
    assert type(namespace["base"]).__name__ == "DistilBertForSequenceClassification"
    answers = namespace["classify"](TEXTS)
    expected = predict_texts(run, TEXTS)
    assert [a["label"] for a in answers] == [label for label, _ in expected]
    torch.testing.assert_close(
        torch.tensor([a["score"] for a in answers]), torch.tensor([p for _, p in expected]), atol=1e-5, rtol=0
    )


def test_saved_peft_config_lists_each_module_once(finished_runs):
    config = json.loads((finished_runs["peft"] / "adapter" / "adapter_config.json").read_text())
    assert len(config["modules_to_save"]) == len(set(config["modules_to_save"]))
    assert {"pre_classifier", "classifier"} <= set(config["modules_to_save"])
    tensors = load_file(finished_runs["peft"] / "adapter" / "adapter_model.safetensors")
    assert any("pre_classifier" in name for name in tensors) and any(".classifier." in name for name in tensors)


@pytest.mark.parametrize(("card", "library"), [("adapter", "peft"), ("merged", "transformers")])
def test_cards_parse_with_the_test_metrics(finished_runs, merged, card, library):
    folder = finished_runs["peft"] / "adapter" if card == "adapter" else merged
    parsed = ModelCard.load(folder / "README.md")
    metrics = json.loads((finished_runs["peft"] / "metrics.json").read_text())
    data = parsed.data
    assert data.library_name == library and data.pipeline_tag == "text-classification"
    assert data.base_model is None  # a local backbone folder has no Hub id
    assert data.datasets == ["stanfordnlp/imdb"]
    found = {result.metric_type: result.metric_value for result in data.eval_results}
    assert found["accuracy"] == pytest.approx(metrics["test/acc"], abs=1e-4)
    assert found["f1"] == pytest.approx(metrics["test/f1"], abs=1e-4)
    info = json.loads((finished_runs["peft"] / "run_info.json").read_text())
    assert info["data"]["splits"]["train"]["sha256"] in parsed.text
    assert "| 1 | positive |" in parsed.text


def test_a_hub_backbone_is_the_cards_base_model(finished_runs):
    run_dir = finished_runs["peft"]
    run = read_run_config(run_dir)
    run["base"] = {**run["base"], "path": None, "hub_id": "distilbert/distilbert-base-uncased"}
    card = build_card(run_dir, run, "", [], "peft")
    assert ModelCard(card.content).data.base_model == "distilbert/distilbert-base-uncased"


def test_text_classifier_export_loads_with_the_cards_plain_torch(finished_runs, tmp_path):
    run = finished_runs["own_base"]
    out = export_merged(run, tmp_path / "merged")
    classify = card_code(out / "README.md", folder=out)["classify"]
    expected = predict_texts(run, TEXTS)
    answers = [classify(text) for text in TEXTS]
    assert [label for label, _ in answers] == [label for label, _ in expected]
    torch.testing.assert_close(torch.tensor([p for _, p in answers]), torch.tensor([p for _, p in expected]))
    assert ModelCard.load(out / "README.md").data.eval_results


def test_label_names_from_a_folder_stay_data_in_the_card_and_the_config(finished_runs, tmp_path):
    """A name with a table bar, a backtick fence and an escape sequence: the card still parses and
    its code still runs; the config holds the name as the run recorded it."""
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    odd = "neg|a```tive\x1b[2J"
    edit_json(run / "run_config.json", lambda config: config.update(label_names=[odd, "positive"]))
    out = export_merged(run, tmp_path / "merged")
    card = ModelCard.load(out / "README.md")
    assert "\x1b" not in card.text and card.data.eval_results
    assert card_code(out / "README.md", folder=out)["labels"] == [odd, "positive"]
