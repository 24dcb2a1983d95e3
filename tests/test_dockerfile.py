"""The project's own image: multi-stage, non-root, running `auditor run`."""

from __future__ import annotations

import json

from auditor.models import Digest, Status
from auditor.policies import DefaultNonRootUser
from tests.conftest import REPO_ROOT
from tests.factories import platform_facts


def _instructions() -> list[tuple[str, str]]:
    lines = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in lines)
        if word and not word.startswith("#")
    ]


def test_multi_stage_and_default_command() -> None:
    instructions = _instructions()
    assert sum(1 for name, _ in instructions if name == "FROM") >= 2
    final_cmd = [rest for name, rest in instructions if name == "CMD"][-1]
    assert json.loads(final_cmd) == ["auditor", "run"]


def test_final_user_passes_the_auditors_own_non_root_policy() -> None:
    instructions = _instructions()
    final_stage = instructions[max(i for i, (n, _) in enumerate(instructions) if n == "FROM") :]
    users = [rest for name, rest in final_stage if name == "USER"]
    assert users, "the final stage sets no USER"
    facts = platform_facts(digest=Digest("sha256:" + "0" * 64), user=users[-1])
    verdict = DefaultNonRootUser("non-root", {}).evaluate_platform(facts)
    assert verdict.status is Status.COMPLIANT, verdict.reason
