"""slixmpp components, one per transport domain: stanzas <-> core events."""
