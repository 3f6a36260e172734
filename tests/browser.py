"""Debian's headless Chromium for the browser tests (selenium), and a static server on 127.0.0.1."""
import functools
import http.server
import shutil
import threading

import pytest

# as the machine's probe starts it: no background networking (this network is closed), a fresh profile per driver
FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(*extra: str, window: str = "1200,1450"):
    """A selenium driver of the system Chromium; the test is skipped where none is installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("no system Chromium/chromedriver (apt-get install chromium chromium-driver; .ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--window-size={window}", *extra):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


class StaticServer:
    """``with StaticServer(folder, headers) as url:`` serves ``folder`` on a free 127.0.0.1 port."""

    def __init__(self, folder, headers: dict | None = None):
        extra = dict(headers or {})

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self):
                for k, v in extra.items():
                    self.send_header(k, v)
                super().end_headers()

            def log_message(self, *_):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *_):
        self.httpd.shutdown()
        self.httpd.server_close()
