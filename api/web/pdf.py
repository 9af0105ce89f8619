"""PDFs of staff pages (the annual quality report, the posters): WeasyPrint lays out the same HTML
the browser gets, with its print styles (A4, @page margins).

The page's stylesheets are read from this app's static folder on disk, never over the network:
the fetcher answers only URLs under the request's own /static/web/ and refuses everything else,
so a PDF cannot be made to fetch another address.
"""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any

STATIC = (Path(__file__).parent / "static").resolve()
STATIC_PATH = "static/web/"


class NotFetched(ValueError):
    pass


def _static_file(url: str, base_url: str) -> Path:
    """The file under STATIC that a URL of the site's own /static/web/ names."""
    prefix = base_url.rstrip("/") + "/" + STATIC_PATH
    if not url.startswith(prefix):
        raise NotFetched(f"a PDF loads only this site's own files, not {url}")
    name = url[len(prefix):].split("?", 1)[0].split("#", 1)[0]
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFetched(f"no file {url}")
    return path


def pdf_of(html: str, *, base_url: str) -> bytes:
    """The PDF of a page; `base_url` is the site's address the page's links are relative to."""
    # Imported here: it costs about half a second, and only the PDF routes need it.
    from weasyprint import HTML
    # WeasyPrint logs each layout step, and a warning for every screen-only rule of web.css it
    # skips: nothing to act on, in every PDF. Its errors still reach the log.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = _static_file(url, base_url)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return HTML(string=html, base_url=base_url, url_fetcher=StaticOnly()).write_pdf()
