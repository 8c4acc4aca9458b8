"""inference layer of alignstat."""
