"""A minimal WebDriver client (W3C protocol over HTTP, Python standard library only) for
headless Chromium through chromedriver, as the live page's browser test needs it."""

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout):
    """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def find_chromium():
    """The browser binary itself (Debian's /usr/bin/chromium is a wrapper script)."""
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "",
                 shutil.which("chromium-browser") or ""):
        if path and os.access(path, os.X_OK):
            return path
    return None


# Headless, offline and quiet: no sandbox (tests run as root), no GPU, no first-run UI, no
# network of its own (the machine has no internet), a fixed scale so screenshots compare.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-dev-shm-usage", "--password-store=basic", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--force-color-profile=srgb",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]


class WebDriverError(Exception):
    pass


class Browser:
    """chromedriver on a free port, one session of headless Chromium in a fresh profile."""

    def __init__(self, profile_dir, width=1280, height=800, log_path=None):
        driver = shutil.which("chromedriver")
        chromium = find_chromium()
        if not driver or not chromium:
            raise WebDriverError("chromium and chromedriver are needed: apt-get install chromium "
                                 "chromium-driver (scripts/test installs them)")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self._log = open(log_path or os.devnull, "wb")
        self.proc = subprocess.Popen([driver, "--port=%d" % self.port],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.session = None
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": CHROMIUM_ARGS + ["--user-data-dir=" + profile_dir,
                                         "--window-size=%d,%d" % (width, height)],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
            self.set_viewport(width, height)
        except Exception:
            self.close()
            raise

    def _call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError("%s %s: %s" % (method, path, e.read().decode(errors="replace")[:800]))

    def cmd(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    def cdp(self, command, params):
        """A Chrome DevTools Protocol command through chromedriver."""
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def set_viewport(self, width, height):
        # Exactly this viewport, whatever the window's decorations.
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script, what, timeout=10.0, *args):
        """Polls `script` (a function body returning a truthy value when done) until true."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.js(script, *args)
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return path

    def console(self):
        """The browser's console messages since the last call (chromedriver's log API)."""
        try:
            return self.cmd("POST", "/se/log", {"type": "browser"}) or []
        except WebDriverError:
            return []

    def close(self):
        if self.session:
            try:
                self._call("DELETE", "/session/" + self.session, timeout=10)
            except (OSError, WebDriverError):
                pass
            self.session = None
        stop_process(self.proc, 10)
        self._log.close()
