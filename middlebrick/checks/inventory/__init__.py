"""Inventory (API9): versions, fingerprints, docs, deprecated and undocumented operations."""
