"""SQL for a Filters record, shared by keyword and vector search."""

from memcli.records import Filters


def where_clause(filters: Filters, alias: str = "m") -> tuple[str, list]:
    parts, params = [], []
    if filters.resource_id is not None:
        parts.append(f"{alias}.resource_id = ?")
        params.append(filters.resource_id)
    if filters.thread_id is not None:
        parts.append(f"{alias}.thread_id = ?")
        params.append(filters.thread_id)
    if filters.since:
        parts.append(f"{alias}.created_at >= ?")
        params.append(filters.since)
    if filters.until:
        parts.append(f"{alias}.created_at <= ?")
        params.append(filters.until)
    if filters.roles:
        parts.append(f"{alias}.role IN ({','.join('?' * len(filters.roles))})")
        params += list(filters.roles)
    return (" AND ".join(parts) or "1 = 1"), params
