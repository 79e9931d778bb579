"""What a rollout needs offline: the Debian package repository for the servers."""
