"""A thread title as a model wrote it, made fit for a list: one line, no quotes, at most 80 characters."""


def clean_title(text: str | None) -> str | None:
    line = next((ln for ln in (text or "").strip().splitlines() if ln.strip()), "")
    line = line.strip().strip("\"'`“”‘’").replace(":", " -").strip()
    line = " ".join(line.split())
    if len(line) > 80:
        line = line[:79].rstrip() + "…"
    return line or None
