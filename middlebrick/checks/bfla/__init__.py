"""BFLA / privilege (API5): functions reachable by callers without the privilege."""
