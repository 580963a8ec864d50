"""Long id lists in SQL: SQLite caps bound parameters, so IN (...) goes in slices."""

from collections.abc import Iterator, Sequence

SLICE = 500


def in_slices(values: Sequence, size: int = SLICE) -> Iterator[tuple[list, str]]:
    """(slice of values, "?,?,..." placeholders for it)."""
    for start in range(0, len(values), size):
        part = list(values[start : start + size])
        yield part, ",".join("?" * len(part))
