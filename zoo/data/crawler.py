"""Acquire stage, web side: a small polite crawler for http(s) URLs.

Polite means: robots.txt is honoured (protego; its Crawl-delay too), requests
to one host are spaced by `delay` seconds, connect/read timeouts and a
wall-clock limit per request (headers and body together, so a server dripping
one byte at a time cannot hold the crawl) stop slow servers, pages over
`max_bytes` are dropped while streaming (never fully downloaded), only text
content types are read,
and by default only links on the seed sites are followed. Redirects are
followed by hand so that each hop is checked against robots.txt and the
site rule, and a loop is recognised. robots.txt is read up to
`max_robots_bytes` (the rest is ignored, as RFC 9309 allows); one that answers
a server error, times out or cannot be fetched means "disallow everything" on
that site (RFC 9309, section 2.3.1.4), while a 4xx means no rules.

Resumable: with a `state_dir`, every finished URL is saved as one small JSON
file (written atomically). A rerun loads them, skips those URLs and continues
from their links. Transient failures (timeouts, connection errors, 5xx) are
not saved, so a rerun tries them again.

Example:
    >>> crawler = Crawler(CrawlConfig(max_pages=10, delay=0.5))
    >>> result = crawler.crawl(["http://127.0.0.1:9/"], progress=False)   # nothing listens on port 9
    >>> result.skipped[0]["reason"]
    'crawl:unreachable'
"""

import collections
import dataclasses
import hashlib
import json
import threading
import time
import urllib.parse
from pathlib import Path

import requests
import urllib3

from zoo.data.acquire import AcquireResult
from zoo.data.atomic_files import write_json_atomic
from zoo.data.document import Document, document_id

_TRANSIENT = {"crawl:timeout", "crawl:unreachable", "crawl:server_error", "crawl:too_slow"}
_CHUNK = 64 * 1024


class _TooSlow(Exception):
    """A request ran past its wall-clock limit."""


class _TooLarge(Exception):
    """A body grew past its byte limit; `data` holds what was read up to the limit."""

    def __init__(self, data):
        super().__init__(len(data))
        self.data = data


