//! Performance monitoring: CPU and memory of the server, dev servers and agent sessions.
