"""A fake API for the input_validation unit tests: one handler answers every request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.testing import FakeSender

Answer = Callable[[Request], Response]


class FakeApi(FakeSender):
    """A ``FakeSender`` whose answers all come from one handler, like a small API."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Answer with the handler and remember the request."""
        self.sent.append(request)
        return Exchange(request, self.answer(request))


@pytest.fixture
def api() -> Callable[[Answer], FakeApi]:
    """``api(handler)``: a sender that answers every request with ``handler(request)``."""
    return FakeApi
