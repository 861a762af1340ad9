"""One package per deployable service: a thin HTTP/WebSocket layer over the domain packages."""
