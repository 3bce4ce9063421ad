"""A fake API for the checks' unit tests: one handler answers every request, unjournaled."""

from __future__ import annotations

from collections.abc import Callable

from middlebrick.baseline import Baseline
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, make_baseline

Answer = Callable[[Request], Response]


class FakeApi(FakeSender):
    """A ``FakeSender`` whose answers all come from one handler, like a small API; its writes
    are answered directly, not through the journal (``FakeSender(handler)`` journals them)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Answer with the handler and remember the request."""
        self.sent.append(request)
        return Exchange(request, self.answer(request))

    def baseline(self, *pairs: tuple[Operation, str]) -> Baseline:
        """The primary's baseline of each (operation, path), answered by the handler, unsent."""
        exchanges = []
        for op, path in pairs:
            request = Request("GET", BASE + path)
            exchanges.append((op, Exchange(request, self.answer(request), operation=op.key)))
        return make_baseline(exchanges)
