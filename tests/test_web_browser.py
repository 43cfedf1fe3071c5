"""The console in a real headless Chromium, as a leader would use it: a login link from the bot (over the
Bot API emulator), drill down, filter, download CSV, reassign and the worker told in Telegram; then the
refusals: a reused or forged link, a POST without CSRF token, an inspector trying to change a ticket.

Needs Debian's ``chromium`` and ``chromium-driver`` (skipped without them unless GRIDBOT_REQUIRE_BROWSER=1).
``GRIDBOT_SCREENSHOTS=DIR`` also saves the overview and map screenshots there (the seeded ones in docs/ were
taken as docs/screenshots/README.md says)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.harness import TOKEN, BotHarness
from web.app import create_app
from web.config import WebConfig
from web.photos import PhotoCache

pytestmark = pytest.mark.e2e

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER) and os.environ.get("GRIDBOT_REQUIRE_BROWSER") != "1":
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

RESIDENT, WANG, LI, LEADER, INSPECTOR = 1001, 2001, 2002, 3001, 4001
GRID, COMMUNITY, DISTRICT = "taizimiao-1", "taizimiao", "dongting"
POINT = (29.3530, 113.1040)  # inside taizimiao-1
CSRF_LESS_POST = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1]), credentials: 'same-origin'})
  .then(r => done(r.status));
"""


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER or "/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(10)  # a page that is still loading after a click is waited for
    try:
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Console:
    """The console app on its own thread, over the harness's database."""

    def __init__(self, h: BotHarness, port: int) -> None:
        assert h.app is not None
        photos = PhotoCache(h.tmp_path / "photos", h.emu.base_url, TOKEN)
        config = WebConfig(engine=h.app.engine, rules=h.app.rules, ctx=h.app.ctx, secret=TOKEN, clock=h.clock,
                           photos=photos)
        self.photos = photos
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Console:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def _link(h: BotHarness, user: int) -> str:
    h.emu.send_text(user, "/console")
    message = await h.expect(user, "/login/")
    found = re.search(r"http://\S+/login/\S+", message.text or "")
    assert found, message.text
    return found.group(0)


def _eventually(check: Any, seconds: float = 10) -> bool:
    """Whether ``check()`` became true within ``seconds`` (the page works on while the test waits)."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(check())


def _downloaded(folder: Path) -> str:
    """The text of the one CSV the browser saved into ``folder`` (waiting up to 10 s for it)."""
    deadline = time.monotonic() + 10
    while not list(folder.glob("*.csv")) and time.monotonic() < deadline:
        time.sleep(0.1)
    [saved] = list(folder.glob("*.csv"))
    return saved.read_text("utf-8-sig")


def _png(width: int, height: int) -> bytes:
    """A real (grey) PNG image, so the browser can draw it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _shot(browser: Any, name: str, tmp: Path) -> None:
    target = Path(os.environ.get("GRIDBOT_SCREENSHOTS") or tmp)
    browser.save_screenshot(str(target / name))


