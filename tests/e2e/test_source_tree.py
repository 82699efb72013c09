"""The source tree keeps its architecture (docs/architecture.md): includes
between rooms go one way, no circle, each room's main header says what the
room is, and no source file grows past about 700 lines.

Run as a script, it prints the include edges between the rooms."""

import collections
import os
import re
import sys
from pathlib import Path

try:
    import pytest
except ImportError:  # run as a script: only the table
    pytest = None

ROOT = Path(__file__).resolve().parents[2]
TOPS = ["engine", "rules", "hosts", "environments"]
# The order of docs/architecture.md: a room may include only rooms after it.
ORDER = ["engine/cli", "engine/deploy", "engine/model", "engine/graph", "rules",
         "engine/template", "hosts", "environments", "engine/state", "engine"]
MAIN_HEADERS = {
    "engine": "engine/util.h", "engine/cli": "engine/cli/main.c",
    "engine/deploy": "engine/deploy/deploy.h", "engine/model": "engine/model/model.h",
    "engine/graph": "engine/graph/graph.h", "engine/template": "engine/template/template.h",
    "engine/state": "engine/state/state.h", "rules": "rules/rule.h", "hosts": "hosts/host.h",
    "environments": "environments/environment.h",
}
MAX_LINES = 720  # "about 700"


def room_of(path):
    parts = path.split("/")
    if parts[0] == "engine" and len(parts) > 2:
        return "engine/" + parts[1]
    return parts[0]


def source_files():
    for top in TOPS:
        for dirpath, _, files in os.walk(ROOT / top):
            for name in sorted(files):
                if name.endswith((".c", ".h", ".lua")):
                    yield (Path(dirpath) / name).relative_to(ROOT).as_posix()


def include_edges():
    """{(from room, to room): [(file, included header)]}"""
    edges = collections.defaultdict(list)
    for path in source_files():
        if not path.endswith((".c", ".h")):
            continue
        for header in re.findall(r'#include "([^"]+)"', (ROOT / path).read_text()):
            if header.endswith(".inc"):
                continue  # generated into obj/ (the prelude)
            a, b = room_of(path), room_of(header)
            if a != b:
                edges[(a, b)].append((path, header))
    return edges


def test_every_room_is_known():
    rooms = {room_of(p) for p in source_files()}
    assert rooms <= set(ORDER), rooms - set(ORDER)


def test_includes_go_one_way_down():
    upward = [f"{f} includes {h} ({a} -> {b})"
              for (a, b), hits in include_edges().items()
              if ORDER.index(b) < ORDER.index(a) for f, h in hits]
    assert not upward, "\n".join(upward)


def test_no_circle_between_rooms():
    graph = collections.defaultdict(set)
    for a, b in include_edges():
        graph[a].add(b)
    state = {}

    def visit(room, path):
        state[room] = "open"
        for nxt in sorted(graph[room]):
            if state.get(nxt) == "open":
                pytest.fail("circle: " + " -> ".join(path + [room, nxt]))
            if nxt not in state:
                visit(nxt, path + [room])
        state[room] = "done"

    for room in sorted(graph):
        if room not in state:
            visit(room, [])


def test_main_header_says_what_the_room_is():
    missing = [f"{header} lacks its 'Room {room}/' comment"
               for room, header in sorted(MAIN_HEADERS.items())
               if f"Room {room}/" not in (ROOT / header).read_text()[:1200]]
    assert not missing, "\n".join(missing)


def test_no_source_file_is_too_long():
    long = [f"{p}: {n} lines" for p in source_files()
            if (n := (ROOT / p).read_text().count("\n")) > MAX_LINES]
    assert not long, "\n".join(long)


if __name__ == "__main__":
    edges = include_edges()
    for room in ORDER:
        targets = [b for b in ORDER if (room, b) in edges]
        if targets:
            print(f"{room} -> {', '.join(targets)}")
    sys.exit(0)
