"""Authentication shared by every service: API keys (hashed, in `auth_*` tables) and JWTs of an identity provider."""
