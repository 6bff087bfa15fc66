{
    "name": "session_redis test route for auth_jwt",
    "summary": "A route authenticated by a JWT bearer token, for the tests of session_redis",
    "version": "1.0.0",
    "license": "LGPL-3",
    "depends": ["auth_jwt"],
    "installable": True,
}
