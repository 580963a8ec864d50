"""Observational memory: an Observer compresses old messages into a dated,
prioritised log; a Reflector condenses the log when it grows."""
