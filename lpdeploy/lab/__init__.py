"""The lab fleet: real Debian servers with systemd, booted on this machine to rehearse on."""
