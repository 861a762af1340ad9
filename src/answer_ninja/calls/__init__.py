"""Pure call domain: intents, dialogue stages, personas, termination policy, routing decision (no I/O)."""
