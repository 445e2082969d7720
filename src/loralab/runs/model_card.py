"""Model cards (``README.md``) for a run's PEFT adapter folder and for a merged export: what the
Hub page and a reader look at first. The YAML metadata comes from ``huggingface_hub``'s
``ModelCardData`` (``model-index`` results from ``EvalResult``); the body says what the model is,
what it was trained on, its LoRA settings, its test metrics, the command that made it and how to
load it. Every value is read from the run folder (``run_config.json``, ``run_info.json``,
``metrics.json``) and written as inert Markdown text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loralab.atomic_files import atomic_write_text
from loralab.files.run_files import METRICS_FILE
from loralab.files.safe_paths import RunFolderError, read_json_capped
from loralab.runs.card_loading import adapter_loading, merged_loading, text_classifier_loading
from loralab.runs.run_config import RUN_CONFIG_FILE, read_run_config
from loralab.runs.run_info import RUN_INFO_FILE
from loralab.settings import LoraSettings
from loralab.terminal_text import escaped

CARD_FILE = "README.md"
KEY_PACKAGES = ("loralab", "torch", "transformers", "peft")  # the versions a card names
# metrics.json key -> (model-index metric type, name shown on the Hub)
TEST_METRICS = {"test/acc": ("accuracy", "Accuracy"), "test/f1": ("f1", "Macro F1"), "test/loss": ("loss", "Loss")}


def _text(value: Any) -> str:
    """A value from the folder as one line of Markdown: escapes for control characters, no table breaks."""
    return escaped(value).replace("|", "\\|").replace("`", "'")


def _optional_json(path: Path) -> dict:
    """A provenance file read as data; absent or damaged, the card just says less."""
    try:
        value = read_json_capped(path)
    except (OSError, RunFolderError):
        return {}
    return value if isinstance(value, dict) else {}


def _numbers(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def backbone_name(run: dict) -> str:
    """The Hub id of a transformer run's backbone, else its folder's name; loralab's own TextClassifier."""
    if run["family"] != "hf_classifier":
        return "TextClassifier"
    return run["base"]["hub_id"] or Path(run["base"]["path"] or "backbone").name


def _dataset(run: dict) -> tuple[str, str | None]:
    """The data set's name, and its Hub id when the run used the named data set (not a file of its own)."""
    data = run["data"]
    name = data.name
    hub_id = data.hub_id if not data.path else None
    return name, hub_id


def _card_data(run: dict, metrics: dict[str, float], model_name: str, library_name: str | None):
    from huggingface_hub import EvalResult, ModelCardData

    dataset, dataset_id = _dataset(run)
    results = [
        EvalResult(
            task_type="text-classification",
            dataset_type=dataset_id or dataset,
            dataset_name=dataset,
            dataset_split="test",
            metric_type=kind,
            metric_name=shown,
            metric_value=round(metrics[key], 4),
        )
        for key, (kind, shown) in TEST_METRICS.items()
        if key in metrics
    ]
    tags = (
        ["text-classification", "loralab"]
        + (["lora"] if run["lora"] else [])
        + ([library_name] if library_name else [])
    )
    return ModelCardData(
        model_name=model_name,
        base_model=(run.get("base") or {}).get("hub_id"),
        library_name=library_name,
        pipeline_tag="text-classification",
        tags=tags,
        datasets=[dataset_id] if dataset_id else None,
        eval_results=results or None,
    )


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_text(cell) for cell in row) + " |" for row in rows]


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _data_lines(info: dict) -> list[str]:
    splits = _mapping(_mapping(info.get("data")).get("splits"))
    rows = [(split, s.get("rows", ""), s.get("sha256", "")) for split, s in splits.items() if isinstance(s, dict)]
    return _table(("split", "rows", "sha256"), rows) if rows else ["Not recorded (no run_info.json)."]


def _lora_lines(lora: LoraSettings) -> list[str]:
    targets = sorted({name.rsplit(".", 1)[-1] for name in lora.target_modules})
    settings = [
        ("rank", lora.rank),
        ("alpha", lora.alpha),
        ("dropout", lora.dropout),
        ("scaling", lora.scaling),
        ("target_modules", f"{', '.join(targets)} ({len(lora.target_modules)} modules)"),
        ("modules_to_save", ", ".join(lora.modules_to_save) or "none"),
        ("word embeddings", "frozen" if lora.freeze_embeddings else "trained"),
    ]
    return ["## LoRA settings", "", *_table(("setting", "value"), settings), ""]


