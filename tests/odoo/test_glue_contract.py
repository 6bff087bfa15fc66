"""The contract between the addon and each Odoo generation's glue
(``session_redis/series.py``: ``GLUE_CONTRACT``, ``GENERATIONS``), read from
the sources with ``ast``: nothing here imports Odoo or the addon (the glue
of Odoo 16+ imports Odoo 16+, and these tests run under Odoo 11's Python).

Every ``session_redis/odoo*/`` folder is found by glob, so that a new
generation's folder (``odoo20/``) is held to the same contract."""

import ast
import glob
import os

import pytest

from tests.support.servers import REPO

ADDON = os.path.join(REPO, "session_redis")
SERIES = os.path.join(ADDON, "series.py")
GLUE_PACKAGES = sorted(
    os.path.basename(os.path.dirname(path)) for path in glob.glob(os.path.join(ADDON, "odoo*", "__init__.py"))
)
SUPPORTED = [(11, "odoo11"), (16, "odoo16"), (17, "odoo16"), (18, "odoo16"), (19, "odoo16")]


def parse(path):
    with open(path, encoding="utf-8") as source:
        return ast.parse(source.read(), path)


def series_code():
    """``GENERATIONS``, ``GLUE_CONTRACT`` and ``glue_package`` of series.py,
    run on their own (the rest of the module imports Odoo)."""
    tree = parse(SERIES)
    wanted = {"GENERATIONS", "GLUE_CONTRACT", "glue_package"}
    tree.body = [node for node in tree.body if wanted & set(bound_names(node))]
    assert sorted(name for node in tree.body for name in bound_names(node)) == sorted(wanted)
    namespace = {}
    exec(compile(tree, SERIES, "exec"), namespace)
    return namespace


def bound_names(node):
    """The names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return []


SERIES_CODE = series_code()
CONTRACT = SERIES_CODE["GLUE_CONTRACT"]


def exports(package):
    """The public names ``session_redis/<package>/__init__.py`` binds, each
    with the module file and the name it is imported from (None when it is
    not imported from a module of the package)."""
    found = {}
    for node in parse(os.path.join(ADDON, package, "__init__.py")).body:
        for name in bound_names(node):
            found[name] = None
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            module = os.path.join(ADDON, package, *node.module.split("."))
            module = module + ".py" if os.path.isfile(module + ".py") else os.path.join(module, "__init__.py")
            for alias in node.names:
                found[alias.asname or alias.name] = (module, alias.name)
    return {name: origin for name, origin in found.items() if not name.startswith("_")}


def signature(path, name):
    """The parameters of top-level function ``name`` of ``path`` (a default
    shown as ``=``), None if the module defines no such function."""
    for node in parse(path).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            arguments = node.args
            plain = [argument.arg for argument in arguments.args]
            defaults = len(arguments.defaults)
            shown = plain[: len(plain) - defaults] + [arg + "=" for arg in plain[len(plain) - defaults :]]
            if arguments.vararg:
                shown.append("*" + arguments.vararg.arg)
            shown += [argument.arg + "=" for argument in arguments.kwonlyargs]
            if arguments.kwarg:
                shown.append("**" + arguments.kwarg.arg)
            return tuple(shown)
    return None


def is_glue_call(node):
    """``glue()`` or ``series.glue()``."""
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    return (isinstance(function, ast.Name) and function.id == "glue") or (
        isinstance(function, ast.Attribute) and function.attr == "glue"
    )


def glue_names_used(path):
    """The names the module at ``path`` reads from the glue module:
    ``series.glue().name``, or ``glue = series.glue()`` then ``glue.name``."""
    tree = parse(path)
    holders = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and is_glue_call(node.value):
            holders.update(target.id for target in node.targets if isinstance(target, ast.Name))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            is_glue_call(node.value) or (isinstance(node.value, ast.Name) and node.value.id in holders)
        ):
            used.add(node.attr)
    return used


def test_the_contract_names_each_job_in_one_line():
    assert set(CONTRACT) == {"make_store", "use_redis_sessions", "answer_probes", "filesystem_store"}
    for name, job in CONTRACT.items():
        assert isinstance(job, str) and job.strip() and "\n" not in job, name


def test_the_glue_packages_are_found():
    assert {"odoo11", "odoo16"} <= set(GLUE_PACKAGES)


@pytest.mark.parametrize("package", GLUE_PACKAGES)
def test_each_glue_package_exports_exactly_the_contract(package):
    exported = exports(package)
    assert set(exported) == set(CONTRACT), "session_redis.%s: missing %s, beyond the contract %s" % (
        package,
        sorted(set(CONTRACT) - set(exported)),
        sorted(set(exported) - set(CONTRACT)),
    )


@pytest.mark.parametrize("package", GLUE_PACKAGES)
def test_each_glue_function_is_defined_where_it_is_imported_from(package):
    for name, origin in sorted(exports(package).items()):
        assert origin is not None, "session_redis.%s.%s: not imported from a module of the package" % (
            package,
            name,
        )
        path, original = origin
        assert os.path.isfile(path), path
        assert signature(path, original) is not None, "%s defines no function %s" % (path, original)


def test_every_generation_calls_the_glue_the_same_way():
    for name in CONTRACT:
        signatures = {}
        for package in GLUE_PACKAGES:
            origin = exports(package).get(name)
            if origin:
                signatures[package] = signature(*origin)
        assert len(set(signatures.values())) == 1, (name, signatures)


def test_the_contract_is_what_the_addon_calls():
    """Every name read from ``glue()`` anywhere in the addon is in the
    contract, and every name of the contract is read somewhere."""
    used = {}
    for path in glob.glob(os.path.join(ADDON, "**", "*.py"), recursive=True):
        for name in glue_names_used(path):
            used.setdefault(name, []).append(os.path.relpath(path, ADDON))
    assert set(used) == set(CONTRACT), used


def test_glue_checks_the_chosen_module_against_the_contract():
    (glue,) = [
        node for node in parse(SERIES).body if isinstance(node, ast.FunctionDef) and node.name == "glue"
    ]
    names = {node.id for node in ast.walk(glue) if isinstance(node, ast.Name)}
    assert {"glue_package", "MAJOR", "GLUE_CONTRACT"} <= names


@pytest.mark.parametrize("major, package", SUPPORTED)
def test_series_chooses_the_glue_of_each_supported_major(major, package):
    assert SERIES_CODE["glue_package"](major) == package


def test_each_generation_is_a_glue_folder_and_each_folder_a_generation():
    generations = SERIES_CODE["GENERATIONS"]
    firsts = [first for first, _ in generations]
    assert firsts == sorted(set(firsts)), generations
    assert sorted(package for _, package in generations) == GLUE_PACKAGES
    for first, package in generations:
        assert SERIES_CODE["glue_package"](first) == package
