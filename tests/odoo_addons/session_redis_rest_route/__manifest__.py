{
    "name": "session_redis test service for base_rest",
    "summary": "A REST service of the logged-in user, for the tests of session_redis",
    "version": "1.0.0",
    "license": "LGPL-3",
    "depends": ["base_rest"],
    "installable": True,
}
