"""responder (port 3009): the ServiceDown runbook as a service."""
