# stageboot: top-level build. Each part has its own Makefile; this one ties them together.
#   make demo            the main job: update a simulated node from BlinkV1 to BlinkV2
#   make test            every test (what CI runs)
#   make bench           every performance figure, each beside its limit
#   make firmware        rebuild the committed firmware (bootloader, examples)
#   make check-firmware  rebuild into a scratch folder and fail if the committed hex differs
#   make gen / check-gen regenerate protocol/generated, or fail if it is stale

SHELL := /bin/bash
.PHONY: setup demo test bench firmware check-firmware gen check-gen typecheck

setup:
	@scripts/setup.sh

gen: setup
	npx tsx protocol/gen/generate.ts

check-gen: setup
	npx tsx protocol/gen/generate.ts --check

typecheck: setup
	npx tsc --noEmit -p .

firmware: setup
	scripts/firmware.sh build

check-firmware: setup
	scripts/firmware.sh check

test: setup check-gen typecheck check-firmware
	npx vitest run

bench: setup
	npx tsx test/bench/run.ts

demo: setup
	npx stageboot demo $(ARGS)
