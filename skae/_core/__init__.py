"""The machinery every skae estimator shares: input validation, thread
limits and transactional fits (common), the one training loop with its
callbacks (training), the layer kinds' descriptors (layers), versioned and
validated pickles (persistence), and out-of-core fitting."""
