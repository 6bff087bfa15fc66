"""The docker-compose example, checked without Docker: what it sets is what
the addon reads and accepts, and what it builds is this repository."""

import os
import re
import shlex

import pytest
import yaml

from session_redis.core.settings import ENV_PREFIX, SPECS, env_name, load_settings
from tests.servers import REPO

DEPLOY = os.path.join(REPO, "deploy")
COMPOSE_FILE = os.path.join(DEPLOY, "docker-compose.yml")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")


def compose():
    with open(COMPOSE_FILE) as handle:
        return yaml.safe_load(handle)


def unescape(text):
    """Compose reads ``$$`` as a literal ``$``."""
    return str(text).replace("$$", "$")


def environment(service):
    """A service's environment as the container sees it (map or list form)."""
    variables = service.get("environment") or {}
    if isinstance(variables, list):
        variables = dict(item.split("=", 1) for item in variables)
    return {name: unescape(value) for name, value in variables.items()}


def command(service):
    words = service.get("command") or []
    words = shlex.split(words) if isinstance(words, str) else [str(word) for word in words]
    return [unescape(word) for word in words]


def build_of(service):
    """``(context folder, Dockerfile)`` a service is built from, or None for an image."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    context = os.path.normpath(os.path.join(DEPLOY, build.get("context", ".")))
    return context, os.path.normpath(os.path.join(context, build.get("dockerfile", "Dockerfile")))


def odoo_services():
    """Every service built from deploy/Dockerfile, by name."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if (build_of(service) or (None, None))[1] == os.path.normpath(DOCKERFILE)
    }


def dockerfile_instructions():
    """``(INSTRUCTION, arguments)`` with continuation lines joined."""
    with open(DOCKERFILE) as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_two_odoo_replicas_built_from_this_repository_serve_the_site():
    services = odoo_services()
    replicas = [name for name, service in services.items() if "--stop-after-init" not in command(service)]
    assert len(replicas) >= 2, sorted(services)
    for name, service in services.items():
        # the Dockerfile's COPY lines then take this repository's files
        assert build_of(service)[0] == os.path.normpath(REPO), name


def test_every_odoo_service_loads_the_addon():
    for name, service in odoo_services().items():
        assert "--load=web,session_redis" in command(service), name


def test_session_settings_are_documented_names_with_accepted_values():
    documented = {env_name(suffix) for _, suffix, _, _ in SPECS}
    for name, service in odoo_services().items():
        environ = environment(service)
        used = {variable for variable in environ if variable.startswith(ENV_PREFIX)}
        assert used, name
        assert used <= documented, (name, sorted(used - documented))
        settings = load_settings(environ=environ)  # raises on a refused value
        assert settings.enabled, name


@pytest.mark.parametrize("name", sorted(odoo_services()))
def test_odoo_service_points_at_the_compose_redis(name):
    services = compose()["services"]
    service = services[name]
    settings = load_settings(environ=environment(service))
    host = settings.host
    if settings.url:
        host = re.match(r"\w+://(?:[^@/]*@)?([^:/]+)", settings.url).group(1)
    assert host in services, "%s: Redis host %r is not a service" % (name, host)
    redis_service = services[host]
    assert str(redis_service.get("image", "")).startswith("redis"), redis_service
    assert settings.port == 6379 or "--port %d" % settings.port in " ".join(command(redis_service))
    assert host in service.get("depends_on", {}) or any(
        host in services[other].get("depends_on", {}) for other in service.get("depends_on", {})
    )


def test_dockerfile_installs_the_repository_requirements_and_the_addon():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM" and "python:3.7" in instructions[0][1]
    copies = {}
    for keyword, arguments in instructions:
        if keyword == "COPY":
            *sources, destination = arguments.split()
            for source in sources:
                copies[source] = destination
    assert os.path.isfile(os.path.join(REPO, "requirements.txt"))
    requirements = copies.get("requirements.txt")
    assert requirements, "the Dockerfile does not copy requirements.txt"
    installs = [
        arguments
        for keyword, arguments in instructions
        if keyword == "RUN" and re.search(r"pip install .*-r %s\b" % re.escape(requirements), arguments)
    ]
    assert installs, "no 'pip install -r %s'" % requirements

    addon = copies.get("session_redis")
    assert addon and os.path.basename(addon.rstrip("/")) == "session_redis"
    entrypoint = " ".join(arguments for keyword, arguments in instructions if keyword == "ENTRYPOINT")
    assert "--addons-path=%s" % os.path.dirname(addon.rstrip("/")) in entrypoint


def replicas():
    return {
        name: service
        for name, service in odoo_services().items()
        if "--stop-after-init" not in command(service)
    }


def option(service, name):
    """The value of ``--name=value`` in a service's command, or None."""
    for word in command(service):
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def test_replicas_run_prefork_with_longpolling_behind_a_proxy():
    for name, service in replicas().items():
        assert int(option(service, "--workers") or 0) >= 1, name
        assert option(service, "--longpolling-port"), name
        assert "--proxy-mode" in command(service), name


def test_dockerfile_installs_a_launcher_that_prefork_can_run_again():
    copies = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "COPY"]
    assert any("bin/odoo-server" in arguments.split() for arguments in copies), copies


def test_nginx_fills_the_template_with_every_replica_http_and_longpolling_port():
    """The nginx service's sed substitutions, applied here to the template:
    every placeholder filled, each upstream names every replica's port."""
    nginx = [service for service in compose()["services"].values() if "nginx.conf.template" in str(service)]
    assert len(nginx) == 1
    script = command(nginx[0])[-1]
    with open(os.path.join(DEPLOY, "nginx.conf.template")) as handle:
        text = handle.read()
    for placeholder, value in re.findall(r"-e 's/(@\w+@)/([^/]*)/'", script):
        text = text.replace(placeholder, value)
    assert not re.findall(r"^[^#]*@\w+@", text, re.MULTILINE)
    upstreams = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", text))
    routes = dict(re.findall(r"location (\S+) \{[^}]*proxy_pass http://(\w+);", text))
    for name, service in replicas().items():
        assert (
            "server %s:%s;" % (name, option(service, "--longpolling-port"))
            in upstreams[routes["/longpolling/"]]
        )
        assert "server %s:8069;" % name in upstreams[routes["/"]]
    assert all("random;" in upstream for upstream in upstreams.values())


def test_replicas_are_ready_only_while_the_health_probe_answers():
    for name, service in odoo_services().items():
        if "--stop-after-init" in command(service):
            continue
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], "healthcheck", "exec")  # the image has Python, not curl
        assert "http://127.0.0.1:8069/session_redis/health" in test[3], name
