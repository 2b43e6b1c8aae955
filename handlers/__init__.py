"""Chat platforms. Each is split into render (domain -> message, pure) and transport (I/O)."""
