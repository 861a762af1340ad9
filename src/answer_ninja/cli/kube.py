"""``answer-ninja kube``: helpers for the Kubernetes deployment (deploy/k8s)."""

from __future__ import annotations

from pathlib import Path

import typer

from answer_ninja.cli import app
from answer_ninja.cli.common import console

kube_app = typer.Typer(help="Kubernetes deployment helpers (manifests in deploy/k8s).", no_args_is_help=True)
app.add_typer(kube_app, name="kube")


@kube_app.command("app-config")
def app_config(
    write: Path | None = typer.Option(None, help="Write the ConfigMap here instead of printing it"),
) -> None:
    """The app-config ConfigMap: every non-secret setting with its in-cluster value."""
    from answer_ninja.ops.platforms.kubernetes_config import render_app_config, write_app_config

    if write is None:
        print(render_app_config(), end="")
        return
    count = write_app_config(write)
    console.print(f"wrote {count} settings to {write}")


@kube_app.command("network-policies")
def network_policies(
    write: Path | None = typer.Option(None, help="Write the NetworkPolicies here instead of printing them"),
) -> None:
    """The namespace's NetworkPolicies: default deny ingress, then only the callers each service's port needs."""
    from answer_ninja.platform.network_plane import policies, render

    text = render()
    if write is None:
        print(text, end="")
        return
    write.write_text(text)
    console.print(f"wrote {len(policies())} NetworkPolicies to {write}")
