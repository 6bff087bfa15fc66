"""The deployment files, checked without Docker (no engine runs where the
project is developed): what the docker-compose example sets is what the addon
reads and accepts, what it builds is this repository, nginx routes each
series' real-time path to the gevent ports, and each image installs what its
series needs to build and run, and nothing for tests."""

import collections
import os
import re
import shlex
import subprocess
import tarfile

import pytest
import yaml

from session_redis.core.settings import ENV_PREFIX, SPECS, env_name, load_settings
from tests.support.servers import REPO, free_port

DEPLOY = os.path.join(REPO, "deploy")
COMPOSE_FILE = os.path.join(DEPLOY, "docker-compose.yml")
TEMPLATE = os.path.join(DEPLOY, "nginx.conf.template")
# Which image serves which Odoo, and the set-up script whose steps it repeats.
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")  # Odoo 11
DOCKERFILE_16PLUS = os.path.join(DEPLOY, "Dockerfile.odoo16plus")  # Odoo 16.0 to 19.0
SETUP_SCRIPTS = {
    DOCKERFILE: os.path.join(REPO, "tools", "bootstrap"),
    DOCKERFILE_16PLUS: os.path.join(REPO, "tools", "bootstrap-series"),
}
ODOO_SERIES = ("16.0", "17.0", "18.0", "19.0")

# Pins of these projects have no wheel: pip compiles them against these
# Debian packages (checked: the wheels pip builds on this machine kind).
SOURCE_BUILDS = {"psycopg2": {"libpq-dev"}, "python-ldap": {"libldap2-dev", "libsasl2-dev"}}
COMPILER = {"gcc", "libc6-dev"}
# What each -dev package's library is called at run time, per Debian release
# of the official python images.
RUNTIME_LIBRARIES = {
    "bullseye": {"libpq-dev": "libpq5", "libldap2-dev": "libldap-2.4-2", "libsasl2-dev": "libsasl2-2"},
    "bookworm": {"libpq-dev": "libpq5", "libldap2-dev": "libldap-2.5-0", "libsasl2-dev": "libsasl2-2"},
}
# The test tools the project uses, whatever file pins them.
TEST_TOOLS = {"pytest", "pytest-timeout", "hypothesis", "ruff", "selenium", "odoorpc"}


def read(path):
    with open(path) as handle:
        return handle.read()


def compose():
    return yaml.safe_load(read(COMPOSE_FILE))


def unescape(text):
    """Compose reads ``$$`` as a literal ``$``."""
    return str(text).replace("$$", "$")


def interpolated(text):
    """A compose value with each ``${NAME:-default}`` at its default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(text))


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
    """Every service built from one of deploy/'s Dockerfiles, by name."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if (build_of(service) or (None, None))[1] in SETUP_SCRIPTS
    }


def replicas():
    return {
        name: service
        for name, service in odoo_services().items()
        if "--stop-after-init" not in command(service)
    }


def is_odoo11(service):
    return build_of(service)[1] == DOCKERFILE


def option(service, name):
    """The value of ``--name=value`` in a service's command, or None."""
    for word in command(service):
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def realtime_option(service):
    """Odoo 11's --longpolling-port became --gevent-port in 16.0 (18.0 dropped the old name)."""
    return "--longpolling-port" if is_odoo11(service) else "--gevent-port"


# -- Dockerfiles -------------------------------------------------------------


