# Entry points. `make demo` and `make test` are the two commands of the README.
SHELL := /bin/bash
PY_BIN = $(shell bash hack/setup.sh | tail -n 1)

.PHONY: setup demo test hub-up hub-down hub-status bench sanity units lint clean

setup:
	@bash hack/setup.sh >/dev/null

demo:
	@bash hack/demo.sh

test:
	@bash hack/test.sh

hub-up:
	@export PATH="$(PY_BIN):$$PATH" && bash testhub/build.sh >/dev/null && python -m testhub.hubctl up

hub-down:
	@export PATH="$(PY_BIN):$$PATH" && python -m testhub.hubctl down

hub-status:
	@export PATH="$(PY_BIN):$$PATH" && python -m testhub.hubctl status

bench:
	@bash benchmarks/run.sh

sanity:
	@export PATH="$(PY_BIN):$$PATH" && col=$$(bash hack/stage.sh | tail -n 1) && cd $$col && ansible-test sanity --python 3.11

units:
	@export PATH="$(PY_BIN):$$PATH" && col=$$(bash hack/stage.sh | tail -n 1) && cd $$col && ansible-test units --python 3.11 --requirements

lint:
	@export PATH="$(PY_BIN):$$PATH" && ansible-lint --profile production

clean:
	rm -rf .collections .ansible tests/output
