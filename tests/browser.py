"""A real headless browser for the tests of pages (Debian's Chromium, driven by Playwright).

Playwright drives the Chromium that the machine has (`/usr/bin/chromium`, or
``SUBLEDGER_CHROMIUM``); it never downloads a browser of its own. Pages are
loaded from files with the network cut off, so a page that fetches anything
fails its test instead of quietly drawing nothing.

- ``ink(png, background)``: how many pixels of a PNG differ from the background;
- ``pdf_pages(pdf)``: how many pages a PDF has.
"""

from __future__ import annotations

import io
import os
import re
import shutil

CHROMIUM_ENV = "SUBLEDGER_CHROMIUM"
REQUIRE_ENV = "SUBLEDGER_REQUIRE_BROWSER"
# What the machine's closed network and a root user need (see the env notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def chromium_path() -> str | None:
    """The Chromium to drive: ``SUBLEDGER_CHROMIUM``, else the one on PATH."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


def required() -> bool:
    """Whether a browser test that cannot run is a failure (CI) rather than a skip."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def ink(png: bytes, background: tuple[int, int, int] = (255, 255, 255), tolerance: int = 8) -> int:
    """How many pixels of `png` differ from `background` by more than `tolerance` per channel."""
    from PIL import Image

    raw = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    r0, g0, b0 = background
    return sum(
        1
        for i in range(0, len(raw), 3)
        if abs(raw[i] - r0) > tolerance or abs(raw[i + 1] - g0) > tolerance or abs(raw[i + 2] - b0) > tolerance
    )


def pdf_pages(pdf: bytes) -> int:
    """How many pages a PDF holds (its `/Type /Page` objects)."""
    return len(_PAGE.findall(pdf))
