"""The one exception tree of middlebrick.

Every problem with the tool or its use is a subclass of :class:`MiddlebrickError` and carries the
exit code the CLI returns for it. Findings are values, never exceptions.

::

    MiddlebrickError (exit 2)
    ├── UsageError              bad flag, bad config value, unreadable file (exit 2)
    │   └── CredentialsRejected the target rejects the credentials given for an identity
    ├── SpecError               the API description cannot be loaded or understood (exit 2)
    ├── TargetUnreachable       the target did not answer at all (exit 3)
    ├── NotApplicable           a check found nothing it applies to (no AI endpoint)
    ├── SignatureError          a webhook delivery's signature is missing, stale or wrong
    └── ScanInterrupted         internal control flow: a limit of the scan was reached
        ├── BudgetExhausted     the request budget is spent
        ├── TimeBudgetExhausted the time budget is spent
        │   └── Interrupted     the user pressed Ctrl-C: the scan stops as if its time were spent
        ├── ScopeViolation      a request would leave the scan's scope (host or method)
        └── SessionBroken       an identity's session broke; requests as it stop

Foreign errors (aiohttp, yaml, pydantic) are translated at the boundary with ``raise … from exc``.
"""

from __future__ import annotations


class MiddlebrickError(Exception):
    """Root of every error middlebrick raises on purpose."""

    exit_code: int = 2


class UsageError(MiddlebrickError):
    """A flag, config value or input file is wrong; the message says which and what to do."""

    exit_code = 2


class CredentialsRejected(UsageError):
    """The target answers 401 to an identity's credentials where they should let it in."""


class SpecError(MiddlebrickError):
    """The OpenAPI/Swagger document cannot be loaded or is not an API description."""

    exit_code = 2


class TargetUnreachable(MiddlebrickError):
    """The target did not answer: connection refused, DNS failure or timeout on every attempt."""

    exit_code = 3


class NotApplicable(MiddlebrickError):
    """A check found nothing it applies to (e.g. no AI endpoint): its category is not checked.

    Raised by a check, caught by the engine; never reaches a user as an error.
    """

    exit_code = 0


class SignatureError(MiddlebrickError):
    """A webhook delivery's ``Middlebrick-Signature`` is missing, malformed, stale or wrong.

    Raised by ``middlebrick.webhooks.verify`` in a receiver, which should answer 400 and drop it.
    """


class ScanInterrupted(MiddlebrickError):
    """A limit of the scan stopped further requests; the scan reports what it has."""

    exit_code = 0


class BudgetExhausted(ScanInterrupted):
    """The scan's request budget is spent."""


class TimeBudgetExhausted(ScanInterrupted):
    """The scan's time budget is spent."""


class Interrupted(TimeBudgetExhausted):
    """The user interrupted the scan (Ctrl-C): it stops as if its time were spent and reports
    what it has, marked incomplete; the CLI exits 130."""


class ScopeViolation(ScanInterrupted):
    """A request would leave the scan's scope (another host, or a method the mode forbids)."""


class SessionBroken(ScanInterrupted):
    """An identity's session broke during the scan (answers 401/403/5xx where it had not)."""
