"""Commands that serve both XEP-0050 ad-hoc and chat text sent to a component's JID, declared without XMPP.

Transports declare their own commands with these types (they never import slixmpp); the XEP-0050 glue
(xmpp/adhoc.py) turns fields into data forms, the chat glue (xmpp/chat.py) reads them from a line of text.
Access is checked on every call, in `CommandSet.authorize`.
"""
