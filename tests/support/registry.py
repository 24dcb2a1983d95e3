"""Run a real Debian ``docker-registry`` (distribution 2.8.2) for tests.

The registry is started as a child process on a free loopback port with a
config file written by :func:`start_registry`. Three modes are supported:
anonymous, htpasswd (HTTP Basic) and token auth. For token auth a small token
service (:class:`TokenService`) runs in a thread on its own loopback port and
signs ES256 JWTs with a freshly generated key and self-signed certificate that
the registry is configured to trust.

:func:`push_auth` gives an :class:`httpx.Auth` that answers the registry's
challenges. To put content into the registry, build it with
:mod:`tests.support.oci` (``ContentStore``, ``add_image``) and upload it with
:func:`tests.support.oci.push` through a client carrying that auth.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final, cast
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REGISTRY_BINARY: Final = Path("/usr/bin/docker-registry")
"""Path of the Debian ``docker-registry`` executable."""

STARTUP_TIMEOUT_SECONDS: Final = 15.0
"""How long :meth:`RunningRegistry.start` waits for ``GET /v2/`` to answer."""

HTTP_SECRET: Final = "fixed-secret-for-tests"
"""The fixed ``http.secret`` (upload state survives a restart)."""

TOKEN_ISSUER: Final = "test-token-service"
"""The ``iss`` claim of tokens minted by :class:`TokenService`."""

HTPASSWD_REALM: Final = "test-registry"
"""The realm the registry announces in its Basic challenge."""

_LOOPBACK: Final = "127.0.0.1"
_LOG_TAIL_LINES: Final = 40
_POLL_INTERVAL_SECONDS: Final = 0.05

_live_processes: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()


def _kill_leftover_processes() -> None:
    """Kill registry processes that were never stopped (interpreter exit)."""
    with _live_lock:
        processes = list(_live_processes)
        _live_processes.clear()
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


atexit.register(_kill_leftover_processes)


# --------------------------------------------------------------------------
# Auth configuration values
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class HtpasswdAuth:
    """Basic auth from an htpasswd file of bcrypt hashes.

    Every authenticated user may do everything (distribution has no ACLs).
    """

    users: Mapping[str, str]
    """Username to clear-text password."""


@dataclass(frozen=True)
class TokenAuth:
    """Bearer token auth backed by a :class:`TokenService`."""

    users: Mapping[str, str]
    """Username to clear-text password accepted by the token service."""
    service: str = "test-registry"
    """The ``service`` (JWT ``aud``) the registry announces and expects."""
    token_ttl_seconds: int = 300
    """Lifetime of issued tokens, also returned as ``expires_in``."""


@dataclass(frozen=True)
class AccessEntry:
    """One element of a token's ``access`` claim."""

    type: str
    """Resource type, e.g. ``repository`` or ``registry``."""
    name: str
    """Resource name, e.g. ``library/alpine`` or ``catalog``."""
    actions: tuple[str, ...]
    """Granted actions, e.g. ``("pull", "push")`` or ``("*",)``."""


@dataclass(frozen=True)
class TokenRequest:
    """What the token service saw in one request to its ``/token`` endpoint."""

    scopes: tuple[str, ...]
    """The requested scopes, in order (repeated and space-separated forms split)."""
    username: str | None
    """The Basic username sent, or ``None`` for an anonymous request."""
    service: str | None
    """The ``service`` query parameter, or ``None`` if absent."""
    granted: bool
    """Whether a token was issued."""


