"""One LoRA epoch of the transfer recipe over the IMDb train reviews on this machine's CPU, data
loading included: loralab (cached token ids, length-grouped batches, embedding_bag pooling,
Lightning) against a lab-style loop (Python tokenization in the collate, ``pad_sequence``, a plain
loop), alternating runs. ``python benchmarks/bench_cpu.py --data-dir $LORALAB_DATA_DIR [--json out.json]``

Both train the same network: a frozen embedding table (the loralab vocabulary, 100-d), LoRA rank 2
on ``fc1`` (100 -> 128), a new 2-class head, AdamW, batch 64. Weights do not change speed, so no
pretrained run is needed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_only import compose_config, fit_only_overrides
from report import machine, print_table, write_json

from loralab.lora import apply_lora
from loralab.settings import LoraSettings
from loralab.training.components import build_datamodule, build_module, build_trainer

# torchtext's basic_english, which the lab used: regex passes in Python for every review, every epoch.
BASIC_ENGLISH = [
    (re.compile(p), r)
    for p, r in [
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    ]
]


def basic_english(text: str) -> list[str]:
    text = text.lower()
    for pattern, replacement in BASIC_ENGLISH:
        text = pattern.sub(replacement, text)
    return text.split()


def loralab_config(data_dir: str, output_dir: str, extra_overrides: list[str]):
    """The transfer recipe's step 2 on random weights (speed does not depend on them); the cache
    starts cold, so the first run tokenizes."""
    overrides = [
        "data=imdb",
        "model=lora_textclassifier",
        "optim=adamw_warmup",
        f"paths.data_dir={data_dir}",
        "data.group_by_length=true",
        "trainer.max_epochs=1",
        *fit_only_overrides(output_dir, f"{output_dir}/cache", "cpu"),
        *extra_overrides,
    ]
    return compose_config(overrides)


def loralab_epoch(cfg) -> tuple[float, float]:
    """(seconds to get the data ready, seconds of one training epoch)."""
    started = time.perf_counter()
    datamodule = build_datamodule(cfg)
    ready = time.perf_counter() - started
    module = build_module(cfg, datamodule)
    trainer = build_trainer(cfg)
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    return ready, time.perf_counter() - started


class LabTextClassifier(nn.Module):
    """The lab's network: the mean over all positions, padding included."""

    def __init__(self, vocab_size: int, embed_dim: int = 100, hidden_dim: int = 128, num_classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(self.embedding(input_ids).mean(dim=1))))


def lab_style_epoch(texts: list[str], labels: list[int], vocab: dict[str, int]) -> float:
    """Seconds of one epoch of the lab's loop, tokenization in the collate function included."""

    def collate_batch(batch):
        ids = [
            torch.tensor([vocab.get(token, 1) for token in basic_english(text)], dtype=torch.int64) for text, _ in batch
        ]
        return pad_sequence(ids, batch_first=True, padding_value=0), torch.tensor([label for _, label in batch])

    torch.manual_seed(0)
    model = apply_lora(
        LabTextClassifier(len(vocab)),
        LoraSettings(target_modules=["fc1"], rank=2, alpha=1.0, modules_to_save=["fc2"], freeze_embeddings=True),
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    loader = DataLoader(list(zip(texts, labels)), batch_size=64, shuffle=True, collate_fn=collate_batch)
    criterion = nn.CrossEntropyLoss()
    started = time.perf_counter()
    model.train()
    for input_ids, target in loader:
        optimizer.zero_grad()
        loss = criterion(model(input_ids), target)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def plain_loop_epoch(cfg) -> float:
    """Seconds of one epoch of loralab's data, model and optimizer in a plain loop (no schedule):
    what Lightning costs."""
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    net = module.net
    optimizer = module.optimizer_factory([p for p in net.parameters() if p.requires_grad])
    criterion = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for batch in datamodule.train_dataloader():
        optimizer.zero_grad()
        criterion(net(batch["input_ids"], batch["attention_mask"]), batch["labels"]).backward()
        optimizer.step()
    return time.perf_counter() - started


# name -> overrides of the loralab runs; "batch 256" is the larger-batch lever (its accuracy is
# checked by a real run, see the README), not the same work as the lab's batch 64.
LORALAB_RUNS = {
    "loralab": [],
    "loralab, no length grouping": ["data.group_by_length=false"],
    "loralab, AdamW not fused": ["optim.optimizer.fused=false"],
    "loralab, batch 256 (lever)": ["data.batch_size=256"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="folder with imdb/train.parquet and imdb/test.parquet")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="alternating runs of each side (this machine drifts: medians of 3 moved by 10%%)",
    )
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    L.seed_everything(0, verbose=False)
    output_dir = tempfile.mkdtemp(prefix="bench_cpu_")
    configs = {name: loralab_config(args.data_dir, output_dir, overrides) for name, overrides in LORALAB_RUNS.items()}

    cold_ready, _ = loralab_epoch(configs["loralab"])  # warms the token cache, as any second run finds it
    vocab = build_datamodule(configs["loralab"]).tokenizer.vocab
    texts, labels = raw_train_split(configs["loralab"])
    plain_name = "loralab data + model, plain loop (no Lightning)"
    times: dict[str, list[float]] = {name: [] for name in [*configs, plain_name, "lab-style loop"]}
    ready_times = []
    for _ in range(args.repeats):
        for name, cfg in configs.items():
            ready, seconds = loralab_epoch(cfg)
            times[name].append(seconds)
            if name == "loralab":
                ready_times.append(ready)
        times[plain_name].append(plain_loop_epoch(configs["loralab"]))
        times["lab-style loop"].append(lab_style_epoch(texts, labels, vocab))
    baseline = statistics.median(times["lab-style loop"])
    rows = [
        {
            "run": name,
            "reviews": len(texts),
            "epoch s (median)": statistics.median(t),
            "runs": " ".join(f"{x:.2f}" for x in t),
            "reviews/s": len(texts) / statistics.median(t),
            "speed-up": baseline / statistics.median(t),
        }
        for name, t in times.items()
    ]
    print_table(rows, ["run", "reviews", "epoch s (median)", "runs", "reviews/s", "speed-up"])
    print(
        f"data ready: {statistics.median(ready_times):.2f} s with the token cache, {cold_ready:.2f} s on the first run"
    )
    result = {
        "machine": machine(),
        "rows": rows,
        "loralab_epoch_s": statistics.median(times["loralab"]),
        "baseline_epoch_s": baseline,
        "speedup": baseline / statistics.median(times["loralab"]),
        "data_ready_cached_s": statistics.median(ready_times),
        "data_ready_first_run_s": cold_ready,
    }
    write_json(args.json, result)


def raw_train_split(cfg) -> tuple[list[str], list[int]]:
    """The same training reviews, as text, for the lab-style loop (the DataModule keeps only ids)."""
    from loralab.data.sources import load_raw_data

    raw = load_raw_data("imdb", data_dir=cfg.paths.data_dir).train
    return raw.texts, raw.labels


if __name__ == "__main__":
    main()
