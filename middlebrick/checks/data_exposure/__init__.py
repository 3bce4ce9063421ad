"""Data exposure (API3/API8): PII, secrets, internals in bodies, headers, URLs and config."""
