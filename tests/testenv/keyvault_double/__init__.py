"""The Key Vault test double (server.py) and its test-side helpers (client.py)."""
