"""The normalised API surface: one ``Operation`` model whatever the source document was.

Schemas are plain mappings with every ``$ref`` already replaced by the object it points to, so a
recursive schema is a cyclic Python structure: walk schemas with a depth limit or a visited set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from middlebrick.spec.links import Link

Location = Literal["path", "query", "header", "cookie"]
Schema = Mapping[str, Any]
Source = Literal["spec", "discovered", "probed"]  # probed: live, found beside the listed ones


@dataclass(frozen=True, eq=False)
class Parameter:
    """One parameter of an operation."""

    name: str
    location: Location
    required: bool = False
    schema: Schema = field(default_factory=dict)
    examples: tuple[Any, ...] = ()  # from `example` / `examples`, in document order
    description: str = ""
    deprecated: bool = False


@dataclass(frozen=True, eq=False)
class RequestBody:
    """The request body of an operation, for its first (preferred) media type."""

    content_type: str
    schema: Schema = field(default_factory=dict)
    required: bool = False
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True, eq=False)
class SecurityScheme:
    """A declared security scheme (``securitySchemes`` / Swagger ``securityDefinitions``)."""

    name: str
    type: str  # apiKey | http | oauth2 | openIdConnect | mutualTLS | basic (Swagger 2.0)
    scheme: str | None = None  # for http: bearer | basic | …
    location: str | None = None  # for apiKey: header | query | cookie
    param_name: str | None = None  # for apiKey: the header/query/cookie name


SecurityRequirement = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, eq=False)
class Operation:
    """One HTTP method on one path template."""

    method: str  # upper-case
    path: str  # template, e.g. "/items/{item_id}"
    operation_id: str | None = None
    summary: str = ""
    description: str = ""  # its beginning (the operation's own, not a parameter's)
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    # status code ("200", "4XX", "default") -> media type -> schema
    responses: Mapping[str, Mapping[str, Schema]] = field(default_factory=dict)
    # None: the document says nothing; (): explicitly public; else alternatives (OR of ANDs)
    security: tuple[SecurityRequirement, ...] | None = None
    deprecated: bool = False
    servers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: Source = "spec"
    links: tuple[Link, ...] = ()  # OpenAPI 3.x response links to other operations

    @property
    def key(self) -> str:
        """``"GET /items/{item_id}"``: how reports and the ground truth name an operation."""
        return f"{self.method} {self.path}"

    @property
    def requires_auth(self) -> bool:
        """True when the document requires credentials (no empty, i.e. optional, alternative)."""
        return bool(self.security) and all(len(req) > 0 for req in self.security or ())

    def params(self, location: Location) -> tuple[Parameter, ...]:
        """The parameters in one location."""
        return tuple(p for p in self.parameters if p.location == location)

    def success_schema(self) -> Schema | None:
        """The JSON schema of the first 2xx response, if declared."""
        for status in sorted(self.responses):
            if status.startswith("2") or status.upper() == "2XX":
                for media, schema in self.responses[status].items():
                    if "json" in media or media == "*/*":
                        return schema
        return None


@dataclass(frozen=True, eq=False)
class ApiSpec:
    """A loaded API description."""

    source: str  # path or URL it came from
    spec_version: str  # "2.0", "3.0.3", "3.1.0"
    title: str = ""
    version: str = ""
    servers: tuple[str, ...] = ()
    operations: tuple[Operation, ...] = ()
    security_schemes: Mapping[str, SecurityScheme] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # what could not be resolved, said plainly

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation for a method and path template, if present."""
        for op in self.operations:
            if op.method == method.upper() and op.path == path:
                return op
        return None


@dataclass(frozen=True, eq=False)
class Surface:
    """What the scan will test: the operations, and where they came from."""

    base_url: str  # the API's base URL, without trailing slash
    operations: tuple[Operation, ...]
    spec: ApiSpec | None = None
    origin: str = "url"  # "spec file", "spec served at <url>", "crawl", "url"
    notes: tuple[str, ...] = ()
