"""LRU cache of the engine's PreparedImage, keyed by a hash of the pixels.

The second stroke on the same image skips `prepare` (working copy, smoothness weights) and the
model prior computed inside the PreparedImage on first use. Bounded by count and by bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np


def pixel_key(image: np.ndarray) -> str:
    """Hash of shape and pixels: equal images share an entry, any changed pixel does not."""
    digest = hashlib.sha256(repr(image.shape).encode())  # SHA-NI: ~2x faster than blake2b
    digest.update(memoryview(np.ascontiguousarray(image)).cast("B"))
    return digest.hexdigest()


def approximate_nbytes(value: object) -> int:
    """Bytes of the numpy arrays a (nested) dataclass holds; other fields count as nothing."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(approximate_nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


class PreparedImageCache:
    def __init__(self, max_items: int = 4, max_bytes: int = 1 << 30) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_prepare(self, image: np.ndarray, prepare: Callable[[np.ndarray], object]) -> object:
        key = pixel_key(image)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key][0]
            self.misses += 1
        prepared = prepare(image)  # outside the lock: other images need not wait
        self._store(key, prepared)
        return prepared

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "items": len(self._entries),
                    "bytes": self._total_bytes()}

    def _store(self, key: str, prepared: object) -> None:
        size = approximate_nbytes(prepared)
        with self._lock:
            self._entries[key] = (prepared, size)
            self._entries.move_to_end(key)
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_items or self._total_bytes() > self.max_bytes
            ):
                self._entries.popitem(last=False)

    def _total_bytes(self) -> int:
        return sum(size for _, size in self._entries.values())
