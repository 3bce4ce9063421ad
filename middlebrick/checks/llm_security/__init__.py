"""LLM / AI: AI endpoints, prompt leakage, prompt injection."""
