"""Prove the real-registry test infrastructure works against ``docker-registry`` 2.8.2."""

from __future__ import annotations

import base64
import json
import socket

import httpx
import pytest

from tests.support import fixtures as _fixtures
from tests.support.oci import MEDIA_OCI_MANIFEST, ContentStore, add_image, push, sha256_digest
from tests.support.registry import (
    AccessEntry,
    HtpasswdAuth,
    RunningRegistry,
    TokenAuth,
    push_auth,
)

# Make the fixtures available here even before tests/conftest.py imports them.
registry = _fixtures.registry
registry_factory = _fixtures.registry_factory

USERS = {"alice": "wonder:land s3cret"}


def _client(auth: httpx.Auth | None = None) -> httpx.Client:
    """A client that never consults proxy settings from the environment."""
    return httpx.Client(auth=auth, trust_env=False, timeout=10.0)


def test_anonymous_registry_answers_v2(registry: RunningRegistry) -> None:
    assert registry.url == f"http://127.0.0.1:{registry.port}"
    assert registry.running
    assert registry.token_service is None
    with _client() as client:
        response = client.get(f"{registry.url}/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.config_path.read_text().count("rootdirectory") == 1
    assert registry.data_dir == registry.workdir / "data"


def test_htpasswd_basic_challenge(registry_factory: _fixtures.RegistryFactory) -> None:
    reg = registry_factory(auth=HtpasswdAuth(USERS))
    line = (reg.workdir / "htpasswd").read_text().strip()
    assert line.startswith("alice:$2b$")
    with _client() as client:
        anonymous = client.get(f"{reg.url}/v2/")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="test-registry"'
        good = client.get(f"{reg.url}/v2/", auth=("alice", USERS["alice"]))
        assert good.status_code == 200
        bad = client.get(f"{reg.url}/v2/", auth=("alice", "nope"))
        assert bad.status_code == 401
    with _client(push_auth(reg, "alice", USERS["alice"])) as client:
        catalog = client.get(f"{reg.url}/v2/_catalog")
    assert catalog.status_code == 200
    assert catalog.json() == {"repositories": []}


def test_token_auth_bearer_challenge_and_catalog(
    registry_factory: _fixtures.RegistryFactory,
) -> None:
    reg = registry_factory(auth=TokenAuth(USERS, service="svc.test"))
    service = reg.token_service
    assert service is not None
    assert service.realm == f"http://127.0.0.1:{service.port}/token"
    with _client() as client:
        anonymous = client.get(f"{reg.url}/v2/_catalog")
        assert anonymous.status_code == 401
        challenge = anonymous.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert f'realm="{service.realm}"' in challenge
        assert 'service="svc.test"' in challenge
        assert 'scope="registry:catalog:*"' in challenge
        # The token endpoint itself: anonymous, bad password and wrong service are refused.
        scope = {"service": "svc.test", "scope": "registry:catalog:*"}
        assert client.get(service.realm, params=scope).status_code == 401
        bad = client.get(service.realm, params=scope, auth=("alice", "nope"))
        assert bad.status_code == 401
        wrong = {"service": "other", "scope": "registry:catalog:*"}
        wrong_service = client.get(service.realm, params=wrong, auth=("alice", USERS["alice"]))
        assert wrong_service.status_code == 400
    assert [(r.username, r.granted) for r in service.requests] == [
        (None, False),
        ("alice", False),
        ("alice", False),
    ]
    service.requests.clear()

    with _client(push_auth(reg, "alice", USERS["alice"])) as client:
        catalog = client.get(f"{reg.url}/v2/_catalog")
        assert catalog.status_code == 200
        assert catalog.json() == {"repositories": []}
        # The same token is reused pre-emptively for the same scope.
        assert client.get(f"{reg.url}/v2/_catalog").status_code == 200
    assert len(service.requests) == 1
    request = service.requests[0]
    assert request.scopes == ("registry:catalog:*",)
    assert request.username == "alice"
    assert request.service == "svc.test"
    assert request.granted


def test_token_service_response_shape_and_expired_tokens(
    registry_factory: _fixtures.RegistryFactory,
) -> None:
    reg = registry_factory(auth=TokenAuth(USERS, token_ttl_seconds=120))
    service = reg.token_service
    assert service is not None
    with _client() as client:
        response = client.get(
            f"{service.realm}?service=test-registry&scope=repository:a/b:pull"
            "&scope=repository:c:pull,push%20registry:catalog:*",
            auth=("alice", USERS["alice"]),
        )
        assert response.status_code == 200
        body = response.json()
        assert body["token"] == body["access_token"]
        assert body["expires_in"] == 120
        assert body["issued_at"].endswith("Z")
        assert service.requests[-1].scopes == (
            "repository:a/b:pull",
            "repository:c:pull,push",
            "registry:catalog:*",
        )
        encoded_header, encoded_claims, signature = body["token"].split(".")
        header = json.loads(_b64decode(encoded_header))
        claims = json.loads(_b64decode(encoded_claims))
        assert len(_b64decode(signature)) == 64
        assert header["alg"] == "ES256"
        assert len(header["x5c"]) == 1
        assert claims["aud"] == "test-registry"
        assert claims["access"] == [
            {"type": "repository", "name": "a/b", "actions": ["pull"]},
            {"type": "repository", "name": "c", "actions": ["pull", "push"]},
            {"type": "registry", "name": "catalog", "actions": ["*"]},
        ]
        catalog_access = [AccessEntry("registry", "catalog", ("*",))]
        good = service.issue_token("alice", catalog_access)
        ok = client.get(f"{reg.url}/v2/_catalog", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200
        # 2.8.2 allows 60 s of clock skew, so "expired" has to be older than that.
        expired = service.issue_token("alice", catalog_access, ttl_seconds=-120)
        denied = client.get(
            f"{reg.url}/v2/_catalog", headers={"Authorization": f"Bearer {expired}"}
        )
        assert denied.status_code == 401
        no_access = service.issue_token("alice", [])
        denied = client.get(
            f"{reg.url}/v2/_catalog", headers={"Authorization": f"Bearer {no_access}"}
        )
        assert denied.status_code == 401
        assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]


def _b64decode(part: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_oci_push_under_token_auth(
    registry_factory: _fixtures.RegistryFactory,
) -> None:
    reg = registry_factory(auth=TokenAuth(USERS))
    service = reg.token_service
    assert service is not None
    store = ContentStore()
    root = add_image(store, seed="token-push", layers=2)
    with _client(push_auth(reg, "alice", USERS["alice"])) as client:
        push(client, reg.url, "team/app", store, root, "v1")
        got = client.get(
            f"{reg.url}/v2/team/app/manifests/v1", headers={"Accept": MEDIA_OCI_MANIFEST}
        )
        assert got.status_code == 200
        assert got.headers["Docker-Content-Digest"] == root.digest
        assert sha256_digest(got.content) == root.digest
        assert got.content == store.blobs[root.digest]
        manifest = got.json()
        assert len(manifest["layers"]) == 2
        blobs = [manifest["config"], *manifest["layers"]]
        for digest in (blob["digest"] for blob in blobs):
            fetched = client.get(f"{reg.url}/v2/team/app/blobs/{digest}")
            assert fetched.status_code == 200
            assert fetched.content == store.blobs[digest]
        tags = client.get(f"{reg.url}/v2/team/app/tags/list")
        assert tags.json() == {"name": "team/app", "tags": ["v1"]}
    assert all(r.granted for r in service.requests)
    # 2.8.2 lists the challenge's actions in random order (Go map iteration).
    requested = {
        s.rpartition(":")[0] + ":" + ",".join(sorted(s.rpartition(":")[2].split(",")))
        for r in service.requests
        for s in r.scopes
    }
    assert "repository:team/app:pull,push" in requested


def test_stop_then_start_keeps_data(registry: RunningRegistry) -> None:
    store = ContentStore()
    root = add_image(store, seed="keep-me")
    with _client() as client:
        push(client, registry.url, "keep/me", store, root, "latest")
    url, pid = registry.url, registry.pid
    registry.stop()
    registry.stop()  # idempotent
    # Read the properties into locals: mypy would otherwise keep the narrowing.
    running_after_stop, pid_after_stop = registry.running, registry.pid
    assert not running_after_stop
    assert pid_after_stop is None
    with _client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"{registry.url}/v2/")
    registry.start()
    registry.start()  # no-op while running
    assert registry.running
    assert registry.url == url
    assert registry.pid != pid
    with _client() as client:
        head = client.head(
            f"{registry.url}/v2/keep/me/manifests/latest", headers={"Accept": MEDIA_OCI_MANIFEST}
        )
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == root.digest


def test_start_failure_reports_log_tail(registry: RunningRegistry) -> None:
    registry.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", registry.port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="address already in use") as excinfo:
            registry.start()
    assert "log tail" in str(excinfo.value)
    assert not registry.running
    registry.start()
    assert registry.running


def test_catalog_max_entries_produces_link(registry_factory: _fixtures.RegistryFactory) -> None:
    reg = registry_factory(catalog_max_entries=2)
    store = ContentStore()
    root = add_image(store, seed="catalog")
    with _client() as client:
        for name in ("alpha", "bravo", "charlie"):
            push(client, reg.url, name, store, root, "v1")
        first = client.get(f"{reg.url}/v2/_catalog")
        assert first.status_code == 200
        assert first.json() == {"repositories": ["alpha", "bravo"]}
        link = first.headers["Link"]
        assert link == '</v2/_catalog?last=bravo&n=2>; rel="next"'
        second = client.get(first.url.join(link[1 : link.index(">")]))
        assert second.json() == {"repositories": ["charlie"]}
        assert "Link" not in second.headers
        too_many = client.get(f"{reg.url}/v2/_catalog", params={"n": 3})
        assert too_many.status_code == 400
        assert too_many.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"
