"""SSRF (API7): URL inputs the server fetches."""
