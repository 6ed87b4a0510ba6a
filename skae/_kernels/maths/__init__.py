"""The kernels' maths: BLAS, activations, losses, random numbers, optimizer
updates, sparse products, corruption, penalties and missing entries."""
