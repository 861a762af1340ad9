from tests.harness.llm_server import llm_server  # noqa: F401  # the real LLM server fixture, for this package
