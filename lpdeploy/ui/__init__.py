"""Everything drawn on a terminal, with Rich: results on stdout, the rest on stderr."""
