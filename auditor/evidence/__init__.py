"""Turning a digest into facts: manifests, configs and attestations."""

from __future__ import annotations
