"""Client-side checks mirroring the API's, so a typo fails at the line that made it (as in Jobmon)
instead of at bind time. The API checks everything again at commit."""

import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ILLEGAL_NAME = re.compile(r"[/\\'\" ]")
MAX_DEFAULT_NAME_LENGTH = 249
MAX_TASK_NAME_LENGTH = 255


def parse_command_template(source: str, what: str) -> Tuple[List[str], List[str]]:
    """Split a ``str.format``-style template into literal parts and placeholder names.

    Returns ``(parts, placeholders)`` where ``parts`` alternates literal, name, literal, ...
    Only plain named placeholders are accepted, as the API does.
    """
    parts: List[str] = []
    names: List[str] = []
    literal = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "{" and i + 1 < n and source[i + 1] == "{":
            literal.append("{")
            i += 2
        elif ch == "}" and i + 1 < n and source[i + 1] == "}":
            literal.append("}")
            i += 2
        elif ch == "}":
            raise ValueError(f"{what}: single '}}' at position {i}; write '}}}}' for a literal brace")
        elif ch == "{":
            close = source.find("}", i + 1)
            nxt = source.find("{", i + 1)
            if close < 0 or 0 <= nxt < close:
                raise ValueError(f"{what}: unclosed '{{' at position {i}; write '{{{{' for a literal brace")
            name = source[i + 1:close]
            if not _IDENTIFIER.match(name):
                if name == "":
                    raise ValueError(f"{what}: positional placeholder '{{}}' at position {i}: "
                                     "name it after a declared arg, e.g. '{location_id}'")
                raise ValueError(f"{what}: placeholder '{{{name}}}' at position {i} is not a plain "
                                 "arg name (conversions, format specs, attributes and indexes are "
                                 "not supported)")
            parts.append("".join(literal))
            parts.append(name)
            literal = []
            if name not in names:
                names.append(name)
            i = close + 1
        else:
            literal.append(ch)
            i += 1
    parts.append("".join(literal))
    return parts, names


def check_template_args(command_template: str, node_args: Sequence[str], task_args: Sequence[str],
                        op_args: Sequence[str], what: str) -> List[str]:
    """Check the command and the three arg lists together; returns the template's parts."""
    if not isinstance(command_template, str) or not command_template.strip():
        raise ValueError(f"{what}: command_template must be a non-empty string")
    parts, placeholders = parse_command_template(command_template, what)
    declared: Dict[str, str] = {}
    for kind, names in (("node_args", node_args), ("task_args", task_args), ("op_args", op_args)):
        if isinstance(names, str):
            raise TypeError(f"{what}: {kind} must be a list of arg names, not the string {names!r}")
        for name in names:
            if not isinstance(name, str) or not _IDENTIFIER.match(name):
                raise ValueError(f"{what}: arg name {name!r} in {kind} must be an identifier "
                                 "(letters, digits, _; not starting with a digit)")
            if name in declared:
                raise ValueError(f"{what}: arg {name!r} is declared twice ({declared[name]} and {kind})")
            declared[name] = kind
    for name in placeholders:
        if name not in declared:
            raise ValueError(f"{what}: placeholder {{{name}}} in the command is not declared in "
                             "node_args, task_args or op_args")
    for name, kind in declared.items():
        if name not in placeholders:
            raise ValueError(f"{what}: arg {name!r} ({kind}) does not appear in command_template as "
                             f"{{{name}}}")
    return parts


def render(parts: Sequence[str], values: Dict[str, str]) -> str:
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        out.append(values[parts[k]])
        out.append(parts[k + 1])
    return "".join(out)


def default_task_name(template_name: str, node_args: Iterable[Tuple[str, str]]) -> str:
    raw = "_".join([template_name] + [f"{k}-{v}" for k, v in node_args])
    return _ILLEGAL_NAME.sub("_", raw)[:MAX_DEFAULT_NAME_LENGTH]


def check_task_name(name: object) -> str:
    """Jobmon's rules for a user-given task name; raises ValueError."""
    if not isinstance(name, str) or not name:
        raise ValueError("task name must be a non-empty string")
    if name[0].isdigit():
        raise ValueError(f"task name {name!r} must not start with a digit")
    bad = _ILLEGAL_NAME.search(name)
    if bad:
        raise ValueError(f"task name {name!r} contains an illegal character {bad.group(0)!r} "
                         "(illegal: / \\ ' \" and space)")
    if len(name) > MAX_TASK_NAME_LENGTH:
        raise ValueError(f"task name is {len(name)} characters; at most {MAX_TASK_NAME_LENGTH}")
    return name


def arg_value(value: object, arg: str, where: str) -> str:
    """Arg values are stored and rendered as ``str(value)``, as Python's ``str.format`` (and so
    Jobmon) renders them. None and containers are refused: they are nearly always a mistake."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return str(value)
    if value is None or isinstance(value, (list, tuple, set, dict, frozenset)):
        raise ValueError(f"{where}: arg {arg!r} must be a single value (str or number), got "
                         f"{type(value).__name__}")
    return str(value)  # Path, numpy scalar, Decimal...: their str(), as str.format would give


def check_limit(value: Optional[int], what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2_147_483_647:
        raise ValueError(f"{what} must be a whole number from 0 to 2147483647, got {value!r}")
    return value


def check_max_attempts(value: Optional[int], what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number ≥ 1, got {value!r}")
    return value


def check_resources(value: object, what: str) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict of resource name → value, got {type(value).__name__}")
    return dict(value)


def check_scales(value: object, what: str) -> Optional[dict]:
    """Numeric scales or lists of absolute values are stored server-side; callables and iterators
    (Jobmon's in-process forms) cannot be, because the scaling happens on the server."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict of resource name → scale, got {type(value).__name__}")
    out = {}
    for key, scale in value.items():
        if isinstance(scale, bool):
            raise ValueError(f"{what}[{key!r}]: a scale must be a number or a list of numbers")
        if isinstance(scale, (int, float)):
            out[key] = scale
        elif isinstance(scale, (list, tuple)) and all(
                isinstance(s, (int, float)) and not isinstance(s, bool) for s in scale):
            out[key] = list(scale)
        elif callable(scale) or hasattr(scale, "__next__"):
            raise ValueError(
                f"{what}[{key!r}]: callables and iterators cannot be sent to the server (the run "
                "does not live in this process); give a number (fraction to add, e.g. 0.5) or a "
                "list of absolute values, e.g. [80, 160]")
        else:
            raise ValueError(f"{what}[{key!r}]: a scale must be a number or a list of numbers, "
                             f"got {scale!r}")
    return out
