"""Markdown for a model's reply that loses no character the model sent.

rich's Markdown drops HTML: a `<div class="card">Hello</div>` block vanished
from the screen and `<b>` was stripped, though the stored text was right. Here
inline HTML stays as text and an HTML block is shown verbatim, like code.
"""

from typing import Any


def faithful_markdown(text: str) -> Any:
    from rich.markdown import Markdown

    rendered = Markdown(text)
    _html_as_text(rendered.parsed)
    return rendered


def _html_as_text(tokens) -> None:
    for token in tokens:
        if token.type == "html_inline":
            token.type = "text"
        elif token.type == "html_block":
            token.type = "code_block"  # every character, as written
        if token.children:
            _html_as_text(token.children)
