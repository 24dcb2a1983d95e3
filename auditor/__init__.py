"""A scheduled auditor for container-image fleets.

Start reading at `auditor.run`: one audit run takes the settings from `auditor.config`,
lists tags through `auditor.registries`, resolves their facts with `auditor.evidence`,
judges them with `auditor.policies`, records everything in `auditor.store` and renders
`auditor.reports`. `auditor.cli` is the only module that prints or exits.
"""

from __future__ import annotations

__version__ = "0.1.0"
