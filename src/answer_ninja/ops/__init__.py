"""Runbook automation: detect, diagnose, remediate, verify, escalate, notify, report."""
