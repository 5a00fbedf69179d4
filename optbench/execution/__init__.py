"""Where runs execute: the machine and software they ran on (and, to come, executors)."""
