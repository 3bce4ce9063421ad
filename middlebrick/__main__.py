"""``python -m middlebrick``: the same command as ``middlebrick``."""

from middlebrick.cli import main

main()
