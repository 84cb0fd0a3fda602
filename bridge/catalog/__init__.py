"""READ: a live server or a snapshot -> :class:`~bridge.model.Catalog`.

``pgagent`` (the queries) and ``pgagent_rows`` (the rows, parsed as pgAgent reads them), ``pgcron``
and ``release`` (which pg_cron binary the evidence allows), ``server``, ``timezones`` (the zone
pgAgent evaluates in), ``snapshot`` (offline catalogs) and ``load`` (either way). Importing this
package loads nothing: the pure core imports ``release`` and ``timezones`` without the driver.
"""
