"""What every table class shares: the connection of the calling thread."""


class Table:
    def __init__(self, connections):
        # the Store: it hands each thread its own connection (an MCP server
        # runs tools on worker threads; one shared connection mixed their transactions)
        self._connections = connections

    @property
    def conn(self):
        return self._connections.conn

    def _insert_id(self, sql: str, params) -> int:
        """Run an INSERT and return the new row's integer id (PostgreSQL: RETURNING id)."""
        return self.conn.execute(sql, params).lastrowid
