"""hello, the web app of batou-ng's demo and tutorial (docs/tutorial.md).

`hello CONFIG` serves its greeting at / and the files of its htdocs
directory (if the config names one) below /static/, over HTTP, with the
standard library's wsgiref. CONFIG is an INI file with a [server] section:
address, port, greeting and, optionally, htdocs."""

import configparser
import mimetypes
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

__version__ = "1.0"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def application(server):
    greeting = server["greeting"]
    htdocs = server.get("htdocs")

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [(greeting + "\n").encode()]
        name = path[len("/static/"):] if path.startswith("/static/") else ""
        file = os.path.join(htdocs, name) if htdocs and name and ".." not in name else None
        if file and os.path.isfile(file):
            kind = mimetypes.guess_type(file)[0] or "application/octet-stream"
            start_response("200 OK", [("Content-Type", kind)])
            with open(file, "rb") as f:
                return [f.read()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hello CONFIG")
    config = configparser.ConfigParser(interpolation=None)
    if not config.read(sys.argv[1]):
        sys.exit(f"hello: cannot read {sys.argv[1]}")
    server = config["server"]
    httpd = make_server(server["address"], int(server["port"]), application(server),
                        handler_class=QuietHandler)
    httpd.serve_forever()
