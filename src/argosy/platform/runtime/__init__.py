"""The service runtime: wiring infrastructure, live configuration and the process lifecycle."""
