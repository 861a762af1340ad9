"""The Kubernetes test harness's fixtures (one control plane per test process, see tests/harness/kube.py)."""

from tests.harness.kube_fixtures import kube, kube_namespace  # noqa: F401
