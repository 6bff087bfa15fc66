{
    "name": "session_redis test route for auth_api_key",
    "summary": "A route authenticated by an API key, for the tests of session_redis",
    "version": "1.0.0",
    "license": "LGPL-3",
    "depends": ["auth_api_key"],
    "installable": True,
}
