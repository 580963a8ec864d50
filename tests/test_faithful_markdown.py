"""#25: what the chat shows of a reply loses no character the model sent."""

from rich.console import Console

from memcli.cli.faithful_markdown import faithful_markdown

REPLY = """Here is the card:

<div class="card">Hello</div>

Some <b>bold</b> words, and code:

```python
print("<b>not markup</b>")
```
"""


def _shown(text: str) -> str:
    console = Console(record=True, width=100, color_system=None)
    console.print(faithful_markdown(text))
    return console.export_text()


def test_html_blocks_and_inline_tags_are_shown_as_sent():
    shown = _shown(REPLY)
    assert '<div class="card">Hello</div>' in shown
    assert "<b>bold</b>" in shown
    assert 'print("<b>not markup</b>")' in shown  # code keeps its exact text


def test_plain_rich_markdown_loses_them():
    """The defect this fixes, shown on rich's own renderer."""
    from rich.markdown import Markdown

    console = Console(record=True, width=100, color_system=None)
    console.print(Markdown(REPLY))
    shown = console.export_text()
    assert '<div class="card">' not in shown and "<b>bold</b>" not in shown
