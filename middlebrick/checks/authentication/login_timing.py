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

UNKNOWN_USERS, PER_UNKNOWN = 3, 2
"""Made-up users, and wrong passwords for each."""

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
    2 for each of 3 made-up users (9 requests, each a failed login). Stops at once when an
    answer is refused (429, 423, Retry-After), is not a failed login, or differs in status or
    body (the submitted values blanked) from the others: a different answer is what the login
    check reports, and a limit means the probe must not go on. Not timed when an unknown
    user's login took over 1 s.

    Reported (firm) when every one of the existing user's times is above every unknown user's,
    and the gap between the medians is at least 0.1 s and at least five times the spread of
    the unknown users' times (the largest minus the smallest): the server does work (a
    password hash) for existing users only. Network jitter spreads the unknown users' times
    too, so it cannot make this fire.
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
    gap = statistics.median(mine) - statistics.median(theirs)
    spread = max(theirs) - min(theirs)
    if min(mine) <= max(theirs) or gap < GAP_S or gap < JITTER_TIMES * spread:
        return
    yield ctx.finding(
        _ENUM,
        login.operation,
        parameter=login.user_field,
        detail=f"`{login.operation.key}` answers a wrong password with the same status and body "
        f"for everyone, but takes {statistics.median(mine):.3f} s (median of {len(mine)}: "
        f"{_times(mine)}) for an existing user (the scan's own) and "
        f"{statistics.median(theirs):.3f} s (median of {len(theirs)}: {_times(theirs)}) for "
        f"made-up ones, whose own times spread over {spread * 1000:.0f} ms: the password is "
        "checked only when the user exists, so the time tells which accounts exist",
        evidence=evidence,
        confidence=Confidence.firm,
    )


async def _sample(
    ctx: CheckContext, login: Login, known: str
) -> tuple[list[float], list[float], list[tuple[str, Exchange]]] | None:
    """Interleaved times of the known and unknown users' failed logins; ``None`` when the
    probe stopped (a limit, an answer that differs or succeeds, a slow target)."""
    unknown = [login.unknown_user() for _ in range(UNKNOWN_USERS)]
    order = [known, *unknown[:2], known, unknown[2], unknown[0], known, *unknown[1:]]
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


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)
