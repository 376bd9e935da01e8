#!/usr/bin/python3
"""PyTorch peer of gpa-repro's MAE pre-training step, for CPU speed comparisons.

A small, self-contained implementation of one MAE pre-training step (He et al., "Masked Autoencoders Are
Scalable Vision Learners"): ViT encoder on the visible patches, lightweight decoder, norm-pix MSE on the
masked patches, AdamW update. Inputs are random tensors created once; the data pipeline is not timed.

Modes (each prints exactly one JSON line on stdout):
  default   time `--warmup` + `--steps` training steps, report the median step time; `--impl stock` builds
            the blocks from PyTorch's own nn.TransformerEncoderLayer instead of this file's (a second
            implementation: bench/peer.ts times both and compares ours with the faster)
  --check   verify the masking invariants and that the loss falls over 20 steps on a fixed batch
  --probe   report torch version, the BLAS library in use and a 1024x1024 sgemm rate
  --gemm S  time a @ b for the JSON list S of [m, k, n] or [m, k, n, batch] shapes (the GEMMs another
            engine's step runs; batched ones as [batch, m, k] @ [batch, k, n])

Run with OPENBLAS_NUM_THREADS=1 (bench/peer.ts sets it): torch's own threads (--threads) parallelise the
element-wise and reduction kernels, and BLAS calls stay single-threaded so the two pools do not
oversubscribe the cores.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import sysconfig
import time

import torch
from torch import Tensor, nn

LAYER_NORM_EPS = 1e-6  # MAE's norm layers use eps 1e-6
NORM_PIX_EPS = 1e-6  # added to the per-patch variance of the norm-pix target


# --------------------------------------------------------------------------------------------------------
# Fixed 2-D sin-cos positional embedding


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """Sin-cos code of 1-D positions: [N] -> [N, dim], sines in the first half, cosines in the second."""
    assert dim % 2 == 0, "sin-cos embedding needs an even width"
    half = dim // 2
    inv_freq = 1.0 / (10000.0 ** (torch.arange(half, dtype=torch.float64) / half))  # [half]
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # [N, half]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def sincos_2d(dim: int, grid: int, with_cls: bool) -> Tensor:
    """MAE's 2-D embedding for a grid x grid patch raster (row-major): [1, (1 +) grid², dim].

    The first half of the channels encodes the column (x) index and the second half the row (y) index, as
    in MAE. The CLS slot, when present, is all zeros.
    """
    assert dim % 4 == 0, "2-D sin-cos embedding needs a width divisible by 4"
    rows = torch.arange(grid).repeat_interleave(grid)  # [L]  0,0,..,1,1,..
    cols = torch.arange(grid).repeat(grid)  # [L]  0,1,..,0,1,..
    table = torch.cat([sincos_1d(dim // 2, cols), sincos_1d(dim // 2, rows)], dim=1)  # [L, dim]
    if with_cls:
        table = torch.cat([torch.zeros(1, dim, dtype=table.dtype), table], dim=0)
    return table.float().unsqueeze(0)


# --------------------------------------------------------------------------------------------------------
# Transformer block


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused, biased qkv projection."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0, "width must divide into heads"
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads)  # [B, N, 3, H, Dh]
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, H, N, Dh]
        weights = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)  # [B, H, N, N]
        mixed = (weights @ v).transpose(1, 2).reshape(batch, tokens, dim)  # [B, N, D]
        return self.proj(mixed)


class Block(nn.Module):
    """Pre-norm ViT block: x + attn(norm(x)), then x + mlp(norm(x)); MLP ratio 4 with GELU."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


# --------------------------------------------------------------------------------------------------------
# Masking helpers (kept as free functions so --check can test exactly what the model runs)


