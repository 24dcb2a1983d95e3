"""Tests of `auditor.config`: loading, validation errors with file:line, paths, credentials."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from auditor.config import (
    LayoutRegistry,
    OciRegistry,
    Secret,
    Settings,
    load_config,
)
from auditor.errors import ConfigError
from auditor.policies import build_policies

REPO_ROOT = Path(__file__).resolve().parents[1]

LAYOUT_REGISTRY = """\
registries:
  - name: fleet
    kind: layout
    path: fleet
"""


def write_config(folder: Path, text: str, name: str = "auditor.yaml") -> Path:
    """Write `text` (dedented) as a configuration file in `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """Load `path`, expecting a `ConfigError`; return its message."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The 1-based line number of the `occurrence`-th line of `path` containing `needle`."""
    found = [
        number
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if needle in line
    ]
    return found[occurrence - 1]


class TestValidConfiguration:
    def test_loads_typed_settings(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            database: history/audit.db
            registries:
              - name: fleet
                kind: layout
                path: fleet
                concurrency: 3
              - name: internal
                kind: oci
                url: https://registry.internal:5000
                repositories: [team/api, team/web]
                timeout_seconds: 12.5
                page_size: 50
            policies:
              - id: root-check
                type: default-non-root-user
            reports:
              dir: out
              formats: [csv]
            """,
        )

        settings = load_config(path)

        assert isinstance(settings, Settings)
        layout, oci = settings.registries
        assert isinstance(layout, LayoutRegistry)
        assert layout.name == "fleet"
        assert layout.concurrency == 3
        assert isinstance(oci, OciRegistry)
        assert oci.base_url == "https://registry.internal:5000"
        assert oci.repositories == ("team/api", "team/web")
        assert oci.timeout_seconds == 12.5
        assert oci.page_size == 50
        assert oci.credentials is None
        assert [(p.id, p.type) for p in settings.policies] == [
            ("root-check", "default-non-root-user")
        ]
        assert settings.reports.formats == ("csv",)

    def test_oci_defaults_apply(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: internal
                kind: oci
                url: http://127.0.0.1:5000/
            """,
        )

        (registry,) = load_config(path).registries

        assert isinstance(registry, OciRegistry)
        assert registry.base_url == "http://127.0.0.1:5000"
        assert registry.concurrency == 8
        assert registry.repositories is None

    def test_settings_are_frozen(self, tmp_path: Path) -> None:
        settings = load_config(write_config(tmp_path, LAYOUT_REGISTRY))

        with pytest.raises(ValueError, match="frozen"):
            settings.database = Path("elsewhere.db")  # type: ignore[misc]


class TestRelativePaths:
    def test_resolve_against_the_config_folder_not_the_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config_dir = tmp_path / "etc" / "auditor"
        path = write_config(
            config_dir,
            """\
            database: ../state/audit.db
            registries:
              - name: fleet
                kind: layout
                path: images/fleet
            reports:
              dir: out
            """,
        )
        elsewhere = tmp_path / "somewhere" / "else"
        elsewhere.mkdir(parents=True)
        monkeypatch.chdir(elsewhere)

        settings = load_config(path)

        assert settings.database == tmp_path / "etc" / "state" / "audit.db"
        (registry,) = settings.registries
        assert isinstance(registry, LayoutRegistry)
        assert registry.path == config_dir / "images" / "fleet"
        assert settings.reports.dir == config_dir / "out"

    def test_defaults_also_live_next_to_the_config(self, tmp_path: Path) -> None:
        settings = load_config(write_config(tmp_path / "conf", LAYOUT_REGISTRY))

        assert settings.database == tmp_path / "conf" / "audit.db"
        assert settings.reports.dir == tmp_path / "conf" / "reports"

    def test_absolute_paths_are_kept(self, tmp_path: Path) -> None:
        database = tmp_path / "abs" / "audit.db"
        layouts = tmp_path / "abs" / "layouts"
        path = write_config(
            tmp_path / "conf",
            f"""\
            database: {database}
            registries:
              - name: fleet
                kind: layout
                path: {layouts}
            """,
        )

        settings = load_config(path)

        assert settings.database == database
        assert settings.registries[0].path == layouts  # type: ignore[union-attr]


class TestMistakes:
    """Every mistake is a `ConfigError` naming the file, the line and the key."""

    def test_unknown_key(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                kind: layout
                path: fleet
                colour: red
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'colour')}:" in message
        assert "registries[0].colour" in message
        assert "unknown key" in message

    def test_unknown_top_level_key(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, LAYOUT_REGISTRY + "schedul: nightly\n")

        message = config_error(path)

        assert f"{path}:{line_of(path, 'schedul')}: schedul: unknown key" in message

    def test_wrong_type(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: internal
                kind: oci
                url: https://registry.internal
                concurrency: many
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'concurrency')}:" in message
        assert "registries[0].concurrency" in message
        assert "'many'" in message

    def test_value_out_of_range(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: internal
                kind: oci
                url: https://registry.internal
                concurrency: 0
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'concurrency')}: registries[0].concurrency" in message

    def test_missing_required_key_in_an_entry(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            database: audit.db
            registries:
              - name: fleet
                kind: layout
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'name: fleet')}:" in message
        assert "registries[0].path" in message
        assert "required key is missing" in message

    def test_missing_registries(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, "database: audit.db\n")

        message = config_error(path)

        assert f"{path}:1: registries: required key is missing" in message

    def test_empty_registry_list(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, "registries: []\n")

        message = config_error(path)

        assert f"{path}:1: registries:" in message
        assert "at least 1" in message

    def test_bad_kind(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                kind: quay
                path: fleet
            """,
        )

        message = config_error(path)

        # The entry's line or the `kind:` line both point the reader at the mistake.
        entry, kind = line_of(path, "name: fleet"), line_of(path, "kind: quay")
        assert re.search(rf"{re.escape(str(path))}:({entry}|{kind}): registries\[0\]", message)
        assert "kind" in message
        assert "'quay'" in message
        assert "'oci'" in message and "'layout'" in message

    def test_missing_kind(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                path: fleet
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'name: fleet')}: registries[0]" in message
        assert "kind" in message

    @pytest.mark.parametrize(
        "url",
        [
            "https://registry.internal/v2/",
            "https://registry.internal/team",
            "https://registry.internal?x=1",
            "https://registry.internal/#frag",
        ],
    )
    def test_url_with_a_path_query_or_fragment(self, tmp_path: Path, url: str) -> None:
        path = write_config(
            tmp_path,
            f"""\
            registries:
              - name: internal
                kind: oci
                url: "{url}"
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'url:')}: registries[0].url" in message
        assert "no path" in message

    def test_url_that_is_not_http(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: internal
                kind: oci
                url: ftp://registry.internal
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'url:')}: registries[0].url" in message

    def test_bad_registry_name(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: Has Spaces
                kind: layout
                path: fleet
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'name:')}: registries[0].name" in message
        assert "'Has Spaces'" in message

    def test_duplicate_registry_names(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                kind: layout
                path: one
              - name: fleet
                kind: layout
                path: two
            """,
        )

        message = config_error(path)

        assert re.search(rf"{re.escape(str(path))}:\d+: ", message)
        assert "registries" in message
        assert "unique" in message
        assert "fleet" in message

    def test_duplicate_registry_name_points_at_the_repeated_entry(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            database: audit.db
            registries:
              - name: fleet
                kind: layout
                path: one
              - name: fleet
                kind: layout
                path: two
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'name: fleet', occurrence=2)}:" in message
        assert "registries[1].name" in message

    def test_duplicate_policy_ids(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            LAYOUT_REGISTRY
            + """\
policies:
  - id: p
    type: default-non-root-user
  - id: p
    type: supply-chain-attestations
""",
        )

        message = config_error(path)

        assert "policies" in message and "unique" in message
        assert str(path) in message

    def test_unknown_policy_type(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            LAYOUT_REGISTRY
            + """\
policies:
  - id: p
    type: no-such-policy
""",
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'no-such-policy')}: policies[0].type" in message
        assert "'no-such-policy'" in message

    def test_unknown_report_format(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, LAYOUT_REGISTRY + "reports:\n  formats: [pdf]\n")

        message = config_error(path)

        assert f"{path}:{line_of(path, 'formats')}: reports.formats[0]" in message
        assert "'pdf'" in message

    def test_every_problem_is_reported_one_per_line(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                kind: layout
                path: fleet
                colour: red
              - name: internal
                kind: oci
                url: https://registry.internal
                concurrency: many
            """,
        )

        lines = config_error(path).splitlines()

        assert len(lines) == 2
        assert any("registries[0].colour" in line for line in lines)
        assert any("registries[1].concurrency" in line for line in lines)
        assert all(line.startswith(f"{path}:") for line in lines)

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: fleet
                kind: [layout
            """,
        )

        message = config_error(path)

        assert re.match(rf"{re.escape(str(path))}:\d+: not valid YAML", message)

    def test_invalid_yaml_line_is_where_the_parser_stopped(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            database: audit.db
            registries:
              - name: fleet
                kind: layout
               path: fleet
            """,
        )

        message = config_error(path)

        assert message.startswith(f"{path}:{line_of(path, 'path: fleet')}: not valid YAML")

    @pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"])
    def test_not_a_mapping(self, tmp_path: Path, text: str) -> None:
        path = write_config(tmp_path, text)

        message = config_error(path)

        assert message.startswith(str(path))
        assert "mapping" in message

    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "nowhere.yaml"

        message = config_error(path)

        assert message.startswith(str(path))
        assert "cannot read" in message

    def test_a_folder_is_not_a_file(self, tmp_path: Path) -> None:
        message = config_error(tmp_path)

        assert message.startswith(str(tmp_path))

    def test_repeated_yaml_key(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: first
                kind: layout
                path: one
            registries:
              - name: second
                kind: layout
                path: two
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'registries', occurrence=2)}:" in message


class TestCredentials:
    CONFIG = """\
    registries:
      - name: internal
        kind: oci
        url: https://registry.internal
        credentials:
          username_env: AUDITOR_TEST_USER
          password_env: AUDITOR_TEST_PASSWORD
    """

    def test_variable_names_are_accepted_and_resolved(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AUDITOR_TEST_USER", "robot")
        monkeypatch.setenv("AUDITOR_TEST_PASSWORD", "s3cret-value")

        (registry,) = load_config(write_config(tmp_path, self.CONFIG)).registries

        assert isinstance(registry, OciRegistry)
        assert registry.credentials is not None
        assert registry.credentials.username_env == "AUDITOR_TEST_USER"
        assert registry.credentials.password_env == "AUDITOR_TEST_PASSWORD"
        assert registry.credentials.resolve() == Secret("robot", "s3cret-value")

    def test_the_secret_values_are_not_kept_in_the_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AUDITOR_TEST_USER", "robot")
        monkeypatch.setenv("AUDITOR_TEST_PASSWORD", "s3cret-value")

        settings = load_config(write_config(tmp_path, self.CONFIG))

        assert "s3cret-value" not in repr(settings)
        assert "s3cret-value" not in settings.model_dump_json()

    @pytest.mark.parametrize("unset", ["AUDITOR_TEST_USER", "AUDITOR_TEST_PASSWORD"])
    def test_unset_variable_is_named(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unset: str
    ) -> None:
        monkeypatch.setenv("AUDITOR_TEST_USER", "robot")
        monkeypatch.setenv("AUDITOR_TEST_PASSWORD", "s3cret-value")
        monkeypatch.delenv(unset)
        path = write_config(tmp_path, self.CONFIG)

        message = config_error(path)

        assert message.startswith(str(path))
        assert unset in message
        assert "internal" in message

    def test_empty_variable_counts_as_unset(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AUDITOR_TEST_USER", "robot")
        monkeypatch.setenv("AUDITOR_TEST_PASSWORD", "")

        message = config_error(write_config(tmp_path, self.CONFIG))

        assert "AUDITOR_TEST_PASSWORD" in message

    def test_invalid_variable_name(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, self.CONFIG.replace("AUDITOR_TEST_USER", "not-a-name"))

        message = config_error(path)

        assert f"{path}:{line_of(path, 'not-a-name')}:" in message
        assert "registries[0].credentials.username_env" in message

    def test_literal_password_key_is_refused(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            """\
            registries:
              - name: internal
                kind: oci
                url: https://registry.internal
                credentials:
                  username_env: AUDITOR_TEST_USER
                  password_env: AUDITOR_TEST_PASSWORD
                  password: hunter2
            """,
        )

        message = config_error(path)

        assert f"{path}:{line_of(path, 'password: hunter2')}:" in message
        assert "unknown key" in message


class TestSecret:
    def test_repr_hides_the_password(self) -> None:
        secret = Secret(username="robot", password="hunter2-very-secret")

        for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
            assert "hunter2-very-secret" not in text
        assert "robot" in repr(secret)

    def test_password_is_still_usable(self) -> None:
        assert Secret(username="robot", password="hunter2").password == "hunter2"


class TestPolicies:
    def test_defaults_when_policies_omitted(self, tmp_path: Path) -> None:
        settings = load_config(write_config(tmp_path, LAYOUT_REGISTRY))

        assert {(p.id, p.type) for p in settings.policies} == {
            ("default-non-root-user", "default-non-root-user"),
            ("supply-chain-attestations", "supply-chain-attestations"),
        }
        policies = build_policies(settings.policies)
        assert {p.type_name for p in policies} == {
            "default-non-root-user",
            "supply-chain-attestations",
        }

    def test_unknown_with_option_names_the_line_and_the_option(self, tmp_path: Path) -> None:
        path = write_config(
            tmp_path,
            LAYOUT_REGISTRY
            + """\
policies:
  - id: root-check
    type: default-non-root-user
    with: {allowed: [root]}
""",
        )

        with pytest.raises(ConfigError) as caught:
            load_config(path)

        assert f"{path}:{line_of(path, 'with:')}: policies[0].with" in str(caught.value)
        message = str(caught.value)
        assert "root-check" in message
        assert "allowed" in message
        assert "default-non-root-user" in message
        assert isinstance(caught.value, ConfigError)


class TestShippedDefault:
    def test_loads_and_audits_the_sample_fleet(self) -> None:
        settings = load_config(REPO_ROOT / "config" / "auditor.yaml")

        layouts = [r for r in settings.registries if isinstance(r, LayoutRegistry)]
        assert layouts, "the default configuration should audit a layout registry"
        fleet = REPO_ROOT / "config" / "sample-fleet"
        assert [r.path for r in layouts] == [fleet]
        assert fleet.is_dir()
        assert any(fleet.rglob("oci-layout"))
        assert build_policies(settings.policies)