def dockerfile_instructions(path=DOCKERFILE):
    """``(INSTRUCTION, arguments)``: comment lines dropped (Docker allows them
    inside a continued instruction), continuation lines joined."""
    lines = [line for line in read(path).splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


class Stage(object):
    """One ``FROM`` of a Dockerfile and the instructions under it, with its
    ``ARG`` defaults (those declared before the first FROM included) expanded."""

    def __init__(self, base, name, args):
        self.base, self.name, self.args, self.instructions = base, name, dict(args), []

    def expand(self, text):
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.args.get(m.group(1), m.group(0)), text)

    def add(self, keyword, arguments):
        if keyword == "ARG":
            name, _, default = arguments.partition("=")
            self.args.setdefault(name, default)
        self.instructions.append((keyword, self.expand(arguments)))

    def shell_commands(self):
        """Every command of every RUN, split at ``&&``, ``||`` and ``;``."""
        for keyword, arguments in self.instructions:
            if keyword == "RUN":
                for part in re.split(r"&&|\|\||;", arguments):
                    words = shlex.split(part)
                    if words:
                        yield words

    def copies(self):
        """``{path in the image: source in the build context}`` of its COPYs
        (not those ``--from`` another stage)."""
        found = {}
        for keyword, arguments in self.instructions:
            words = arguments.split()
            if keyword not in ("COPY", "ADD") or any(word.startswith("--from") for word in words):
                continue
            *sources, destination = [word for word in words if not word.startswith("--")]
            for source in sources:
                into_folder = destination.endswith("/") or len(sources) > 1
                found[os.path.join(destination, os.path.basename(source)) if into_folder else destination] = (
                    source
                )
        return found

    def copied_from(self):
        return [
            word.split("=", 1)[1]
            for keyword, arguments in self.instructions
            if keyword == "COPY"
            for word in arguments.split()
            if word.startswith("--from=")
        ]


def stages(path):
    global_args = {}
    found = []
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stage = Stage(None, name, global_args)
            stage.base = stage.expand(words[0])
            found.append(stage)
        elif found:
            found[-1].add(keyword, arguments)
        elif keyword == "ARG":
            name, _, default = arguments.partition("=")
            global_args[name] = default
    return found


def apt_action(words):
    """``(action, packages)`` of an apt-get/apt command, or None."""
    if os.path.basename(words[0]) not in ("apt-get", "apt"):
        return None
    rest = [word for word in words[1:] if not word.startswith("-")]
    return (rest[0], set(rest[1:])) if rest else None


def pip_install_arguments(words):
    """The words after ``install`` of a pip command, or None for another command."""
    if os.path.basename(words[0]).startswith("pip"):
        rest = words[1:]
    elif os.path.basename(words[0]).startswith("python") and words[1:3] == ["-m", "pip"]:
        rest = words[3:]
    else:
        return None
    return rest[1:] if rest[:1] == ["install"] else None


