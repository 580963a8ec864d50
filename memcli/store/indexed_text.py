"""What a store's keyword index covers of a message, and how a writer is told.

SQLite's FTS5 indexes a message whole; PostgreSQL's tsvector cannot exceed 1 MB,
so it covers a message's first 100,000 characters (`keyword_indexed_chars` on
the store). The whole text is stored either way.
"""


def longer_than_indexed(messages, limit: int | None) -> int:
    """How many of these messages are longer than a keyword index covering `limit` characters."""
    return sum(len(m.content) > limit for m in messages) if limit is not None else 0


def partly_indexed(count: int, limit: int) -> str:
    """What a writer is told when `count` messages are longer than the keyword index covers."""
    return (
        f"{count:,} message{'s' if count != 1 else ''} longer than {limit:,} characters: keyword search "
        f"covers the first {limit:,} of each (the whole text is stored, and recall by meaning reads all of it)"
    )