def _provenance_lines(info: dict) -> list[str]:
    """The training command (an indented code block: nothing in it renders) and the key versions."""
    lines = ["    " + escaped(info["command"]), ""] if isinstance(info.get("command"), str) else []
    packages = _mapping(info.get("packages"))
    versions = ", ".join(f"{_text(k)} {_text(v)}" for k, v in packages.items() if v and k in KEY_PACKAGES)
    commit = _mapping(info.get("git")).get("commit")
    return lines + [f"With {versions or 'unrecorded versions'}{f'; git commit `{_text(commit)}`' if commit else ''}."]


def _body(run: dict, info: dict, metrics: dict[str, float], model_name: str, what: str, loading: list[str]) -> str:
    dataset, dataset_id = _dataset(run)
    method = f"LoRA (rank {run['lora'].rank}) on" if run["lora"] else "fine-tuning of"
    shown = [(name, f"{metrics[key]:.4f}") for key, (_, name) in TEST_METRICS.items() if key in metrics]
    lines = [
        f"# {_text(model_name)}",
        "",
        f"A text classifier made with loralab: {method} `{_text(backbone_name(run))}`, "
        f"trained on {_text(dataset)}{f' (`{_text(dataset_id)}`)' if dataset_id else ''}. {what}",
        "",
        "## Labels",
        "",
        *_table(("id", "label"), list(enumerate(run["label_names"]))),
        "",
        "## Data",
        "",
        *_data_lines(info),
        "",
        *(_lora_lines(run["lora"]) if run["lora"] else []),
        "## Test metrics",
        "",
        *(_table(("metric", "value"), shown) if shown else ["The run was not tested."]),
        "",
        "## How it was made",
        "",
        *_provenance_lines(info),
        "",
        "## How to load it",
        "",
        *loading,
    ]
    return "\n".join(lines) + "\n"


def build_card(run_dir: str | Path, run: dict, what: str, loading: list[str], library_name: str | None, metrics=None):
    """The ``ModelCard`` of the run in ``run_dir`` (``run`` is its ``run_config.json``); ``metrics``
    default to its ``metrics.json``."""
    from huggingface_hub import ModelCard

    run_dir = Path(run_dir)
    info = _optional_json(run_dir / RUN_INFO_FILE)
    numbers = _numbers(metrics if metrics is not None else _optional_json(run_dir / METRICS_FILE))
    dataset, _ = _dataset(run)
    model_name = f"{backbone_name(run).rsplit('/', 1)[-1]}-{'lora-' if run['lora'] else ''}{dataset}"
    data = _card_data(run, numbers, model_name, library_name)
    body = _body(run, info, numbers, model_name, what, loading)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def write_adapter_card(run_dir: str | Path, metrics: dict) -> Path | None:
    """``<run>/adapter/README.md`` of a PEFT run, in place of PEFT's empty template; None for other runs."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_CONFIG_FILE).is_file():  # a model that plain values cannot describe: no adapter to share
        return None
    run = read_run_config(run_dir)
    if run["lora"] is None or run["family"] != "hf_classifier":
        return None
    what = (
        "This folder is the LoRA adapter in PEFT's format (`adapter_config.json`, `adapter_model.safetensors`): "
        "the trained LoRA factors and the new classification head, to be loaded on the backbone."
    )
    card = build_card(run_dir, run, what, adapter_loading(run), "peft", metrics)
    return atomic_write_text(run_dir / run["adapter"] / CARD_FILE, card.content)


def export_card(run_dir: str | Path, run: dict):
    """The card of ``export.py``'s folder: a merged transformer, or a merged TextClassifier in plain tensors."""
    folded = "with the adapter folded into its weights" if run["lora"] else "fine-tuned in full"
    if run["family"] == "hf_classifier":
        what = f"This folder is the whole model, {folded}: `from_pretrained` loads it."
        return build_card(run_dir, run, what, merged_loading(run), "transformers")
    what = f"This folder is the whole network, {folded}: `model.safetensors` and its vocabulary `vocab.json`."
    return build_card(run_dir, run, what, text_classifier_loading(run), None)
