"""The pg_cron a plan is for: read from a server or declared, and what is wrong or unknown about it."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.catalog.release import detected
from bridge.catalog.timezones import check_zone
from bridge.errors import UsageError
from bridge.findings import Finding, Severity
from bridge.model import PgCronSide, Server
from bridge.schedule import (
    CronTarget,
    cron_version,
    known_releases,
)
from bridge.schedule.versions import (
    extversion_floor,
    function_names,
    newest_extversion,
    parse_release,
    sql_has_function,
)


@dataclass(frozen=True)
class Target:
    """Where the plan will be applied: detected from a live pg_cron, or declared offline."""

    release: str
    timezone: str
    database: str
    match_dom_and_dow: bool = False
    background_workers: bool = False
    #: The role that will run ``cron.schedule`` (None when planning offline without --run-as).
    applier: str | None = None
    detected: bool = False
    #: Whether that role is a superuser (None: unknown).
    applier_superuser: bool | None = None
    #: When the server's release was not pinned: the range the evidence allows, how it was found,
    #: and the releases in it that behave differently from ``release`` (planned as most likely).
    release_range: str = ""
    release_evidence: tuple[str, ...] = ()
    other_releases: tuple[str, ...] = ()
    #: Values neither read from a server nor declared, but assumed (e.g. "pg_cron 1.4.0").
    assumed: tuple[str, ...] = ()
    #: The extension's SQL version (``pg_extension.extversion``) when read with the release: the
    #: functions a plan may call are the release's AND those its SQL scripts created. None when
    #: the release is declared (then the declared release says what the server has).
    extension_version: str | None = None

    @property
    def how(self) -> str:
        """How the release is known: "detected", "declared" or "assumed"."""
        if self.detected:
            return "detected"
        return "assumed" if any(a.startswith("pg_cron ") for a in self.assumed) else "declared"

    def cron_target(self) -> CronTarget:
        return CronTarget.of(self.release, self.timezone, match_dom_and_dow=self.match_dom_and_dow)

    def has_function(self, name: str) -> bool:
        """Whether a plan may call ``name`` ("cron.alter_job"): the binary has it and so does the
        extension's SQL version (pg_cron--1.3--1.4.sql creates cron.alter_job, for example)."""
        if not self.cron_target().version.has_function(name):
            return False
        return self.extension_version is None or sql_has_function(self.extension_version, name)

    def api(self) -> str:
        """The pg_cron whose functions the plan calls: "pg_cron 1.4.2 (extension SQL 1.3)"."""
        sql = f" (extension SQL {self.extension_version})" if self.outdated_sql() else ""
        return f"pg_cron {self.release}{sql}"

    def missing_functions(self) -> list[str]:
        """Functions the binary has that the extension's SQL version did not create."""
        version = self.cron_target().version
        return [f for f in function_names() if version.has_function(f) and not self.has_function(f)]

    def outdated_sql(self) -> str | None:
        """The newer SQL version the binary ships when the extension is older (what
        ``ALTER EXTENSION pg_cron UPDATE`` would reach); else None."""
        if self.extension_version is None:
            return None
        newest = newest_extversion(parse_release(self.release))
        try:
            older = extversion_floor(self.extension_version) < extversion_floor(newest or "")
        except ValueError:  # no pg_cron version (a patched build): nothing to compare
            return None
        return newest if older else None


#: What :attr:`Target.assumed` holds when the pg_cron release was neither read nor declared.
ASSUMED_RELEASE = "pg_cron 1.4.0"


def checked_release(
    release: str, where: str = "", fix: str = "give it as MAJOR.MINOR.PATCH, e.g. 1.6.7"
) -> str:
    """``release`` if this pgbridge knows how that pg_cron behaves; else one line saying so.

    Every release string (declared by an option, read from a server or a snapshot) passes here.
    """
    try:
        cron_version(release)
    except ValueError:
        known = f"{known_releases()[0]} to {known_releases()[-1]}"
        origin = f" ({where})" if where else ""
        raise UsageError(
            f"unknown pg_cron release {release!r}{origin}: pgbridge knows {known}; {fix}"
        ) from None
    return release


def target_from(
    side: PgCronSide | None,
    *,
    release: str | None = None,
    timezone: str | None = None,
    database: str | None = None,
    applier: str | None = None,
    zone_fix: str = "pass --cron-timezone with an IANA name",
) -> Target:
    """A :class:`Target` from what was read (``side``), each declared value taking precedence."""
    if release is not None:
        checked_release(release)
    if timezone is not None:
        check_zone(timezone)
    choice = None
    if side is not None and side.binary_at_least not in ("unknown", "") and release is None:
        for read in (side.binary_at_least, side.binary_below):
            if read is not None:
                checked_release(read, "read from pg_cron", "pass --target-pg-cron")
        choice = detected(side)
    detected_release = choice.release if choice is not None else None
    if timezone is None and side is not None and side.timezone is not None:
        check_zone(side.timezone, "cron.timezone", zone_fix)
    zone = timezone or (side.timezone if side is not None else None) or "GMT"
    db = database or (side.database_name if side is not None else None)
    if db is None and side is not None and side.extension_version is not None:
        db = side.database
    assumed = []
    if release is None and detected_release is None:
        assumed.append(ASSUMED_RELEASE)
    if timezone is None and (side is None or side.timezone is None):
        assumed.append("cron.timezone GMT")
    return Target(
        release=release or detected_release or "1.4.0",
        timezone=zone,
        database=db or "postgres",
        match_dom_and_dow=bool(side and side.setting("cron.match_dom_and_dow") == "on"),
        background_workers=bool(side and side.background_workers),
        applier=applier,
        detected=side is not None and release is None and detected_release is not None,
        applier_superuser=(
            side.reader_superuser
            if side is not None and applier and applier == side.reader
            else None
        ),
        release_range=choice.evidence.describe() if choice and choice.others else "",
        release_evidence=choice.evidence.facts if choice and choice.others else (),
        other_releases=choice.others if choice else (),
        assumed=tuple(assumed),
        extension_version=(
            str(side.extension_version)
            if release is None and side is not None and side.extension_version is not None
            else None
        ),
    )


