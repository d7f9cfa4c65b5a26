"""SMS through Twilio: settings, E.164 addressing, segment counting, error texts, the API client and a sandbox.

The transport adapter that wires these into the core lives beside them (see DESIGN.md); the modules here are
self-contained and import nothing from `gateway.xmpp`.
"""
