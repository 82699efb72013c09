#!/usr/bin/env python3
"""Turn Lua files into C string literals (one line of C per line of Lua), so
they ship inside the binary.

    embed.py IN... OUT            the prelude: the files joined, in the order
                                  given, into one literal (one chunk:
                                  engine/model/prelude/core.lua says why the
                                  order matters)
    embed.py --modules IN... OUT  the library (rules/lib/*.lua): one
                                  {"name", "source"}, initializer per file,
                                  named after the file without .lua
"""
import os
import sys


def literal_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.endswith("\n"):
        text = text[:-1]
    for line in text.split("\n"):
        escaped = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        yield '"%s\\n"\n' % escaped


def main(args):
    modules = args[:1] == ["--modules"]
    if modules:
        args = args[1:]
    with open(args[-1], "w", encoding="utf-8") as out:
        for path in args[:-1]:
            if modules:
                name = os.path.basename(path)[:-len(".lua")]
                out.write('{"%s",\n' % name)
            for line in literal_lines(path):
                out.write(line)
            if modules:
                out.write("},\n")


main(sys.argv[1:])
