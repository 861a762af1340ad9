"""Local process supervisor for ``answer-ninja up``: Kubernetes-like restarts, back-off, logs and status."""
