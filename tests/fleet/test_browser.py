"""The web UI end to end in a real headless Chromium (Debian's package, driven by Playwright).

The service runs under waitress on 127.0.0.1 with a demo city of two days; the
set-up installs Debian's chromium when /usr/bin/chromium is missing. A
screenshot of the overview is written to build/screenshots/fleet-overview.png.
"""
import os
import shutil
import subprocess
import threading

import pytest

from fleet import create_app, demo
from tests.fleet.conftest import DATA_KEY

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "build", "screenshots")


def _install_chromium():
    # Debian's chromium, from the package registry: Playwright's own browser download is not used.
    if os.path.exists(CHROMIUM):
        return
    if shutil.which("apt-get") is None:
        pytest.fail("%s is missing and apt-get is not available to install it" % CHROMIUM)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=900)
    assert os.path.exists(CHROMIUM)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from waitress.server import create_server
    path = tmp_path_factory.mktemp("browser")
    app = create_app({"DATABASE": str(path / "demo.db"), "SECRET_KEY": "browser", "DATA_KEY": DATA_KEY},
                     instance_path=str(path))
    demo.seed(app, days=2, log=lambda *a: None)
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%s" % srv.effective_port
    srv.close()


@pytest.fixture(scope="module")
def browser():
    _install_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(browser, server, username, phone=False):
    ctx = browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(server + "/")
    assert "/auth/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")
    return page


def test_operator_browses_filters_and_opens_a_device(browser, server):
    page = _login(browser, server, "td")
    assert page.inner_text("#whoami").startswith("td")
    assert page.inner_text("#total-devices") == "400"
    assert "parking_bay" in page.inner_text("#by-kind") and "water_main" not in page.inner_text("#by-kind")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "fleet-overview.png"), full_page=True)

    page.click("nav >> text=Devices")
    assert page.locator("#devices tbody tr").count() == 50
    assert page.locator("#next-page").count() == 1
    page.fill("input[name=q]", "tsuen-wan")
    page.select_option("select[name=kind]", "parking_bay")
    page.click("#filters button")
    rows = page.locator("#devices tbody tr")
    assert 0 < rows.count() < 50
    assert all("tsuen-wan" in t for t in rows.locator("td:first-child").all_inner_texts())
    name = rows.first.locator("a").inner_text()
    rows.first.locator("a").click()
    assert page.inner_text("#device-name") == name
    assert page.locator("#charts svg").count() >= 1
    assert page.locator("#frames tbody tr").count() >= 1
    page.context.close()


def test_another_departments_device_is_not_found(browser, server):
    td = _login(browser, server, "td")
    td.goto(server + "/devices")
    href = td.locator("#devices tbody tr a").first.get_attribute("href")
    td.context.close()
    fehd = _login(browser, server, "fehd")
    response = fehd.goto(server + href)
    assert response.status == 404 and "Error 404" in fehd.content()
    fehd.goto(server + "/devices?q=parking")
    assert "No devices match" in fehd.inner_text("#devices")
    fehd.goto(server + "/")
    assert fehd.inner_text("#total-devices") == "350"
    fehd.context.close()


def test_readable_on_a_phone(browser, server):
    page = _login(browser, server, "wsd", phone=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390        # no sideways scrolling of the page (wide tables scroll inside their box)
    page.screenshot(path=os.path.join(SCREENSHOTS, "fleet-overview-phone.png"), full_page=True)
    page.context.close()


def _sign_in(browser, server, username, password, phone=False):
    ctx = browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(server + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")
    return page


def test_admin_adds_a_user_and_a_token_shown_once_then_revoked(browser, server):
    admin = _login(browser, server, "admin")
    admin.click("nav >> text=Users")
    assert "td" in admin.locator("#users").inner_text()
    admin.click("#add-user")
    admin.fill("#new-user input[name=username]", "inspector-7")
    admin.select_option("#new-user select[name=role]", "viewer")
    admin.select_option("#new-user select[name=department]", "TD")
    admin.click("#new-user button[type=submit]")
    password = admin.inner_text("#secret")
    assert len(password) >= 16 and "shown this once" in admin.content()

    user = _sign_in(browser, server, "inspector-7", password, phone=True)
    assert user.inner_text("#whoami").startswith("inspector-7")
    assert user.inner_text("#total-devices") == "400"                 # TD's devices
    assert user.locator("nav >> text=Users").count() == 0 and user.locator("nav >> text=Tokens").count() == 0
    user.context.close()

    admin.click("nav >> text=Tokens")
    admin.click("#create-token")
    admin.fill("#new-token input[name=name]", "td-chirpstack-browser")
    admin.select_option("#new-token select[name=role]", "integration")
    admin.select_option("#new-token select[name=department]", "TD")
    admin.click("#new-token button[type=submit]")
    secret = admin.inner_text("#secret")
    assert secret.startswith("cft_")
    api = browser.new_context().request          # no session cookie: the bearer token alone
    me = api.get(server + "/api/me", headers={"Authorization": "Bearer " + secret})
    assert me.status == 200 and me.json()["name"] == "td-chirpstack-browser"

    admin.click("text=Done")
    row = admin.locator("#tokens tbody tr", has_text="td-chirpstack-browser")
    assert "live" in row.inner_text() and secret not in admin.content()     # never shown again
    admin.goto(server + "/tokens")
    assert secret not in admin.content()
    row.locator("button", has_text="revoke").click()
    assert "revoked" in admin.locator(".flash").inner_text()
    assert "revoked" in admin.locator("#tokens tbody tr", has_text="td-chirpstack-browser").inner_text()
    assert api.get(server + "/api/me", headers={"Authorization": "Bearer " + secret}).status == 401
    api.dispose()

    phone = _login(browser, server, "admin", phone=True)
    for path in ("/users", "/tokens", "/tokens/new", "/account/password"):
        phone.goto(server + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    phone.screenshot(path=os.path.join(SCREENSHOTS, "fleet-password-phone.png"), full_page=True)
    phone.context.close()
    admin.context.close()
