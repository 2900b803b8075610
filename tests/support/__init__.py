"""Helpers shared by the test suites (tests/emulator, tests/e2e, ...)."""
