#!/usr/bin/env python3
"""Join Lua files into one C string literal (one line of C per line of Lua),
so the prelude ships inside the binary as one chunk: embed.py IN... OUT.
The files are joined in the order given (engine/model/prelude/core.lua says
why the order matters)."""
import sys

with open(sys.argv[-1], "w", encoding="utf-8") as out:
    for path in sys.argv[1:-1]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if text.endswith("\n"):
            text = text[:-1]
        for line in text.split("\n"):
            escaped = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
            out.write('"%s\\n"\n' % escaped)
