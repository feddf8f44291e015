"""The crawler's limits against a hostile 127.0.0.1 server: dripping pages and robots.txt, huge robots.txt, 5xx."""

import http.server
import threading
import time

import pytest

from zoo.data.crawler import CrawlConfig, Crawler

DRIP_BYTES = 5  # at one byte every 2 s the old crawler waited 10 s; the limit below is 1 s


class _Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _drip_body(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(DRIP_BYTES))
        self.end_headers()
        for _ in range(DRIP_BYTES):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(2)

    def do_GET(self):
        mode = self.server.robots_mode
        try:
            if self.path == "/robots.txt":
                if mode == "drip":
                    return self._drip_body("text/plain")
                if mode == "error":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                body = b"User-agent: *\nDisallow: /private/\n"
                if mode == "huge":  # 8 MiB, sent slowly: read whole, it would take ~13 s
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(body)
                    for _ in range(128):
                        self.wfile.write(b"# padding line of a very long robots.txt\n" * 1600)
                        time.sleep(0.1)
                    self.wfile.write(b"Disallow: /late\n")  # beyond the cap: ignored
                    return None
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return self.wfile.write(body)
            if self.path == "/drip":
                return self._drip_body("text/html")
            if self.path == "/drip-headers":
                self.wfile.write(b"HTTP/1.0 200 OK\r\n")
                for i in range(DRIP_BYTES):
                    self.wfile.write(f"X-Slow-{i}: 1\r\n".encode())
                    self.wfile.flush()
                    time.sleep(2)
                return None
            body = b"<html><body><p>a page</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return None  # the crawler gave up, as it should


@pytest.fixture
def hostile():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    server.robots_mode = "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server, path):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _crawler(**limits):
    return Crawler(CrawlConfig(delay=0, read_timeout=5, max_seconds_per_page=1.0, **limits))


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_a_dripping_page_stops_at_the_wall_clock_limit(hostile, path):
    started = time.monotonic()
    record = _crawler().fetch(_url(hostile, path))
    assert time.monotonic() - started < 1.9  # the limit (1 s) and some slack, well before one drip interval
    assert record["reason"] == "crawl:too_slow"


@pytest.mark.parametrize("mode", ["drip", "error"])
def test_robots_txt_that_times_out_or_fails_means_disallow(hostile, mode):
    hostile.robots_mode = mode
    started = time.monotonic()
    record = _crawler().fetch(_url(hostile, "/page"))
    assert time.monotonic() - started < 1.9
    assert record["status"] == "skipped" and record["reason"] == "crawl:robots_unavailable"


def test_a_huge_robots_txt_is_read_only_up_to_the_cap(hostile, monkeypatch):
    import protego

    parsed = []
    real_parse = protego.Protego.parse
    monkeypatch.setattr(
        protego.Protego, "parse", classmethod(lambda cls, text: parsed.append(text) or real_parse(text))
    )
    hostile.robots_mode = "huge"
    crawler = _crawler(max_robots_bytes=4096)
    started = time.monotonic()
    assert crawler.fetch(_url(hostile, "/private/x"))["reason"] == "crawl:robots_disallowed"  # rule in the first lines
    assert crawler.fetch(_url(hostile, "/late"))["status"] == "ok"  # the rule past the cap is ignored
    assert time.monotonic() - started < 1.9
    assert len(parsed) == 1 and len(parsed[0].encode()) <= 4096
