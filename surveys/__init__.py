"""surveys layer of alignstat."""
