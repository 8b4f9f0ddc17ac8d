"""Headless Chromium for the console's browser tests: where it is, where screenshots go, and a logged-in page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.support.credentials import credential_for

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # deploy/local/chromium.sh (make test) installs it


async def console_page(pw: Any, base: str, role: str, name: str) -> tuple[Any, Any, list[str]]:
    """(browser, page, CSP complaints): a 1400×900 zh-CN page logged in to the console at `base` as role:name,
    and the list it appends every Content-Security-Policy complaint of the page to (a test asserts it stays empty)."""
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=credential]", credential_for(role, name))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")
    return browser, page, csp
