"""`python -m gateway` and the `xmpp-gateway` command."""

from gateway.startup import collections_paused


def main() -> int:
    with collections_paused():
        from gateway.cli import main as cli_main
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
