"""BOLA / IDOR (API1): objects read or changed by an identity that does not own them."""
