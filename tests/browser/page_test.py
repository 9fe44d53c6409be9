#!/usr/bin/env python3
"""The live page in a real browser: headless Chromium (through chromedriver) opens GET / of the
real binary, events are published after the page loaded, and the page must show them in its
live tail and show the exact new counters; then the service restarts on the same port and the
page must reconnect and resume after the last seq it showed, with no event missing or
repeated; then the topic filter; then a service with --auth on: the page asks for an API key,
and once given it goes live with it. Screenshots (1280x800, 720 wide, the key prompt) are saved
as artifacts.

  page_test.py --binary build-test/aggregator --artifacts build-test/artifacts
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, stop_process  # noqa: E402


class Aggregator:
    """The real binary on 127.0.0.1, a SQLite file in `folder`; port 0 picks a free one."""

    def __init__(self, binary, folder, port=0, extra=(), key=None):
        self.key = key
        self.log_path = os.path.join(folder, "aggregator.log")
        self._log = open(self.log_path, "ab")
        start = self._log.tell()  # the log is shared by the restarts: read this run's part
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(port), "--db",
             os.path.join(folder, "events.db"), "--threads", "2", *extra],
            stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 20
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                found = re.search(rb"listening host=\S+ port=(\d+)", f.read())
            if found:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("aggregator did not start:\n" + self.log())
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%d" % self.port

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = "Bearer " + self.key
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def publish(self, events):
        return self.request("POST", "/publish", events)

    def stop(self):
        """SIGTERM, as an operator stops it; returns the exit status."""
        status = stop_process(self.proc, 20)
        self._log.close()
        return status


def event(topic, event_id, payload, source="page-test"):
    return {"topic": topic, "event_id": event_id, "timestamp": "2026-12-01T10:00:00.000Z",
            "source": source, "payload": payload}


# Reads what the page shows: counters (data-value holds the exact number), the connection
# state and the live tail's rows (newest first).
READ_PAGE = """
const v = (id) => document.getElementById(id).dataset.value;
return {
  received: v('c-received'), unique: v('c-unique'), duplicates: v('c-duplicates'),
  conflicts: v('c-conflicts'), rejected: v('c-rejected'), queue: v('c-queue'),
  state: document.getElementById('conn').dataset.state,
  stream: document.getElementById('conn').dataset.stream,
  topics: [...document.querySelectorAll('#topics li')].map(
      (li) => [li.dataset.topic, li.querySelector('.count').textContent]),
  rows: [...document.querySelectorAll('#tail tr')].map(
      (tr) => [Number(tr.dataset.seq), tr.dataset.topic, tr.dataset.eventId]),
};
"""


def wait_page(browser, check, what, timeout=10.0):
    """Polls the page until check(state) is true; returns that state."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = browser.js(READ_PAGE)
        if check(state):
            return state
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s; page shows %s"
                         % (timeout, what, json.dumps(state)[:1500]))


def counters(s):
    return {k: s[k] for k in ("received", "unique", "duplicates", "conflicts", "rejected")}


def expect(s, **want):
    return counters(s) == {k: str(v) for k, v in want.items()}


