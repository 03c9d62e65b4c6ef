#!/usr/bin/env python3
"""Renders the reliability suite's figures (.local/reliability/<scenario>.json, written by
tests/tests/reliability/) into RELIABILITY.md, between its `<!-- figures -->` markers.
Usage: render_reliability.py FIGURES_DIR RELIABILITY_MD"""
import datetime
import json
import pathlib
import sys

START, END = "<!-- figures -->", "<!-- /figures -->"


def cell(value):
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def main():
    figures_dir, document = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    rows = []
    for path in sorted(figures_dir.glob("*.json")):
        figures = json.loads(path.read_text())
        injected = figures.pop("injected", "")
        measured = "; ".join(f"{k.replace('_', ' ')}: {cell(v)}" for k, v in figures.items())
        stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
        rows.append(f"| `{path.stem}` | {injected} | {measured} | {stamp:%Y-%m-%d %H:%M} UTC |")
    table = "\n".join(
        ["| scenario | injected | measured | run |", "|---|---|---|---|", *rows]
    )
    text = document.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    document.write_text(f"{before}{START}\n{table}\n{END}{after}")
    print(f"{document}: {len(rows)} scenarios")


if __name__ == "__main__":
    main()
