"""Rate limiting / resources (API4): bursts, page sizes, oversized responses."""
