"""``default-non-root-user``: the image must not run as root by default.

Docker Scout semantics: a config ``User`` that is unset (implicit root) or ``root``/``0``
(explicit) is non-compliant, and the reason says which. Only the config is read; a
``--user`` given at run time cannot be seen and does not count.
"""

from __future__ import annotations

from auditor.models import PlatformFacts, Status
from auditor.policies.interface import Policy


def _is_root(user: str) -> bool:
    # NOTE: runtimes parse a numeric user as an integer, so "00" is UID 0 as well.
    return user == "root" or (user.isdigit() and int(user) == 0)


class DefaultNonRootUser(Policy):
    """See the module docstring."""

    type_name = "default-non-root-user"
    remediation = "Set a non-root default user in the Dockerfile, e.g. `USER 65532:65532`."

    def evidence(self, platform: PlatformFacts) -> tuple[str, ...]:
        """See `Policy.evidence`."""
        if not platform.is_image or platform.config_error or platform.invalid:
            return ()
        return (f"{platform.platform} config User={platform.user or ''!r}",)

    def judge(self, platform: PlatformFacts) -> tuple[Status, str]:
        """See `Policy.judge`."""
        if platform.config_error is not None:
            return Status.ERROR, f"the image config cannot be read: {platform.config_error}"
        if platform.user is None:
            return Status.NON_COMPLIANT, "runs as root implicitly: the image config sets no User"
        if _is_root(platform.user.split(":", 1)[0]):
            return Status.NON_COMPLIANT, f"runs as root explicitly: User is {platform.user!r}"
        return Status.COMPLIANT, f"runs as {platform.user!r}"
