"""The crawler against a local site: robots, redirects, limits, content types, resume, rate limit."""

import socket

import pytest

from tests.data.local_site import LocalSite
from zoo.data.crawler import CrawlConfig, Crawler, crawl, extract_links, normalize_url


def _config(**overrides):
    values = dict(
        max_pages=20, max_bytes=100_000, delay=0.02, connect_timeout=2.0, read_timeout=0.5, max_seconds_per_page=5.0
    )
    values.update(overrides)
    return CrawlConfig(**values)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the local site shared by the tests below (it takes a couple of seconds)."""
    state = tmp_path_factory.mktemp("crawl-state")
    with LocalSite() as site:
        result = crawl([site.url("/")], _config(), state_dir=state, progress=False)
        first_hits = site.paths_hit()
        rerun = crawl([site.url("/")], _config(), state_dir=state, progress=False)
        rerun_hits = site.paths_hit()[len(first_hits) :]
    return {
        "site_url": site.url(""),
        "result": result,
        "first_hits": first_hits,
        "rerun": rerun,
        "rerun_hits": rerun_hits,
    }


def _path(url, base):
    return url[len(base) :] or "/"


def test_crawl_keeps_text_pages_of_the_site(crawled):
    base = crawled["site_url"]
    docs = {_path(doc.source, base): doc for doc in crawled["result"].documents}
    assert set(docs) == {"/", "/a", "/b.txt", "/jp"}
    assert docs["/b.txt"].kind == "text" and docs["/a"].kind == "html"
    assert "吾輩は猫である。名前はまだ無い。" in docs["/jp"].text  # Japanese bytes decoded unbroken


def test_crawl_skips_each_bad_page_with_its_reason(crawled):
    base = crawled["site_url"]
    reasons = {_path(item["source"], base): item["reason"] for item in crawled["result"].skipped}
    assert reasons == {
        "/private/secret": "crawl:robots_disallowed",
        "/loop1": "crawl:redirect_loop",
        "/missing": "crawl:http_404",
        "/big": "crawl:too_large",
        "/binary": "crawl:content_type",
        "/fake-html": "crawl:binary_content",
        "/slow": "crawl:timeout",
        "/away": "crawl:off_site",
    }
    loop = next(item for item in crawled["result"].skipped if item["reason"] == "crawl:redirect_loop")
    assert "/loop2" in loop["detail"]


def test_crawl_never_requests_disallowed_or_offsite_pages(crawled):
    hits = crawled["first_hits"]
    assert "/private/secret" not in hits
    assert hits.count("/a") == 1 and hits.count("/robots.txt") == 1  # the redirect to localhost was not followed
    assert hits[0] == "/robots.txt"  # the "#section" link to /a was the same page: /a fetched once


def test_rerun_resumes_without_refetching(crawled):
    # Finished URLs come from the state folder; only the transient failure (/slow) is tried again.
    assert crawled["rerun_hits"] == ["/robots.txt", "/slow"]
    assert [d.text for d in crawled["rerun"].documents] == [d.text for d in crawled["result"].documents]


def test_max_pages_and_per_host_delay(tmp_path):
    with LocalSite() as site:
        result = Crawler(_config(max_pages=2, delay=0.25)).crawl([site.url("/")], progress=False)
        times = [t for _, t in site.hits]
    assert len(result.documents) == 2
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps and min(gaps) >= 0.2


def test_unreachable_url_gives_a_clear_reason():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = crawl([f"http://127.0.0.1:{port}/", "ftp://x/"], _config(), progress=False)
    reasons = {item["reason"]: item["detail"] for item in result.skipped}
    assert set(reasons) == {"crawl:unreachable", "crawl:bad_url"}
    assert "check the URL" in reasons["crawl:unreachable"]


def test_url_helpers():
    assert normalize_url("HTTP://H/p#f") == "http://h/p"
    assert extract_links('<a href="x">x</a><a href="javascript:void(0)">j</a>', "http://h/d/") == ["http://h/d/x"]
    with pytest.raises(ValueError, match="max_pages"):
        CrawlConfig(max_pages=0)