@dataclasses.dataclass
class CrawlConfig:
    """Limits of a crawl. Defaults suit a small site and a patient person.

    Example:
        >>> CrawlConfig(max_pages=5).same_site
        True
    """

    max_pages: int = 50  # pages saved as documents, resumed ones included
    max_bytes: int = 2_000_000  # a page larger than this is dropped
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # longest silence between two received chunks
    max_seconds_per_page: float = 30.0  # wall clock per request, headers and body: a dripping server cannot hold us
    max_robots_bytes: int = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB; the rest is ignored
    delay: float = 1.0  # seconds between two requests to the same host
    same_site: bool = True
    max_redirects: int = 5
    max_depth: int | None = None  # link hops from a seed; None for no limit
    user_agent: str = "zoo-data-crawler/0.1 (learning; honours robots.txt)"
    content_types: tuple = ("text/html", "application/xhtml+xml", "text/plain")

    def __post_init__(self):
        for name in ("max_pages", "max_bytes", "max_robots_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("connect_timeout", "read_timeout", "max_seconds_per_page"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.delay < 0:
            raise ValueError(f"delay must be 0 or more seconds, got {self.delay}")
        self.content_types = tuple(self.content_types)


def normalize_url(url):
    """Return `url` without its fragment and with a lowercase scheme and host, or None if not http(s).

    Example:
        >>> normalize_url("HTTP://Example.COM/a#top")
        'http://example.com/a'
        >>> normalize_url("mailto:me@example.com") is None
        True
    """
    url, _ = urllib.parse.urldefrag(url.strip())
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path or "/"
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def site_of(url):
    """Return the site a URL belongs to for the same-site rule: its host without a leading 'www.'.

    Example:
        >>> site_of("https://www.example.com:8080/x")
        'example.com:8080'
    """
    host = urllib.parse.urlsplit(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host


def extract_links(html, base_url):
    """Return the http(s) links of an HTML page, absolute and without fragments, in page order.

    Example:
        >>> extract_links('<a href="/b#x">b</a><a href="mailto:x@y">m</a>', "http://h/a")
        ['http://h/b']
    """
    from selectolax.lexbor import LexborHTMLParser

    links = []
    for node in LexborHTMLParser(html).css("a[href]"):
        href = node.attributes.get("href")
        if href:
            url = normalize_url(urllib.parse.urljoin(base_url, href))
            if url and url not in links:
                links.append(url)
    return links


def _decode(data, declared):
    # The declared charset first, then UTF-8, then charset_normalizer's guess (requests depends on it).
    for encoding in (declared, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else None


class Crawler:
    """Crawl from seed URLs into documents, politely and resumably (see the module docstring).

    Example:
        >>> Crawler(CrawlConfig(max_pages=3), state_dir=None).config.max_pages
        3
    """

    def __init__(self, config=None, state_dir=None, session=None):
        self.config = config or CrawlConfig()
        self.state_dir = Path(state_dir) if state_dir else None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = self.config.user_agent
        self._robots = {}  # origin -> Protego parser, or a skip reason when robots.txt could not be read
        self._last_request = {}  # host -> time of the last request
        self.requests_made = 0

    # --- state ---------------------------------------------------------------------------------
    def _state_path(self, url):
        return self.state_dir / "pages" / (hashlib.sha1(url.encode("utf-8")).hexdigest() + ".json")

    def _load_state(self):
        records = {}
        if self.state_dir is None or not (self.state_dir / "pages").is_dir():
            return records
        for path in sorted((self.state_dir / "pages").glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                records[record["url"]] = record
            except (OSError, ValueError, KeyError):
                continue  # a damaged state file means that URL is fetched again
        return records

    def _save(self, record):
        if self.state_dir is not None and record.get("reason") not in _TRANSIENT:
            write_json_atomic(self._state_path(record["url"]), record)

    # --- politeness ----------------------------------------------------------------------------
    def _wait_for_host(self, url):
        host = urllib.parse.urlsplit(url).netloc
        delay = self.config.delay
        robots = self._robots.get(self._origin(url))
        if robots is not None and not isinstance(robots, str):
            crawl_delay = robots.crawl_delay(self.config.user_agent)
            if crawl_delay:
                delay = max(delay, float(crawl_delay))
        last = self._last_request.get(host)
        if last is not None:
            wait = last + delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_request[host] = time.monotonic()
        self.requests_made += 1

    @staticmethod
    def _origin(url):
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _robots_for(self, url):
        from protego import Protego

        origin = self._origin(url)
        if origin not in self._robots:
            robots_url = origin + "/robots.txt"
            self._wait_for_host(robots_url)
            deadline = time.monotonic() + self.config.max_seconds_per_page
            try:
                # Redirects are followed here (RFC 9309 allows five hops); the body is read within the limits.
                response = self._get(robots_url, deadline, allow_redirects=True)
                with response:
                    if response.status_code >= 500:
                        # A server error may hide a disallow: crawl nothing there (RFC 9309, 2.3.1.4).
                        self._robots[origin] = f"robots.txt at {robots_url} answered HTTP {response.status_code}"
                    elif response.status_code >= 400:
                        self._robots[origin] = Protego.parse("")  # no robots.txt: everything allowed
                    else:
                        try:
                            data = self._read_body(response, self.config.max_robots_bytes, deadline)
                        except _TooLarge as big:
                            # Only whole lines of the first max_robots_bytes count; the rest is ignored.
                            data = big.data[: big.data.rfind(b"\n") + 1]
                        self._robots[origin] = Protego.parse(data.decode("utf-8", errors="replace"))
            except _TooSlow:
                self._robots[origin] = (
                    f"robots.txt at {robots_url} took over {self.config.max_seconds_per_page}s, read as disallow"
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
                self._robots[origin] = f"robots.txt at {robots_url} could not be fetched ({type(err).__name__})"
        return self._robots[origin]

    def _get(self, url, deadline, allow_redirects=False):
        """`session.get(url, stream=True)` that gives up (raising _TooSlow) when `deadline` passes before headers."""
        c = self.config
        box = {}

        def work():
            try:
                box["response"] = self.session.get(
                    url, timeout=(c.connect_timeout, c.read_timeout), stream=True, allow_redirects=allow_redirects
                )
            except BaseException as err:  # handed to the caller's thread
                box["error"] = err

        # A worker thread, because a server dripping its headers keeps every single socket read short.
        worker = threading.Thread(target=work, name=f"zoo-crawl {url}", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            raise _TooSlow()
        if "error" in box:
            raise box["error"]
        return box["response"]

    @staticmethod
    def _read_body(response, max_bytes, deadline):
        """The body of a streamed response; _TooLarge past `max_bytes`, _TooSlow past `deadline`.

        A timer shuts the socket at the deadline, so even a read blocked on a silent server ends on time.
        """
        raw = response.raw

        def cut():
            try:
                raw.shutdown()
            except (ValueError, RuntimeError, OSError):
                pass  # already closed or released

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
        timer.daemon = True
        timer.start()
        data = bytearray()
        try:
            while True:
                if time.monotonic() >= deadline:
                    raise _TooSlow()
                try:
                    chunk = raw.read1(_CHUNK, decode_content=True)  # what has arrived, not a full chunk
                except (urllib3.exceptions.HTTPError, OSError):
                    if time.monotonic() >= deadline:
                        raise _TooSlow() from None
                    raise
                if not chunk:
                    if time.monotonic() >= deadline and not raw.closed and raw.length_remaining:
                        raise _TooSlow()
                    break
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise _TooLarge(bytes(data[:max_bytes]))
        finally:
            timer.cancel()
        if time.monotonic() >= deadline and raw.length_remaining:
            raise _TooSlow()
        return bytes(data)

    # --- fetching ------------------------------------------------------------------------------
    def _skip(self, url, reason, detail, chain=None):
        return {"url": url, "status": "skipped", "reason": reason, "detail": detail, "chain": chain or [url]}

    def fetch(self, url, seed_sites=None):
        """Fetch one URL (following redirects by hand); return a record with status 'ok' or 'skipped'.

        Example:
            >>> Crawler(CrawlConfig(delay=0)).fetch("http://127.0.0.1:9/")["reason"]
            'crawl:unreachable'
        """
        c = self.config
        chain = [url]
        current = url
        for _ in range(c.max_redirects + 1):
            # The site rule first: a redirect off the seed sites must not even fetch that site's robots.txt.
            if c.same_site and seed_sites and site_of(current) not in seed_sites:
                return self._skip(url, "crawl:off_site", f"{current} is outside the seed sites", chain)
            robots = self._robots_for(current)
            if isinstance(robots, str):
                # RFC 9309: robots.txt unreachable (server error, timeout) means the site allows nothing.
                reason = "crawl:unreachable" if "could not be fetched" in robots else "crawl:robots_unavailable"
                return self._skip(url, reason, robots + "; check the URL and that the site is up", chain)
            if not robots.can_fetch(current, c.user_agent):
                return self._skip(url, "crawl:robots_disallowed", f"robots.txt disallows {current}", chain)
            self._wait_for_host(current)
            deadline = time.monotonic() + c.max_seconds_per_page
            try:
                response = self._get(current, deadline)
            except _TooSlow:
                return self._skip(url, "crawl:too_slow", f"no answer within {c.max_seconds_per_page}s", chain)
            except requests.exceptions.Timeout:
                return self._skip(
                    url,
                    "crawl:timeout",
                    f"no answer from {current} within the timeouts "
                    f"(connect {c.connect_timeout}s, read {c.read_timeout}s)",
                    chain,
                )
            except requests.RequestException as err:
                return self._skip(
                    url,
                    "crawl:unreachable",
                    f"could not connect to {current} ({type(err).__name__}); check the URL and that the site is up",
                    chain,
                )
            with response:
                if response.is_redirect:
                    target = normalize_url(urllib.parse.urljoin(current, response.headers.get("location", "")))
                    if target is None:
                        return self._skip(url, "crawl:bad_redirect", f"{current} redirects to a non-http URL", chain)
                    if target in chain:
                        return self._skip(url, "crawl:redirect_loop", " -> ".join(chain + [target]), chain + [target])
                    chain.append(target)
                    current = target
                    continue
                return self._read(url, current, response, chain, deadline)
        return self._skip(url, "crawl:too_many_redirects", f"more than {c.max_redirects} redirects", chain)

    def _read(self, url, final_url, response, chain, deadline):
        c = self.config
        if response.status_code >= 500:
            return self._skip(url, "crawl:server_error", f"HTTP {response.status_code} from {final_url}", chain)
        if response.status_code >= 400:
            return self._skip(
                url, f"crawl:http_{response.status_code}", f"HTTP {response.status_code} from {final_url}", chain
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in c.content_types:
            return self._skip(
                url,
                "crawl:content_type",
                f"{content_type or 'no content-type'} is not one of {', '.join(c.content_types)}",
                chain,
            )
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > c.max_bytes:
            return self._skip(url, "crawl:too_large", f"{length} bytes > max_bytes {c.max_bytes}", chain)
        try:
            data = self._read_body(response, c.max_bytes, deadline)
        except _TooLarge:
            return self._skip(url, "crawl:too_large", f"more than max_bytes {c.max_bytes} bytes", chain)
        except _TooSlow:
            return self._skip(url, "crawl:too_slow", f"download took over {c.max_seconds_per_page}s", chain)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            reason = "crawl:timeout" if "timed out" in str(err).lower() else "crawl:unreachable"
            return self._skip(url, reason, f"reading {final_url} failed ({type(err).__name__})", chain)
        if b"\x00" in data[:4096]:
            # A server that calls a binary file text/html: NUL bytes never occur in real text.
            return self._skip(url, "crawl:binary_content", "NUL bytes in a page labelled as text", chain)
        declared = response.encoding if "charset" in response.headers.get("content-type", "").lower() else None
        text = _decode(bytes(data), declared)
        if text is None:
            return self._skip(url, "crawl:undecodable", "the page's bytes match no text encoding", chain)
        kind = "text" if content_type == "text/plain" else "html"
        links = extract_links(text, final_url) if kind == "html" else []
        return {
            "url": url,
            "status": "ok",
            "final_url": final_url,
            "kind": kind,
            "text": text,
            "links": links,
            "content_type": content_type,
            "chain": chain,
        }

    # --- the crawl -----------------------------------------------------------------------------
    def crawl(self, seeds, progress=True):
        """Crawl breadth-first from `seeds`; return an AcquireResult (documents + skipped URLs with reasons).

        Example:
            >>> Crawler(CrawlConfig(delay=0)).crawl(["not a url"], progress=False).skipped[0]["reason"]
            'crawl:bad_url'
        """
        from tqdm.auto import tqdm

        c = self.config
        result = AcquireResult()
        records = self._load_state()
        seeds_ok = []
        for seed in seeds:
            url = normalize_url(seed)
            if url is None:
                result.skipped.append(
                    {
                        "source": seed,
                        "reason": "crawl:bad_url",
                        "detail": "not an http(s) URL; write it as http://host/path",
                    }
                )
            else:
                seeds_ok.append(url)
        seed_sites = {site_of(url) for url in seeds_ok}
        queue = collections.deque((url, 0) for url in seeds_ok)
        queued = set(seeds_ok)
        done = 0
        with tqdm(total=c.max_pages, desc="crawl", unit="page", disable=not progress) as bar:
            while queue and done < c.max_pages:
                url, depth = queue.popleft()
                record = records.get(url)
                if record is None:
                    record = self.fetch(url, seed_sites if c.same_site else None)
                    record["depth"] = depth
                    self._save(record)
                    records[url] = record
                if record["status"] != "ok":
                    result.skipped.append({"source": url, "reason": record["reason"], "detail": record["detail"]})
                    continue
                done += 1
                bar.update(1)
                result.documents.append(
                    Document(
                        id=document_id(record["final_url"], record["text"]),
                        text=record["text"],
                        source=record["final_url"],
                        kind=record["kind"],
                    )
                )
                if c.max_depth is not None and depth >= c.max_depth:
                    continue
                for link in record["links"]:
                    if link in queued:
                        continue
                    if c.same_site and site_of(link) not in seed_sites:
                        continue  # off-site links are simply not followed, not reported one by one
                    queued.add(link)
                    queue.append((link, depth + 1))
        return result


def crawl(urls, config=None, state_dir=None, progress=True):
    """Crawl `urls` with a fresh Crawler; see `Crawler` for what happens.

    Example:
        >>> crawl(["http://127.0.0.1:9/"], CrawlConfig(delay=0), progress=False).documents
        []
    """
    return Crawler(config, state_dir=state_dir).crawl(urls, progress=progress)
