"""The ARM test double (see README.md); server.py is its entry point."""
