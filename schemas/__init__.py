"""Every event and API model of caseroute, defined once; services import these, never the reverse."""

from schemas.decision import Decision
from schemas.envelope import Envelope, TraceContext
from schemas.report import Facts, Location, Report

__all__ = ["Decision", "Envelope", "Facts", "Location", "Report", "TraceContext"]