def same_server(a: Server, b: Server) -> bool:
    """Same port, and the same system identifier where both are known (else the same host)."""
    if a.port != b.port:
        return False
    if a.system_identifier and b.system_identifier:
        return a.system_identifier == b.system_identifier
    return a.host == b.host


def pgcron_missing(side: PgCronSide) -> Finding | None:
    """The finding for a pg_cron database (named with --pgcron) where pg_cron is not created."""
    if side.extension_version is not None:
        return None
    where = f" (cron.database_name is {side.database_name!r})" if side.database_name else ""
    return Finding(
        "TARGET_PGCRON_NOT_CREATED",
        Severity.ERROR,
        f"pg_cron is not created in database {side.database!r}{where}, the --pgcron database: "
        "nothing can be migrated there",
        "point --pgcron at the database where pg_cron is created (cron.database_name), or "
        "CREATE EXTENSION pg_cron there",
        0,
    )


def extension_outdated(target: Target, database: str | None) -> Finding | None:
    """TARGET_EXTENSION_OUTDATED when the extension's SQL version is older than its library's.

    An error across 1.4: pg_cron--1.3--1.4.sql recreates cron.schedule(name, text, text) as
    (text, text, text) because the 1.4 library's cron_schedule_named reads a text name; called
    through the 1.3 definition it crashes the backend (signal 11, the whole server restarts).
    """
    lacking = target.missing_functions()
    where = f" in database {database!r}" if database else ""
    ext = target.extension_version
    if ASSUMED_RELEASE in target.assumed:
        # The library's release was not read (the cron.* settings are hidden from the role):
        # 1.4.0 is only assumed, so nothing can be said of a newer library; but an SQL version
        # before 1.4 under a 1.4+ library crashes it, so the plan may not guess.
        if not lacking:
            return None
        return Finding(
            "TARGET_EXTENSION_OUTDATED",
            Severity.ERROR,
            f"pg_cron's extension{where} is at SQL version {ext} and its library's release "
            "could not be read: under a 1.4 or newer library, SQL version "
            f"{ext}'s named cron.schedule crashes the server (it restarts), so nothing is "
            "migrated until the release is known",
            "let the role read the cron.* settings (GRANT pg_read_all_settings) so the release "
            "is read; or declare it: --target-pg-cron 1.3.x if the library really is older than "
            f"1.4, else ALTER EXTENSION pg_cron UPDATE{where} first",
            0,
        )
    newest = target.outdated_sql()
    if newest is None:
        return None
    message = (
        f"pg_cron's extension{where} is at SQL version {ext}, older than its library "
        f"{target.release} (which ships {newest})"
    )
    if lacking:
        message += (
            f": SQL version {ext} has no {' and no '.join(lacking)}, and its named "
            f"cron.schedule crashes the {target.release} library (the server restarts), so "
            "nothing can be migrated"
        )
    else:
        message += f"; the plan calls only what SQL version {ext} has"
    return Finding(
        "TARGET_EXTENSION_OUTDATED",
        Severity.ERROR if lacking else Severity.WARNING,
        message,
        f"ALTER EXTENSION pg_cron UPDATE{where} (as its owner or a superuser), then plan again",
        0,
    )


def target_findings(side: PgCronSide | None, target: Target) -> list[Finding]:
    """What is wrong with the pg_cron side the plan is for, or unknown about it."""
    out: list[Finding] = []
    if side is not None and side.extension_version is not None and not side.loaded:
        out.append(
            Finding(
                "TARGET_PGCRON_NOT_LOADED",
                Severity.ERROR,
                f"pg_cron is created in database {side.database!r} but its library is not "
                "loaded: no pg_cron job runs, and the release and cron.* settings cannot be read",
                "add pg_cron to shared_preload_libraries and restart the server, then plan again",
                0,
            )
        )
    outdated = extension_outdated(target, side.database if side is not None else None)
    if outdated is not None:
        out.append(outdated)
    if target.assumed:
        diagnosed = {d.code for d in side.diagnostics} if side is not None else set()
        if "PGCRON_SETTINGS_HIDDEN" in diagnosed:
            why = "this role cannot see the cron.* settings"
        elif side is not None and not side.loaded:
            why = "pg_cron is not loaded, so its settings cannot be read"
        else:
            why = "they were neither read from a server nor declared"
        out.append(
            Finding(
                "TARGET_ASSUMED",
                Severity.WARNING,
                f"planned for {' and '.join(target.assumed)}, assumed: {why}",
                "read as a superuser or a member of pg_read_all_settings, or declare them with "
                "--target-pg-cron and --cron-timezone",
                0,
            )
        )
    return out
