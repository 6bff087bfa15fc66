"""Asking the probes and the metrics page, and counting what Redis ran:
helpers of the probe and metrics tests on every series."""

import http.client

import requests
from prometheus_client.parser import text_string_to_metric_families

HEALTH = "/session_redis/health"


METRICS = "/session_redis/metrics"


TIMEOUT = 15  # a request that hangs fails the test instead of hanging it


def get(node, path, **kwargs):
    return requests.get(node.url + path, timeout=TIMEOUT, **kwargs)


def command_calls(client):
    """``{command: calls}`` from INFO commandstats, without INFO itself."""
    stats = client.info("commandstats")
    return {name[len("cmdstat_") :]: row["calls"] for name, row in stats.items() if name != "cmdstat_info"}


def commands_since(client, before):
    after = command_calls(client)
    return {
        name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)
    }


def scrape(node, **kwargs):
    """``{(sample name, ((label, value), ...)): value}`` of the metrics page."""
    response = get(node, METRICS, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "Set-Cookie" not in response.headers
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def count(samples, name, **labels):
    return samples.get(("session_redis_" + name, tuple(sorted(labels.items()))), 0)


def changes(before, after):
    """The samples that changed, by how much, named shortly
    (``loads_total/hit``, ``redis_seconds_count/load``); buckets left out."""
    changed = {}
    for (name, labels), value in after.items():
        delta = value - before.get((name, labels), 0)
        if delta and not name.endswith(("_bucket", "_sum", "_created")):
            label = "/".join(value for _, value in labels)
            changed[name[len("session_redis_") :] + ("/" + label if label else "")] = delta
    return changed


# Other spellings of the probes' paths, which a proxy that does not
# normalize paths passes on as they are; each would decode to a probe's path.
OTHER_SPELLINGS = [
    "//session_redis/metrics",
    "/session_redis/%6detrics",
    "/%73ession_redis/metrics",
    "/session_redis%2Fmetrics",
    "//session_redis/health",
    "/session_redis/healt%68",
]


def raw_get(port, target):
    """GET ``target`` sent as it is (``requests`` would decode ``%6d``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def assert_only_the_paths_as_spelled_answer(node):
    """On the HTTP port and the gevent one, another spelling of a probe's
    path is a 404 without the page; the path itself still answers."""
    for port in (node.port, node.longpolling_port):
        assert raw_get(port, METRICS)[0] == 200 and raw_get(port, HEALTH)[0] == 200
        for target in OTHER_SPELLINGS:
            status, body = raw_get(port, target)
            shown = "session_redis_" in body or '"redis"' in body
            assert (status, shown) == (404, False), (port, target)
    absolute = "http://127.0.0.1:%d%s?format=text" % (node.port, METRICS)
    assert raw_get(node.port, absolute)[0] == 200