# --------------------------------------------------------------------------
# Token service
# --------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rfc3339(moment: dt.datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a ``Z`` suffix."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_scope(scope: str) -> AccessEntry | None:
    """Parse ``type:name:actions``; the name may itself contain colons."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first <= 0 or last == first:
        return None
    resource_type = scope[:first]
    name = scope[first + 1 : last]
    actions = tuple(a for a in scope[last + 1 :].split(",") if a)
    if not name or not actions:
        return None
    return AccessEntry(type=resource_type, name=name, actions=actions)


def _grantable(entry: AccessEntry) -> bool:
    """Whether the token service grants this scope to a valid user."""
    if entry.type == "repository":
        return True
    return entry.type == "registry" and entry.name == "catalog"


def _basic_header(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class _TokenHTTPServer(ThreadingHTTPServer):
    """HTTP server that knows the :class:`TokenService` it serves."""

    daemon_threads = True

    def __init__(self, owner: TokenService) -> None:
        super().__init__((_LOOPBACK, 0), _TokenHandler)
        self.owner = owner


class _TokenHandler(BaseHTTPRequestHandler):
    """``GET /token`` handler in the style of Docker's token server."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        """Answer a token request."""
        owner = cast(_TokenHTTPServer, self.server).owner
        split = urlsplit(self.path)
        if split.path != "/token":
            self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": split.path}]})
            return
        query = parse_qs(split.query, keep_blank_values=True)
        scopes = tuple(s for raw in query.get("scope", []) for s in raw.split(" ") if s)
        service_values = query.get("service")
        service = service_values[0] if service_values else None
        username = self._basic_username()
        granted, status, body = owner._answer(scopes, service, self.headers.get("Authorization"))
        owner._record(
            TokenRequest(scopes=scopes, username=username, service=service, granted=granted)
        )
        extra = {} if status != 401 else {"WWW-Authenticate": 'Basic realm="token-service"'}
        self._send_json(status, body, extra)

    def _basic_username(self) -> str | None:
        """The username from a Basic ``Authorization`` header, if any."""
        header = self.headers.get("Authorization")
        if header is None or not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0]

    def _send_json(
        self, status: int, body: object, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a JSON response."""
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class TokenService:
    """A token server for the registry's ``auth.token`` mode.

    Runs a threaded HTTP server on a free loopback port. ``GET /token`` with
    valid Basic credentials grants every requested ``repository:...`` scope
    and ``registry:catalog:*``; anonymous or wrong credentials get 401 and a
    ``service`` different from the configured one gets 400.
    """

    def __init__(self, auth: TokenAuth, cert_path: Path, *, issuer: str = TOKEN_ISSUER) -> None:
        """Make a P-256 key and self-signed cert (PEM to ``cert_path``); start serving."""
        self.auth = auth
        """The :class:`TokenAuth` this service enforces."""
        self.service = auth.service
        """The expected ``service``; also the ``aud`` of issued tokens."""
        self.issuer = issuer
        """The ``iss`` of issued tokens."""
        self.cert_path = cert_path
        """PEM of the self-signed signing certificate (the registry's ``rootcertbundle``)."""
        self.requests: list[TokenRequest] = []
        """One entry per request to ``/token``, in arrival order."""
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = self._make_certificate()
        cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        der_cert = self._cert.public_bytes(serialization.Encoding.DER)
        self._x5c = base64.b64encode(der_cert).decode("ascii")
        self._server = _TokenHTTPServer(self)
        self.port: int = self._server.server_address[1]
        """The loopback port the service listens on."""
        self.realm = f"http://{_LOOPBACK}:{self.port}/token"
        """The token endpoint URL (the registry's ``auth.token.realm``)."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"token-service-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    def _make_certificate(self) -> x509.Certificate:
        """A self-signed certificate for the signing key, valid for a day either side of now."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    def issue_token(
        self,
        subject: str,
        access: Sequence[AccessEntry],
        *,
        ttl_seconds: int | None = None,
        not_before_offset_seconds: int = 0,
    ) -> str:
        """Mint a signed ES256 JWT the registry accepts (or, with odd times, rejects).

        ``ttl_seconds`` defaults to the configured TTL and may be negative to
        mint an already-expired token. Note that 2.8.2 allows 60 s of clock
        skew on both ``exp`` and ``nbf``: a token expired 59 s ago is still
        accepted, one expired 61 s ago is not (likewise for ``nbf`` in the future).
        """
        ttl = self.auth.token_ttl_seconds if ttl_seconds is None else ttl_seconds
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self._x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + ttl,
            "nbf": now + not_before_offset_seconds,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": [
                {"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access
            ],
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + _b64url(signature)

    def _check_credentials(self, authorization: str | None) -> str | None:
        """The username if the Basic credentials are valid, else ``None``."""
        if authorization is None or not authorization.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep:
            return None
        expected = self.auth.users.get(username)
        if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
            return None
        return username

    def _answer(
        self, scopes: Sequence[str], service: str | None, authorization: str | None
    ) -> tuple[bool, int, object]:
        """Decide a token request: (granted, HTTP status, JSON body)."""
        if service is not None and service != self.service:
            message = f"unknown service {service!r}"
            return False, 400, {"errors": [{"code": "DENIED", "message": message}]}
        username = self._check_credentials(authorization)
        if username is None:
            error = {"code": "UNAUTHORIZED", "message": "authentication required"}
            return False, 401, {"errors": [error]}
        parsed = (_parse_scope(scope) for scope in scopes)
        access = [entry for entry in parsed if entry is not None and _grantable(entry)]
        token = self.issue_token(username, access)
        body = {
            "token": token,
            "access_token": token,
            "expires_in": self.auth.token_ttl_seconds,
            "issued_at": _rfc3339(dt.datetime.now(dt.UTC)),
        }
        return True, 200, body

    def _record(self, request: TokenRequest) -> None:
        """Append to :attr:`requests` (called from server threads)."""
        with self._lock:
            self.requests.append(request)

    def stop(self) -> None:
        """Shut the HTTP server down and join its thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------
# The registry process
# --------------------------------------------------------------------------


def _free_port() -> int:
    """A currently free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _yaml_scalar(value: object) -> str:
    """Render a scalar as YAML (JSON scalars are valid YAML)."""
    return json.dumps(value)


def _yaml_lines(mapping: Mapping[str, object], indent: int = 0) -> Iterable[str]:
    """Render nested mappings of scalars as block-style YAML lines."""
    pad = "  " * indent
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield f"{pad}{key}:"
            yield from _yaml_lines(cast(Mapping[str, object], value), indent + 1)
        else:
            yield f"{pad}{key}: {_yaml_scalar(value)}"


def _write_htpasswd(path: Path, users: Mapping[str, str]) -> None:
    """Write an htpasswd file of bcrypt hashes as ``bcrypt`` emits them (``$2b$``).

    distribution 2.8.2 (Go's x/crypto/bcrypt) accepts ``$2a$``, ``$2b$`` and
    ``$2y$`` alike; only non-bcrypt hashes are refused.
    """
    lines = []
    for username, password in users.items():
        if ":" in username:
            raise ValueError(f"htpasswd username may not contain ':': {username!r}")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode("ascii")
        lines.append(f"{username}:{hashed}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class RunningRegistry:
    """A ``docker-registry serve`` child process and the files it uses.

    Created (and first started) by :func:`start_registry`. :meth:`stop` and
    :meth:`start` may be called repeatedly; the port, config and data stay the
    same. :meth:`close` also stops the token service.
    """

    def __init__(
        self,
        *,
        workdir: Path,
        port: int,
        config_path: Path,
        log_path: Path,
        data_dir: Path,
        auth: HtpasswdAuth | TokenAuth | None,
        token_service: TokenService | None,
    ) -> None:
        """Record the layout; does not start anything (see :func:`start_registry`)."""
        self.workdir = workdir
        """Directory holding config, log, data and auth files."""
        self.port = port
        """The loopback port the registry listens on."""
        self.host = f"{_LOOPBACK}:{port}"
        """``127.0.0.1:<port>``, the registry part of an image reference."""
        self.url = f"http://{self.host}"
        """Base URL, ``http://127.0.0.1:<port>`` (no trailing slash)."""
        self.config_path = config_path
        """The ``config.yml`` the process is started with."""
        self.log_path = log_path
        """File receiving the process's stdout and stderr (appended across restarts)."""
        self.data_dir = data_dir
        """``storage.filesystem.rootdirectory``."""
        self.auth = auth
        """The auth mode the registry was configured with."""
        self.token_service = token_service
        """The token service when ``auth`` is :class:`TokenAuth`, else ``None``."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the registry process is currently alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the live process, or ``None``."""
        return self._process.pid if self._process is not None and self.running else None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the registry log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> None:
        """Start the process (no-op if running) and wait until ``GET /v2/`` answers 200 or 401.

        Raises :class:`RuntimeError` with the log tail if the process exits or
        does not answer within :data:`STARTUP_TIMEOUT_SECONDS`.
        """
        if self.running:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [str(REGISTRY_BINARY), "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        with _live_lock:
            _live_processes.add(process)
        self._process = process
        try:
            self._wait_ready(process)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        """Poll ``GET /v2/`` until it answers, the process dies, or time runs out."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        last_error = "no attempt made"
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while True:
                code = process.poll()
                if code is not None:
                    raise RuntimeError(
                        f"docker-registry exited with status {code} during startup "
                        f"(port {self.port}); log tail:\n{self.log_tail()}"
                    )
                try:
                    response = client.get(f"{self.url}/v2/")
                except httpx.HTTPError as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in (200, 401):
                        return
                    last_error = f"GET /v2/ answered {response.status_code}"
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"docker-registry on port {self.port} not ready after "
                        f"{STARTUP_TIMEOUT_SECONDS:.0f}s ({last_error}); "
                        f"log tail:\n{self.log_tail()}"
                    )
                time.sleep(_POLL_INTERVAL_SECONDS)

    def stop(self) -> None:
        """Terminate the process and wait for it to exit (idempotent).

        Sends SIGTERM, then SIGKILL after 10 s.
        """
        process = self._process
        self._process = None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        with _live_lock:
            _live_processes.discard(process)

    def close(self) -> None:
        """Stop the registry and its token service, if any (idempotent)."""
        self.stop()
        if self.token_service is not None:
            self.token_service.stop()

    def __enter__(self) -> RunningRegistry:
        """Use as a context manager that :meth:`close` s on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Call :meth:`close`."""
        self.close()

    def __repr__(self) -> str:
        """Show URL, auth mode and state."""
        mode = type(self.auth).__name__ if self.auth is not None else "anonymous"
        state = "running" if self.running else "stopped"
        return f"<RunningRegistry {self.url} {mode} {state}>"


def start_registry(
    workdir: Path,
    *,
    auth: HtpasswdAuth | TokenAuth | None = None,
    catalog_max_entries: int | None = None,
) -> RunningRegistry:
    """Write a config into ``workdir`` and start a registry on a free loopback port.

    Files in ``workdir``: ``config.yml``, ``registry.log``, ``data/`` and,
    depending on ``auth``, ``htpasswd`` or ``token-cert.pem``. Returns once
    ``GET /v2/`` answers; the caller must :meth:`RunningRegistry.close` it.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    port = _free_port()
    config: dict[str, object] = {
        "version": "0.1",
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"{_LOOPBACK}:{port}", "secret": HTTP_SECRET},
    }
    token_service: TokenService | None = None
    if isinstance(auth, HtpasswdAuth):
        htpasswd_path = workdir / "htpasswd"
        _write_htpasswd(htpasswd_path, auth.users)
        config["auth"] = {"htpasswd": {"realm": HTPASSWD_REALM, "path": str(htpasswd_path)}}
    elif isinstance(auth, TokenAuth):
        token_service = TokenService(auth, workdir / "token-cert.pem")
        config["auth"] = {
            "token": {
                "realm": token_service.realm,
                "service": auth.service,
                "issuer": token_service.issuer,
                "rootcertbundle": str(token_service.cert_path),
            }
        }
    if catalog_max_entries is not None:
        config["catalog"] = {"maxentries": catalog_max_entries}
    config_path = workdir / "config.yml"
    config_path.write_text("\n".join(_yaml_lines(config)) + "\n", encoding="utf-8")
    registry = RunningRegistry(
        workdir=workdir,
        port=port,
        config_path=config_path,
        log_path=workdir / "registry.log",
        data_dir=data_dir,
        auth=auth,
        token_service=token_service,
    )
    try:
        registry.start()
    except BaseException:
        registry.close()
        raise
    return registry


# --------------------------------------------------------------------------
# Client side auth for the tests' own requests
# --------------------------------------------------------------------------

_CHALLENGE_PARAM = re.compile(r'([A-Za-z_]+)="([^"]*)"')


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split ``Scheme k="v",...`` into the lower-cased scheme and its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): v for k, v in _CHALLENGE_PARAM.findall(rest)}


