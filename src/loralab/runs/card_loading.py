"""The "How to load it" section of a model card, one per kind of shared folder: the PEFT adapter,
the merged transformer and the merged TextClassifier. Each is code a reader can paste, with the
run's own label names and base written in (``tests/test_sharing.py`` runs them)."""

from __future__ import annotations

import re

PLAIN_PATH = re.compile(r"^[\w./-]+$")
EXAMPLES = '["A wonderful film.", "Dull and long."]'


def _literal(value: str) -> str:
    """A Python string literal of ``value`` that cannot close a Markdown code fence."""
    return repr(value).replace("`", "\\x60")


def _labels_line(run: dict) -> str:
    return "labels = [" + ", ".join(_literal(name) for name in run["label_names"]) + "]"


def _python(*lines: str) -> list[str]:
    return ["```python", *lines, "```"]


def _predict_py(run_folder: str) -> list[str]:
    return [
        "",
        "`predict.py` of loralab labels texts with the run folder it came from, with the same names and scores:",
        "",
        f"    python predict.py {run_folder} {EXAMPLES[1:-1].replace(', ', ' ')}",
    ]


def adapter_loading(run: dict) -> list[str]:
    """The adapter on its backbone with PEFT, and the label names put in the model's config."""
    base = run["base"]
    if base.get("hub_id"):
        backbone = _literal(base["hub_id"]) + ","
    elif base.get("path") and PLAIN_PATH.match(base["path"]) and not base["path"].startswith("/"):
        backbone = f'f"{{run}}/{base["path"]}",  # the backbone folder the run was trained on'
    else:
        backbone = '"path/to/backbone",  # the backbone folder the run was trained on'
    return [
        "With PEFT: the backbone, this adapter, and the run's tokenizer (`tokenizer/` beside `adapter/`).",
        "",
        *_python(
            "from peft import PeftModel",
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline",
            "",
            'run = "path/to/run"  # the run folder: this adapter folder\'s parent',
            _labels_line(run),
            "base = AutoModelForSequenceClassification.from_pretrained(  # a new head: the adapter holds the trained one",
            f"    {backbone}",
            "    id2label=dict(enumerate(labels)),",
            "    label2id={name: i for i, name in enumerate(labels)},",
            ")",
            'model = PeftModel.from_pretrained(base, f"{run}/adapter").merge_and_unload()',
            'tokenizer = AutoTokenizer.from_pretrained(f"{run}/tokenizer")',
            'classify = pipeline("text-classification", model=model, tokenizer=tokenizer)',
            f"print(classify({EXAMPLES}))",
        ),
        *_predict_py("path/to/run"),
    ]


def merged_loading(run: dict) -> list[str]:
    """A ``save_pretrained`` folder with ``id2label`` in its config: the pipeline needs nothing else."""
    return [
        "With transformers alone (no PEFT: the adapter is folded into the weights); the label names",
        "are in `config.json` (`id2label`).",
        "",
        *_python(
            "from transformers import pipeline",
            "",
            'classify = pipeline("text-classification", model="path/to/this/folder")',
            f"print(classify({EXAMPLES}))",
        ),
        *_predict_py("path/to/run"),
    ]


def text_classifier_loading(run: dict) -> list[str]:
    """loralab's TextClassifier in plain torch: the mean of the words' embeddings, ``fc1``, ReLU, ``fc2``."""
    once = run["net"].count_each_word_once
    return [
        "With plain torch, safetensors and tokenizers: the mean of the words' embeddings, `fc1`, ReLU, `fc2`.",
        "",
        *_python(
            "import torch",
            "from safetensors.torch import load_file",
            "from tokenizers import Tokenizer",
            "",
            'folder = "path/to/this/folder"',
            _labels_line(run),
            'weights = load_file(f"{folder}/model.safetensors")',
            'tokenizer = Tokenizer.from_file(f"{folder}/vocab.json")',
            "",
            "",
            "def classify(text):",
            "    ids = torch.tensor(tokenizer.encode(text, add_special_tokens=False).ids, dtype=torch.long)",
            *(["    ids = ids.unique()  # the run counted each word once"] if once else []),
            '    pooled = weights["embedding.weight"][ids].sum(dim=0) / max(len(ids), 1)',
            '    hidden = torch.relu(pooled @ weights["fc1.weight"].T + weights["fc1.bias"])',
            '    probabilities = torch.softmax(hidden @ weights["fc2.weight"].T + weights["fc2.bias"], dim=-1)',
            "    best = int(probabilities.argmax())",
            "    return labels[best], float(probabilities[best])",
            "",
            "",
            f"print([classify(text) for text in {EXAMPLES}])",
        ),
        "",
        "The same folder serves as the base of a new loralab run: `python train.py +model.pretrained=path/to/this/folder`.",
        *_predict_py("path/to/run"),
    ]
