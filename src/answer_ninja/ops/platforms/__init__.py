"""Where the services run: the local supervisor or Kubernetes, behind one interface."""

from __future__ import annotations

import importlib

from answer_ninja.ops.platforms.base import Platform
from answer_ninja.platform.settings import Settings


def build_platform(settings: Settings) -> Platform:
    """The platform RESPONDER_PLATFORM names (``local`` or ``kubernetes``)."""
    if settings.responder_platform == "kubernetes":
        # Imported lazily: the Kubernetes client is only needed where it is used.
        module = importlib.import_module("answer_ninja.ops.platforms.kubernetes")
        platform: Platform = module.KubernetesPlatform(settings)
        return platform
    from answer_ninja.ops.platforms.local import LocalPlatform

    return LocalPlatform(settings)
