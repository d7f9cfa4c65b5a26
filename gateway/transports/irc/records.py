"""Network settings as the store keeps them; shared by the admin commands and the start-up upsert."""

from __future__ import annotations

from gateway.store.irc import NetworkRecord
from gateway.transports.irc.settings import IrcNetwork


def to_record(network: IrcNetwork, origin: str, with_password: bool = True) -> NetworkRecord:
    password = network.password.get_secret_value() if network.password is not None and with_password else None
    return NetworkRecord(name=network.name, host=network.host, port=network.port, tls=network.tls,
                         verify_certificate=network.verify_certificate, ca_file=network.ca_file,
                         encoding_fallback=network.encoding_fallback,
                         max_line_bytes=network.max_line_bytes, origin=origin, password=password)
