from tests.pipeline.conftest import pipeline_env  # noqa: F401  (the emulator-backed environment)
