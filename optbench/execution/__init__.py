"""Where runs execute: the machine and software they ran on, the persistent compilation
cache (and, to come, executors)."""
