"""Built-in problems and suites. Each ``*.py`` here is a plugin file, loaded by path."""
