"""Learning outcomes back from offline centres, with no personal data."""