# pip options that take a value in the next word
PIP_VALUE_OPTIONS = {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links"}


PipInstall = collections.namedtuple("PipInstall", "files others options debian")


def pip_installs(stage):
    """Each ``pip install`` of the stage, in order: its requirement files,
    other arguments and options, and the Debian packages installed by then."""
    debian = set()
    installs = []
    for words in stage.shell_commands():
        apt = apt_action(words)
        if apt and apt[0] == "install":
            debian |= apt[1]
        elif apt and apt[0] in ("purge", "remove"):
            debian -= apt[1]
        arguments = pip_install_arguments(words)
        if arguments is None:
            continue
        files, others, options = [], [], []
        words = iter(arguments)
        for word in words:
            if word in ("-r", "--requirement"):
                files.append(next(words))
            elif word in PIP_VALUE_OPTIONS:
                next(words)
            elif word.startswith("-"):
                options.append(word)
            else:
                others.append(word)
        installs.append(PipInstall(files, others, options, set(debian)))
    return installs


def debian_packages(stage, ever=False):
    """What the stage's apt commands leave installed, explicitly; with
    ``ever``, what they installed at any point."""
    packages = set()
    for words in stage.shell_commands():
        apt = apt_action(words)
        if apt and apt[0] == "install":
            packages |= apt[1]
        elif apt and apt[0] in ("purge", "remove") and not ever:
            packages -= apt[1]
    return packages


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(text, folder=REPO):
    """The projects a requirements file names, following ``-r`` includes."""
    names = set()
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement")):
            include = os.path.join(folder, line.split()[-1])
            names |= requirement_names(read(include), os.path.dirname(include))
        elif not line.startswith("-"):
            names.add(canonical(re.split(r"[\s;<>=!~\[@]", line, maxsplit=1)[0]))
    return names


def test_only_names():
    return TEST_TOOLS | requirement_names(read(os.path.join(REPO, "requirements-test.txt")))


def odoo_requirements(series):
    """Odoo's own requirements.txt of a series: from the folder
    tools/bootstrap-series unpacked, else from the source package; None
    when this machine has neither."""
    unpacked = os.path.join(REPO, ".odoo", "odoo-%s" % series, "requirements.txt")
    if os.path.isfile(unpacked):
        return read(unpacked)
    tarball = os.path.join(
        os.environ.get("ODOO_SOURCES") or os.path.join(REPO, "..", "shared", "odoo"),
        "odoo-%s-src.tar.gz" % series,
    )
    if not os.path.isfile(tarball):
        return None
    with tarfile.open(tarball, "r|gz") as archive:
        for member in archive:
            if member.name.count("/") == 1 and member.name.endswith("/requirements.txt"):
                return archive.extractfile(member).read().decode()
    return None


def tarball_folders(stage):
    """Folders the stage unpacks Odoo's source package into (``tar -C``)."""
    folders = set()
    for words in stage.shell_commands():
        if words[0] == "tar" and "-C" in words and any("odoo" in word and ".tar" in word for word in words):
            folders.add(words[words.index("-C") + 1].rstrip("/"))
    return folders


def installed_requirements(stage):
    """``(requirement text or None for Odoo's own, Debian packages by then)``
    per requirements file the stage installs. Odoo's own requirements.txt
    comes from the source package unpacked in the build."""
    copies = stage.copies()
    found = []
    for install in pip_installs(stage):
        for path in install.files:
            if path in copies and os.path.isfile(os.path.join(REPO, copies[path])):
                found.append((read(os.path.join(REPO, copies[path])), install.debian))
            else:
                assert os.path.dirname(path) in tarball_folders(stage), (
                    "%s installs %s, which is neither a file of this repository nor Odoo's "
                    "requirements.txt from its source package" % (stage.base, path)
                )
                found.append((None, install.debian))
    return found


def ci_packages():
    """What .ci/run installs for each header or command it looks for:
    ``{'/usr/include/ldap.h': 'libldap2-dev', 'pg_config': 'libpq-dev', ...}``."""
    text = read(os.path.join(REPO, ".ci", "run"))
    found = dict(re.findall(r"\[ -e (\S+) \] \|\| need_packages\+=\(([\w.+-]+)\)", text))
    found.update(re.findall(r"command -v ([\w.+-]+) >/dev/null \|\| need_packages\+=\(([\w.+-]+)\)", text))
    return found


def setup_build_dependencies(script):
    """The Debian packages a set-up script refuses to build without: the
    headers and ``pg_config`` it checks for, named as .ci/run installs them."""
    text = read(script)
    packages = ci_packages()
    headers = set(re.findall(r"/usr/include/[\w/.+-]+\.h", text))
    assert headers, "%s checks no header any more: update this test" % script
    unknown = headers - set(packages)
    assert not unknown, "%s checks for %s, which .ci/run does not install" % (script, sorted(unknown))
    commands = set(re.findall(r"command -v ([\w.+-]+)", text)) & set(packages)
    return {packages[what] for what in headers | commands}


def build_and_final(path):
    """The stage that builds the Python packages and the stage that runs."""
    found = stages(path)
    builders = [stage for stage in found if pip_installs(stage)]
    assert len(builders) == 1, "%s: pip install in %d stages" % (path, len(builders))
    return builders[0], found[-1]


def debian_release(stage):
    match = re.search(r"-(%s)\b" % "|".join(RUNTIME_LIBRARIES), stage.base)
    assert match, (
        "%s: name the Debian release in the tag, so the runtime library names are known" % stage.base
    )
    return match.group(1)


@pytest.fixture(params=sorted(SETUP_SCRIPTS), ids=os.path.basename)
def dockerfile(request):
    return request.param


def test_the_build_stage_has_what_the_set_up_script_checks_for(dockerfile):
    """tools/bootstrap(-series) stops without these headers: pip cannot build there without them either."""
    build, _ = build_and_final(dockerfile)
    needed = setup_build_dependencies(SETUP_SCRIPTS[dockerfile])
    for install in pip_installs(build):
        missing = needed - install.debian
        assert not missing, "%s: %s missing before pip install" % (dockerfile, sorted(missing))


def test_pins_without_wheels_find_their_compiler_and_headers(dockerfile):
    """This repository's requirements files (Odoo's own: the test below)."""
    build, _ = build_and_final(dockerfile)
    for requirements, debian in installed_requirements(build):
        for name in requirement_names(requirements or "") & set(SOURCE_BUILDS):
            needed = SOURCE_BUILDS[name] | COMPILER
            assert needed <= debian, "%s: %s needs %s" % (dockerfile, name, sorted(needed - debian))


@pytest.mark.parametrize("series", ODOO_SERIES)
def test_odoo_own_requirements_build_in_the_16plus_image(series):
    """Odoo's requirements.txt of each series (from its source package): every
    pin without a wheel finds its headers, and none is a test tool."""
    text = odoo_requirements(series)
    if text is None:
        pytest.skip("no Odoo %s sources on this machine" % series)
    build, _ = build_and_final(DOCKERFILE_16PLUS)
    names = requirement_names(text)
    assert names & set(SOURCE_BUILDS), (
        "Odoo %s: no pin without a wheel any more: update SOURCE_BUILDS" % series
    )
    odoo_installs = [debian for requirements, debian in installed_requirements(build) if requirements is None]
    assert odoo_installs, "the 16+ image does not install Odoo's own requirements.txt"
    for name in names & set(SOURCE_BUILDS):
        assert SOURCE_BUILDS[name] | COMPILER <= odoo_installs[0], (series, name)
    assert not names & TEST_TOOLS, (series, sorted(names & TEST_TOOLS))


def test_the_image_that_runs_keeps_the_libraries_and_drops_the_toolchain(dockerfile):
    build, final = build_and_final(dockerfile)
    # what the compiled pins link to: the headers they were built with, and
    # those they need even where this Dockerfile forgets them
    built_against = {package for package in debian_packages(build, ever=True) if package.endswith("-dev")}
    built_against |= setup_build_dependencies(SETUP_SCRIPTS[dockerfile])
    built_against -= COMPILER
    runtime = RUNTIME_LIBRARIES[debian_release(final)]
    unknown = built_against - set(runtime)
    assert not unknown, "%s: no runtime library known for %s" % (dockerfile, sorted(unknown))
    kept = debian_packages(final)
    # Explicitly installed: a library pulled in by a -dev package goes with
    # it under `apt-get purge --auto-remove`.
    missing = {runtime[package] for package in built_against} - kept
    assert not missing, "%s: the image that runs lacks %s" % (dockerfile, sorted(missing))
    if final is not build:
        assert build.name in final.copied_from(), "%s: the built packages are not copied over" % dockerfile
        leftovers = {package for package in kept if package.endswith("-dev") or package in COMPILER}
        assert not leftovers, leftovers
    else:
        assert not built_against & kept and not COMPILER & kept, "%s keeps its build tools" % dockerfile


def test_no_test_tool_gets_into_an_image(dockerfile):
    forbidden = test_only_names()
    for stage in stages(dockerfile):
        copied = set(stage.copies().values())
        assert "requirements-test.txt" not in copied and "tests" not in copied, copied
        for install in pip_installs(stage):
            named = {canonical(re.split(r"[<>=!~\[]", word, maxsplit=1)[0]) for word in install.others}
            assert not named & forbidden, (dockerfile, sorted(named & forbidden))
        for requirements, _debian in installed_requirements(stage):
            named = requirement_names(requirements or "")  # Odoo's own: the test above
            assert not named & forbidden, (dockerfile, sorted(named & forbidden))


def test_test_tools_are_pinned_apart_and_bootstrap_installs_them():
    runtime = requirement_names(read(os.path.join(REPO, "requirements.txt")))
    tests_only = requirement_names(read(os.path.join(REPO, "requirements-test.txt")))
    assert TEST_TOOLS <= tests_only, sorted(TEST_TOOLS - tests_only)
    assert not runtime & tests_only, sorted(runtime & tests_only)
    bootstrap = read(SETUP_SCRIPTS[DOCKERFILE])
    assert re.search(r"pip_install .*-r requirements-test\.txt", bootstrap)
    assert "requirements-test.txt" in re.search(r"wanted=.*", bootstrap).group(0)  # a change reinstalls


def test_images_copy_only_files_of_this_repository_or_the_odoo_sources(dockerfile):
    for stage in stages(dockerfile):
        for source in stage.copies().values():
            if not os.path.exists(os.path.join(REPO, source)):
                # the source package tools/bootstrap-series reads too
                assert re.fullmatch(r"odoo-(1[6-9]\.0)-src\.tar\.gz", source), source
                assert re.search(r"odoo-\$series-src\.tar\.gz", read(SETUP_SCRIPTS[DOCKERFILE_16PLUS]))


def python_of_series():
    """``{series: 'X.Y'}`` from tools/bootstrap-series's case statement."""
    found = {}
    for labels, minor in re.findall(
        r"^\s*([\d. |]+)\) python_minor=([\d.]+)", read(SETUP_SCRIPTS[DOCKERFILE_16PLUS]), re.M
    ):
        for label in labels.split("|"):
            found[label.strip()] = minor
    return found


def test_the_16plus_image_defaults_to_a_series_and_its_python():
    build, final = build_and_final(DOCKERFILE_16PLUS)
    series = build.args.get("SERIES")
    assert series in ODOO_SERIES, series
    for stage in (build, final):
        assert stage.base.startswith("python:%s-" % python_of_series()[series]), stage.base
    # Odoo's requirements.txt, then the addon's pins, as tools/bootstrap-series installs them
    own = read(os.path.join(REPO, "requirements-odoo16plus.txt"))
    assert [text for text, _ in installed_requirements(build)] == [None, own]
    # Odoo from its unpacked sources, without dependencies: its requirements.txt pinned them
    folders = tarball_folders(build)
    assert any(
        "--no-deps" in install.options and set(install.others) <= folders and install.others
        for install in pip_installs(build)
    ), folders


@pytest.mark.parametrize("name", sorted(replicas()))
def test_compose_builds_a_series_with_its_python(name):
    build = compose()["services"][name]["build"]
    if build_of(compose()["services"][name])[1] != DOCKERFILE_16PLUS:
        return
    args = {key: interpolated(value) for key, value in (build.get("args") or {}).items()}
    assert args["SERIES"] in ODOO_SERIES
    assert args.get("PYTHON") == python_of_series()[args["SERIES"]], args


def test_two_odoo_replicas_built_from_this_repository_serve_the_site():
    services = odoo_services()
    assert len(replicas()) >= 2, sorted(services)
    for name, service in services.items():
        # the Dockerfile's COPY lines then take this repository's files
        assert build_of(service)[0] == os.path.normpath(REPO), name


def test_every_odoo_service_loads_the_addon():
    for name, service in odoo_services().items():
        wanted = "web,session_redis" if is_odoo11(service) else "base,web,session_redis"
        assert "--load=" + wanted in command(service), name


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


def test_dockerfile_installs_the_repository_requirements_and_the_addon(dockerfile):
    own = "requirements.txt" if dockerfile == DOCKERFILE else "requirements-odoo16plus.txt"
    build, final = build_and_final(dockerfile)
    if dockerfile == DOCKERFILE:
        assert build.base.startswith("python:3.7-") and final.base.startswith("python:3.7-")
    assert read(os.path.join(REPO, own)) in [text for text, _ in installed_requirements(build)]
    copies = final.copies()
    addon = [path for path, source in copies.items() if source == "session_redis"]
    assert addon and os.path.basename(addon[0].rstrip("/")) == "session_redis"
    entrypoint = " ".join(arguments for keyword, arguments in final.instructions if keyword == "ENTRYPOINT")
    assert "--addons-path=%s" % os.path.dirname(addon[0].rstrip("/")) in entrypoint


def test_replicas_run_prefork_with_their_gevent_port_behind_a_proxy():
    for name, service in replicas().items():
        assert int(option(service, "--workers") or 0) >= 1, name
        assert option(service, realtime_option(service)), name
        assert "--proxy-mode" in command(service), name


def test_odoo11_image_installs_a_launcher_that_prefork_can_run_again():
    copies = [arguments for keyword, arguments in dockerfile_instructions(DOCKERFILE) if keyword == "COPY"]
    assert any("bin/odoo-server" in arguments.split() for arguments in copies), copies


# -- nginx -------------------------------------------------------------------


def locations(text):
    """``{path: block text}`` of the template's ``location`` blocks."""
    return dict(re.findall(r"location (?:= )?(\S+) \{([^}]*)\}", text))


def test_nginx_fills_the_template_with_every_replica_http_and_gevent_port():
    """The nginx service's sed substitutions, applied here to the template:
    every placeholder filled, the real-time paths to every replica's gevent
    port, the rest to every replica's HTTP port."""
    nginx = [service for service in compose()["services"].values() if "nginx.conf.template" in str(service)]
    assert len(nginx) == 1
    script = command(nginx[0])[-1]
    text = read(TEMPLATE)
    for placeholder, value in re.findall(r"-e 's/(@\w+@)/([^/]*)/'", script):
        text = text.replace(placeholder, value)
    assert not re.findall(r"^[^#]*@\w+@", text, re.MULTILINE)
    upstreams = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", text))
    routes = {path: re.search(r"proxy_pass http://(\w+);", block) for path, block in locations(text).items()}
    routes = {path: match.group(1) for path, match in routes.items() if match}
    for name, service in replicas().items():
        # max_fails=0: a replica refusing connections while it restarts is
        # never marked down (the template says why)
        gevent = "server %s:%s max_fails=0;" % (name, option(service, realtime_option(service)))
        assert gevent in upstreams[routes["/websocket"]] and gevent in upstreams[routes["/longpolling/"]]
        assert "server %s:8069 max_fails=0;" % name in upstreams[routes["/"]]
    assert all("random;" in upstream for upstream in upstreams.values())  # no stickiness


def test_nginx_passes_the_websocket_upgrade_and_the_proxy_headers():
    text = read(TEMPLATE)
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{[^}]*default upgrade;[^}]*'' close;", text)
    blocks = locations(text)
    websocket = blocks["/websocket"]
    assert "proxy_http_version 1.1;" in websocket
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $connection_upgrade;" in websocket
    # the same upstream as Odoo 11's bus (tests/support/lb.py fills one list of ports)
    assert re.search(r"proxy_pass (\S+);", websocket).group(1) == re.search(
        r"proxy_pass (\S+);", blocks["/longpolling/"]
    ).group(1)
    for path, block in blocks.items():
        if "proxy_pass" in block:  # what --proxy-mode reads
            for header in ("X-Forwarded-Host", "X-Forwarded-For", "X-Forwarded-Proto"):
                assert "proxy_set_header %s " % header in block, (path, header)
    assert "ip_hash" not in text and "sticky" not in text


def test_nginx_accepts_the_rendered_template(tmp_path):
    if not subprocess.run(["sh", "-c", "command -v nginx"], stdout=subprocess.DEVNULL).returncode == 0:
        pytest.skip("no nginx on this machine")
    from tests.support.lb import render_config

    config = tmp_path / "nginx.conf"
    config.write_text(render_config(free_port(), [free_port()], [free_port()]))
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(config), "-p", str(tmp_path) + os.sep, "-e", str(tmp_path / "error.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout


def test_replicas_are_ready_only_while_the_health_probe_answers():
    for name, service in replicas().items():
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], "healthcheck", "exec")  # the image has Python, not curl
        assert "http://127.0.0.1:8069/session_redis/health" in test[3], name
