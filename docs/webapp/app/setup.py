# The demo's web app as a Python package: `python3 -m pip wheel` builds it
# (docs/demo.sh), a batou-ng Package installs the wheel into a VirtualEnv.
from setuptools import setup

setup(
    name="hello",
    version="1.0",
    description="the web app of batou-ng's demo",
    packages=["hello"],
    entry_points={"console_scripts": ["hello = hello:main"]},
)
