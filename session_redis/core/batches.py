"""The one way bulk work is cut into round trips."""

from typing import Dict, ItemsView, Iterable, Iterator, List, Sequence, Tuple, TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

BATCH = 500


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[List[T]]:
    """Lists of at most ``size`` items from any iterable, so that memory
    stays flat however many sessions or files there are."""
    batch: List[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def split_rows(items: Sequence[T], widths: Iterable[int]) -> List[Sequence[T]]:
    """``items`` cut into consecutive rows of the given widths: the
    answers of one pipeline, a row per thing asked about."""
    rows, start = [], 0
    for width in widths:
        rows.append(items[start : start + width])
        start += width
    return rows


def grouped(pairs: Iterable[Tuple[K, V]]) -> ItemsView[K, List[V]]:
    """``(key, [members])`` for ``(key, member)`` pairs, in first-seen order:
    one command per key (an SREM per index, say)."""
    groups: Dict[K, List[V]] = {}
    for key, member in pairs:
        groups.setdefault(key, []).append(member)
    return groups.items()
