"""Ansible through ansible-runner: the only package that imports ansible_runner."""