def run(args, folder):
    shots = []
    server = Aggregator(args.binary, folder)
    browser = None
    try:
        # History before the page opens: 2 stored, 1 duplicate.
        server.publish([event("order.paid", "o-1", {"order": 1, "amount": 42.5}),
                        event("user.created", "u-1", {"user": 7}),
                        event("order.paid", "o-1", {"order": 1, "amount": 42.5})])

        browser = Browser(os.path.join(folder, "profile"), 1280, 800,
                          log_path=os.path.join(folder, "chromedriver.log"))
        started = time.monotonic()
        browser.get(server.url + "/")
        s = wait_page(browser, lambda s: s["state"] == "live" and expect(
            s, received=3, unique=2, duplicates=1, conflicts=0, rejected=0),
            "the page to be live with the counters of the history")
        print("page live after %.1f s" % (time.monotonic() - started))
        assert s["rows"] == [], "the tail starts empty (after=latest): %r" % s["rows"]

        # Published after the page loaded: one new event, one conflicting copy of u-1.
        tag = "browser-%d" % os.getpid()
        r = server.publish([event("page.test", tag, {"step": "after load", "n": 1}),
                            event("user.created", "u-1", {"user": 8})])
        seq_a = r["results"][0]["seq"]
        assert [x["status"] for x in r["results"]] == ["accepted", "conflict"], r
        s = wait_page(browser, lambda s: [seq_a, "page.test", tag] in s["rows"] and expect(
            s, received=5, unique=3, duplicates=2, conflicts=1, rejected=0),
            "event %d in the tail and the new counters" % seq_a)
        assert s["rows"] == [[seq_a, "page.test", tag]], s["rows"]
        assert sorted(s["topics"]) == [["order.paid", "1"], ["page.test", "1"],
                                       ["user.created", "1"]], s["topics"]
        problems = [m for m in browser.console() if m.get("level") in ("SEVERE", "WARNING")]
        assert not problems, "browser console: %r" % problems
        shots.append(browser.screenshot(os.path.join(args.artifacts, "page.png")))

        # Restart on the same port; an event published while the page reconnects must
        # arrive exactly once, after the one it showed last.
        port = server.port
        assert server.stop() == 0, "aggregator exit status after SIGTERM:\n" + server.log()
        wait_page(browser, lambda s: s["state"] != "live", "the page to notice the restart")
        server = Aggregator(args.binary, folder, port)
        r = server.publish([event("page.test", tag + "-b", {"step": "after restart"}),
                            event("order.paid", "o-2", {"order": 2, "amount": 9.99})])
        seq_b, seq_c = (x["seq"] for x in r["results"])
        s = wait_page(browser, lambda s: s["rows"] and s["rows"][0][0] == seq_c and s["state"] == "live"
                      and expect(s, received=7, unique=5, duplicates=2, conflicts=1, rejected=0),
                      "the page to resume after seq %d" % seq_a, timeout=15)
        assert s["rows"] == [[seq_c, "order.paid", "o-2"], [seq_b, "page.test", tag + "-b"],
                             [seq_a, "page.test", tag]], s["rows"]

        # The filter: only order.* from now on; rows that do not match leave the tail.
        browser.js("const f = document.getElementById('filter'); f.value = 'order.*';"
                   "f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));")
        s = wait_page(browser, lambda s: s["stream"] == "open", "the filtered stream")
        assert s["rows"] == [[seq_c, "order.paid", "o-2"]], s["rows"]
        r = server.publish([event("page.test", tag + "-c", {}), event("order.shipped", "s-1", {})])
        seq_d, seq_e = (x["seq"] for x in r["results"])
        s = wait_page(browser, lambda s: s["rows"] and s["rows"][0][0] == seq_e, "the filtered event")
        assert s["rows"] == [[seq_e, "order.shipped", "s-1"], [seq_c, "order.paid", "o-2"]], s["rows"]
        assert seq_d not in [row[0] for row in s["rows"]]

        # Narrower: everything still fits (checked by eye on the artifact).
        browser.set_viewport(720, 1100)
        time.sleep(0.3)
        shots.append(browser.screenshot(os.path.join(args.artifacts, "page-720.png")))
        browser.set_viewport(1280, 800)

        # --auth on: the API answers 401, the page asks for a key; given one, it goes live.
        auth_folder = os.path.join(folder, "auth")
        os.makedirs(auth_folder)
        key = subprocess.run([args.binary, "keys", "add", "--db", os.path.join(auth_folder, "events.db"),
                              "--name", "page", "--scopes", "read,publish"],
                             check=True, capture_output=True, text=True).stdout.strip()
        secured = Aggregator(args.binary, auth_folder, extra=("--auth", "on"), key=key)
        try:
            secured.publish([event("order.paid", "k-1", {"order": 9})])
            browser.get(secured.url + "/")
            browser.wait_for("return !document.getElementById('key-form').hidden", "the key prompt")
            shots.append(browser.screenshot(os.path.join(args.artifacts, "page-key.png")))
            browser.js("document.getElementById('key-input').value = arguments[0];"
                       "document.getElementById('key-form').requestSubmit();", key)
            s = wait_page(browser, lambda s: s["state"] == "live" and s["received"] == "1",
                          "the page to go live with the key")
            secured.publish([event("order.paid", "k-2", {"order": 10})])
            wait_page(browser, lambda s: s["rows"] and s["rows"][0][2] == "k-2",
                      "an event over the stream opened with access_token")
            assert key not in secured.log(), "the key is in the log"
        finally:
            assert secured.stop() == 0, "aggregator --auth on exit status"
    except BaseException:
        print("---- aggregator log ----\n" + server.log(), file=sys.stderr)
        raise
    finally:
        if browser:
            browser.close()
        status = server.stop()
    assert status == 0, "aggregator exit status %r" % status
    for path in shots:
        print("screenshot: " + path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--artifacts", required=True)
    args = ap.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agg-page-") as folder:
        run(args, folder)
    print("page test passed in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
