"""Load the YAML configuration into typed, validated settings.

Relative paths in the file are resolved against the folder that holds the file, so a
configuration means the same thing wherever the auditor is started from. Secrets are never
read from the file: it names environment variables, checked here and read only when a
registry client is built.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from auditor.errors import ConfigError

DEFAULT_CONFIG = Path("config/auditor.yaml")
"""Used when no ``--config`` is given and ``AUDITOR_CONFIG`` is not set."""

_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Credentials(_Settings):
    """Names of the environment variables that hold a registry's credentials."""

    username_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    def resolve(self) -> Secret:
        """Read the variables; raises `ConfigError` naming the variable that is unset."""
        values = []
        for variable in (self.username_env, self.password_env):
            value = os.environ.get(variable)
            if not value:
                raise ConfigError(
                    f"environment variable {variable} is not set (named in credentials)"
                )
            values.append(value)
        return Secret(username=values[0], password=values[1])


@dataclass(frozen=True, slots=True)
class Secret:
    """A username and password; `repr` never shows the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Secret(username={self.username!r}, password=<hidden>)"


class OciRegistry(_Settings):
    """A registry reached through the OCI distribution HTTP API."""

    name: str = Field(pattern=_NAME)
    kind: Literal["oci"]
    url: AnyHttpUrl
    repositories: tuple[str, ...] | None = None
    """Audit exactly these; when absent the repositories come from ``/v2/_catalog``."""
    credentials: Credentials | None = None
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("url")
    @classmethod
    def _no_path(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if url.path not in (None, "", "/") or url.query or url.fragment:
            raise ValueError("expected scheme://host[:port] with no path, query or fragment")
        return url

    @property
    def base_url(self) -> str:
        """The URL without a trailing slash."""
        return str(self.url).rstrip("/")


class LayoutRegistry(_Settings):
    """A folder tree of OCI image layouts; every folder holding ``oci-layout`` is a repository."""

    name: str = Field(pattern=_NAME)
    kind: Literal["layout"]
    path: Path
    concurrency: int = Field(default=8, ge=1, le=64)


RegistrySettings = Annotated[OciRegistry | LayoutRegistry, Field(discriminator="kind")]

PolicyType = Literal["default-non-root-user", "supply-chain-attestations"]


class PolicySettings(_Settings):
    """One configured policy: a stable id, its type, and the type's options."""

    id: str = Field(pattern=_NAME)
    type: PolicyType
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class ReportSettings(_Settings):
    """Where reports go and in which formats."""

    dir: Path = Path("reports")
    formats: tuple[Literal["html", "csv"], ...] = ("html", "csv")


def _default_policies() -> tuple[PolicySettings, ...]:
    return (
        PolicySettings.model_validate(
            {"id": "default-non-root-user", "type": "default-non-root-user"}
        ),
        PolicySettings.model_validate(
            {"id": "supply-chain-attestations", "type": "supply-chain-attestations"}
        ),
    )


class Settings(_Settings):
    """The whole configuration, validated."""

    database: Path = Path("audit.db")
    registries: tuple[RegistrySettings, ...] = Field(min_length=1)
    policies: tuple[PolicySettings, ...] = Field(default_factory=_default_policies)
    reports: ReportSettings = ReportSettings()


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice in this mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def config_path(explicit: str | None) -> Path:
    """The configuration file to use: the explicit one, ``$AUDITOR_CONFIG``, or the default."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("AUDITOR_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path) -> Settings:
    """Read, validate and resolve one configuration file.

    Raises `ConfigError` naming the file, the line, the key and what was expected, one
    line per problem found.
    Environment variables named for credentials must be set.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    loader = _StrictLoader(text)
    try:
        # NOTE: one parse serves both the data and the node tree that gives line numbers.
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from error
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        problems = [
            _describe(path, node, e)
            for e in error.errors()
            # NOTE: a failed item also fails the length check of its list; that echo would
            # only confuse, so it is dropped when the list was in fact long enough.
            if not (
                e["type"] == "too_short" and len(e.get("input") or ()) >= e["ctx"]["min_length"]
            )
        ]
        raise ConfigError("\n".join(problems)) from None
    problems = [
        *_repeated_names(path, node, "registries", "name", [r.name for r in settings.registries]),
        *_repeated_names(path, node, "policies", "id", [p.id for p in settings.policies]),
        *_policy_problems(path, node, settings),
    ]
    for index, registry in enumerate(settings.registries):
        if isinstance(registry, OciRegistry) and registry.credentials is not None:
            try:
                registry.credentials.resolve()
            except ConfigError as error:
                line = _line_of(node, ["registries", index, "credentials"])
                problems.append(
                    f"{path}:{line}: registries[{index}].credentials ({registry.name}): {error}"
                )
    if problems:
        raise ConfigError("\n".join(problems))
    return _resolve_paths(settings, path.parent)


def _repeated_names(
    path: Path, node: yaml.Node | None, section: str, key: str, names: list[str]
) -> list[str]:
    return [
        f"{path}:{_line_of(node, [section, index, key])}: {section}[{index}].{key}: "
        f"{name!r} is used already; {key}s must be unique"
        for index, name in enumerate(names)
        if name in names[:index]
    ]


def _policy_problems(path: Path, node: yaml.Node | None, settings: Settings) -> list[str]:
    # NOTE: imported here because auditor.policies builds on this module's settings.
    from auditor.policies import build_policies

    problems = []
    for index, policy in enumerate(settings.policies):
        try:
            build_policies([policy])
        except ConfigError as error:
            line = _line_of(node, ["policies", index, "with_"])
            problems.append(f"{path}:{line}: policies[{index}].with: {error}")
    return problems


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def under_base(path: Path) -> Path:
        return Path(os.path.normpath(base / path))

    registries = tuple(
        r.model_copy(update={"path": under_base(r.path)}) if isinstance(r, LayoutRegistry) else r
        for r in settings.registries
    )
    return settings.model_copy(
        update={
            "database": under_base(settings.database),
            "reports": settings.reports.model_copy(
                update={"dir": under_base(settings.reports.dir)}
            ),
            "registries": registries,
        }
    )


def _describe(path: Path, node: yaml.Node | None, error: Any) -> str:
    loc = [k for k in error["loc"] if k not in _DISCRIMINATORS]
    line = _line_of(node, loc)
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {_readable_location(loc) or 'settings'}: {_expected(error)}"


_DISCRIMINATORS = frozenset({"oci", "layout"})


def _readable_location(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + ("with" if item == "with_" else item))
    return "".join(parts)


def _expected(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling)"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] in ("union_tag_invalid", "union_tag_not_found") or isinstance(
        error.get("input"), dict | list
    ):
        return message
    return f"{message}, got {error['input']!r}"


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Find the 1-based line of the deepest node on `loc` that the YAML document has."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            name = "with" if key == "with_" else key
            match = next((v for k, v in node.value if k.value == name), None)
            if match is None:
                return line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            continue
        line = node.start_mark.line + 1
    return line


__all__ = [
    "DEFAULT_CONFIG",
    "Credentials",
    "LayoutRegistry",
    "OciRegistry",
    "PolicySettings",
    "RegistrySettings",
    "ReportSettings",
    "Secret",
    "Settings",
    "config_path",
    "load_config",
]
