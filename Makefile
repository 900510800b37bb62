# Thin wrapper over CMake. `make run` and `make test` install what they need first.
BUILD_DIR   ?= build
RELEASE_DIR := $(BUILD_DIR)/release
TEST_DIR    := $(BUILD_DIR)/test
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test unit api bench fuzz clean checksrc

all: build

deps:
	@scripts/install-deps.sh

build:
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DAEGIS_TESTS=OFF > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

run: deps build
	./$(RELEASE_DIR)/aegis serve

# Every test: source checks, then unit and API tests built with -Werror, ASan and UBSan.
test: deps checksrc
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DAEGIS_SANITIZE=ON -DAEGIS_TESTS=ON > /dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

checksrc:
	@scripts/checksrc

bench: deps build
	bench/http/run.sh $(RELEASE_DIR)
	bench/risk/run.sh $(RELEASE_DIR)
	bench/opt/run.sh $(RELEASE_DIR)
	bench/eval/run.sh $(RELEASE_DIR)

fuzz:
	@echo "fuzz: no fuzz targets yet (they arrive with the parsers of outside input: tests/fuzz/)"

clean:
	rm -rf $(BUILD_DIR)
