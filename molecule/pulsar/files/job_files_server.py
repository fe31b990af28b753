"""A stand-in for Galaxy's job files API, for Pulsar endpoints in message-queue mode.

In AMQP mode Pulsar fetches a job's inputs from, and posts its outputs to, the `files_endpoint` Galaxy gives
it (default_file_action: remote_transfer): GET ?path=P returns the file, POST ?path=P with a multipart
`file` field writes it. This server does the same for files below one root directory and only with the
right job_key, which is what the Molecule scenario's Galaxy-side client needs. Requests are parsed by
WebOb (a dependency of pulsar-app); served by the standard library's threaded WSGI server.

    python job_files_server.py --root /srv/galaxy-jobs --port 8080 --key-file /etc/pulsar-job-files.key
"""

from __future__ import annotations

import argparse
import hmac
import os
import shutil
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from webob import Request, Response


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's signature
        pass


def make_app(root: str, key: str):
    root = os.path.realpath(root)

    def app(environ, start_response):
        request = Request(environ)
        if not hmac.compare_digest(request.GET.get("job_key", ""), key):
            return Response(status=403, text="bad job_key\n")(environ, start_response)
        path = os.path.realpath(request.GET.get("path", ""))
        if os.path.commonpath([root, path]) != root:
            return Response(status=403, text="path outside the files root\n")(environ, start_response)
        if request.method == "GET":
            if not os.path.isfile(path):
                return Response(status=404, text="no such file\n")(environ, start_response)
            with open(path, "rb") as handle:
                body = handle.read()
            return Response(body=body, content_type="application/octet-stream")(environ, start_response)
        if request.method in ("POST", "PUT"):
            upload = request.POST.get("file")
            if upload is None or not hasattr(upload, "file"):
                return Response(status=400, text="no file field\n")(environ, start_response)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                shutil.copyfileobj(upload.file, handle)
            return Response(text="{}", content_type="application/json")(environ, start_response)
        return Response(status=405)(environ, start_response)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - reached from the endpoints' containers
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--key-file", required=True)
    args = parser.parse_args()
    with open(args.key_file) as handle:
        key = handle.read().strip()
    server = make_server(
        args.host, args.port, make_app(args.root, key), server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
