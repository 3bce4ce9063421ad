"""Property authorization (API3): sensitive properties and mass assignment."""
