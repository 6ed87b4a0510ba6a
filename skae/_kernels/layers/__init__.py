"""The layer kinds: the layer table's columns, one file per kind, and the
registry that maps a kind code to its functions."""
