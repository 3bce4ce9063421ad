"""What a check sees: the surface, the baseline, a sender, and a finding factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin

from middlebrick.baseline import Baseline
from middlebrick.checks.registry import CheckSpec
from middlebrick.config import ScanRequest
from middlebrick.errors import BudgetExhausted
from middlebrick.findings import Confidence, Evidence, Finding, Severity, fingerprint
from middlebrick.http.exchange import Exchange, Request, Sender
from middlebrick.http.journal import RUNNING, is_write
from middlebrick.http.undo import Restoration
from middlebrick.identities import Identities
from middlebrick.knowledge import catalogue
from middlebrick.spec.model import Operation, Surface

_T = TypeVar("_T")
_SLICE_S = 0.005  # the longest a walk runs before it hands the event loop a turn
AT_ONCE = 8  # items ``each_at_once`` probes together


@dataclass
class CheckContext:
    """Everything one run of one check may use. Checks never reach the network any other way."""

    scan: ScanRequest
    surface: Surface
    baseline: Baseline
    client: Sender
    spec: CheckSpec | None = None
    framework: str | None = None  # "flask", "django", "fastapi", … when fingerprinted
    store: str | None = None  # "dynamodb" when the answers prove it (stack-specific advice)
    identities: Identities = field(default_factory=Identities)  # who the scan acts as, verified
    sent: int = field(default=0, init=False)
    _walk: list[Any] = field(default_factory=list, init=False, repr=False)  # see ``each``
    _at: int = field(default=0, init=False, repr=False)

    @property
    def base_url(self) -> str:
        """The API's base URL without a trailing slash."""
        return self.surface.base_url

    @property
    def request_cap(self) -> int | None:
        """The most requests this check may send: its declared cost."""
        if self.spec is None:
            return None
        return self.spec.max_requests + self.spec.per_operation * len(self.surface.operations)

    async def each(self, items: Iterable[_T]) -> AsyncIterator[_T]:
        """``items`` one by one, handing the event loop a turn every 5 ms.

        A walk over a large surface so never holds up the other checks, the timers or Ctrl-C,
        and it stops (``TimeBudgetExhausted``) once the time budget is spent. Items are
        operations, ``(operation, exchange)`` pairs, sources or exchanges; when the check is
        cut, ``not_reached()`` names the operations of the walk it had not finished.
        """
        walk = list(items)
        self._walk, self._at = walk, 0
        limiter = getattr(self.client, "limiter", None)
        turn = time.perf_counter()
        for index, item in enumerate(walk):
            self._at = index
            if time.perf_counter() - turn >= _SLICE_S:
                await asyncio.sleep(0)
                if limiter is not None:
                    limiter.check_time()
                turn = time.perf_counter()
            yield item
        self._walk, self._at = [], 0

    async def each_at_once(
        self, items: Iterable[_T], probe: Callable[[_T], AsyncIterator[Finding]]
    ) -> AsyncIterator[Finding]:
        """The findings of ``probe(item)`` for every item, several items probed at once.

        For walks whose items are probed independently (no state shared between them): up to
        ``AT_ONCE`` probes run together, so the scan's pace, not the check, sets the speed. The
        findings come out in item order whatever the order the answers came in, so a scan
        gives the same report every time. A budget that stops one probe stops them all; the
        items not finished are then the ones ``not_reached()`` names.
        """
        walk = list(items)
        results: dict[int, list[Finding]] = {}
        running: dict[asyncio.Task[list[Finding]], int] = {}
        started = emitted = 0

        async def run(item: _T) -> list[Finding]:
            return [finding async for finding in probe(item)]

        self._walk, self._at = walk, 0
        try:
            while emitted < len(walk):
                while started < len(walk) and len(running) < AT_ONCE:
                    running[asyncio.ensure_future(run(walk[started]))] = started
                    started += 1
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                failures = [error for task in done if (error := task.exception()) is not None]
                if failures:
                    raise failures[0]  # a budget or a bug: the walk stops here
                for task in done:
                    results[running.pop(task)] = task.result()
                while emitted in results:
                    for finding in results.pop(emitted):
                        yield finding
                    emitted += 1
                    self._at = emitted
        finally:
            for task in running:
                task.cancel()
            left = sorted({*results, *running.values(), *range(started, len(walk))})
            self._walk, self._at = [walk[index] for index in left], 0

    def not_reached(self) -> list[str]:
        """Operation keys of the walk in progress from the item being processed on, in order."""
        keys = (_operation_key(item) for item in self._walk[self._at :])
        return list(dict.fromkeys(key for key in keys if key is not None))

    def url(self, path: str) -> str:
        """An absolute URL for a path relative to the API's base (``"/admin"`` -> base + /admin)."""
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Send a probe through the shared client, counted against this check's declared cost."""
        cap = self.request_cap
        if cap is not None and self.sent >= cap:
            raise BudgetExhausted(
                f"check {self.spec.name if self.spec else '?'} reached its declared cost "
                f"of {cap} requests"
            )
        self.sent += 1
        return await self.client.send(request, follow_redirects=follow_redirects)

    def may_send(self, method: str, url: str, *, anonymous: bool = False) -> bool:
        """Whether the scan's mode and safety policy let ``method url`` go (asked before
        choosing between probing and passive reading); ``anonymous``: sent without the scan's
        identities' credentials."""
        scope = getattr(self.client, "scope", None)
        if scope is None:
            return self.scan.mode == "active" or not is_write(method)
        refusal = scope.policy.refusal(method, url, anonymous=anonymous)
        return bool(scope.allows(method, url)) and refusal is None

    def converses(self, url: str) -> None:
        """Tell the safety policy that ``url`` is an AI endpoint candidate an active scan may
        send prompts to (``http.policy.Policy.converses``)."""
        scope = getattr(self.client, "scope", None)
        if scope is not None:
            scope.policy.converses(url)

    async def undo(self) -> list[Restoration]:
        """Undo what this check wrote so far (restored, deleted, read back), as the engine does
        after every writing check; a check calls it to report the outcome in its findings."""
        journal = getattr(self.client, "journal", None)
        if journal is None:
            return []
        running = RUNNING.get()
        result: list[Restoration] = await journal.undo(running.name if running else "scan")
        return result

    def note(self, sentence: str) -> None:
        """Tell the report what this check could not assess (kept once, redacted)."""
        keep = getattr(self.client, "note", None)
        if callable(keep):
            keep(sentence)

    def in_scope(self, url: str) -> bool:
        """Whether a GET of ``url`` stays inside the scan's scope (checked before sending)."""
        scope = getattr(self.client, "scope", None)
        return scope is None or bool(scope.allows_url(url))

    def get(self, path_or_url: str, **headers: str) -> Request:
        """A GET request for a path relative to the base, or an absolute URL."""
        request = Request("GET", self.url(path_or_url))
        for name, value in headers.items():
            request = request.with_header(name.replace("_", "-"), value)
        return request

    def finding(
        self,
        type_id: str,
        operation: Operation | str,
        *,
        detail: str,
        evidence: Sequence[Exchange | Evidence | tuple[str, Exchange]] = (),
        parameter: str | None = None,
        confidence: Confidence = Confidence.firm,
        severity: Severity | None = None,
        match: str | None = None,
        advice: str | None = None,
    ) -> Finding:
        """A finding of a catalogue type; its words and mappings come from the catalogue.

        ``evidence`` items are exchanges (recorded here, ``match`` marking the first one),
        ``(label, exchange)`` pairs, or ready ``Evidence``. ``advice`` (knowledge data, such as
        the advice for a database the evidence proves) follows the catalogue's remediation.
        """
        if self.spec is not None and type_id not in self.spec.emits:
            raise ValueError(f"check {self.spec.name} does not declare {type_id!r} in emits")
        entry = catalogue()[type_id]
        op_key = operation if isinstance(operation, str) else operation.key
        recorded: list[Evidence] = []
        for index, item in enumerate(evidence):
            if isinstance(item, Evidence):
                recorded.append(item)
            elif isinstance(item, tuple):
                label, exchange = item
                recorded.append(
                    self.client.record(exchange, label=label, match=match if index == 0 else None)
                )
            else:
                recorded.append(self.client.record(item, match=match if index == 0 else None))
        return Finding(
            type_id=type_id,
            category=entry.category,
            title=entry.title,
            severity=severity or entry.severity,
            confidence=confidence,
            operation=op_key,
            parameter=parameter,
            detail=detail,
            evidence=tuple(recorded),
            fingerprint=fingerprint(type_id, op_key, parameter),
            cwe=entry.cwe,
            owasp_api_2023=entry.owasp_api_2023,
            pci_dss=entry.pci_dss,
            soc2=entry.soc2,
            remediation=" ".join(
                filter(None, [entry.remediation.for_framework(self.framework, self.store), advice])
            ),
        )


def _operation_key(item: object) -> str | None:
    """The operation key of a walked item: an operation, a pair, a source or an exchange."""
    if isinstance(item, tuple) and item:
        item = item[0]
    if isinstance(item, Operation):
        return item.key
    key = getattr(item, "operation", None)
    if isinstance(key, Operation):
        return key.key
    return key if isinstance(key, str) else getattr(item, "key", None)
