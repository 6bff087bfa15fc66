# Everyday commands. `make run` and `make test` are the README's two commands.
.PHONY: run test venv clean

run:
	tools/run-demo

test: venv
	.venv/bin/python -m pytest

venv:
	tools/bootstrap

clean:
	rm -rf .venv .data .tools .pytest_cache .hypothesis
