"""YAML to plain Python values, remembering the file line of every key path."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Source:
    """Parsed config values plus where each key path sits in the file."""

    path: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    missing_env: dict[str, str] = field(default_factory=dict)  # key path -> variable name

    def line(self, key_path: str) -> int | None:
        """The line of `key_path`, or of its nearest ancestor that has one."""
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = _parent(key_path)
        return None


def _parent(key_path: str) -> str:
    cut = max(key_path.rfind("."), key_path.rfind("["))
    return key_path[:cut] if cut > 0 else ""


def load_source(text: str, path: str, env: dict[str, str] | None = None) -> Source:
    """Parse YAML text; raises yaml.YAMLError (with its own line marks) on bad syntax."""
    env = dict(os.environ) if env is None else env
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    src = Source(path, None)
    src.data = _convert(node, "", src, env) if node is not None else {}
    return src


def _convert(node: yaml.Node, key_path: str, src: Source, env: dict[str, str]) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            child = f"{key_path}.{key}" if key_path else str(key)
            src.lines[child] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, child, src, env)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = f"{key_path}[{i}]"
            src.lines[child] = item.start_mark.line + 1
            items.append(_convert(item, child, src, env))
        return items
    value = _scalar(node)
    if isinstance(value, str) and "${" in value:
        value = _substitute(value, key_path, src, env)
    return value


def _scalar(node: yaml.Node) -> Any:
    # SafeLoader's constructor gives scalars their usual YAML types (ints, bools, nulls)
    return yaml.SafeLoader("").construct_object(node)


def _substitute(value: str, key_path: str, src: Source, env: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            src.missing_env[key_path] = name
            return ""
        return env[name]

    return _ENV.sub(repl, value)
