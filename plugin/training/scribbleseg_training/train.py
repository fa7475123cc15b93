"""The training loop on cached features, with simulated users and RITM-style iterations.

Each step draws a batch of cases, gives each the first strokes of a simulated user (robot or
person), lets the model itself predict for 0-3 rounds and adds one corrective stroke per round
on its own errors (its binarised prediction fed back as the current mask, as the engine feeds
the previous result), then learns from the last round.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from scribbleseg.engine.scribble_model import stroke_channels
from scribbleseg_training.cache import FeatureCache
from scribbleseg_training.decoder import Decoder
from scribbleseg_training.strokes import corrective_stroke, first_strokes

ROUND_CHANCES = (0.4, 0.3, 0.2, 0.1)  # of 0, 1, 2, 3 corrective rounds before the learnt one


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 10000
    batch: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    log_every: int = 25


@dataclass
class History:
    """Mean training loss per logged window, and the validation numbers at the end."""

    losses: list[tuple[int, float]] = field(default_factory=list)
    validation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Users:
    """The simulated users' strokes and the current mask of every case in a batch."""

    positive: list[np.ndarray]
    negative: list[np.ndarray]
    masks: list[np.ndarray | None]

    def channels(self) -> torch.Tensor:
        return torch.from_numpy(np.stack([
            stroke_channels(p, n, m)
            for p, n, m in zip(self.positive, self.negative, self.masks, strict=True)
        ]))


def batch_features(cache: FeatureCache, indices: np.ndarray) -> list[torch.Tensor]:
    order = np.sort(indices)  # memory-mapped reads in file order
    return [torch.from_numpy(np.asarray(f[order], np.float32)) for f in cache.features]


def start_users(targets: np.ndarray, rng: np.random.Generator) -> Users:
    strokes = [first_strokes(target, rng) for target in targets]
    return Users([s[0] for s in strokes], [s[1] for s in strokes], [None] * len(targets))


def correct(users: Users, targets: np.ndarray, logits: torch.Tensor, rng) -> None:
    """One corrective stroke per case on the model's errors; its result becomes the mask."""
    results = (logits[:, 0] > 0).numpy()
    for index, (target, result) in enumerate(zip(targets, results, strict=True)):
        users.masks[index] = result.astype(np.float32)
        stroke = corrective_stroke(target, result, rng)
        if stroke is None:
            continue
        pixels, positive = stroke
        if positive:
            users.positive[index] = users.positive[index] | pixels
            users.negative[index] = users.negative[index] & ~pixels
        else:
            users.negative[index] = users.negative[index] | pixels
            users.positive[index] = users.positive[index] & ~pixels


def loss_function(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on the cover fractions plus a soft-IoU term per case (so small
    objects count as much as large ones)."""
    cross_entropy = functional.binary_cross_entropy_with_logits(logits, targets)
    probability = torch.sigmoid(logits)
    overlap = (probability * targets).sum((1, 2, 3))
    union = (probability + targets - probability * targets).sum((1, 2, 3))
    return cross_entropy + (1.0 - (overlap + 1.0) / (union + 1.0)).mean()


def train(
    cache: FeatureCache, settings: TrainSettings, report: Callable[[str], None] = print
) -> tuple[Decoder, History]:
    """A decoder trained on the cache's training cases, and what happened."""
    torch.manual_seed(settings.seed)
    decoder = Decoder()
    optimiser = torch.optim.AdamW(
        decoder.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / settings.steps))
    )
    history = History()
    started, window = time.perf_counter(), []
    for step in range(settings.steps):
        rng = np.random.default_rng([settings.seed, step])
        indices = np.sort(rng.choice(cache.training, settings.batch, replace=False))
        loss = train_step(decoder, optimiser, cache, indices, rng)
        schedule.step()
        window.append(loss)
        if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
            history.losses.append((step + 1, float(np.mean(window))))
            report(f"step {step + 1} loss {np.mean(window):.4f} "
                   f"{time.perf_counter() - started:.0f} s")
            window = []
    history.seconds = time.perf_counter() - started
    validation = np.arange(cache.training, len(cache))
    history.validation = evaluate(decoder, cache, validation, settings.seed)
    return decoder, history


def train_step(decoder, optimiser, cache: FeatureCache, indices: np.ndarray, rng) -> float:
    features = batch_features(cache, indices)
    targets = np.asarray(cache.targets[indices], np.float32)
    users = start_users(targets, rng)
    decoder.eval()
    with torch.no_grad():
        for _ in range(int(rng.choice(len(ROUND_CHANCES), p=ROUND_CHANCES))):
            correct(users, targets, decoder(*features, users.channels()), rng)
    decoder.train()
    logits = decoder(*features, users.channels())
    loss = loss_function(logits, torch.from_numpy(targets)[:, None])
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return float(loss.detach())


def evaluate(
    decoder: Decoder, cache: FeatureCache, indices: np.ndarray, seed: int, rounds: int = 3
) -> dict[str, float]:
    """Grid IoU after the first strokes and after each corrective round, mean over cases."""
    decoder.eval()
    rng = np.random.default_rng([seed, 2**31])  # apart from every training step
    features = batch_features(cache, indices)
    targets = np.asarray(cache.targets[indices], np.float32)
    users = start_users(targets, rng)
    scores = {}
    with torch.no_grad():
        for interaction in range(1, rounds + 2):
            logits = decoder(*features, users.channels())
            scores[f"grid_miou@{interaction}"] = grid_miou(logits, targets)
            correct(users, targets, logits, rng)
    return scores


def grid_miou(logits: torch.Tensor, targets: np.ndarray) -> float:
    result = (logits[:, 0] > 0).numpy()
    truth = targets >= 0.5
    union = (result | truth).sum((1, 2))
    overlap = (result & truth).sum((1, 2))
    return float(np.mean(overlap / np.maximum(union, 1)))