class _RegistryAuth(httpx.Auth):
    """Answers Basic or Bearer challenges with fixed credentials.

    The last working ``Authorization`` header is sent pre-emptively; on a 401
    the challenge is answered afresh. Works with sync and async clients.
    """

    requires_request_body = True
    requires_response_body = True

    def __init__(self, username: str, password: str) -> None:
        """Remember the credentials."""
        self.username = username
        self.password = password
        self._authorization: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send, and on 401 obtain credentials for the challenge and resend."""
        if self._authorization is not None:
            request.headers["Authorization"] = self._authorization
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate")
        if challenge is None:
            return
        scheme, params = _parse_challenge(challenge)
        basic = _basic_header(self.username, self.password)
        if scheme == "basic":
            authorization = basic
        elif scheme == "bearer" and "realm" in params:
            query: dict[str, str] = {k: params[k] for k in ("service", "scope") if k in params}
            token_response = yield httpx.Request(
                "GET", params["realm"], params=query, headers={"Authorization": basic}
            )
            if token_response.status_code != 200:
                return
            data = token_response.json()
            token = data.get("token") or data.get("access_token")
            if not isinstance(token, str):
                return
            authorization = f"Bearer {token}"
        else:
            return
        self._authorization = authorization
        request.headers["Authorization"] = authorization
        yield request


def push_auth(registry: RunningRegistry, username: str, password: str) -> httpx.Auth:
    """An :class:`httpx.Auth` for ``registry`` that answers its Basic or Bearer challenge.

    Bearer: ``GET realm?service=..&scope=..`` (values from the challenge) with
    Basic credentials, then the request is retried with the token.
    """
    del registry  # the challenge carries everything needed; kept for API symmetry
    return _RegistryAuth(username=username, password=password)
