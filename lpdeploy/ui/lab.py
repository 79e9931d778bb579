"""Rendering of the lab's status."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from lpdeploy.ui.tables import identity_column


def show_lab(document: dict[str, Any], stream: Console) -> None:
    if not document["up"]:
        stream.print(f"lab '{document['lab']}' is down")
        return
    hosts = document["hosts"]
    table = Table()
    identity_column(table, "server", (host["id"] for host in hosts))
    identity_column(table, "address", (host["address"] for host in hosts))
    table.add_column("arch")
    table.add_column("status")
    table.add_column("link")
    table.add_column("behind")
    for host in document["hosts"]:
        link = "cut" if host["cut"] else "up"
        for key, where in (("shape", ""), ("far_shape", "centres ")):
            if key in host:
                link += f", {where}{host[key]['text']}"
        table.add_row(host["id"], host["address"], host.get("arch", ""), host["status"], link,
                      host.get("behind", ""))  # fmt: skip
    stream.print(table)
    stream.print(f"inventory {document['inventory']}")
