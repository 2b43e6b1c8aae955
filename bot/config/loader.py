"""Reading ``app.yaml``: YAML with ``${VAR}`` / ``${VAR:-default}`` substitution, and line numbers.

Substitution happens in a loader subclass (not a global patch of ``yaml.SafeLoader``), on scalar
values only, so a secret can never inject YAML structure. ``$${VAR}`` is a literal ``${VAR}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

# "$${" is an escape (a literal "${"); any other "${" must open a well-formed placeholder
_PLACEHOLDER = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)
_FORMS = "${NAME}, ${NAME:-default}, or $${ for a literal ${"

Path = tuple[str | int, ...]


class ConfigError(Exception):
    """A configuration that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class LoadedYaml:
    data: Any
    lines: Mapping[Path, int]

    def line_of(self, path: Path) -> int | None:
        """Line (1-based) of the deepest part of ``path`` that exists in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def substitute(value: str, environ: Mapping[str, str], line: int) -> str:
    """Replace each ``${NAME}`` / ``${NAME:-default}``; ``$${`` is a literal ``${``. Any other
    ``${`` is an error rather than text kept as written (a misspelt placeholder for a secret
    would otherwise become the secret)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group("name"), match.group("default")
        if name is None:
            raise ConfigError(_malformed(value, match.start(), line))
        if default is not None and "${" in default:
            raise ConfigError(
                f"line {line}: the default of ${{{name}:-…}} holds another placeholder; "
                f"they do not nest: write {_FORMS}"
            )
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        state = "is empty" if name in environ else "is not set"
        raise ConfigError(
            f"line {line}: environment variable {name} {state} (and no default: "
            f"${{{name}:-value}} gives one)"
        )

    return _PLACEHOLDER.sub(replace, value)


def _malformed(value: str, start: int, line: int) -> str:
    """Why the ``${`` at ``start`` is no placeholder, showing it (up to its ``}``) and the forms
    that are."""
    close = value.find("}", start)
    if close == -1:  # what follows may be anything (a secret written in the file): not shown
        return f"line {line}: a '${{' has no closing }}: write {_FORMS}"
    written = value[start : close + 1]
    shown = written if len(written) <= 60 else written[:59] + "…"
    inside = written[2:-1]
    if inside != inside.strip() or " " in inside:
        why = "has spaces inside the braces"
    elif re.match(r"[A-Za-z_][A-Za-z0-9_]*:?[=?+]", inside):
        why = "uses a shell form Vigie does not read (only :- gives a default)"
    elif re.match(r"[A-Za-z_][A-Za-z0-9_]*-", inside):
        why = "is not a variable name (letters, digits and _; a default follows :-, not -)"
    else:
        why = "is not a variable name (letters, digits and _, not starting with a digit)"
    return f"line {line}: {shown!r} {why}: write {_FORMS}"


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, Any], yaml.Mark] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
            mark = key_node.start_mark
            first = seen.setdefault((key_node.tag, key_node.value), mark)
            if first is not mark:
                where = "earlier on that line" if first.line == mark.line else "first on line"
                raise ConfigError(
                    f"line {mark.line + 1}: duplicate key {key_node.value!r} "
                    f"({where}{'' if first.line == mark.line else f' {first.line + 1}'})"
                )


_MERGE = "tag:yaml.org,2002:merge"


def _make_loader(environ: Mapping[str, str]) -> type[yaml.SafeLoader]:
    checked: set[int] = set()

    class EnvLoader(yaml.SafeLoader):
        def construct_scalar(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
            value = super().construct_scalar(node)
            if isinstance(value, str) and "${" in value:
                return substitute(value, environ, node.start_mark.line + 1)
            return value

        def flatten_mapping(self, node: yaml.MappingNode) -> None:
            # PyYAML keeps the last of two equal keys; a second `brands:` would silently win.
            # Checked before the merge (`<<`) brings in keys that the mapping's own override;
            # only once, as a merged mapping is flattened again each time it is merged.
            if id(node) not in checked:
                checked.add(id(node))
                _refuse_duplicate_keys(node)
            super().flatten_mapping(node)

    def construct_int(loader: EnvLoader, node: yaml.ScalarNode) -> Any:
        # YAML 1.1 reads 22:00 as 1320 and 22:00:00 as 79200 (base 60); in a configuration
        # such a value is a time of day, so it stays the text it was written as
        if ":" in str(node.value):
            return loader.construct_scalar(node)
        return yaml.SafeLoader.construct_yaml_int(loader, node)

    EnvLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    return EnvLoader


MAX_VALUES = 100_000  # what a configuration may expand to (aliases included)


def _index_lines(
    node: yaml.Node, path: Path, lines: dict[Path, int], seen: set[int] | None = None
) -> None:
    """Where each setting is written; a node reached again through an alias is not walked
    again (its lines are those of its first place)."""
    seen = set() if seen is None else seen
    lines[path] = node.start_mark.line + 1
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _index_lines(value_node, (*path, str(key_node.value)), lines, seen)
                lines[(*path, str(key_node.value))] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, seen)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the document holds once aliases are expanded (memoised: linear)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    sizes[id(node)] = min(size, MAX_VALUES + 1)
    return sizes[id(node)]


def load_yaml(text: str, source: str, environ: Mapping[str, str] | None = None) -> LoadedYaml:
    """Parse YAML text, substituting environment variables; errors name the line."""
    loader = None
    try:
        loader = _make_loader(os.environ if environ is None else environ)(text)
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_VALUES:
            raise ConfigError(
                f"the file expands to more than {MAX_VALUES:,} values (YAML aliases?)"
            )
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a configuration") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(f"{source}: invalid YAML at {where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: invalid YAML: {error}") from None
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return LoadedYaml(data, lines)
