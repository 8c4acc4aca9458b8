"""analyses layer of alignstat."""
