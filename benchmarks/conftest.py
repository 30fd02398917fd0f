"""pytest-benchmark runs of the same cases ``xpnn bench`` times (profile: $XPNN_BENCH_PROFILE)."""

from xpnn.bench import report


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["xpnn"] = report.environment()
