"""The network's shared channel directory: who is in which channel, both ways, under the server's casemapping."""

from __future__ import annotations

from gateway.transports.irc.addressing import Casemapping
from gateway.transports.irc.channel import ChannelDirectory


def test_each_holder_knows_its_channels_and_leaves_nothing_behind() -> None:
    directory: ChannelDirectory[str] = ChannelDirectory()
    directory.enter("#Chat", "alice")
    directory.enter("#chat", "bob")
    directory.enter("#other", "alice")
    assert directory.holds("#CHAT", "alice") and directory.holds("#chat", "bob")
    assert not directory.holds("#other", "bob")
    assert sorted(directory.held("alice")) == ["#Chat", "#other"] and directory.held("carol") == []
    assert directory.leave("#chat", "alice") == "bob"  # the writer left: bob takes over
    assert directory.writer("#chat") == "bob" and directory.held("alice") == ["#other"]
    directory.leave("#other", "alice")
    directory.leave("#chat", "bob")
    assert directory.get("#chat") is None and directory._held == {} and directory._holders == {}


def test_a_new_casemapping_folds_both_directions_again() -> None:
    directory: ChannelDirectory[str] = ChannelDirectory()
    directory.enter("#a[b]", "alice")
    assert directory.holds("#A{B}", "alice")  # rfc1459: [] are the upper case of {}
    directory.rekey(Casemapping.ASCII)
    assert directory.holds("#A[B]", "alice") and not directory.holds("#a{b}", "alice")
    assert directory.held("alice") == ["#a[b]"]
