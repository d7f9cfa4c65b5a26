"""Test helpers shared across test packages (XMPP clients for real servers)."""
