// Crash tests.
