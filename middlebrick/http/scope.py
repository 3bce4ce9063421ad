"""The scope of a scan: which hosts may be contacted, and with which methods.

Safe mode sends ``GET``, ``HEAD`` and ``OPTIONS`` only, with no exception but the operations
the user named with ``--include``. Active mode sends every method, to the same hosts. Which
operations may be requested at all is the scope's ``policy`` (``http.policy``). URLs are parsed
exactly as the client sends them (``yarl.URL(url, encoded=True)``), so the host checked is the
host contacted.
"""

from __future__ import annotations

from yarl import URL

from middlebrick.config import Mode, ScanRequest
from middlebrick.errors import ScopeViolation, UsageError
from middlebrick.http.policy import Policy

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods a safe-mode scan may send anywhere in scope."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""Statuses whose ``Location`` a client may follow."""

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, int]
"""A host (lower-case, no trailing dot) and a port."""


class Scope:
    """The hosts and methods a scan may use; every request is checked against it."""

    def __init__(
        self, origins: set[Origin], *, mode: Mode = "safe", policy: Policy | None = None
    ) -> None:
        self.origins = frozenset(origins)
        self.mode: Mode = mode
        self.policy = policy if policy is not None else Policy(mode)

    @classmethod
    def for_scan(cls, scan: ScanRequest) -> Scope:
        """The scope of ``scan``: the target's host and port plus ``scan.extra_hosts``.

        A target given without an explicit port also admits the same host on the default port
        of the other scheme, so an ``http://`` to ``https://`` upgrade of the target stays in
        scope. An extra host written ``host:port`` admits that port; a bare host admits ports
        80 and 443; a URL admits its own host and port.
        """
        target = URL(scan.target)
        host = _norm_host(target.raw_host or "")
        origins = {(host, target.port or _DEFAULT_PORTS[target.scheme])}
        if target.explicit_port is None:
            origins.update((host, port) for port in _DEFAULT_PORTS.values())
        for extra in scan.extra_hosts:
            try:
                origins.update(_parse_extra_host(extra))
            except ValueError as exc:
                raise UsageError(
                    f"extra host {extra!r} is not a host, host:port or URL ({exc})"
                ) from None
        policy = Policy.of(scan.mode, scan.include, scan.exclude, scan.target)
        return cls(origins, mode=scan.mode, policy=policy)

    def allows_url(self, url: str) -> bool:
        """True when ``url`` is an http(s) URL on a host inside the scope."""
        try:
            return _origin(URL(url, encoded=True)) in self.origins
        except ValueError:
            return False

    def allows(self, method: str, url: str | URL) -> bool:
        """True when ``method`` may be sent to ``url`` (see :meth:`check`)."""
        return self._refusal(method, url) is None

    def check(self, method: str, url: str | URL) -> URL:
        """Raise ``ScopeViolation`` unless ``method url`` is in scope; return the parsed URL."""
        parsed = url if isinstance(url, URL) else _parse(url)
        host = parsed.raw_host
        if (
            host is not None
            and (method in SAFE_METHODS or self.mode == "active")
            and parsed.scheme in _DEFAULT_PORTS
            and (host.lower().rstrip("."), parsed.port) in self.origins
        ):
            return parsed  # the common case, decided without building a message
        refusal = self._refusal(method, parsed)
        if refusal is not None:
            raise ScopeViolation(refusal)
        return parsed

    def _refusal(self, method: str, url: str | URL) -> str | None:
        """Why ``method url`` is refused, or ``None`` when it is allowed."""
        try:
            parsed = url if isinstance(url, URL) else _parse(url)
            origin = _origin(parsed)
        except ValueError as exc:
            return f"{method} {str(url)[:200]!r} refused: {exc}"
        if origin not in self.origins:
            allowed = ", ".join(f"{h}:{p}" for h, p in sorted(self.origins))
            return (
                f"{method} {_short(parsed)} refused: host {origin[0]}:{origin[1]} is outside "
                f"the scope (allowed: {allowed})"
            )
        if self.mode == "active" or method in SAFE_METHODS:
            return None
        if self.policy.includes(method, str(parsed)) or self.policy.owns(str(parsed)):
            return None  # named by --include, or an object the scan created (its undo)
        return (
            f"{method} {_short(parsed)} refused: safe mode sends only GET, HEAD and OPTIONS "
            "(and what --include names); use active mode for other methods"
        )


def redirect_target(
    url: URL, status: int, location: str, method: str, body: bytes | None
) -> tuple[URL, str, bytes | None]:
    """Where a redirect of ``method url`` leads, and the method and body of the next hop.

    303 (and 301/302 after a POST) turn into a GET without body, as browsers do. Raises
    ``ValueError`` for a ``Location`` that is not a URL.
    """
    try:
        target = url.join(URL(location))
    except TypeError as exc:
        raise ValueError(f"invalid Location {location[:200]!r}") from exc
    if status == 303 or (status in (301, 302) and method == "POST"):
        return target, ("HEAD" if method == "HEAD" else "GET"), None
    return target, method, body


def _parse(url: str) -> URL:
    try:
        return URL(url, encoded=True)
    except (ValueError, TypeError) as exc:
        raise ScopeViolation(f"{url[:200]!r} is not a valid URL") from exc


def _origin(url: URL) -> Origin:
    if url.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"scheme {url.scheme!r} is not http or https")
    if not url.raw_host:
        raise ValueError("the URL has no host")
    return _norm_host(url.raw_host), url.port or _DEFAULT_PORTS[url.scheme]


def _norm_host(host: str) -> str:
    return host.lower().rstrip(".")


def _parse_extra_host(extra: str) -> set[Origin]:
    if "://" in extra:
        return {_origin(URL(extra))}
    url = URL(f"http://{extra}")
    host = _norm_host(url.raw_host or "")
    if not host:
        raise ValueError("no host")
    if url.explicit_port is not None:
        return {(host, url.explicit_port)}
    return {(host, port) for port in _DEFAULT_PORTS.values()}


def _short(url: URL) -> str:
    text = str(url)
    return text if len(text) <= 200 else text[:200] + "…"
