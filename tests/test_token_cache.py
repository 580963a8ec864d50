"""#25: tiktoken's parsed ranks kept in memcli's cache count exactly as tiktoken itself does,
and a damaged cache file is read past, never trusted."""

from memcli import tokens

TEXTS = [
    "hello world",
    "São Paulo é ótimo 🎉",
    "def f(x):\n    return x ** 2\n",
    "<|endoftext|> is text here",
    "",
    "a" * 5000,
]


def _fresh(name="cl100k_base"):
    tokens.encoding.cache_clear()
    return tokens.encoding(name)


def test_the_cached_encoding_counts_as_tiktoken_does(home):
    first = _fresh()  # parses the BPE file, writes the cache
    cached_file = next((home / "cache" / "tiktoken").glob("cl100k_base-*.marshal"))
    second = _fresh()  # read from the cache
    assert cached_file.is_file()
    for text in TEXTS:
        assert second.encode_ordinary(text) == first.encode_ordinary(text)
    tokens.encoding.cache_clear()


def test_a_damaged_cache_file_is_read_past(home):
    _fresh()
    cached_file = next((home / "cache" / "tiktoken").glob("cl100k_base-*.marshal"))
    for damage in (b"", b"not marshal data", cached_file.read_bytes()[:1000]):
        cached_file.write_bytes(damage)
        assert _fresh().encode_ordinary("hello world") == [15339, 1917]
    tokens.encoding.cache_clear()
