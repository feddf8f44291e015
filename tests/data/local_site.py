"""A small website on 127.0.0.1 for the crawler tests (threaded http.server, no internet).

It serves links, a robots.txt disallow, a redirect loop, a redirect to another site, a 404, a page over the
byte limit, binary content, a binary file mislabelled as HTML, a slow page and
a Japanese page, and records every request with its time.

Example:
    >>> with LocalSite() as site:
    ...     import requests
    ...     requests.get(site.url("/a"), timeout=5).status_code
    200
"""

import http.server
import threading
import time

BIG_PAGE_BYTES = 300_000
SLOW_SECONDS = 2.0

PAGES = {
    "/": "<html><body><h1>Home</h1><p>Welcome to the test site, which has pages about cats and dogs.</p>"
    '<a href="/a">A</a> <a href="/b.txt">B</a> <a href="/jp">JP</a> <a href="/private/secret">secret</a> '
    '<a href="/loop1">loop</a> <a href="/missing">missing</a> <a href="/big">big</a> '
    '<a href="/binary">binary</a> <a href="/fake-html">fake</a> <a href="/slow">slow</a> <a href="/away">away</a> '
    '<a href="http://example.invalid/offsite">off site</a> <a href="mailto:me@example.com">mail</a>'
    "</body></html>",
    "/a": "<html><body><article><p>Page A talks about cats. Cats sleep most of the day and hunt at night.</p>"
    '<a href="/">home</a> <a href="/a#section">self</a></article></body></html>',
    "/jp": "<html><head><meta charset='utf-8'></head><body><article><p>これは日本語のページです。"
    "吾輩は猫である。名前はまだ無い。</p></article></body></html>",
    "/private/secret": "<html><body>secret</body></html>",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: simple, and lets /big omit Content-Length

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status, body=b"", content_type="text/html; charset=utf-8", headers=(), length=True):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        site = self.server.site
        with site.lock:
            site.hits.append((self.path, time.monotonic()))
        path = self.path
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path in PAGES:
            return self._send(200, PAGES[path].encode("utf-8"))
        if path == "/b.txt":
            return self._send(200, "Plain text page B about dogs.\n".encode(), "text/plain; charset=utf-8")
        if path == "/loop1":
            return self._send(302, headers=[("Location", "/loop2")])
        if path == "/loop2":
            return self._send(302, headers=[("Location", "/loop1")])
        if path == "/away":  # same server, other host name: another site for the same-site rule
            port = self.server.server_address[1]
            return self._send(302, headers=[("Location", f"http://localhost:{port}/a")])
        if path == "/big":
            # No Content-Length: the crawler must notice the size while streaming.
            return self._send(200, b"<html><body>" + b"x" * BIG_PAGE_BYTES + b"</body></html>", length=False)
        if path == "/binary":
            return self._send(200, bytes(range(256)) * 4, "application/octet-stream")
        if path == "/fake-html":
            return self._send(200, b"\x89PNG\r\n\x1a\n\x00\x00\x00" + bytes(100), "text/html")
        if path == "/slow":
            time.sleep(SLOW_SECONDS)
            return self._send(200, b"<html><body>finally</body></html>")
        return self._send(404, b"not found")


class LocalSite:
    """Context manager running the test site on a free port of 127.0.0.1 in a background thread.

    Example:
        >>> with LocalSite() as site:
        ...     site.url("/a").startswith("http://127.0.0.1:")
        True
    """

    def __init__(self):
        self.hits = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.site = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/"):
        """Return the absolute URL of `path` on this site."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def paths_hit(self):
        """Return the requested paths in order."""
        with self.lock:
            return [path for path, _ in self.hits]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