def random_masking(tokens: Tensor, mask_ratio: float, generator: torch.Generator | None = None):
    """Keep a random subset of tokens per sample: the smallest-noise ones after an argsort of uniform noise.

    tokens: [B, L, D]. Returns (kept [B, K, D], mask [B, L] with 1 = masked in original order,
    restore [B, L] = inverse permutation that undoes the shuffle).
    """
    batch, length, dim = tokens.shape
    keep = int(length * (1 - mask_ratio))
    noise = torch.rand(batch, length, generator=generator)  # [B, L]
    shuffle = torch.argsort(noise, dim=1)  # [B, L]  ascending noise: the first `keep` are kept
    restore = torch.argsort(shuffle, dim=1)  # [B, L]
    kept_ids = shuffle[:, :keep]  # [B, K]
    kept = torch.gather(tokens, 1, kept_ids.unsqueeze(-1).expand(-1, -1, dim))  # [B, K, D]
    mask = torch.ones(batch, length)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, restore)  # back to the original patch order
    return kept, mask, restore


def unshuffle_with_mask_tokens(visible: Tensor, mask_token: Tensor, restore: Tensor) -> Tensor:
    """Append mask tokens after the visible tokens and put every token back at its original position.

    visible: [B, K, D] (no CLS), mask_token: [1, 1, D], restore: [B, L]. Returns [B, L, D].
    """
    batch, kept, dim = visible.shape
    length = restore.shape[1]
    fillers = mask_token.expand(batch, length - kept, dim)  # [B, L-K, D]
    shuffled = torch.cat([visible, fillers], dim=1)  # [B, L, D] in shuffled order
    return torch.gather(shuffled, 1, restore.unsqueeze(-1).expand(-1, -1, dim))


def patchify(images: Tensor, patch: int) -> Tensor:
    """[B, C, H, W] -> [B, L, p*p*C] with row-major patches and channel-last pixels (MAE's order)."""
    batch, channels, height, width = images.shape
    rows, cols = height // patch, width // patch
    x = images.reshape(batch, channels, rows, patch, cols, patch)
    x = x.permute(0, 2, 4, 3, 5, 1)  # [B, rows, cols, p, p, C]
    return x.reshape(batch, rows * cols, patch * patch * channels)


def norm_pix_loss(pred: Tensor, images: Tensor, mask: Tensor, patch: int) -> Tensor:
    """MSE against per-patch normalised pixels, averaged over the masked patches only."""
    target = patchify(images, patch)  # [B, L, p*p*C]
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)  # unbiased, as in MAE
    target = (target - mean) / (var + NORM_PIX_EPS) ** 0.5
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # [B, L]
    return (per_patch * mask).sum() / mask.sum()


# --------------------------------------------------------------------------------------------------------
# Model


def stock_block(dim: int, heads: int) -> nn.Module:
    """The same pre-norm block from PyTorch's own modules (the second implementation, `--impl stock`):
    `nn.TransformerEncoderLayer` with `nn.MultiheadAttention` inside, GELU MLP of ratio 4, no dropout."""
    return nn.TransformerEncoderLayer(
        dim,
        heads,
        dim_feedforward=4 * dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=LAYER_NORM_EPS,
        batch_first=True,
        norm_first=True,
    )


def make_block(dim: int, heads: int, impl: str) -> nn.Module:
    """A transformer block of the chosen implementation: this file's (`blocks`) or PyTorch's (`stock`)."""
    return stock_block(dim, heads) if impl == "stock" else Block(dim, heads)


