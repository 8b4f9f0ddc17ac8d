"""The roles a credential carries (an API key's, a token's `role` claim): part of the API's contract, like its
models, so the auth kit checks credentials against them and every service names them in its routes."""

from __future__ import annotations

# `public`: an Open311 client (a civic app) that submits reports of source public through /open311/v2 only.
ROLES = ("department", "grid-app", "hotline", "public", "adjudicator", "operator", "admin")
# Roles that see every case and the personal data in them (their reads of it are audited).
OVERSEERS = ("adjudicator", "operator", "admin")
