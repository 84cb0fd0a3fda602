"""Talking to PostgreSQL, with no pgbridge knowledge: connections (``connect``), connection strings
and their redaction (``conninfo``), and every piece of text written into SQL (``quoting``)."""
