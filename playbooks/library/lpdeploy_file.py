#!/usr/bin/python3
"""An Ansible module: one small file's content, written in one module run."""

DOCUMENTATION = r"""
module: lpdeploy_file
short_description: Write a small file's content in one module run
description:
  - Writes O(content) to O(dest) when the file differs (atomically, through a temporary
    file in the same folder), and sets its owner, group and mode.
  - The content travels inside the module's own run, so a file costs one command on the
    connection. M(ansible.builtin.copy) and M(ansible.builtin.template) cost five to seven
    (a stat, the file's transfer, its temporary folder, the copy), each a round trip on a
    satellite link.
  - For small files rendered on the controller (C(lookup('ansible.builtin.template', ...)),
    C(lookup('ansible.builtin.file', ...))); a large one still goes by M(ansible.builtin.copy).
options:
  dest:
    description: The file to write. Its folder must exist.
    type: path
    required: true
  content:
    description: The text the file holds. Never logged.
    type: str
    required: true
  validate:
    description: A command run on the temporary file (C(%s)) before it is put in place.
    type: str
  force:
    description: With C(false), a file already at C(dest) is left as it is, whatever it holds.
    type: bool
    default: true
extends_documentation_fragment: [files]
attributes:
  check_mode:
    support: full
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes


def read(path):
    """The file's bytes, or None when there is no regular file there."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError):
        return None


def write(module, dest, data):
    folder = os.path.dirname(dest) or "."
    if not os.path.isdir(folder):
        module.fail_json(msg=f"the folder of {dest} does not exist")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".lpdeploy-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        validate = module.params["validate"]
        if validate:
            code, out, err = module.run_command(validate % temporary)
            if code != 0:
                module.fail_json(msg=f"{validate % dest} refused the new content", rc=code,
                                 stdout=out, stderr=err)
        module.atomic_move(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def main():
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "content": {"type": "str", "required": True, "no_log": True},
            "validate": {"type": "str"},
            "force": {"type": "bool", "default": True},
        },
        add_file_common_args=True,
        supports_check_mode=True,
    )
    validate = module.params["validate"]
    if validate and "%s" not in validate:
        module.fail_json(msg=f"validate must name the file as %s: {validate}")
    dest = module.params["dest"]
    if not module.params["force"] and os.path.lexists(dest):
        module.exit_json(changed=False, dest=dest)
    data = to_bytes(module.params["content"], errors="surrogate_or_strict")
    changed = read(dest) != data
    if changed and not module.check_mode:
        write(module, dest, data)
    if os.path.exists(dest):  # in check mode a new file is not there to compare
        attributes = module.load_file_common_arguments(module.params, path=dest)
        changed = module.set_fs_attributes_if_different(attributes, changed)
    module.exit_json(changed=changed, dest=dest)


if __name__ == "__main__":
    main()
