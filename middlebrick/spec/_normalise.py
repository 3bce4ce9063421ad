"""Turn a resolved Swagger 2.0 / OpenAPI 3.x document into ``Operation``s and an ``ApiSpec``.

Every ``$ref`` is already replaced. Anything malformed is skipped rather than fatal: real-world
documents break the specification in small ways (see the corpus README).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from middlebrick.spec.links import RawLink, raw_links, resolve_links
from middlebrick.spec.model import (
    ApiSpec,
    Location,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_LOCATIONS = frozenset({"path", "query", "header", "cookie"})
_SWAGGER_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
)
_VARIABLE = re.compile(r"\{([^{}]+)\}")
_JSON = "application/json"
_DESCRIPTION_CHARS = 500  # the beginning of a description is all the safety policy reads
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def normalise(
    doc: dict[str, Any], *, source: str, spec_version: str, warnings: tuple[str, ...]
) -> ApiSpec:
    """The ``ApiSpec`` of a resolved document."""
    swagger = "openapi" not in doc
    info = _dict(doc.get("info"))
    servers = (
        _swagger_servers(doc, doc.get("schemes"), source)
        if swagger
        else _servers(doc.get("servers"))
    )
    context = _Context(doc, swagger=swagger, servers=servers)
    operations: list[Operation] = []
    for path, item in _dict(doc.get("paths")).items():
        if isinstance(item, dict) and not str(path).startswith("x-"):
            operations.extend(context.path_item(str(path), item))
    operations, unknown = resolve_links(operations, context.links)
    if unknown:
        warnings = (
            *warnings,
            f"{unknown} response link(s) name no operation of the document (operationId or "
            "operationRef): ignored",
        )
    return ApiSpec(
        source=source,
        spec_version=spec_version,
        title=_text(info.get("title")),
        version=_text(info.get("version")),
        servers=servers,
        operations=tuple(operations),
        security_schemes=_security_schemes(doc, swagger),
        warnings=warnings,
    )


class _Context:
    """Document-wide defaults an operation inherits (security, media types, servers)."""

    def __init__(self, doc: dict[str, Any], *, swagger: bool, servers: tuple[str, ...]) -> None:
        self.doc = doc
        self.swagger = swagger
        self.servers = servers
        self.security = _security(doc["security"]) if "security" in doc else None
        self.consumes = _strings(doc.get("consumes"))
        self.produces = _strings(doc.get("produces"))
        self.links: dict[int, list[RawLink]] = {}  # id(operation) -> its links, as stated

    def path_item(self, path: str, item: dict[str, Any]) -> list[Operation]:
        shared = _list(item.get("parameters"))
        if self.swagger:
            path_servers = self.servers
        else:
            path_servers = _servers(item.get("servers")) or self.servers
        found = []
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                found.append(self.operation(method, path, op, shared, path_servers))
        return found

    def operation(
        self,
        method: str,
        path: str,
        op: dict[str, Any],
        shared: list[Any],
        path_servers: tuple[str, ...],
    ) -> Operation:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *_list(op.get("parameters"))]:
            if (
                isinstance(raw, dict)
                and isinstance(raw.get("name"), str)
                and isinstance(raw.get("in"), str)
            ):
                merged[(raw["name"], raw["in"])] = raw
        params = [_parameter(p) for p in merged.values() if p["in"] in _LOCATIONS]
        if self.swagger:
            consumes = _strings(op.get("consumes")) or self.consumes
            body = _swagger_body(list(merged.values()), consumes)
            servers = self.servers
            if "schemes" in op and self.doc.get("host"):
                servers = _swagger_servers(self.doc, op["schemes"], "")
        else:
            body = _request_body(op.get("requestBody"))
            servers = _servers(op.get("servers")) or path_servers
        security = _security(op.get("security"))
        if security is None:
            security = self.security
        operation_id = op.get("operationId")
        operation = Operation(
            method=method.upper(),
            path=path,
            operation_id=str(operation_id) if operation_id is not None else None,
            summary=_text(op.get("summary")),
            description=_text(op.get("description"))[:_DESCRIPTION_CHARS],
            parameters=tuple(params),
            request_body=body,
            responses=self._responses(op),
            security=security,
            deprecated=op.get("deprecated") is True,
            servers=servers,
            tags=tuple(str(tag) for tag in _list(op.get("tags")) if isinstance(tag, str | int)),
        )
        if not self.swagger and (links := raw_links(op.get("responses"))):
            self.links[id(operation)] = links
        return operation

    def _responses(self, op: dict[str, Any]) -> dict[str, dict[str, Schema]]:
        out: dict[str, dict[str, Schema]] = {}
        produces = (
            (_strings(op.get("produces")) or self.produces or [_JSON]) if self.swagger else []
        )
        for status, response in _dict(op.get("responses")).items():
            status = str(status)
            if status.startswith("x-"):
                continue
            response = _dict(response)
            if self.swagger:
                schema = response.get("schema")
                out[status] = (
                    {media: schema for media in produces} if isinstance(schema, dict) else {}
                )
            else:
                out[status] = {
                    str(media): _schema_of(obj)
                    for media, obj in _dict(response.get("content")).items()
                }
        return out


def _parameter(raw: dict[str, Any]) -> Parameter:
    location = cast(Location, raw["in"])
    examples = list(_examples(raw))
    if isinstance(raw.get("schema"), dict):
        schema: Schema = raw["schema"]
    elif isinstance(raw.get("content"), dict) and raw["content"]:
        media = _dict(next(iter(raw["content"].values())))
        schema = _schema_of(media)
        examples.extend(_examples(media))
    else:
        schema = _swagger_schema(raw)
    return Parameter(
        name=raw["name"],
        location=location,
        required=raw.get("required") is True or location == "path",
        schema=schema,
        examples=tuple(examples),
        description=_text(raw.get("description")),
        deprecated=raw.get("deprecated") is True,
    )


def _swagger_schema(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON schema from a Swagger 2.0 non-body parameter's own type fields."""
    schema = {key: raw[key] for key in _SWAGGER_SCHEMA_KEYS if key in raw}
    if schema.get("type") == "file":
        schema = {**schema, "type": "string", "format": "binary"}
    return schema


