"""Who may use each door, checked in one place per kind of caller (the platform layer, used by every service).

Kinds of callers and how each is checked:

* people        ``Authorization: Bearer <access JWT>`` issued by user-management (``people``); operators are people
                with the ``operator`` role, never given by signing up.
* the operator's machine  ``Authorization: Bearer <OPERATOR_TOKEN>`` (a per-machine secret ``answer-ninja`` reads
                from the data directory), accepted wherever an operator is.
* services      ``X-Service-Token: <short-lived JWT>`` signed with INTERNAL_SECRET, naming the calling service and
                the one it calls (``internal``); attached by every service's HTTP client on its own.
* carriers      their own signatures, checked by phone-gateway's carrier dependencies.

Every route declares its rule through one of these dependencies (``rules``); the app factory refuses to build an
app with a route that declares none, so nothing is open by accident.
"""
