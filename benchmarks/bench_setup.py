"""What every section of ``bench_gpu.py`` shares: the model folder, the reviews, the step counts,
loralab's composed config, and the overrides that switch speed levers on or off."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fit_only import compose_config, fit_only_overrides
from hf_baseline import tokenized_items
from omegaconf import DictConfig
from step_timing import CUDA, EncoderShape

DISTILBERT_QKV = "[q_lin,k_lin,v_lin]"
FUSED_ADAMW = "optim.optimizer.fused=true"  # the presets' default, named so a row says what it ran
FOREACH_ADAMW = "optim.optimizer.fused=false"  # rows recorded with foreach AdamW keep measuring that
BUCKETS = "data.pad_to_multiple_of=64"  # model=lora_distilbert's default, named so a row says what it ran
EXACT_LENGTHS = "data.pad_to_multiple_of=null"
CHECKPOINTING = "model.net.gradient_checkpointing=true"
# The optimizer the rows in docs/benchmarks were measured with (model=lora_distilbert's defaults then):
# the benchmark stays comparable whatever the defaults become; lr is the batch-16 one, scaled with the batch.
BENCH_OPTIMIZER = ("optim.optimizer.lr=4e-4", "optim.scheduler.warmup_ratio=0.06")
TRAINER = "gpu" if CUDA else "cpu"  # conf/trainer/gpu.yaml: bf16-mixed on one GPU
# conf/trainer/gpu_bf16_base.yaml: frozen weights in bf16, trained ones in fp32, no autocast; on a
# CPU the same plugin, so that the tiny run exercises it
BF16_BASE = ("trainer=gpu_bf16_base",) if CUDA else ("trainer=gpu_bf16_base", "trainer.accelerator=cpu")


def precision_label(bf16: bool, levers: tuple[str, ...] = ()) -> str:
    """The precision a row ran in, as the table names it."""
    if not bf16:
        return "fp32"
    if BF16_BASE[0] in levers:
        return "bf16 base, fp32 LoRA"
    return "bf16" if CUDA else "fp32 (bf16 on GPU)"


@dataclass
class Bench:
    """Everything the rows share: the model folder, the data, the step counts, the base config."""

    backbone: Path
    shape: EncoderShape
    data_dir: Path
    work_dir: Path
    texts: list[str]
    labels: list[int]
    warmup_steps: int
    timed_steps: int

    def lora_model_overrides(self) -> list[str]:
        return [
            "model=lora_distilbert",
            f"model.backbone={self.backbone}",
            f"model.lora.target_modules={DISTILBERT_QKV}",
            *BENCH_OPTIMIZER,
        ]

    def run_overrides(self, max_steps: int) -> list[str]:
        return [
            "data=imdb",
            f"paths.data_dir={self.data_dir}",
            "data.group_by_length=true",
            "trainer.max_epochs=-1",
            f"++trainer.max_steps={max_steps}",
        ] + fit_only_overrides(self.work_dir / "loralab", self.work_dir / "cache", TRAINER)

    def loralab_config(self, model_overrides: list[str], *overrides: str, max_steps: int | None = None) -> DictConfig:
        return compose_config(
            model_overrides + self.run_overrides(max_steps or self.warmup_steps + self.timed_steps) + list(overrides)
        )

    @cached_property
    def config(self) -> DictConfig:
        """The LoRA rows' config, whose LoRA and optimizer values the HF Trainer rows use too."""
        return self.loralab_config(self.lora_model_overrides())

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.backbone)

    @cached_property
    def hf_items(self) -> list[dict]:
        return tokenized_items(self.tokenizer, self.texts, self.labels)
