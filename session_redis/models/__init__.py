"""The part of the addon that lives in a database: a user's sessions on the
user form and in Preferences (only where ``session_redis`` is installed)."""

from . import res_users, user_session  # noqa: F401
