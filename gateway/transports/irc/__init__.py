"""IRC transport: each XMPP user gets their own IRC connection per network; channels are group chats."""
