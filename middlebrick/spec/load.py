"""Load a Swagger 2.0 / OpenAPI 3.0 / 3.1 document (or a Postman collection, v2.0 or v2.1)
into the normalised ``ApiSpec`` model.

``load_spec`` reads a file (or, with a ``fetch``, a URL); ``parse_spec`` takes bytes already
fetched. Both parse JSON or YAML by content, resolve every ``$ref`` (see ``refs``), and turn
each path item's methods into ``Operation``s; a Postman collection, recognised by its content,
is read by ``postman``. Real-world documents break the specification in
small ways; anything that is not fatal is tolerated, and what could not be resolved is said in
``ApiSpec.warnings``. What is fatal raises ``SpecError`` with one clear sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from middlebrick.errors import SpecError
from middlebrick.spec._normalise import normalise
from middlebrick.spec._yaml import parse_document
from middlebrick.spec.background import gc_paused
from middlebrick.spec.model import ApiSpec
from middlebrick.spec.postman import from_postman, postman_version
from middlebrick.spec.refs import resolve_refs

__all__ = ["DEFAULT_MAX_BYTES", "load_spec", "parse_spec"]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""The largest API description read (a file, ``--spec URL`` or a served one): real ones reach
15 MB. ``Limits.max_spec_bytes`` (``--spec-limit``) changes it; the files a description
references have their own budget (``refs.MAX_REFERENCED_BYTES``)."""

Fetch = Callable[[str], bytes]


def load_spec(
    source: str | Path,
    *,
    fetch: Fetch | None = None,
    root: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ApiSpec:
    """Load the API description in a file (or at a URL, through ``fetch``).

    Files it references must stay inside the document's own folder, or inside ``root``
    (``--spec-root``), which must hold the document; remote references are followed only
    through ``fetch``.
    """
    if isinstance(source, str) and _is_url(source):
        if fetch is None:
            raise SpecError(f"{source} is a URL and no way to fetch it was given")
        try:
            data = fetch(source)
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError(f"cannot fetch the API description {source}: {exc}") from exc
        return parse_spec(data, source=source, base_dir=None, fetch=fetch, max_bytes=max_bytes)
    path = Path(source).expanduser()
    try:
        if path.is_dir():
            raise SpecError(f"cannot read the API description {path}: it is a folder")
        size = path.stat().st_size
        if size > max_bytes:
            raise SpecError(_too_large(str(path), size, max_bytes))
        if not path.is_file():  # a FIFO would block, a device never end
            raise SpecError(f"cannot read the API description {path}: it is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # a file that grows meanwhile stops at the cap
        if len(data) > max_bytes:
            raise SpecError(_too_large(str(path), len(data), max_bytes))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError(f"cannot read the API description {path}: {reason.lower()}") from exc
    resolved = path.resolve()
    allowed = resolved.parent
    if root is not None:
        allowed = root.expanduser().resolve()
        if not allowed.is_dir():
            raise SpecError(f"the spec root {root} is not a folder")
        if not resolved.is_relative_to(allowed):
            raise SpecError(f"the spec root {root} does not hold the API description {path}")
    return _build(
        data,
        source=str(path),
        location=resolved,
        allowed_root=allowed,
        fetch=fetch,
    )


def parse_spec(
    data: bytes | str,
    *,
    source: str,
    base_dir: Path | None = None,
    fetch: Fetch | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ApiSpec:
    """Parse an API description already read or fetched.

    ``source`` names it in messages and, when it is a URL, is the base of relative references
    (fetched through ``fetch``); with ``base_dir`` relative references are files in that folder.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        raise SpecError(_too_large(source, size, max_bytes))
    location: Path | str | None
    if base_dir is not None:
        name = PurePosixPath(urlsplit(source).path).name or "openapi"
        location = base_dir.resolve() / name
    else:
        location = source if _is_url(source) else None
    allowed = base_dir.resolve() if base_dir is not None else None
    return _build(
        data,
        source=source,
        location=location,
        allowed_root=allowed,
        fetch=fetch,
    )


def _build(
    data: bytes | str,
    *,
    source: str,
    location: Path | str | None,
    allowed_root: Path | None,
    fetch: Fetch | None,
) -> ApiSpec:
    with gc_paused():
        return _build_now(
            data, source=source, location=location, allowed_root=allowed_root, fetch=fetch
        )


def _build_now(
    data: bytes | str,
    *,
    source: str,
    location: Path | str | None,
    allowed_root: Path | None,
    fetch: Fetch | None,
) -> ApiSpec:
    document = parse_document(data, source)
    version = _version(document)
    if version is None:
        collection = postman_version(document)
        if collection is not None and collection.startswith("2."):
            return from_postman(document, source=source, version=collection)
        if collection is not None:
            raise SpecError(
                f"{source} is a Postman collection in the retired v1 format: "
                "export it again as Collection v2.1"
            )
        raise SpecError(
            f"{source} is not an OpenAPI or Swagger document nor a Postman collection: "
            "it has no 'openapi' or 'swagger' field, nor Postman's 'info' and 'item'"
        )
    resolved, warnings = resolve_refs(
        document,
        location=location,
        parse=parse_document,
        fetch=fetch,
        allowed_root=allowed_root,
    )
    if not isinstance(resolved, dict):  # pragma: no cover - a mapping stays a mapping
        raise SpecError(f"{source} is not an OpenAPI or Swagger document")
    return normalise(resolved, source=source, spec_version=version, warnings=warnings)


def _version(document: Any) -> str | None:
    """The ``openapi`` / ``swagger`` field as text (YAML may have read ``2.0`` as a number)."""
    if not isinstance(document, dict):
        return None
    for key in ("openapi", "swagger"):
        value = document.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                return text
    return None


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme.lower() in ("http", "https")


def _too_large(source: str, size: int, limit: int) -> str:
    return (
        f"{source} is larger than the {limit:,}-byte limit for an API description "
        f"(at least {size:,} bytes; --spec-limit raises it)"
    )
