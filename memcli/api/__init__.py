"""The operations of `memcli.Memory`, one module per concept, mixed into it."""
