"""Unsafe consumption (API10): callbacks, open redirects, third-party content relayed."""