def _swagger_body(params: list[dict[str, Any]], consumes: list[str]) -> RequestBody | None:
    for raw in params:
        if raw["in"] == "body":
            return RequestBody(
                content_type=_preferred(consumes) or _JSON,
                schema=_schema_of(raw),
                required=raw.get("required") is True,
                examples=_examples(raw),
            )
    form = [raw for raw in params if raw["in"] == "formData"]
    if not form:
        return None
    if any(raw.get("type") == "file" for raw in form):
        content_type = _MULTIPART
    elif _FORM in consumes or _MULTIPART not in consumes:
        content_type = _FORM
    else:
        content_type = _MULTIPART
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {raw["name"]: _swagger_schema(raw) for raw in form},
    }
    required = [raw["name"] for raw in form if raw.get("required") is True]
    if required:
        schema["required"] = required
    return RequestBody(content_type=content_type, schema=schema, required=bool(required))


def _request_body(raw: Any) -> RequestBody | None:
    if not isinstance(raw, dict):
        return None
    content = _dict(raw.get("content"))
    media = _preferred([str(key) for key in content])
    if media is None:
        return None
    obj = _dict(content.get(media))
    return RequestBody(
        content_type=media,
        schema=_schema_of(obj),
        required=raw.get("required") is True,
        examples=_examples(obj),
    )


def _preferred(media_types: list[str]) -> str | None:
    """``application/json`` if offered, else the first JSON type, else the first type."""
    for media in media_types:
        if media.split(";")[0].strip().lower() == _JSON:
            return media
    for media in media_types:
        if "json" in media.lower():
            return media
    return media_types[0] if media_types else None


def _examples(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """Values of ``example``, ``examples`` (Example objects or a list) and ``x-example(s)``."""
    found: list[Any] = []
    if "example" in obj:
        found.append(obj["example"])
    examples = obj.get("examples")
    if isinstance(examples, dict):
        found.extend(
            ex["value"] for ex in examples.values() if isinstance(ex, dict) and "value" in ex
        )
    elif isinstance(examples, list):
        found.extend(examples)
    if "x-example" in obj:
        found.append(obj["x-example"])
    if isinstance(obj.get("x-examples"), dict):
        found.extend(obj["x-examples"].values())
    return tuple(found)


def _security(raw: Any) -> tuple[SecurityRequirement, ...] | None:
    if not isinstance(raw, list):
        return None
    requirements: list[SecurityRequirement] = []
    for item in raw:
        if isinstance(item, dict):
            requirements.append(
                {str(name): tuple(str(s) for s in _list(scopes)) for name, scopes in item.items()}
            )
    return tuple(requirements)


def _security_schemes(doc: dict[str, Any], swagger: bool) -> dict[str, SecurityScheme]:
    components = _dict(doc.get("components")).get("securitySchemes")
    definitions = doc.get("securityDefinitions")
    raw = _dict(definitions if swagger else components) or _dict(components or definitions)
    schemes: dict[str, SecurityScheme] = {}
    for name, item in raw.items():
        if not isinstance(item, dict):
            continue
        kind = _text(item.get("type"))
        if kind == "basic":
            schemes[name] = SecurityScheme(name=name, type="http", scheme="basic")
        elif kind == "apiKey":
            schemes[name] = SecurityScheme(
                name=name,
                type="apiKey",
                location=_text(item.get("in")) or None,
                param_name=_text(item.get("name")) or None,
            )
        else:
            scheme = _text(item.get("scheme")).lower() or None
            schemes[name] = SecurityScheme(name=name, type=kind, scheme=scheme)
    return schemes


def _servers(raw: Any) -> tuple[str, ...]:
    """Server URLs with their variables replaced by the declared defaults."""
    urls: list[str] = []
    for server in _list(raw):
        if isinstance(server, dict) and isinstance(server.get("url"), str):
            urls.append(_substitute(server["url"], _dict(server.get("variables"))))
    return tuple(urls)


def _substitute(url: str, variables: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        variable = _dict(variables.get(match.group(1)))
        if "default" in variable:
            return _text(variable["default"])
        enum = _list(variable.get("enum"))
        return _text(enum[0]) if enum else match.group(0)

    return _VARIABLE.sub(value, url)


def _swagger_servers(doc: dict[str, Any], schemes: Any, source: str) -> tuple[str, ...]:
    """Swagger 2.0 ``schemes`` x ``host`` + ``basePath``; just ``basePath`` without a host."""
    base_path = _text(doc.get("basePath")).strip()
    if base_path and not base_path.startswith("/"):
        base_path = "/" + base_path
    host = _text(doc.get("host")).strip().rstrip("/")
    if not host:
        return (base_path,) if base_path else ()
    names = [s.lower() for s in _strings(schemes) if s.lower() in ("http", "https", "ws", "wss")]
    if not names:
        names = (
            [urlsplit(source).scheme.lower() or "https"] if source.startswith("http") else ["https"]
        )
    return tuple(f"{scheme}://{host}{base_path}" for scheme in names)


def _schema_of(obj: Any) -> Schema:
    schema = obj.get("schema") if isinstance(obj, dict) else None
    return schema if isinstance(schema, dict) else {}


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)
