"""Where the services run: the local supervisor or Kubernetes, behind one interface."""
