from . import test_http_case
