"""Test a Hearth plugin against a real host, from ``python -m unittest``:
``TestHost()`` runs ``hearth serve`` on a loopback port with a temporary data
directory, ``install_project`` builds the plugin with ``hearth plugin build`` and
installs it, and the methods drive it over the HTTP API with appliance events and
service calls. The host is ``$HEARTH_BIN`` (set by ``hearth plugin test``), else
``hearth`` on the PATH.

This package runs in CPython, outside the component: it uses the standard library only.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional

from hearth_testing import events  # noqa: F401 - re-exported

HOUSEHOLD = "household-1"
DELIVERY_TIMEOUT_S = 30.0


class ApiError(Exception):
    """An API refusal: HTTP status, the API's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _binary() -> str:
    return os.environ.get("HEARTH_BIN") or "hearth"


class TestHost:
    """A ``hearth serve`` for one test, with the household HOUSEHOLD. Use it as a
    context manager, or call ``stop()``."""

    __test__ = False  # not a test case for unittest or pytest

    def __init__(self) -> None:
        self._data = tempfile.mkdtemp(prefix="hearth-test-")
        self.operator_token = f"hth_test_{secrets.token_hex(16)}"
        args = [_binary(), "serve", "--listen", "127.0.0.1:0", "--dev-allow-unsigned-packages"]
        args += ["--retry-backoff-ms", "1", "--retry-backoff-max-ms", "5", "--data", self._data]
        env = dict(os.environ, HEARTH_OPERATOR_TOKEN=self.operator_token, RUST_LOG="error")
        try:
            self._child = subprocess.Popen(
                args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        except OSError as error:
            raise RuntimeError(
                f"cannot run {_binary()}: {error}; run the tests with `hearth plugin test` or set HEARTH_BIN"
            ) from None
        line = self._child.stdout.readline().strip() if self._child.stdout else ""
        if not line.startswith("hearth listening on "):
            self.stop()
            raise RuntimeError(f"{_binary()} did not start: {line!r}")
        self.url = line.removeprefix("hearth listening on ")
        self._plugins: List[str] = []
        self._households: Dict[str, Dict[str, Any]] = {}
        self._devices: Dict[str, str] = {}
        self.add_household(HOUSEHOLD)

    def __enter__(self) -> "TestHost":
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Stops the host and deletes its data."""
        if self._child.poll() is None:
            self._child.kill()
            self._child.wait()
        if self._child.stdout:
            self._child.stdout.close()
        shutil.rmtree(self._data, ignore_errors=True)

    def _request(self, method: str, path: str, token: str, body: Any = None, content_type: str = "application/json"):
        data = None
        if isinstance(body, bytes):
            data = body
        elif body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("authorization", f"Bearer {token}")
        request.add_header("content-type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                problem = json.loads(text)["error"]
                raise ApiError(error.code, problem.get("code", "error"), problem.get("message", text)) from None
            except (ValueError, KeyError, TypeError):
                raise ApiError(error.code, "error", text) from None

    def _json(self, method: str, path: str, token: str, body: Any = None) -> Any:
        _, raw = self._request(method, path, token, body)
        return json.loads(raw) if raw else None

    def _operator(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(method, path, self.operator_token, body)

    def _token(self, role: str, scope: str) -> str:
        return self._operator("POST", "/v1/tokens", {"role": role, "scope": scope})["token"]

    def _grant_everything(self) -> None:
        for household in self._households.values():
            grant = {"device_kinds": household["kinds"], "devices": [], "control": True}
            for plugin in self._plugins:
                self._json("PUT", f"/v1/me/grants/{plugin}", household["token"], grant)

    def add_household(self, household: str) -> None:
        """Adds another household, consenting to every installed plugin."""
        self._operator("POST", "/v1/households", {"id": household})
        self._households[household] = {"token": self._token("user", household), "kinds": []}
        self._grant_everything()

    def grant(self, plugin: str, household: str, device_kinds: List[str], control: bool) -> None:
        """Replaces what ``household`` grants ``plugin`` (the helper grants everything,
        with control, whenever a plugin or device is added)."""
        grant = {"device_kinds": device_kinds, "devices": [], "control": control}
        self._json("PUT", f"/v1/me/grants/{plugin}", self._households[household]["token"], grant)

    def add_device(self, device: str, kind: str, household: str = HOUSEHOLD) -> None:
        """Adds an appliance (region DE); every installed plugin may see and command it."""
        body = {"id": device, "household": household, "kind": kind, "model": "test-model", "region": "DE"}
        self._operator("POST", "/v1/devices", body)
        self._devices[device] = self._token("device", device)
        kinds = self._households[household]["kinds"]
        if kind not in kinds:
            kinds.append(kind)
        self._grant_everything()

    def install_project(self, project_dir: str) -> str:
        """Builds the plugin in ``project_dir`` with ``hearth plugin build`` and installs
        it with its hearth.toml; returns the plugin id."""
        built = subprocess.run(
            [_binary(), "plugin", "build", "--path", project_dir], capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            raise RuntimeError(f"building {project_dir} failed:\n{built.stderr}")
        component = built.stdout.strip().splitlines()[-1]
        return self.install(os.path.join(project_dir, "hearth.toml"), component)

    def install(self, manifest_path: str, component_path: str) -> str:
        """Installs a built component with its manifest (unsigned); returns the plugin id."""
        boundary = f"hearth-testing-{secrets.token_hex(8)}"
        with open(manifest_path, "rb") as manifest, open(component_path, "rb") as component:
            body = (
                f"--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n".encode()
                + manifest.read()
                + f"\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; "
                f"filename=\"plugin.wasm\"\r\ncontent-type: application/wasm\r\n\r\n".encode()
                + component.read()
                + f"\r\n--{boundary}--\r\n".encode()
            )
        _, raw = self._request(
            "POST", "/v1/plugins", self.operator_token, body, f"multipart/form-data; boundary={boundary}"
        )
        plugin = json.loads(raw)["id"]
        self._operator("PUT", f"/v1/plugins/{plugin}/log-level", {"level": "debug"})
        self._plugins.append(plugin)
        self._grant_everything()
        return plugin

    def send(self, device: str, *sent: Dict[str, Any]) -> None:
        """Sends events as ``device`` and waits until every plugin has handled (or
        dead-lettered) them."""
        if device not in self._devices:
            raise KeyError(f"no device {device}: add it with add_device")
        self._json("POST", "/v1/events", self._devices[device], list(sent))
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        for plugin in self._plugins:
            while (status := self.status(plugin)).get("lag", 0) != 0:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{plugin} did not handle the events in time: {status}")
                time.sleep(0.002)

    def call(self, service: str, operation: str, input: Any = None, household: str = HOUSEHOLD) -> Any:  # noqa: A002
        """Calls ``service.operation`` as ``household`` would; returns the JSON answer."""
        token = self._households[household]["token"]
        return self._json("POST", f"/v1/services/{service}/{operation}", token, {} if input is None else input)

    def notifications(self, household: str = HOUSEHOLD) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/me/notifications", self._households[household]["token"])["notifications"]

    def offers(self, household: str = HOUSEHOLD) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/me/offers", self._households[household]["token"])["offers"]

    def take_commands(self, device: str) -> List[Dict[str, Any]]:
        """Takes the commands queued for ``device``, as the appliance would."""
        return self._json("GET", "/v1/commands", self._devices[device])["commands"]

    def kv(self, plugin: str, key: str, household: Optional[str] = None) -> Any:
        """One kv value decoded from JSON (None: absent); ``household`` for household keys."""
        query = {"key": key, **({"household": household} if household else {})}
        try:
            _, raw = self._request("GET", f"/v1/plugins/{plugin}/kv/value?{urllib.parse.urlencode(query)}",
                                   self.operator_token)
        except ApiError as error:
            if error.status == 404 and "has no key" in error.message:
                return None
            raise
        return json.loads(raw)

    def dead_letters(self, plugin: str) -> List[Dict[str, Any]]:
        return self._operator("GET", f"/v1/plugins/{plugin}/dead-letters")["dead_letters"]

    def logs(self, plugin: str) -> List[Dict[str, Any]]:
        """The plugin's log, oldest first (lines take up to 250 ms to appear)."""
        return self._operator("GET", f"/v1/plugins/{plugin}/logs?limit=1000")["lines"]

    def status(self, plugin: str) -> Dict[str, Any]:
        """The plugin's status (delivered, failed, lag, calls_not_granted, …)."""
        return self._operator("GET", f"/v1/plugins/{plugin}")["status"]
