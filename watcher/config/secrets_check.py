"""Warn when a config file that other users can read holds a secret written out literally."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import yaml

SECRET_KEYS = ("token", "password", "webhook_url")
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def literal_secret_warnings(path: str, mode: int, text: str) -> list[str]:
    """One warning per literal secret in `text` when `mode` lets group or others read it."""
    readers = [who for who, bit in (("group", stat.S_IRGRP), ("others", stat.S_IROTH))
               if mode & bit]
    if not readers:
        return []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []  # the loader reports the syntax error itself
    return [f"{path}: line {line}: {key} is written out in a file its {' and '.join(readers)} "
            f"can read (mode {stat.S_IMODE(mode):04o}): use {key.rsplit('.', 1)[-1]}_file "
            f"(a systemd credential: ${{CREDENTIALS_DIRECTORY}}/NAME) or ${{VAR}} instead"
            for key, line in _literal_secrets(node, "")]


def check_config_file(path: str | Path) -> list[str]:
    """`literal_secret_warnings` for a file on disk; nothing if it cannot be read."""
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return literal_secret_warnings(str(path), mode, text)


def _literal_secrets(node: yaml.Node | None, key_path: str) -> Iterator[tuple[str, int]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            key = str(key_node.value)
            child = f"{key_path}.{key}" if key_path else key
            if key in SECRET_KEYS and _is_literal(value):
                yield child, key_node.start_mark.line + 1
            else:
                yield from _literal_secrets(value, child)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _literal_secrets(item, f"{key_path}[{i}]")


def _is_literal(node: yaml.Node) -> bool:
    # an ${VAR} anywhere means the secret part comes from the environment
    return (isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null"
            and bool(str(node.value).strip()) and not _REFERENCE.search(str(node.value)))
