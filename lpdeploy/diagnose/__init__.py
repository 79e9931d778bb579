"""Diagnostics: one redacted archive per centre, for the engineer who must find out why."""
