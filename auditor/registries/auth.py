"""Registry authentication: anonymous, HTTP basic, and bearer tokens from a challenge.

The flow is the Docker token protocol: a request is answered 401 with a
``WWW-Authenticate`` challenge; a ``Basic`` challenge is answered with the credentials, a
``Bearer`` one by asking the challenge's realm for a token for its service and scope.
Tokens are cached per (realm, service, scope) until they expire, and the scheme a host asked
for is remembered, so a warm run does not pay a 401 round trip per request.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from auditor.config import Secret

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_REPOSITORY_PATH = re.compile(r"^/v2/(?P<name>.+?)/(manifests|blobs|tags|referrers)/")
_MINIMUM_TOKEN_SECONDS = 60  # the token spec's default and floor for expires_in


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str
    params: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge:
        """Parse ``Bearer realm="...",service="...",scope="..."`` or ``Basic realm="..."``."""
        scheme, _, rest = header.strip().partition(" ")
        params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}
        return cls(scheme=scheme.lower(), params=params)


def scope_for(url: httpx.URL) -> str | None:
    """The token scope a registry request needs, derived from its path."""
    if url.path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = _REPOSITORY_PATH.match(url.path)
    return f"repository:{match['name']}:pull" if match else None


class RegistryAuth(httpx.Auth):
    """Answers registry challenges for one registry host, caching what it learns.

    Credentials go only to the registry's own origin and to a token realm that is either
    HTTPS or on the registry's own host, so a hostile challenge cannot harvest them.
    """

    def __init__(self, registry_url: str, secret: Secret | None) -> None:
        self._origin = urlsplit(registry_url)
        self._secret = secret
        self._scheme: str | None = None
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._scope_keys: dict[str, tuple[str, str, str]] = {}
        self._token_requests: set[int] = set()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """See `httpx.Auth.async_auth_flow`; reads the body of token responses only.

        ``requires_response_body`` would read every response, blobs included, before the
        size limits of the client could refuse them.
        """
        flow = self.auth_flow(request)
        next_request = next(flow)
        while True:
            response = yield next_request
            if id(response.request) in self._token_requests:
                self._token_requests.discard(id(response.request))
                await response.aread()
            try:
                next_request = flow.send(response)
            except StopIteration:
                break

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: the auditor's registry clients are all async."""
        raise NotImplementedError("RegistryAuth serves httpx.AsyncClient only")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """See `httpx.Auth.auth_flow`."""
        self._authorise_from_cache(request)
        response = yield request
        if response.status_code != 401 or "www-authenticate" not in response.headers:
            return
        challenge = Challenge.parse(response.headers["www-authenticate"])
        if challenge.scheme == "basic":
            if self._secret is None:
                return
            self._scheme = "basic"
            request.headers["Authorization"] = self._basic_header()
            yield request
        elif challenge.scheme == "bearer":
            token = yield from self._fetch_token(request, challenge)
            if token is None:
                return
            self._scheme = "bearer"
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _authorise_from_cache(self, request: httpx.Request) -> None:
        if self._scheme == "basic" and self._secret is not None:
            request.headers["Authorization"] = self._basic_header()
        elif self._scheme == "bearer":
            scope = scope_for(request.url)
            key = self._scope_keys.get(scope or "")
            cached = self._tokens.get(key) if key else None
            if cached and cached[1] > time.monotonic():
                request.headers["Authorization"] = f"Bearer {cached[0]}"

    def _fetch_token(
        self, request: httpx.Request, challenge: Challenge
    ) -> Generator[httpx.Request, httpx.Response, str | None]:
        realm = challenge.params.get("realm")
        if not realm:
            return None
        service = challenge.params.get("service", "")
        scope = challenge.params.get("scope") or scope_for(request.url) or ""
        key = (realm, service, scope)
        cached = self._tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        params = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        headers = {}
        if self._secret is not None and self._may_receive_credentials(realm):
            headers["Authorization"] = self._basic_header()
        token_request = httpx.Request("GET", realm, params=params, headers=headers)
        self._token_requests.add(id(token_request))
        token_response = yield token_request
        if token_response.status_code != 200:
            return None
        try:
            body = json.loads(token_response.content)
        except ValueError:
            return None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return None
        lifetime = body.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int) and lifetime > 0 else _MINIMUM_TOKEN_SECONDS
        # NOTE: renew a little early so a token does not expire between check and use.
        self._tokens[key] = (token, time.monotonic() + max(seconds, _MINIMUM_TOKEN_SECONDS) - 10)
        own_scope = scope_for(request.url)
        if own_scope:
            self._scope_keys[own_scope] = key
        return token

    def _may_receive_credentials(self, realm: str) -> bool:
        target = urlsplit(realm)
        return target.scheme == "https" or target.hostname == self._origin.hostname

    def _basic_header(self) -> str:
        assert self._secret is not None
        pair = f"{self._secret.username}:{self._secret.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
