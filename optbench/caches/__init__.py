"""The compiled-program caches below every layer that runs: JAX's persistent compilation
cache on disk (``compile_cache``), and this process's programs in memory (``program_cache``)."""
