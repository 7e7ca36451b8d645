"""A real headless Chromium driven over the DevTools protocol: load a page, collect console
errors, failed and outgoing requests, the state of every image, and a screenshot."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Seconds to wait for one DevTools answer.
TIMEOUT = 30
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-first-run", "--mute-audio",
    "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*",
)
_IMAGES_JS = """JSON.stringify(Array.from(document.images).map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
  alt: i.alt})))"""


def find_chromium() -> str | None:
    """The path of a Chromium-like browser on this machine, or ``None``."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What happened when a page was loaded."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    #: Requests to anything but the page itself and ``data:`` URIs.
    outside_requests: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    screenshot: bytes = b""
    title: str = ""


class DevTools:
    """A DevTools websocket session: send commands, collect events."""

    def __init__(self, url: str) -> None:
        import websocket

        self._ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, seconds: float) -> bool:
        """Read events until ``method`` arrives (``True``) or time runs out."""
        if any(e.get("method") == method for e in self.events):
            return True
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                self._ws.settimeout(max(0.1, end - time.monotonic()))
                try:
                    message = json.loads(self._ws.recv())
                except Exception:
                    return False
                self.events.append(message)
                if message.get("method") == method:
                    return True
            return False
        finally:
            self._ws.settimeout(TIMEOUT)

    def close(self) -> None:
        self._ws.close()


def _start(executable: str, profile: Path) -> tuple[subprocess.Popen, int]:
    """Start Chromium; its DevTools port, from the file it writes into its profile."""
    profile.mkdir(parents=True, exist_ok=True)
    log = profile / "chromium.log"  # a file, not a pipe: a full pipe would stall the browser
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    port_file = profile / "DevToolsActivePort"
    end = time.monotonic() + 20
    while time.monotonic() < end and process.poll() is None:
        lines = port_file.read_text().split() if port_file.exists() else []
        if lines and lines[0].isdigit():
            return process, int(lines[0])
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("Chromium did not start:\n" + log.read_text()[-3000:])


def _page_websocket(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
        targets = json.load(answer)
    return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")


def visit(executable: str, page: Path, profile: Path, width: int = 1280) -> PageVisit:
    """Load ``page`` (a local file) in headless Chromium and report what happened."""
    process, port = _start(executable, profile)
    try:
        tools = DevTools(_page_websocket(port))
        try:
            return _load(tools, page, width)
        finally:
            tools.close()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _load(tools: DevTools, page: Path, width: int) -> PageVisit:
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.call(f"{domain}.enable")
    tools.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
               deviceScaleFactor=1, mobile=False)
    url = page.resolve().as_uri()
    tools.call("Page.navigate", url=url)
    if not tools.wait_for("Page.loadEventFired", 20):
        raise RuntimeError(f"{url} did not finish loading in 20 s")
    tools.wait_for("Never.happens", 0.5)  # let late console messages arrive
    result = PageVisit()
    images = tools.call("Runtime.evaluate", expression=_IMAGES_JS, returnByValue=True)
    result.images = json.loads(images["result"]["value"])
    title = tools.call("Runtime.evaluate", expression="document.title", returnByValue=True)
    result.title = title["result"]["value"]
    metrics = tools.call("Page.getLayoutMetrics")
    height = int(metrics["cssContentSize"]["height"])
    shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": width, "height": min(height, 12000),
                            "scale": 1})
    result.screenshot = base64.b64decode(shot["data"])
    _collect(tools.events, url, result)
    return result


def _collect(events: list[dict[str, Any]], url: str, result: PageVisit) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            result.console_errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            result.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.loadingFailed":
            result.failed_requests.append(params.get("errorText", ""))
        elif method == "Network.requestWillBeSent":
            target = params["request"]["url"]
            if not target.startswith("data:") and target != url:
                result.outside_requests.append(target)