class MaskedAutoencoder(nn.Module):
    """MAE with a ViT encoder and a lightweight ViT decoder."""

    def __init__(self, cfg: argparse.Namespace):
        super().__init__()
        assert cfg.image % cfg.patch == 0, "image size must be a multiple of the patch size"
        self.patch = cfg.patch
        self.mask_ratio = cfg.mask
        grid = cfg.image // cfg.patch

        # encoder
        self.patch_embed = nn.Conv2d(3, cfg.dim, kernel_size=cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.register_buffer("pos_embed", sincos_2d(cfg.dim, grid, with_cls=True))  # fixed, not trained
        impl = getattr(cfg, "impl", "blocks")
        self.blocks = nn.ModuleList(make_block(cfg.dim, cfg.heads, impl) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=LAYER_NORM_EPS)

        # decoder
        self.decoder_embed = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_dim))
        self.register_buffer("decoder_pos_embed", sincos_2d(cfg.decoder_dim, grid, with_cls=True))
        self.decoder_blocks = nn.ModuleList(
            make_block(cfg.decoder_dim, cfg.decoder_heads, impl) for _ in range(cfg.decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(cfg.decoder_dim, eps=LAYER_NORM_EPS)
        self.decoder_pred = nn.Linear(cfg.decoder_dim, cfg.patch * cfg.patch * 3)

        self._init_weights()

    def _init_weights(self) -> None:
        # MAE's init: xavier-uniform linears (patch embed treated as a linear), N(0, 0.02) tokens
        conv_weight = self.patch_embed.weight.data
        nn.init.xavier_uniform_(conv_weight.view(conv_weight.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def encode(self, images: Tensor, generator: torch.Generator | None = None):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)  # [B, L, D]
        x = x + self.pos_embed[:, 1:, :]
        x, mask, restore = random_masking(x, self.mask_ratio, generator)  # [B, K, D]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)  # [B, 1+K, D]
        for block in self.blocks:
            x = block(x)
        return self.norm(x), mask, restore

    def decode(self, latent: Tensor, restore: Tensor) -> Tensor:
        x = self.decoder_embed(latent)  # [B, 1+K, Dd]
        patches = unshuffle_with_mask_tokens(x[:, 1:, :], self.mask_token, restore)  # [B, L, Dd]
        x = torch.cat([x[:, :1, :], patches], dim=1) + self.decoder_pos_embed  # [B, 1+L, Dd]
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_pred(self.decoder_norm(x))  # [B, 1+L, p*p*3]
        return x[:, 1:, :]

    def forward(self, images: Tensor, generator: torch.Generator | None = None):
        latent, mask, restore = self.encode(images, generator)
        pred = self.decode(latent, restore)
        return norm_pix_loss(pred, images, mask, self.patch), pred, mask


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with MAE's betas; biases, norm scales and tokens (params of rank <= 1 or tokens) skip decay."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith("_token"):
            no_decay.append(param)
        else:
            decay.append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def train_step(model: MaskedAutoencoder, optimizer: torch.optim.Optimizer, images: Tensor, generator=None):
    """One full pre-training step: forward, backward, AdamW update. Returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    loss, _, _ = model(images, generator)
    loss.backward()
    optimizer.step()
    return loss.detach()


# --------------------------------------------------------------------------------------------------------
# BLAS detection


def blas_info() -> dict:
    """What torch reports about BLAS plus the BLAS library actually mapped into this process."""
    build = torch.__config__.show()
    build_info = {}
    for key in ("BLAS_INFO", "LAPACK_INFO"):
        marker = key + "="
        if marker in build:
            build_info[key] = build.split(marker, 1)[1].split(",", 1)[0].strip()
    # run a product so a lazily loaded BLAS is mapped, then look at the process's mappings
    torch.ones(64, 64) @ torch.ones(64, 64)
    libraries = []
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path).lower()
            if ("blas" in name or "mkl" in name or "lapack" in name) and path not in libraries:
                libraries.append(path)
    info = {
        "buildInfo": build_info.get("BLAS_INFO", "unknown"),
        "lapackBuildInfo": build_info.get("LAPACK_INFO", "unknown"),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "libraries": libraries,
        "openblas": any("openblas" in os.path.basename(p).lower() for p in libraries),
        "envOpenblasThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    openblas_path = next((p for p in libraries if "openblas" in os.path.basename(p).lower()), None)
    if openblas_path:
        try:
            lib = ctypes.CDLL(openblas_path)  # already loaded: this only returns a handle
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["openblasConfig"] = lib.openblas_get_config().decode()
            info["openblasThreads"] = lib.openblas_get_num_threads()
        except (OSError, AttributeError) as err:
            info["openblasError"] = str(err)
    return info


def matmul_median_ms(m: int, k: int, n: int, repeats: int, batch: int = 1) -> float:
    """Median milliseconds of `a @ b` for float32 [m, k] x [k, n] ([batch, ...] when batch > 1; two untimed
    products first)."""
    lead = (batch,) if batch > 1 else ()
    a, b = torch.randn(*lead, m, k), torch.randn(*lead, k, n)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def sgemm_gflops(size: int = 1024, repeats: int = 10) -> float:
    """Median GFLOP/s of a size x size float32 matrix product."""
    return 2 * size**3 / matmul_median_ms(size, size, size, repeats) / 1e6


def gemm_times(shapes: list, repeats: int = 7) -> dict:
    """Median milliseconds of `a @ b` for each [m, k, n(, batch)] shape (float32, contiguous, like a Linear
    layer; batched like attention's products)."""
    rows = []
    for shape in shapes:
        m, k, n = shape[:3]
        batch = shape[3] if len(shape) > 3 else 1
        ms = matmul_median_ms(m, k, n, repeats, batch)
        flops = 2 * m * k * n * batch
        rows.append({"m": m, "k": k, "n": n, "batch": batch, "ms": round(ms, 4), "gflopPerSec": round(flops / ms / 1e6, 2)})
    return {"gemm": rows, "threads": torch.get_num_threads(), "blas": blas_info()}


# --------------------------------------------------------------------------------------------------------
# Modes


def run_bench(cfg: argparse.Namespace) -> dict:
    """Time `cfg.steps` training steps after `cfg.warmup` untimed ones; report the median."""
    torch.manual_seed(cfg.seed)
    model = MaskedAutoencoder(cfg)
    optimizer = make_optimizer(model, lr=cfg.lr, weight_decay=cfg.weight_decay)
    images = torch.randn(cfg.batch, 3, cfg.image, cfg.image)  # created once: data loading is not timed
    model.train()
    for _ in range(cfg.warmup):
        train_step(model, optimizer, images)
    step_ms = []
    loss = float("nan")
    for _ in range(cfg.steps):
        start = time.perf_counter()
        loss = train_step(model, optimizer, images).item()
        step_ms.append((time.perf_counter() - start) * 1000)
    ms_per_step = statistics.median(step_ms)
    return {
        "step": "mae-pretrain",
        "impl": "pytorch",
        "blocks": cfg.impl,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": cfg.batch,
        "msPerStep": round(ms_per_step, 3),
        "imgPerSec": round(cfg.batch / (ms_per_step / 1000), 2),
        "stepMs": [round(t, 3) for t in step_ms],
        "warmup": cfg.warmup,
        "steps": cfg.steps,
        "lastLoss": loss,
        "params": sum(p.numel() for p in model.parameters()),
        "config": config_dict(cfg),
        "blas": blas_info(),
    }


def run_check(cfg: argparse.Namespace) -> dict:
    """Hand-made cases for masking, patchify, sin-cos and the loss, then `cfg.check_steps` steps on one
    fixed batch, over which the loss must fall."""
    generator = torch.Generator().manual_seed(cfg.seed)
    failures: list[str] = []

    # masking: tokens carry their own index, so every gather can be checked exactly
    batch, grid = 4, cfg.image // cfg.patch
    length = grid * grid
    keep = int(length * (1 - cfg.mask))
    tokens = torch.arange(length, dtype=torch.float32).repeat(batch, 1).unsqueeze(-1)  # [B, L, 1]
    kept, mask, restore = random_masking(tokens, cfg.mask, generator)
    if kept.shape != (batch, keep, 1):
        failures.append(f"kept shape {tuple(kept.shape)} != {(batch, keep, 1)}")
    if not torch.all(mask.sum(dim=1) == length - keep):
        failures.append("masked count per sample is not L - keep")
    if not set(mask.unique().tolist()) <= {0.0, 1.0}:
        failures.append("mask is not binary")
    kept_ids = kept.squeeze(-1).long()  # [B, K]: original indices of the kept tokens
    if not torch.all(torch.gather(mask, 1, kept_ids) == 0):
        failures.append("a kept token is marked as masked")
    if not all(len(set(row.tolist())) == keep for row in kept_ids):
        failures.append("a token was kept twice")
    restored = unshuffle_with_mask_tokens(kept, torch.full((1, 1, 1), -1.0), restore).squeeze(-1)  # [B, L]
    expected = torch.where(mask == 0, torch.arange(length, dtype=torch.float32).expand(batch, -1), -1.0)
    if not torch.equal(restored, expected):
        failures.append("unshuffle does not put visible tokens back in place / mask tokens on masked slots")
    if torch.equal(mask[0], mask[1]) and torch.equal(mask[1], mask[2]):
        failures.append("masks do not differ between samples")

    # patchify: hand-checked pixel order (row-major patches, channel-last within a patch)
    img = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    patches = patchify(img, 2)  # [2, 4, 12]
    # patch 1 of image 0 = rows 0..1, cols 2..3; first pixel (0, 2) in channels 0, 1, 2 = 2, 18, 34
    if patches[0, 1, :3].tolist() != [2.0, 18.0, 34.0] or patches[0, 1, 3].item() != 3.0:
        failures.append("patchify order differs from MAE's")

    # sin-cos table, width 8 on a 2x2 grid: frequencies 1 and 1/100; first half = column, second = row
    pos = sincos_2d(8, 2, with_cls=True)[0]  # [1 + 4, 8]
    col1 = [math.sin(1), math.sin(0.01), math.cos(1), math.cos(0.01), 0.0, 0.0, 1.0, 1.0]  # row 0, col 1
    if pos.shape != (5, 8) or pos[0].abs().sum() != 0 or not torch.allclose(pos[2], torch.tensor(col1)):
        failures.append("2-D sin-cos embedding differs from the hand-computed table")

    # norm-pix loss: only masked patches count, and a unit error on every pixel of them costs exactly 1
    img = torch.randn(1, 3, 4, 4, generator=generator)
    target = patchify(img, 2)
    target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + NORM_PIX_EPS) ** 0.5
    one_masked = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    wrong_visible = target.clone()
    wrong_visible[:, [0, 2, 3]] += 100.0  # errors on visible patches must not count
    if norm_pix_loss(wrong_visible, img, one_masked, 2).item() > 1e-6:
        failures.append("norm-pix loss counts visible patches")
    off_by_one = target.clone()
    off_by_one[:, 1] += 1.0
    if abs(norm_pix_loss(off_by_one, img, one_masked, 2).item() - 1.0) > 1e-5:
        failures.append("norm-pix loss of a unit error on the masked patch is not 1")

    # learning: one fixed batch, fresh random masks every step; the loss must fall, so gradients reach
    # the parameters and AdamW moves them the right way
    torch.manual_seed(cfg.seed)
    model = MaskedAutoencoder(cfg)
    optimizer = make_optimizer(model, lr=cfg.check_lr, weight_decay=cfg.weight_decay)
    images = torch.randn(cfg.batch, 3, cfg.image, cfg.image, generator=generator)
    losses = [train_step(model, optimizer, images, generator).item() for _ in range(cfg.check_steps)]
    if not all(math.isfinite(v) for v in losses):
        failures.append("non-finite loss")
    first, last = statistics.mean(losses[:5]), statistics.mean(losses[-5:])
    if not last < 0.9 * first:
        failures.append(f"loss did not fall by 10%: first-5 mean {first:.4f}, last-5 mean {last:.4f}")

    return {
        "check": "mae-pretrain",
        "impl": "pytorch",
        "torch": torch.__version__,
        "ok": not failures,
        "failures": failures,
        "numPatches": length,
        "numKept": keep,
        "losses": [round(v, 5) for v in losses],
        "lossFirst5": first,
        "lossLast5": last,
        "config": config_dict(cfg),
    }


def run_probe() -> dict:
    """Facts peer.ts needs to decide whether this torch is a fair peer (OpenBLAS, sgemm rate)."""
    return {
        "probe": "pytorch",
        "torch": torch.__version__,
        "python": sys.executable,
        "multiarch": sysconfig.get_config_var("MULTIARCH") or "",
        "threads": torch.get_num_threads(),
        "sgemm1024Gflops": round(sgemm_gflops(), 2),
        "blas": blas_info(),
    }


def config_dict(cfg: argparse.Namespace) -> dict:
    """The model configuration, with the camelCase keys that bench/peer.ts reads."""
    return {
        "imageSize": cfg.image,
        "patchSize": cfg.patch,
        "embedDim": cfg.dim,
        "depth": cfg.depth,
        "heads": cfg.heads,
        "decoderDim": cfg.decoder_dim,
        "decoderDepth": cfg.decoder_depth,
        "decoderHeads": cfg.decoder_heads,
        "maskRatio": cfg.mask,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image", type=int, default=32, help="square image side in pixels")
    parser.add_argument("--patch", type=int, default=4, help="square patch side in pixels")
    parser.add_argument("--dim", type=int, default=192, help="encoder width")
    parser.add_argument("--depth", type=int, default=6, help="encoder blocks")
    parser.add_argument("--heads", type=int, default=3, help="encoder attention heads")
    parser.add_argument("--decoder-dim", type=int, default=128)
    parser.add_argument("--decoder-depth", type=int, default=2)
    parser.add_argument("--decoder-heads", type=int, default=4)
    parser.add_argument("--mask", type=float, default=0.75, help="mask ratio")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--impl",
        choices=("blocks", "stock"),
        default="blocks",
        help="transformer blocks: this file's (blocks) or PyTorch's nn.TransformerEncoderLayer (stock)",
    )
    parser.add_argument("--lr", type=float, default=1.5e-4 * 128 / 256, help="AdamW learning rate (bench)")
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="run the self-check instead of timing")
    parser.add_argument("--check-steps", type=int, default=20)
    parser.add_argument("--check-lr", type=float, default=1e-3)
    parser.add_argument("--probe", action="store_true", help="report torch / BLAS facts and exit")
    parser.add_argument("--gemm", type=str, default=None, help="JSON list of [m, k, n] shapes to time")
    cfg = parser.parse_args(argv)
    for name in ("image", "patch", "dim", "depth", "heads", "decoder_dim", "decoder_depth", "decoder_heads"):
        if getattr(cfg, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if cfg.batch < 1 or cfg.steps < 1 or cfg.warmup < 0 or cfg.threads < 1:
        parser.error("--batch, --steps and --threads must be >= 1, --warmup >= 0")
    if not 0 < cfg.mask < 1:
        parser.error("--mask must lie strictly between 0 and 1")
    if cfg.check and cfg.check_steps < 10:
        parser.error("--check-steps must be >= 10 (first and last 5 steps are compared)")
    return cfg


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    torch.set_num_threads(cfg.threads)
    if cfg.gemm is not None:
        shapes = json.loads(cfg.gemm)
        if not isinstance(shapes, list) or not all(
            isinstance(s, list) and len(s) in (3, 4) and all(isinstance(v, int) and v >= 1 for v in s) for s in shapes
        ):
            print(json.dumps({"ok": False, "error": "--gemm wants a JSON list of [m, k, n(, batch)] positive integers"}))
            return 2
        result = gemm_times(shapes)
    elif cfg.probe:
        result = run_probe()
    elif cfg.check:
        result = run_check(cfg)
    else:
        result = run_bench(cfg)
    print(json.dumps(result), flush=True)
    return 0 if result.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
