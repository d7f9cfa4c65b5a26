"""Launchers for real XMPP servers (Prosody, ejabberd) on loopback, for tests and `xmpp-gateway demo`."""
