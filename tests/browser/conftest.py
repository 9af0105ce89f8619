"""Chromium and the staff server for the browser tests (tests/browser/stack.py); test_chat.py
has its own server with a fake Rasa."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.stack import CHROMIUM, CHROMIUM_ARGS, need, staff_server


@pytest.fixture(scope="module")
def playwright_api():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        need("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("the playwright package is not installed (requirements/api-dev.txt)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright_api):
    browser = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with staff_server(tmp_path_factory.mktemp("browser")) as running:
        yield running
