"""The kernels' runtime: the one pass driver, the thread choice, Ctrl-C,
the floating-point mode, fork safety, argument checks and row gathering."""
