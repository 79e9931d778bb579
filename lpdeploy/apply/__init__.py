"""Apply a plan: provision the centres' servers and load their bundles, wave by wave."""
