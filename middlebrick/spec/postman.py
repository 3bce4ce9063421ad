"""Read a Postman collection (format v2.0 or v2.1) as an API description.

::

    version = postman_version(document)          # "2.1.0", or None when it is not one
    spec = from_postman(document, source="Postman.json", version=version)

A collection is recognised by its content: ``info.schema`` naming ``collection/v2.0.0`` or
``v2.1.0``, or an ``info`` object beside an ``item`` list (also inside the Postman API's
``{"collection": …}`` envelope). Its requests, folders included, become ``Operation``\\ s:

- the URL (text or object) is split into host and path; the host (``{{baseUrl}}``, a literal
  host) becomes the server, so the paths hang from the scan target like an OpenAPI document's;
  requests to another host than most of them are left out, with a note;
- ``:name`` segments and whole-segment ``{{name}}`` variables become path parameters (the
  value the collection gives is their example); so does a concrete segment that is an id value
  (digits, a UUID, a long hex string: ``/customers/1`` is ``/customers/{id}`` with example
  ``1``), as collections hard-code the id of the object their author tried, unless it follows
  a version word (``/api/2/issue``: a version, not an id) and no other request of the route
  differs only there;
- query items become query parameters and headers header parameters, with their values as
  examples; JSON bodies give a schema inferred from the example's values, example kept;
- ``auth`` (bearer, basic, apikey …, inherited from folders and the collection) and credential
  headers become security requirements, so authentication checks judge the operation. Their
  values are never read: the scan's credentials are the ones the user gives.

Collection variables are substituted (a variable referring to itself stays unresolved, with a
note). Nesting, request count and text lengths are bounded; what could not be read is said in
``ApiSpec.warnings``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from middlebrick.spec._postman_body import read_body
from middlebrick.spec._postman_parts import (
    Variables,
    auth_scheme,
    is_credential,
    query_key,
    read_headers,
    text,
    unresolved,
)
from middlebrick.spec._postman_url import read_url
from middlebrick.spec.model import (
    ApiSpec,
    Operation,
    Parameter,
    RequestBody,
    SecurityRequirement,
    SecurityScheme,
)

__all__ = ["MAX_DEPTH", "MAX_REQUESTS", "from_postman", "postman_version", "rebased"]

MAX_DEPTH = 64
"""Folders nested deeper than this are not read (a note says how many)."""
MAX_REQUESTS = 10_000
"""Requests read from one collection; the rest are left out with a note."""

_SCHEMA = re.compile(r"/collection/v(\d+\.\d+\.\d+)/")
_METHOD = re.compile(r"^[A-Za-z]{1,20}$")
_ID_VALUE = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,})$"
)
_VERSION_WORDS = frozenset({"", "api", "v", "version", "versions", "rest"})
"""Segments after which a number is a version (``/api/2/``, Jira's ``/rest/api/2/``), and the
first segment (``/2/tweets``: Twitter's API v2): no id is templated there unless two requests of
the route differ in it."""
_NAMED = 5  # names quoted in a note


def postman_version(document: Any) -> str | None:
    """The collection format version of ``document`` ("2.1.0"), or ``None`` if not one.

    A v1 collection (``requests`` and ``order``) gives ``"1"``: the caller refuses it.
    """
    collection = _collection(document)
    if collection is None:
        if (
            isinstance(document, dict)
            and isinstance(document.get("requests"), list)
            and ("order" in document or "folders" in document)
        ):
            return "1"
        return None
    info = collection["info"]
    match = _SCHEMA.search(text(info.get("schema")))
    if match is not None:
        return match.group(1)
    return "2.1.0"  # an info object beside an item list: read as the current format


def from_postman(document: Any, *, source: str, version: str) -> ApiSpec:
    """The ``ApiSpec`` of a Postman collection (see the module's docstring)."""
    collection = _collection(document) or {"info": {}, "item": []}
    info = collection["info"]
    reader = _Reader(Variables().child(collection.get("variable")))
    reader.walk(collection)
    operations, hosts = reader.operations()
    schemes: dict[str, SecurityScheme] = {}
    for scheme in reader.schemes:
        schemes.setdefault(scheme.name, scheme)
    return ApiSpec(
        source=source,
        spec_version=f"postman-{version}",
        title=text(info.get("name")),
        version=text(info.get("version")) if not isinstance(info.get("version"), dict) else "",
        servers=hosts,
        operations=operations,
        security_schemes=schemes,
        warnings=tuple(reader.notes()),
    )


def _collection(document: Any) -> dict[str, Any] | None:
    if isinstance(document, dict) and isinstance(document.get("collection"), dict):
        document = document["collection"]
    if (
        isinstance(document, dict)
        and isinstance(document.get("info"), dict)
        and isinstance(document.get("item"), list)
    ):
        return document
    return None


@dataclass
class _Request:
    """One request as read, before routes are compared."""

    method: str
    host: str  # the host as written, variables resolved ("" when the URL names none)
    server: str  # the base URL it stands for ("" when unknown)
    segments: list[str]  # path segments; templates as "{name}"
    examples: dict[str, str]  # path parameter -> example value
    operation: Operation


@dataclass
class _Reader:
    """Walks the items of a collection and keeps what each request says."""

    variables: Variables
    schemes: list[SecurityScheme] = field(default_factory=list)
    requests: list[_Request] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # hosts of requests left out
    too_deep: int = 0
    cut: int = 0

    def walk(self, collection: dict[str, Any]) -> None:
        """Read every request of the collection, depth first, in document order."""
        stack: list[tuple[Any, int, Variables, Any, tuple[str, ...]]] = [
            (item, 1, self.variables, collection.get("auth"), ())
            for item in reversed(collection["item"])
        ]
        while stack:
            item, depth, variables, auth, folders = stack.pop()
            if not isinstance(item, dict):
                continue
            if depth > MAX_DEPTH:
                self.too_deep += 1
                continue
            variables = variables.child(item.get("variable"))
            if isinstance(item.get("item"), list):  # a folder
                inherited = item["auth"] if auth_scheme(item.get("auth")) is not None else auth
                name = text(item.get("name"))[:80]
                stack.extend(
                    (child, depth + 1, variables, inherited, (*folders, name))
                    for child in reversed(item["item"])
                )
            elif "request" in item:
                if len(self.requests) >= MAX_REQUESTS:
                    self.cut += 1
                    continue
                self._request(item, variables, auth, folders)

    def _request(
        self, item: dict[str, Any], variables: Variables, auth: Any, folders: tuple[str, ...]
    ) -> None:
        name = text(item.get("name"))[:200]
        raw = item["request"]
        request: dict[str, Any] = {"url": raw, "method": "GET"} if isinstance(raw, str) else raw
        if not isinstance(request, dict):
            self.unreadable.append(name or "(unnamed)")
            return
        method = text(request.get("method")).strip().upper() or "GET"
        url = read_url(request.get("url"), variables)
        if url is None or not _METHOD.match(method):
            self.unreadable.append(name or "(unnamed)")
            return
        headers = read_headers(request.get("header"), variables)
        own = auth_scheme(request.get("auth"))
        effective = own if own is not None else auth_scheme(auth)
        security: tuple[SecurityRequirement, ...] | None = None
        used = list(headers.schemes)
        seen_query: dict[str, list[str]] = {}
        for key, value, enabled in url.query:
            if is_credential(key, query=True):  # a key in the query: a scheme, value dropped
                used.append(query_key(key))
                continue
            examples = seen_query.setdefault(key, [])
            resolved = variables.resolve(value)
            if enabled and resolved and not unresolved(resolved):
                examples.append(resolved)
        if isinstance(effective, SecurityScheme):
            used.insert(0, effective)
        if used:
            self.schemes.extend(used)
            security = ({scheme.name: () for scheme in dict.fromkeys(used)},)
        elif effective is False:
            security = ()
        parameters = [
            Parameter(
                name=pname,
                location="path",
                required=True,
                schema={"type": "string"},
                examples=(url.examples[pname],) if pname in url.examples else (),
            )
            for pname in url.parameters
        ]
        parameters += [
            Parameter(name=key, location="query", schema={"type": "string"}, examples=tuple(ex))
            for key, ex in seen_query.items()
        ]
        parameters += [
            Parameter(
                name=hname,
                location="header",
                schema={"type": "string"},
                examples=(example,) if example else (),
            )
            for hname, example in headers.parameters
        ]
        body = read_body(request.get("body"), headers.content_type, variables)
        description = request.get("description")
        if isinstance(description, dict):
            description = description.get("content")
        operation = Operation(
            method=method,
            path="",  # set once routes are compared
            summary=name,
            description=text(description)[:500],
            parameters=tuple(parameters),
            request_body=(
                RequestBody(
                    content_type=body.content_type,
                    schema=body.schema,
                    examples=(body.example,) if body.example is not None else (),
                )
                if body is not None
                else None
            ),
            security=security,
            tags=(folders[0],) if folders and folders[0] else (),
        )
        self.requests.append(
            _Request(method, url.host, url.server, url.segments, url.examples, operation)
        )

    def operations(self) -> tuple[tuple[Operation, ...], tuple[str, ...]]:
        """The operations of the requests on the main host (merged by route), its server."""
        hosts = Counter(r.host for r in self.requests)
        main = hosts.most_common(1)[0][0] if hosts else ""
        self.elsewhere = sorted(h for h in hosts if h != main)
        kept = [r for r in self.requests if r.host == main]
        _template_values(kept)
        merged: dict[tuple[str, str], Operation] = {}
        for request in kept:
            path = "/" + "/".join(request.segments)
            operation = replace(request.operation, path=path)
            key = (request.method, path)
            merged[key] = _merge(merged[key], operation) if key in merged else operation
        server = next((r.server for r in kept if r.server), "")
        return tuple(merged.values()), ((server,) if server else ())

    def notes(self) -> list[str]:
        """Plain sentences on what could not be read."""
        notes: list[str] = []
        if self.unreadable:
            notes.append(
                f"{len(self.unreadable)} request(s) of the Postman collection have no usable "
                f"URL or method and were left out: {_names(self.unreadable)}"
            )
        if self.elsewhere:
            notes.append(
                "requests to other hosts than the collection's main one were left out: "
                + _names(self.elsewhere)
            )
        if self.too_deep:
            notes.append(
                f"{self.too_deep} item(s) of the Postman collection are nested more than "
                f"{MAX_DEPTH} folders deep and were not read"
            )
        if self.cut:
            notes.append(
                f"the Postman collection has more than {MAX_REQUESTS:,} requests; "
                f"{self.cut:,} were not read"
            )
        if self.variables.loops:
            notes.append(
                "the Postman variable(s) "
                + _names(sorted("{{" + n + "}}" for n in self.variables.loops))
                + " refer to themselves and were left unresolved"
            )
        return notes


def _template_values(requests: list[_Request]) -> None:
    """Template a concrete id segment, unless it is a version number (after ``api`` or ``v``)
    that no two requests of the same route tell apart."""
    buckets: dict[tuple[int, tuple[str, ...]], set[str]] = {}
    for request in requests:
        for index, segment in enumerate(request.segments):
            if _ID_VALUE.match(segment):
                shape = (*request.segments[:index], "*", *request.segments[index + 1 :])
                buckets.setdefault((index, shape), set()).add(segment)
    for request in requests:
        for index, segment in enumerate(list(request.segments)):
            if not _ID_VALUE.match(segment):
                continue
            shape = (*request.segments[:index], "*", *request.segments[index + 1 :])
            after = request.segments[index - 1].lower() if index else ""
            if after in _VERSION_WORDS and len(buckets.get((index, shape), ())) < 2:
                continue
            name = "id"
            while "{" + name + "}" in request.segments:
                name += "_"
            request.segments[index] = "{" + name + "}"
            request.operation = replace(
                request.operation,
                parameters=(
                    *request.operation.parameters,
                    Parameter(
                        name=name,
                        location="path",
                        required=True,
                        schema={"type": "integer"} if segment.isdigit() else {"type": "string"},
                        examples=(segment,),
                    ),
                ),
            )


def _merge(first: Operation, other: Operation) -> Operation:
    """One operation for two requests of the same route: the first's, with the other's examples
    and parameters added."""
    params = {(p.name, p.location): p for p in first.parameters}
    for param in other.parameters:
        known = params.get((param.name, param.location))
        if known is None:
            params[(param.name, param.location)] = param
        else:
            examples = tuple(dict.fromkeys((*known.examples, *param.examples)))[:10]
            params[(param.name, param.location)] = replace(known, examples=examples)
    body = first.request_body or other.request_body
    if first.request_body and other.request_body and other.request_body.examples:
        examples = (*first.request_body.examples, *other.request_body.examples)[:10]
        body = replace(first.request_body, examples=examples)
    security = first.security if first.security is not None else other.security
    return replace(first, parameters=tuple(params.values()), request_body=body, security=security)


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n[:60]}`" for n in names[:_NAMED])
    return shown + (f" and {len(names) - _NAMED} more" if len(names) > _NAMED else "")


def rebased(spec: ApiSpec, base_url: str) -> tuple[Operation, ...]:
    """``spec``'s operations with examples (parameters, bodies) that are URLs on the
    collection's own server (``{{baseUrl}}/feed``) moved to the origin of ``base_url``, where
    the scan finds the API."""
    server = spec.servers[0] if spec.servers else ""
    old, new = _origin(server), _origin(base_url)
    if not spec.spec_version.startswith("postman-") or not old or not new or old == new:
        return spec.operations

    def move(value: Any, depth: int = 0) -> Any:
        if isinstance(value, str) and (value == old or value.startswith(old + "/")):
            return new + value[len(old) :]
        if depth < 8 and isinstance(value, dict):
            return {key: move(item, depth + 1) for key, item in value.items()}
        if depth < 8 and isinstance(value, list):
            return [move(item, depth + 1) for item in value]
        return value

    moved = []
    for op in spec.operations:
        body = op.request_body
        if body is not None and body.examples:
            body = replace(body, examples=tuple(move(e) for e in body.examples))
        parameters = tuple(
            replace(p, examples=tuple(move(e) for e in p.examples)) for p in op.parameters
        )
        moved.append(replace(op, parameters=parameters, request_body=body))
    return tuple(moved)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
