"""Input validation (API8): injection, CORS, methods, debug modes, types, traversal, ReDoS."""
