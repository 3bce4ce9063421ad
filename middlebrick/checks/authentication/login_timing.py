"""Authentication: a login that takes longer for existing users than for unknown ones.

Active mode only. The classic flaw: the password hash (bcrypt, PBKDF2, Argon2: tenths of a
second by design) is computed only when the user exists, so the time of a failed login says
whether the name has an account even when its status and message do not. The scan's own user
gets at most three wrong passwords here, and the probe stops at the first sign of a limit.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import AsyncIterator
from dataclasses import replace

from middlebrick.checks._timing import SLOW_TARGET_S, seconds
from middlebrick.checks.authentication import _auth_answers as replies
from middlebrick.checks.authentication.login import Login, find_login, known_username, shape
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange

_ENUM = "authentication.user-enumeration"

KNOWN_SAMPLES = 3
"""Wrong passwords for the scan's own user (with the login check's two: five at most, the
lockout threshold most account-lockout defaults allow or exceed)."""

UNKNOWN_USERS, PER_UNKNOWN = 4, 2
"""Made-up users, and wrong passwords for each (cheap: no real account is ever locked)."""

OUTLIERS = 1
"""The unknown users' slowest times set aside as stalls (a busy target, a garbage collection,
a retransmission): one stall among them must not hide a hash's cost."""

GAP_S = 0.1
"""The least gap between the medians: a hash's cost (bcrypt cost 10 and Django's PBKDF2 take
tenths of a second), far above a loopback or LAN round trip's jitter."""

JITTER_TIMES = 5.0
"""The gap must also be this many times the spread seen among the unknown users' own times."""


@check(
    category="authentication",
    emits={_ENUM},
    mode="active",
    max_requests=KNOWN_SAMPLES + UNKNOWN_USERS * PER_UNKNOWN,
)
async def login_timing(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Login user enumeration by timing: a failed login of an existing user that takes longer.

    Uses the login and the scan's own username that the login check finds. Sends, one at a
    time and never from the cache, 3 wrong passwords for the scan's own user interleaved with
    2 for each of 4 made-up users (11 requests, each a failed login). Stops at once when an
    answer is refused (429, 423, Retry-After), is not a failed login, or differs in status or
    body (the submitted values blanked) from the others: a different answer is what the login
    check reports, and a limit means the probe must not go on. Not timed when an unknown
    user's login took over 1 s.

    The unknown users' slowest time is set aside as a possible stall. Reported (firm) when
    every one of the existing user's times is above every other unknown user's, and the gap
    between the medians is at least 0.1 s and at least five times the spread of those other
    times (the largest minus the smallest): the server does work (a password hash) for
    existing users only. Network jitter spreads the unknown users' times too, so it cannot
    make this fire: it would have to slow all three of the existing user's attempts, which
    alternate with the others, and no more than one of the eight others.
    """
    login = find_login(ctx)
    if login is None:
        return
    known = known_username(ctx, login.user_field)
    if known is None:
        return
    timed = await _sample(ctx, login, known)
    if timed is None:
        return
    mine, theirs, evidence = timed
    verdict = _gap(mine, theirs)
    if verdict is None:
        return
    _, spread = verdict
    yield ctx.finding(
        _ENUM,
        login.operation,
        parameter=login.user_field,
        detail=f"`{login.operation.key}` answers a wrong password with the same status and body "
        f"for everyone, but takes {statistics.median(mine):.3f} s (median of {len(mine)}: "
        f"{_times(mine)}) for an existing user (the scan's own) and "
        f"{statistics.median(theirs):.3f} s (median of {len(theirs)}: {_times(theirs)}) for "
        f"made-up ones, whose own times (the slowest set aside) spread over "
        f"{spread * 1000:.0f} ms: the password is "
        "checked only when the user exists, so the time tells which accounts exist",
        evidence=evidence,
        confidence=Confidence.firm,
    )


async def _sample(
    ctx: CheckContext, login: Login, known: str
) -> tuple[list[float], list[float], list[tuple[str, Exchange]]] | None:
    """Interleaved times of the known and unknown users' failed logins; ``None`` when the
    probe stopped (a limit, an answer that differs or succeeds, a slow target)."""
    unknown = [login.unknown_user() for _ in range(UNKNOWN_USERS)] * PER_UNKNOWN
    step = -(-len(unknown) // KNOWN_SAMPLES)  # the made-up users' attempts after each of ours
    order = [u for i in range(KNOWN_SAMPLES) for u in (known, *unknown[i * step : (i + 1) * step])]
    mine: list[float] = []
    theirs: list[float] = []
    first: tuple[int | None, str] | None = None
    evidence: list[tuple[str, Exchange]] = []
    for user in order:
        password = f"mb-wrong-{secrets.token_hex(6)}"
        request = login.request(user, password)
        exchange = await ctx.send(replace(request, fresh=True))
        took = seconds(exchange)
        if took is None or replies.limited(exchange) or not replies.failed(exchange):
            return None
        said = shape(exchange, (user, password))
        if first is None:
            first = said
        elif said != first:
            return None
        if user == known:
            mine.append(took)
            if len(evidence) == 0:
                evidence.append(("existing user", exchange))
        else:
            if took > SLOW_TARGET_S:
                return None
            theirs.append(took)
            if len(evidence) == 1:
                evidence.append(("unknown user", exchange))
    return mine, theirs, evidence


def _gap(mine: list[float], theirs: list[float]) -> tuple[float, float] | None:
    """The gap between the medians and the unknown users' spread (their slowest ``OUTLIERS``
    set aside) when the existing user's times stand apart from theirs; else ``None``."""
    rest = sorted(theirs)[: len(theirs) - OUTLIERS]
    gap = statistics.median(mine) - statistics.median(theirs)
    spread = max(rest) - min(rest)
    if min(mine) <= max(rest) or gap < GAP_S or gap < JITTER_TIMES * spread:
        return None
    return gap, spread


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)
