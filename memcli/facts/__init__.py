"""Facts memory: discrete memories a model extracts from conversations, versioned.

extract.py asks the model (one call per batch of new messages) and applies
its ADD / UPDATE / DELETE / NONE events; search.py ranks memories for a query.
"""
