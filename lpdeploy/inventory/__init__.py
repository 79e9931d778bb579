"""Ansible inventory built from a plan: the centres as hosts, with what each must receive."""
