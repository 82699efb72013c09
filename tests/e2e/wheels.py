"""Wheels the tests make themselves, for pip to install with --no-index
--find-links: a wheel is a zip of the package's files and a .dist-info
directory (METADATA, WHEEL, RECORD; the binary distribution format of the
Python packaging specifications). Made here with zipfile, so no setuptools,
wheel or index is needed, whatever python builds the venv."""

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(directory, name, version, files, requires=(), scripts=None):
    """Write NAME-VERSION-py3-none-any.whl into directory; return its path.

    files: {path in site-packages: text}; requires: Requires-Dist lines;
    scripts: {console script: "module:function"}."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    entries = dict(files)
    metadata = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    entries[f"{info}/METADATA"] = "\n".join(metadata) + "\n"
    entries[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: batou-ng-tests\n"
                                "Root-Is-Purelib: true\nTag: py3-none-any\n")
    if scripts:
        entries[f"{info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{k} = {v}\n" for k, v in sorted(scripts.items()))
    record = []
    for path, text in entries.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = Path(directory) / f"{dist}-{version}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for name_in_zip, text in entries.items():
            wheel.writestr(zipfile.ZipInfo(name_in_zip, (2020, 1, 1, 0, 0, 0)), text)
    return path
