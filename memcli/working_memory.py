"""Working memory: a small profile the chat model keeps up to date (Mastra's design).

Markdown mode keeps a text document shaped by a template; schema mode keeps
a JSON object shaped by a JSON schema, where updates merge (null deletes a
key, arrays replace). The model updates it through one tool; an update that
would replace real data with the empty template is refused.
"""

import json
import re
from typing import Any

from memcli.errors import InputError

DEFAULT_TEMPLATE = """# User Information
- **First Name**:
- **Last Name**:
- **Location**:
- **Occupation**:
- **Interests**:
- **Goals**:
- **Events**:
- **Facts**:
- **Projects**:
"""

TOOL_NAME = "update_working_memory"

INSTRUCTIONS = """You have a working memory: a short profile of what matters about the user, kept
across conversations. Its current content is below. When the user tells you something
worth remembering (name, location, job, preferences, goals, plans, important facts),
call the {tool} tool with the complete updated memory, proactively, without being asked.
Keep what is still true; replace what changed. Never mention the working memory or the
tool to the user.
{shape}
<working_memory>
{content}
</working_memory>"""


_EMPTY_FIELD = re.compile(r"^[-*]\s*(\*\*)?[^:*]+(\*\*)?:\s*(\*\*)?\s*$")


def has_data(content: str | None) -> bool:
    """True when some line holds a value: not a heading, not an empty `- **Field**:`."""
    for line in (content or "").splitlines():
        text = line.strip()
        if text and not text.startswith("#") and not _EMPTY_FIELD.match(text):
            return True
    return False


def is_empty_template(content: str | None) -> bool:
    return not has_data(content)


def merge(current: dict, update: dict) -> dict:
    """Schema-mode merge: objects merge recursively, null deletes, arrays and scalars replace."""
    out = dict(current)
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def tool_definition(schema: dict | None) -> dict:
    if schema is None:
        memory = {"type": "string", "description": "The complete updated working memory, in Markdown."}
        description = "Replace the working memory with an updated version (the whole document)."
    else:
        memory = {**schema, "description": "Fields to change; null deletes a field, arrays replace."}
        description = "Update the working memory; given fields are merged into it."
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": description,
            "parameters": {"type": "object", "properties": {"memory": memory}, "required": ["memory"]},
        },
    }


def apply_update(current: str | None, arguments: dict, schema: dict | None) -> str:
    """The new stored text for a tool call's arguments; InputError refuses it."""
    if "memory" not in arguments:
        raise InputError("update_working_memory needs a 'memory' argument")
    value = arguments["memory"]
    if schema is None:
        if not isinstance(value, str):
            raise InputError("working memory must be a Markdown string")
        if is_empty_template(value) and not is_empty_template(current):
            raise InputError("refusing to replace the working memory with an empty template")
        return value.strip() + "\n"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError("working memory must be a JSON object in schema mode") from None
    if not isinstance(value, dict):
        raise InputError("working memory must be a JSON object in schema mode")
    base = as_object(current)
    merged = merge(base, value)
    if not merged and base:
        raise InputError("refusing to empty the working memory")
    return json.dumps(merged, ensure_ascii=False, indent=2)


def as_object(current: str | None) -> dict:
    """The stored text as a JSON object; text from Markdown mode (before a schema
    was set) counts as empty, and stays in the history."""
    if not current:
        return {}
    try:
        value = json.loads(current)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def replacement(content: str, schema: dict | None) -> str:
    """The stored text for a whole new working memory (`memory set`); InputError refuses it."""
    if not isinstance(content, str) or not content.strip():
        raise InputError("working memory text is empty (clear it instead)")
    if schema is None:
        return content.rstrip() + "\n"
    try:
        value = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InputError(f"working memory must be a JSON object in schema mode ({exc.msg})") from None
    if not isinstance(value, dict):
        raise InputError("working memory must be a JSON object in schema mode")
    return json.dumps(value, ensure_ascii=False, indent=2)


def instructions(content: str | None, schema: dict | None) -> str:
    if schema is None:
        shape = "Use this Markdown template:\n" + DEFAULT_TEMPLATE
        shown = content or DEFAULT_TEMPLATE
    else:
        shape = "It is a JSON object following this schema:\n" + json.dumps(schema)
        shown = content or "{}"
    return INSTRUCTIONS.format(tool=TOOL_NAME, shape=shape, content=shown.strip())


def load_schema(text: str) -> dict[str, Any]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"schema is not valid JSON ({exc.msg})") from None
    if not isinstance(schema, dict):
        raise InputError("schema must be a JSON object")
    if schema.get("type", "object") != "object":
        raise InputError('the working memory schema must describe an object ("type": "object")')
    return schema
