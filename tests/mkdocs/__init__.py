"""The MkDocs plugin checked against clean MkDocs builds (the oracle)."""
