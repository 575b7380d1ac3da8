"""``vimod diacritics`` command group (build / check / restore).

Standalone: ``python -m models.cli diacritics restore < in.txt``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys

import click


def _stdin_lines():
    stream = sys.stdin
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        stream.reconfigure(encoding="utf-8", errors="replace")
    for line in stream:
        yield line.rstrip("\n").rstrip("\r")


def _out():
    out = sys.stdout
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        out.reconfigure(encoding="utf-8", line_buffering=True)
    return out


@click.group(name="diacritics")
def diacritics() -> None:
    """Vietnamese diacritics: build the restoration model, check and restore text."""


@diacritics.command("build")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Accented corpus: one paragraph per line, blank line between articles "
                   "(.gz ok).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Artifact to write (e.g. models/diacritics/vn_diacritics.npz).")
@click.option("--extra", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Extra accented texts (CSV with a content/Comment column, or one text "
                   "per line), e.g. reader comments; repeatable.")
@click.option("--extra-weight", type=int, default=3, show_default=True,
              help="How many times each extra text is counted.")
@click.option("--limit", type=int, default=None, help="Only the first N articles (for tests).")
@click.option("--min-count", "min_counts", multiple=True, metavar="LEVEL=N",
              help="Prune rows of a context level below N occurrences, e.g. l3=2.")
def build_cmd(corpus: str, out: str, extra: tuple[str, ...], extra_weight: int,
              limit: int | None, min_counts: tuple[str, ...]) -> None:
    """Build the restoration model from CORPUS into OUT."""
    from models.diacritics.build import build, count_articles

    mc = {}
    for item in min_counts:
        k, _, v = item.partition("=")
        mc[k.strip()] = int(v)
    total = limit if limit is not None else count_articles(corpus)
    with click.progressbar(length=total, label="reading articles", file=sys.stderr) as bar:
        build(corpus, out, min_counts=mc, limit=limit, progress=bar.update,
              extra=list(extra), extra_weight=extra_weight,
              log=lambda msg: click.echo("\n" + msg, err=True))


@diacritics.command("restore")
def restore_cmd() -> None:
    """Read lines on stdin, write the lines with marks restored on stdout."""
    from models.diacritics.restorer import restore, restore_many

    out = _out()
    lines = _stdin_lines()
    if sys.stdin.isatty():  # interactive: answer each line at once
        for line in lines:
            out.write(restore(line) + "\n")
    else:  # piped: batches of lines are much faster (same output)
        while chunk := list(itertools.islice(lines, 256)):
            out.write("".join(r + "\n" for r in restore_many(chunk)))
    out.flush()


@diacritics.command("check")
def check_cmd() -> None:
    """Read lines on stdin, write one JSON verdict per line on stdout."""
    from models.diacritics import check

    out = _out()
    for line in _stdin_lines():
        out.write(json.dumps(check(line).to_dict(), ensure_ascii=False) + "\n")
    out.flush()


@click.group()
def cli() -> None:
    """Standalone entry point (``python -m models.cli diacritics ...``)."""


cli.add_command(diacritics)

if __name__ == "__main__":
    cli()
