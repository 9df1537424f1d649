"""Validate real HTTP response bodies against the spec's Client-Server OpenAPI.

The schemas are read at test time from ``../shared/matrix-spec`` beside the
repository (the project carries no copy, so a spec update is picked up as is).

    assert_matches_spec("GET", "/_matrix/client/v3/rooms/!r:hs/messages", 200, body)

finds the operation whose path template matches (a template such as
``/_matrix/client/v3/rooms/{roomId}/messages`` is accepted too), takes the
response schema documented for the status, and validates the body with
``jsonschema`` (draft 2020-12, as the spec's files declare). ``$ref``s are
resolved by the ``referencing`` registry against each file's own location, so
relative references (``definitions/…``, ``../../event-schemas/…``) and
in-document ones (``#/components/…``) behave as the spec's own tooling does.

An error status that an operation does not document (or documents without a
schema) is checked against the standard error response, 429 against the
rate-limit error: the spec says every endpoint may answer with them. A success
status that the operation does not document is itself a mismatch.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import SHARED

SPEC_DATA = SHARED / "matrix-spec" / "data"
CLIENT_SERVER = SPEC_DATA / "api" / "client-server"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Operation:
    """One documented method of one path, e.g. ``PUT /_matrix/client/v3/rooms/{roomId}/send/…``."""

    method: str
    path: str  # the full template, base path included
    file: Path
    pointer: str  # JSON pointer to the operation object inside ``file``
    spec: dict[str, Any]
    literal_chars: int  # how specific the template is, to prefer /rooms/x/state over /rooms/{id}/…

    def response(self, status: int) -> tuple[Path, str, dict[str, Any]] | None:
        """The response documented for ``status``: (file, JSON pointer, object), or None."""
        responses: dict[str, Any] = self.spec.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return _follow(self.file, f"{self.pointer}/responses/{_escape(key)}")
        return None


class SpecMismatch(AssertionError):
    """A body that the spec does not allow for the operation and status."""


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@functools.cache
def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.split("/")[1:] if pointer else []:
        segment = unquote(raw).replace("~1", "/").replace("~0", "~")
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def _follow(file: Path, pointer: str) -> tuple[Path, str, Any]:
    """The node at ``pointer`` in ``file``, following it if it is itself a ``$ref``."""
    node = _resolve_pointer(_load(file), pointer)
    while isinstance(node, dict) and "$ref" in node:
        target, _, fragment = node["$ref"].partition("#")
        file = (file.parent / target).resolve() if target else file
        pointer = fragment
        node = _resolve_pointer(_load(file), pointer)
    return file, pointer, node


def _retrieve(uri: str) -> Resource[Any]:
    path = Path(unquote(urlsplit(uri).path))
    return Resource.from_contents(_load(path), default_specification=DRAFT202012)


@functools.cache
def _registry() -> Registry[Any]:
    return Registry(retrieve=functools.cache(_retrieve))  # type: ignore[call-arg]


def _uri(file: Path, pointer: str) -> str:
    return file.resolve().as_uri() + "#" + quote(pointer, safe="/~")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    # A parameter is one path segment; it may be empty (an empty state key).
    pattern = "".join("[^/]*" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(pattern + "$")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the Client-Server API, read from the spec's files."""
    found: list[Operation] = []
    for file in sorted(CLIENT_SERVER.glob("*.yaml")):
        doc = _load(file)
        if not isinstance(doc, dict) or "paths" not in doc:
            continue
        base = doc["servers"][0]["variables"]["basePath"]["default"].rstrip("/")
        for template, item in doc["paths"].items():
            for method in METHODS:
                if method in item:
                    full = base + template
                    found.append(
                        Operation(
                            method=method.upper(),
                            path=full,
                            file=file.resolve(),
                            pointer=f"/paths/{_escape(template)}/{method}",
                            spec=item[method],
                            literal_chars=len(re.sub(r"\{[^}]+\}", "", full)),
                        )
                    )
    return tuple(found)


def find_operation(method: str, path: str) -> Operation:
    """The operation for ``method`` and a concrete path (or a template); AssertionError if none."""
    method = method.upper()
    path = urlsplit(path).path
    candidates = [op for op in operations() if op.method == method]
    exact = [op for op in candidates if op.path == path]
    if exact:
        return exact[0]
    matching = [op for op in candidates if _template_regex(op.path).match(path)]
    if not matching:
        raise SpecMismatch(f"the spec documents no operation {method} {path}")
    return max(matching, key=lambda op: op.literal_chars)


def _standard_error(status: int) -> tuple[Path, str]:
    name = "rate_limited.yaml" if status == 429 else "error.yaml"
    return CLIENT_SERVER / "definitions" / "errors" / name, ""


def validator_for(method: str, path: str, status: int) -> jsonschema.protocols.Validator | None:
    """A validator for the response body, or None when the spec gives no schema for a success."""
    op = find_operation(method, path)
    documented = op.response(status)
    if documented is not None:
        file, pointer, response = documented
        if "schema" in response.get("content", {}).get("application/json", {}):
            pointer += "/content/application~1json/schema"
        elif status < 400:
            return None
        else:  # an error documented by its description alone
            file, pointer = _standard_error(status)
    elif status >= 400:
        file, pointer = _standard_error(status)
    else:
        raise SpecMismatch(f"{op.method} {op.path} documents no {status} response")
    return jsonschema.Draft202012Validator({"$ref": _uri(file, pointer)}, registry=_registry())


def assert_matches_spec(method: str, path: str, status: int, body: Any) -> None:
    """Raise ``SpecMismatch`` (an AssertionError) listing every way ``body`` breaks the spec."""
    validator = validator_for(method, path, status)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]]
        raise SpecMismatch(
            f"{method.upper()} {path} {status}: the body does not match the spec:\n"
            + "\n".join(lines)
        )


def _inline_example(file: Path, value: Any) -> Any:
    """An example with its ``$ref``s inlined: the referenced object, overlaid by sibling keys."""
    if isinstance(value, list):
        return [_inline_example(file, v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$ref" in value:
        target, _, fragment = value["$ref"].partition("#")
        ref_file = (file.parent / target).resolve() if target else file
        base = _inline_example(ref_file, _resolve_pointer(_load(ref_file), fragment))
        siblings = {k: _inline_example(file, v) for k, v in value.items() if k != "$ref"}
        return {**base, **siblings} if isinstance(base, dict) else base
    return {k: _inline_example(file, v) for k, v in value.items()}


def response_examples(method: str, path: str, status: int) -> dict[str, Any]:
    """The spec's own example bodies for a response, by name, with their ``$ref``s inlined."""
    documented = find_operation(method, path).response(status)
    if documented is None:
        return {}
    file, pointer, response = documented
    media = response.get("content", {}).get("application/json", {})
    found: dict[str, Any] = {}
    for name in media.get("examples", {}):
        examples = f"{pointer}/content/application~1json/examples"
        ex_file, _, ex = _follow(file, f"{examples}/{_escape(name)}")
        if "value" in ex:
            found[name] = _inline_example(ex_file, ex["value"])
    if "example" in media:
        found["example"] = _inline_example(file, media["example"])
    return found
