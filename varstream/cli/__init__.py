"""The ``varstream`` command line: one program, one subcommand per job, ``--help`` on each.

The CLI is the top layer: it composes the offline tools (:mod:`.offline`), the stream
(:mod:`.stream`), the science view (:mod:`.view`) and classifying one's own curves
(:mod:`.classify`); nothing below imports it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from varstream import __version__


def build_parser() -> argparse.ArgumentParser:
    from varstream.cli.classify import add_classify_command
    from varstream.cli.offline import add_offline_commands
    from varstream.cli.stream import add_stream_commands
    from varstream.cli.view import add_view_commands

    parser = argparse.ArgumentParser(
        prog="varstream",
        description="Streaming classifier of variable stars: datasets, features, training, and the Kafka stream.",
    )
    parser.add_argument("--version", action="version", version=f"varstream {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_offline_commands(sub)
    add_stream_commands(sub)
    add_view_commands(sub)
    add_classify_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
