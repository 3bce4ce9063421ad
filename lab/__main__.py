"""``python -m lab up|down|status``: start the lab in the background, stop it, or show it.

``up`` prints every target's URL, spec URL and the users' bearer tokens; the lab keeps running
after the command returns (see ``lab.runner.state_path()``) until ``down``.
"""

from __future__ import annotations

import argparse
import sys

from lab import SERVICES, runner


def _show(lab: runner.Lab) -> None:
    print(f"DynamoDB: {lab.endpoint_url}")
    for target in lab.targets:
        print(f"\n{target.name} ({target.framework}): {target.url}  spec: {target.spec_url}")
        for user, token in target.tokens.items():
            print(f"  {user:<6} {target.auth_scheme} {token}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--services", help=f"comma-separated, from {', '.join(SERVICES)}")
    args = parser.parse_args(argv)
    if args.command == "up":
        services = args.services.split(",") if args.services else None
        _show(runner.start(services, detach=True))
        print(f"\nstop it with: python -m lab down   (state: {runner.state_path()})")
        return 0
    if args.command == "down":
        stopped = runner.down()
        print("lab stopped" if stopped else "no lab was running")
        return 0
    lab = runner.current()
    if lab is None:
        print("no lab is running")
        return 1
    _show(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
