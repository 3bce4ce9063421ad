"""ReDoS in the JSON body of a creation (active mode), each object the probes make deleted.

``POST /subscriptions`` validates the e-mail address with a real regular expression and
reports the CPU time the match took as the response's measured time; a valid address creates
a subscription (201 with ``Location``), deleted through the journal like every probe's object.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest

from middlebrick.config import ScanRequest
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

CATASTROPHIC = re.compile(
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$"
)
LINEAR = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}$")
LIST = Operation("GET", "/subscriptions")
CREATE = Operation(
    "POST",
    "/subscriptions",
    request_body=RequestBody("application/json", examples=({"email": "alice@shop.com"},)),
    responses={"201": {}},
)
ITEM = (Parameter("subscription_id", "path", required=True),)
READ = Operation("GET", "/subscriptions/{subscription_id}", parameters=ITEM)
DELETE = Operation("DELETE", "/subscriptions/{subscription_id}", parameters=ITEM)


class Subscriptions(FakeSender):
    """Subscriptions kept in a dict; the e-mail matched against ``pattern`` and timed."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern
        self.rows: dict[int, str] = {}
        self.next = 1

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        path = urlsplit(request.url).path
        if request.method == "POST":
            email = str(json.loads(request.body or b"{}").get("email", ""))
            started = time.thread_time()
            valid = bool(self.pattern.match(email))
            took = time.thread_time() - started
            if not valid:
                made = response(422, {"detail": "invalid e-mail address"})
            else:
                self.rows[self.next] = email
                made = response(201, {"id": self.next, "email": email})
                made = Response(
                    201,
                    made.headers.set("Location", f"/subscriptions/{self.next}"),
                    made.body,
                    request.url,
                )
                self.next += 1
            timed = Response(
                made.status, made.headers, made.body, request.url, elapsed_ms=5 + took * 1000
            )
            return Exchange(request, timed)
        if path == "/subscriptions":
            return Exchange(request, response(200, {"data": list(self.rows.values())}))
        number = int(path.rsplit("/", 1)[-1])
        if number not in self.rows:
            return Exchange(request, response(404, {"detail": "Not Found"}))
        if request.method == "DELETE":
            del self.rows[number]
            return Exchange(request, response(204, None))
        return Exchange(request, response(200, {"id": number, "email": self.rows[number]}))


async def _scan(sender: Subscriptions, mode: str = "active") -> list[Finding]:
    listing = exchange("GET", "/subscriptions", response(200, {"data": []}))
    return await run_check(
        "input_validation.redos",
        baseline=make_baseline([(LIST, listing)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode=mode),  # type: ignore[arg-type]
        surface=Surface(base_url=BASE, operations=(LIST, CREATE, READ, DELETE)),
    )


@pytest.mark.parametrize("catastrophic", [True, False])
async def test_redos_times_a_validated_field_of_a_creations_body_in_active_mode(
    catastrophic: bool,
) -> None:
    sender = Subscriptions(CATASTROPHIC if catastrophic else LINEAR)

    found = await _scan(sender)

    assert [(f.operation, f.parameter) for f in found] == (
        [("POST /subscriptions", "body.email")] if catastrophic else []
    )
    assert sender.rows == {}
    assert {r.state for r in sender.journal.results} <= {"deleted"}


async def test_redos_never_posts_in_safe_mode() -> None:
    sender = Subscriptions(CATASTROPHIC)

    assert await _scan(sender, mode="safe") == []
    assert [r for r in sender.sent if r.method != "GET"] == []
