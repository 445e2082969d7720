"""The inits that read the base weight (``model.lora.init``: pissa, olora), computed as PEFT does.

Each takes the base weight ``W`` in PEFT's layout (out x in: an ``nn.Linear`` weight, or an
embedding table transposed) and returns PEFT's ``A`` (r x in), ``B`` (out x r) and the residual
``W - s B A`` that the base keeps, so that an untrained adapter still leaves the model unchanged.
The layers store the transposes of A and B (``lora/peft_format.py``).
"""

from __future__ import annotations

import torch


@torch.no_grad()
def pissa_factors(weight: torch.Tensor, rank: int, scaling: float):
    """PiSSA (Meng et al. 2024, https://arxiv.org/abs/2404.02948): ``s B A`` is the best rank-r part
    of ``W`` (its r largest singular values and vectors, split as ``sqrt(S)``); returns A, B, residual."""
    W = weight.float()
    V, S, Uh = torch.linalg.svd(W, full_matrices=False)
    Sr = S[:rank] / scaling
    A = torch.diag(torch.sqrt(Sr)) @ Uh[:rank]
    B = V[:, :rank] @ torch.diag(torch.sqrt(Sr))
    return A, B, (W - scaling * B @ A).to(weight.dtype)


@torch.no_grad()
def olora_factors(weight: torch.Tensor, rank: int, scaling: float):
    """OLoRA (Buyukakyuz 2024, https://arxiv.org/abs/2406.01775): ``W = Q R``, B the first r columns of
    Q (orthonormal), A the first r rows of R; returns A, B, residual ``W - s B A``."""
    W = weight.float()
    Q, R = torch.linalg.qr(W)
    A, B = R[:rank].contiguous(), Q[:, :rank].contiguous()
    return A, B, (W - scaling * B @ A).to(weight.dtype)
