"""The one aiohttp server: health, metrics, and the routes transports mount (webhooks)."""
