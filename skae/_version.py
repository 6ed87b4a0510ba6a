"""skae's version: at the bottom of the package, so that any module can read
it without importing the package above it."""

__version__ = "0.2.0"
