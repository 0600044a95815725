"""The browser the page tests rely on: it draws, it measures ink, it prints to PDF."""

from __future__ import annotations

from tests.browser import ink, pdf_pages

PAGE = """<!doctype html><html><body style="margin:0;background:#fff">
<div id="blank" style="width:120px;height:60px"></div>
<svg id="chart" width="120" height="60"><rect x="10" y="10" width="40" height="40" fill="#1f77b4"/></svg>
<div style="break-before:page">second page</div>
</body></html>"""


def test_the_browser_draws_svg_and_measures_ink(browser) -> None:
    page = browser.new_page()
    page.set_content(PAGE)
    drawn = ink(page.locator("#chart").screenshot())
    blank = ink(page.locator("#blank").screenshot())
    assert drawn == 40 * 40  # the square, exactly: the measure counts what is drawn
    assert blank == 0
    page.close()


def test_the_browser_prints_a_page_break_to_two_pdf_pages(browser) -> None:
    page = browser.new_page()
    page.set_content(PAGE)
    assert pdf_pages(page.pdf(format="A4")) == 2
    page.close()
