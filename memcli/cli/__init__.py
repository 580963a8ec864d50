"""The command line: parse, call memcli.Memory, render. No storage logic here."""
