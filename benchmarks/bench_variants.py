"""What each LoRA variant and initialisation costs per training step on the transfer recipe's
TextClassifier, beside plain LoRA in the same invocation: the fc1 recipe (``imdb_lora_lab_batch``:
fc1 only, batch 64) and the embedding recipe (``imdb_lora_embedding``: embedding + fc1, batch 32).
Steps are timed round-robin over the variants, so a busy machine slows them all alike.
``python benchmarks/bench_variants.py [--vocab 50000] [--rounds 5] [--json out.json]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, print_table, write_json

from loralab.lora import apply_lora
from loralab.models.text_classifier import TextClassifier
from loralab.settings import LoraSettings

LENGTH = 230  # about an IMDb review's median length in words
RECIPES = {  # name -> (targets, batch)
    "fc1": (["fc1"], 64),
    "embedding + fc1": (["fc1", "embedding"], 32),
}
VARIANTS = [(variant, init) for variant in ("lora", "dora") for init in ("default", "gaussian", "pissa", "olora")]


def training_step(vocab: int, targets: list[str], batch: int, variant: str, init: str, rank: int):
    """One optimizer step of the recipe's adapter, as a closure over its model and a fixed batch."""
    torch.manual_seed(0)
    net = TextClassifier(vocab, 2, embed_dim=100, hidden_dim=128)
    settings = LoraSettings(target_modules=targets, rank=rank, variant=variant, init=init, modules_to_save=["fc2"])
    net = apply_lora(net, settings)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    ids = torch.randint(1, vocab, (batch, LENGTH))
    labels = torch.randint(0, 2, (batch,))
    mask = torch.ones_like(ids)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(net(ids, mask), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--vocab", type=int, default=50_000, help="embedding rows (the IMDb-vocabulary base has 50,000)"
    )
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant per round")
    parser.add_argument("--rounds", type=int, default=5, help="round-robin passes over the variants")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    rows = []
    for recipe, (targets, batch) in RECIPES.items():
        steps = {v: training_step(args.vocab, targets, batch, *v, args.rank) for v in VARIANTS}
        for step in steps.values():  # warm-up
            step()
        times: dict[tuple[str, str], list[float]] = {v: [] for v in VARIANTS}
        for _ in range(args.rounds):
            for variant, step in steps.items():
                started = time.perf_counter()
                for _ in range(args.steps):
                    step()
                times[variant].append((time.perf_counter() - started) / args.steps * 1000)
        baseline = statistics.median(times[("lora", "default")])
        for (variant, init), values in times.items():
            ms = statistics.median(values)
            rows.append({"recipe": recipe, "variant": variant, "init": init, "ms/step": ms, "x LoRA": ms / baseline})
    print(
        f"\nTextClassifier (vocab {args.vocab:,}, dim 100, hidden 128), rank {args.rank}, {LENGTH} tokens per review:"
    )
    print_table(rows, ["recipe", "variant", "init", "ms/step", "x LoRA"])
    write_json(args.json, {"machine": machine(), "rank": args.rank, "vocab": args.vocab, "rows": rows})


if __name__ == "__main__":
    main()
