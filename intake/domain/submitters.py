"""Who submits a report, and which sources each may submit: the key intake dedupes on (pure).

A submitter is the authenticated caller's `role:name` (services.caller.Caller.actor): for an API key its role
and name, for a JWT its role and name claims. Not the key id or the token subject: a system that rotates its
key (a new key with the same role and name) or gets a new token is the same submitter, so its retries still
find their case; and it is the identity the tracker lets read the cases it submitted. Two systems are two
submitters, so an `external_id` of one can never collide with the other's.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.report import Source

# The hotline system's calls on hotline.calls.v1 are submitted by the topic itself: no key posts them, and
# `topic` is no role a key can have, so no caller of the API shares this dedupe space.
HOTLINE_TOPIC = "topic:hotline.calls.v1"

# Which `source` each submitting role may claim. A grid app reports grid work, the hotline system hotline calls;
# inspections and public reports are entered by operators (and administrators), who may enter any source.
SOURCES_BY_ROLE: Mapping[str, frozenset[Source]] = {
    "grid-app": frozenset({Source.grid}),
    "hotline": frozenset({Source.hotline}),
    "operator": frozenset(Source),
    "admin": frozenset(Source),
}


def refusal(role: str, source: Source) -> str | None:
    """Why a caller of this role may not submit a report of this source, or None when it may."""
    allowed = SOURCES_BY_ROLE.get(role, frozenset())
    if source in allowed:
        return None
    if not allowed:
        return f"the role {role} submits no reports"
    return f"a {role} key submits reports of source {', '.join(sorted(allowed))}, not {source.value}"
