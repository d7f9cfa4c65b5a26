"""`python -m bench.fixed_rate`: XMPP->IRC with one user at fixed rates, after a full-load run, latency split by
recipient (the IRC channel, the sender's reflection).

`make bench` measures latency at half of each run's own throughput, so two versions are measured at different
rates; this offers the same rates to both (`--source` runs another checkout, as `make bench BASELINE=` extracts
one). The full-load run first leaves what load leaves behind (a grown journal and WAL, lazy bookkeeping).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from bench.irc_load import RawIrcLoad
from bench.measure import Tracker, latency, percentile, throughput
from bench.paths import join_room
from bench.run import Bench, Sizes, gateway_room
from bench.xmpp_load import CLIENT_NS, RawXmppClient, body_of, message_xml

SIZES = Sizes(10, 10, group_users=20, shared_users=20, sms_idle_users=1, profile_seconds=5, archive_rows=1000)


def _route(sender: RawXmppClient, observer: RawIrcLoad, xmpp: list[Tracker], irc: list[Tracker]) -> None:
    """What the sender receives (its reflections) goes to the `xmpp` trackers, what IRC sees to the `irc` ones."""
    def on_stanza(elem: ET.Element) -> None:
        if elem.tag == CLIENT_NS + "message":
            for tracker in xmpp:
                tracker.got_text(body_of(elem))

    def on_privmsg(_source: str, _target: str, text: str) -> None:
        for tracker in irc:
            tracker.got_text(text)

    sender.on_stanza, observer.on_privmsg = on_stanza, on_privmsg


def _sending(sender: RawXmppClient, room: str, tracker: Tracker, also: list[Tracker]) -> Callable[[int], None]:
    """Sends message `seq` of `tracker` (which the measurement marks sent) and marks it sent in `also`."""
    def send(seq: int) -> None:
        for other in also:
            other.mark_sent(seq)
        sender.send(message_xml(room, tracker.body(seq), "groupchat"))

    return send


def _percentiles(tracker: Tracker) -> str:
    ordered = sorted(tracker.latencies)
    return " ".join(f"p{pct} {percentile(ordered, pct) * 1000:.1f}" for pct in (50, 90, 99))


async def run(rates: list[float], seconds: float, rounds: int, source: Path | None) -> None:
    bench = Bench(SIZES, "", Path(tempfile.mkdtemp(prefix="bench-fixed-")), frozenset({"gateway"}))
    try:
        await bench.setup()
        settings = bench.gateway_settings()
        settings.source = source
        process, _ = await bench.stack.start_gateway(settings, name="gateway-fixed-rate")
        observer = bench.observer
        assert observer is not None
        try:
            channel = "#fixed1"
            room = gateway_room(channel)
            sender = bench.clients[0]
            await observer.join(channel)
            await join_room([sender], room, observer, channel)
            for round_ in range(rounds):
                load = Tracker(f"t{round_}-", 2)
                _route(sender, observer, [load], [load])
                done = await throughput(load, _sending(sender, room, load, []), SIZES.throughput_seconds, 100,
                                        drain=sender.drain)
                print(f"round {round_ + 1}: full load {done.rate:,.0f} msgs/s", flush=True)
                for rate in rates:
                    both = Tracker(f"r{round_}-{rate:g}-", 2)
                    reflected, irc = Tracker(both.tag, 1), Tracker(both.tag, 1)
                    _route(sender, observer, [both, reflected], [both, irc])
                    result = await latency(both, _sending(sender, room, both, [reflected, irc]), rate, seconds,
                                           drain=sender.drain)
                    print(f"  {rate:,.0f}/s: all p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms, lost "
                          f"{result.lost}; IRC {_percentiles(irc)}; reflection {_percentiles(reflected)}", flush=True)
        finally:
            bench.stack.stop(process)
    finally:
        await bench.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixed_rate", description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,2000", help="messages/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate")
    parser.add_argument("--rounds", type=int, default=2, help="full-load runs, each followed by every rate")
    parser.add_argument("--source", type=Path, help="another checkout's directory (holding gateway/) to run")
    args = parser.parse_args(argv)
    asyncio.run(run([float(r) for r in args.rates.split(",")], args.seconds, args.rounds, args.source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
