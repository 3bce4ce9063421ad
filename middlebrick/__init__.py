"""middlebrick: a self-hosted API security scanner."""

__version__ = "0.1.0"
