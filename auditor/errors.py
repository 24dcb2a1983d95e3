"""The exception hierarchy. Every error a user can meet carries a message written for them."""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the auditor raises on purpose."""

    def diagnostics(self) -> str:
        """Return the text shown to the user; subclasses may add advice."""
        return str(self)


class ConfigError(AuditorError):
    """The configuration file is missing, unreadable or invalid."""


class RegistryError(AuditorError):
    """A registry answered, but not with what the auditor needed."""


class RegistryUnreachable(RegistryError):
    """A registry could not be reached, or timed out. Temporary by nature."""


class RegistryAuthError(RegistryError):
    """A registry refused the credentials, or gave no way to obtain a token."""


class ContentError(AuditorError):
    """Registry content is malformed, oversized or does not match its digest."""


class StoreError(AuditorError):
    """The history database cannot be opened or does not hold what was asked."""


class ReportError(AuditorError):
    """A report could not be rendered or written."""
