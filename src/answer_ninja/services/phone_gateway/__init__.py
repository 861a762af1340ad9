"""phone-gateway: receives calls from the carriers and decides: transfer, reject or AI."""
