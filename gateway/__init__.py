"""xmpp-gateway: XMPP components that bridge an XMPP server's users to SMS and IRC."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xmpp-gateway")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
