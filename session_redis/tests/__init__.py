from . import (
    test_http_case,  # noqa: F401
    test_user_sessions,  # noqa: F401
)
