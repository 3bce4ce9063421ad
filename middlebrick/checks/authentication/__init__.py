"""Authentication (API2): declared security, JWTs, login, logout, reset, registration."""