async def test_leader_uses_the_console(tmp_path: Path, browser: Any, downloads: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("GRIDBOT_WEB_URL", base)
    async with BotHarness(tmp_path) as h:
        h.staff(WANG, "王师傅", "worker", GRID)
        h.staff(LI, "李师傅", "worker", GRID)
        h.staff(LEADER, "张组长", "leader", COMMUNITY)
        h.staff(INSPECTOR, "督查员", "inspector", DISTRICT)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_photo(RESIDENT, caption="我家水管爆了，地板都是水！", data=_png(40, 30))
        await h.expect(RESIDENT, "还不知道地点")
        h.emu.send_location(RESIDENT, *POINT)
        await h.expect(RESIDENT, "已受理，工单号 #1")
        with _Console(h, port) as console:
            link = await _link(h, LEADER)
            browser.get(link)
            browser.find_element(By.ID, "login-button").click()
            title = browser.find_element(By.ID, "area-title").text
            assert h.app is not None and h.app.rules.area_name(COMMUNITY, "zh") in title
            assert browser.find_element(By.ID, "kpi-open").find_element(By.TAG_NAME, "b").text == "1"
            _shot(browser, "console-overview.png", tmp_path)

            # Drill down to the grid, then its map.
            browser.find_element(By.CSS_SELECTOR, f"a.drill[href='/console?area={GRID}']").click()
            assert h.app.rules.area_name(GRID, "zh") in browser.find_element(By.ID, "area-title").text
            browser.find_element(By.ID, "nav-map").click()
            assert browser.find_elements(By.CSS_SELECTOR, f"polygon[data-grid='{GRID}']")
            assert browser.find_elements(By.CSS_SELECTOR, "circle.point")

            # Filter the list, download exactly that as CSV.
            browser.find_element(By.ID, "nav-tickets").click()
            browser.find_element(By.ID, "f-words").send_keys("水管")
            browser.find_element(By.ID, "f-submit").click()  # htmx swaps the list in and pushes the URL
            assert _eventually(lambda: "words=" in browser.current_url)
            assert len(browser.find_elements(By.CSS_SELECTOR, "tr.ticket-row")) == 1
            browser.find_element(By.ID, "dl-csv").click()
            text = _downloaded(downloads)
            assert "#1" in text and "水管" in text

            # Reassign to Li: Li hears it in Telegram; the history says it was done in the console.
            # The photo is fetched once through the Bot API (here while the emulator's loop runs), then cached.
            file_id = h.ticket(1).photo_file_id
            assert file_id and await asyncio.to_thread(console.photos.get, file_id)
            browser.find_element(By.LINK_TEXT, "#1").click()
            photo = browser.find_element(By.ID, "photo-report")
            assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", photo) == 40
            Select(browser.find_element(By.CSS_SELECTOR, "#form-reassign select")).select_by_visible_text("李师傅")
            browser.find_element(By.CSS_SELECTOR, "#form-reassign button").click()
            assert browser.find_element(By.ID, "done").is_displayed()
            assert "经工作台" in browser.find_element(By.ID, "history").text
            await h.expect(LI, "#1 已由 张组长 指派给您")
            assert h.ticket(1).claimed_by == h.person(LI).id  # type: ignore[union-attr]

            # A POST without the CSRF token is refused, and changes nothing.
            status = browser.execute_async_script(CSRF_LESS_POST, f"{base}/console/tickets/1/cancel",
                                                  {"reason": "forged"})
            assert status == 403 and h.ticket(1).status == "claimed"

            # The used link does not work again; a forged one never did.
            browser.delete_all_cookies()
            browser.get(link)
            browser.find_element(By.ID, "login-button").click()
            assert "/console" in browser.find_element(By.ID, "refused").text
            browser.get(link[:-4] + "beef")
            browser.find_element(By.ID, "login-button").click()
            assert browser.find_elements(By.ID, "refused")

            # An inspector sees the ticket but has no actions, and a hand-made POST is refused.
            browser.get(await _link(h, INSPECTOR))
            browser.find_element(By.ID, "login-button").click()
            browser.find_element(By.ID, "area-title")  # logged in (the session cookie is set) before going on
            browser.get(f"{base}/console/tickets/1")
            browser.find_element(By.ID, "history")
            browser.implicitly_wait(0)
            assert not browser.find_elements(By.CSS_SELECTOR, "form[method=post]")
            browser.implicitly_wait(10)
            token = browser.execute_script(
                "return JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
            assert token
            status = browser.execute_async_script(CSRF_LESS_POST, f"{base}/console/tickets/1/cancel",
                                                  {"reason": "x", "csrf": token})
            assert status == 403 and h.ticket(1).status == "claimed"
            browser.get(f"{base}/console/map?area={DISTRICT}")  # the whole district, for the README
            assert len(browser.find_elements(By.CSS_SELECTOR, "polygon.grid")) == len(h.app.rules.grids)
            _shot(browser, "console-map.png", tmp_path)
