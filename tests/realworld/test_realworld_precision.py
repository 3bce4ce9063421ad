"""The real-world benchmark as a gate: precision on real APIs nobody here wrote.

Not run by default (it installs nine apps from PyPI and scans each twice: the 18 scans take
5 minutes on the 2-core machine with the virtualenvs cached, installing them from scratch about
10 more): ``.venv/bin/pytest -m realworld``. It fails on a finding not yet judged, a false
high/critical, or precision below 90 %; the integrator decides when it gates.
"""

from __future__ import annotations

import pytest

from benchmarks import realworld

pytestmark = pytest.mark.realworld


def test_realworld_precision_holds_on_every_app_in_both_modes() -> None:
    verdicts = realworld.load_verdicts()
    outcomes, _ = realworld.run(
        list(realworld.apps.APPS), realworld.MODES, realworld.apps.default_cache(), None, verdicts
    )
    errors = [f"{o.app} ({o.mode}): {o.error}" for o in outcomes if o.error]
    total = realworld.totals(outcomes)
    unjudged = [(o.app, o.mode, f) for o in outcomes for f in o.unjudged]
    false_severe = [(o.app, o.mode, f) for o in outcomes for f in o.false_severe]

    assert not errors, errors
    assert not unjudged, f"{len(unjudged)} finding(s) not yet judged: {unjudged[:20]}"
    assert not false_severe, f"{len(false_severe)} false high/critical: {false_severe[:20]}"
    assert total.precision is not None and total.precision >= 0.90, (
        f"precision above info {total.precision:.1%} ({total.true} true, {total.false} false)"
    )
