"""Encryption / transport (API8): HTTPS, HSTS, cookie flags, TLS versions and certificates."""
