#!/usr/bin/env python3
"""Turn a Lua file into a C string literal (one line of C per line of Lua),
so the prelude ships inside the binary: embed.py IN OUT."""
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    lines = f.read().split("\n")
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        out.write('"%s\\n"\n' % escaped)
