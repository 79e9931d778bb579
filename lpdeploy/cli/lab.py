"""`lpdeploy lab up|down|status|cut|heal|shape|stop|start|clock`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lpdeploy.cli.options import Json
from lpdeploy.errors import InputError
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.shaping import LinkShape
from lpdeploy.lab.state import LabState
from lpdeploy.plan.load import load_plan
from lpdeploy.profile.hardware import Arch
from lpdeploy.rates import parse_rate
from lpdeploy.ui.console import err, out, print_json
from lpdeploy.ui.lab import show_lab

app = typer.Typer(no_args_is_help=True, help="A local fleet of real Debian servers to rehearse on.")

LabName = Annotated[
    str,
    typer.Option("--lab", envvar="LPDEPLOY_LAB", help="Name of the lab (several can coexist)."),
]
HUB = "hub"
"""The lab's hub server (`lab up --hub`)."""
Host = Annotated[str, typer.Argument(help="Lab server (centre id).", show_default=False)]


def lab_document(lab: Lab, state: LabState | None) -> dict[str, Any]:
    hosts = state.hosts if state else []
    return {
        "lab": lab.name,
        "up": state is not None,
        "bridge": state.bridge if state else None,
        "gateway": state.gateway if state else None,
        "hub": state.hub if state else None,
        "hubs": {
            hub: [h.id for h in hosts if h.behind == hub] for hub in (state.hubs if state else [])
        },
        "inventory": str(lab.inventory),
        "known_hosts": str(lab.known_hosts),
        "key": str(lab.key),
        "hosts": [
            {
                "id": h.id,
                "address": h.address,
                "arch": h.arch,
                "status": h.status,
                "cut": h.cut,
                "pid": h.pid,
            }
            | ({"shape": shape_document(h.shape)} if h.shape else {})
            | ({"far_shape": shape_document(h.far_shape)} if h.far_shape else {})
            | ({"far_address": h.far_address} if h.far_address else {})
            | ({"behind": h.behind} if h.behind else {})
            for h in hosts
        ],
    }


def shape_document(shape: LinkShape) -> dict[str, Any]:
    return shape.model_dump(exclude={"relay_pid"}) | {"text": shape.describe()}


@app.command()
def up(
    centres: Annotated[
        int | None, typer.Option(min=1, max=200, help="Servers centre-01...")
    ] = None,
    plan: Annotated[Path | None, typer.Option(help="One server per centre of this plan.")] = None,
    hub: Annotated[
        bool,
        typer.Option(
            "--hub",
            help="Add a server 'hub', the only one on this machine's network; the centres sit "
            "on a second network behind it, which this machine cannot reach.",
        ),
    ] = False,
    hubs: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=20,
            help="Add servers hub-1..hub-N, the centres split between them, each hub's on a "
            "network of its own that only it reaches [with --plan: the plan's hubs]",
        ),
    ] = None,
    arch: Annotated[
        Arch | None,
        typer.Option(
            help="Every server of this architecture (emulated where it is not this "
            "machine's) [default: this machine's; with --plan, each centre's]"
        ),
    ] = None,
    lab: LabName = "main",
    json: Json = False,
) -> None:
    """Bring the lab to this many servers, booted and answering SSH (default 3)."""
    if centres is not None and plan is not None:
        raise InputError.single("--plan", "give --centres or --plan, not both")
    if hub and hubs:
        raise InputError.single("--hubs", "give --hub or --hubs, not both")
    behind: dict[str, list[str]] = {}
    if plan is not None:
        loaded = load_plan(plan)
        arches: dict[str, str] = {c.id: c.arch for c in loaded.centres}
        behind = {h.id: [c.id for c in loaded.centres if c.hub == h.id] for h in loaded.hubs}
    else:
        arches = {f"centre-{i:02d}": "" for i in range(1, (centres or 3) + 1)}
    if hubs and not behind:
        names = list(arches)
        share = -(-len(names) // hubs)
        behind = {f"hub-{n + 1}": names[n * share : (n + 1) * share] for n in range(hubs)}
    elif hub:
        behind = {HUB: list(arches)}
    if arch is not None:
        arches = dict.fromkeys([*arches, *behind], arch)
    fleet = Lab(lab)
    err.print(f"bringing lab '{lab}' to {len(arches) + len(behind)} servers...")
    state = fleet.up(list(arches), arches=arches, hubs=behind)
    if json:
        print_json(lab_document(fleet, state))
    else:
        show_lab(lab_document(fleet, state), stream=err)
        out.print(str(fleet.inventory))


@app.command()
def down(lab: LabName = "main") -> None:
    """Stop every server and remove everything the lab made."""
    Lab(lab).down()
    err.print(f"lab '{lab}' is down")


@app.command()
def status(lab: LabName = "main", json: Json = False) -> None:
    """The lab's servers, addresses and inventory."""
    fleet = Lab(lab)
    document = lab_document(fleet, fleet.status())
    if json:
        print_json(document)
    else:
        show_lab(document, stream=out)


@app.command()
def cut(host: Host, lab: LabName = "main") -> None:
    """Take a server's network link down."""
    Lab(lab).cut(host)


@app.command()
def heal(host: Host, lab: LabName = "main") -> None:
    """Bring a server's network link back up."""
    Lab(lab).heal(host)


@app.command()
def shape(
    host: Host,
    rate: Annotated[
        str | None, typer.Option(help="Each direction, e.g. 4mbit, 512kbit.", show_default=False)
    ] = None,
    delay: Annotated[
        str | None,
        typer.Option(
            help="One way, each direction, e.g. 300ms (round trip twice that).", show_default=False
        ),
    ] = None,
    jitter: Annotated[
        str | None, typer.Option(help="Delay varies by up to this, e.g. 50ms.", show_default=False)
    ] = None,
    loss: Annotated[
        str | None, typer.Option(help="Frames lost each direction, e.g. 1%.", show_default=False)
    ] = None,
    far: Annotated[
        bool, typer.Option("--far", help="A hub's link to its centres' network, not its own.")
    ] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Put the link back as it was.")] = False,
    lab: LabName = "main",
) -> None:
    """Shape a server's link like a real one (a satellite or 3G link): a rate, a delay,
    jitter and loss, both directions. A new shape replaces the last one."""
    given = [o for o, v in (("--rate", rate), ("--delay", delay), ("--jitter", jitter),
                            ("--loss", loss)) if v is not None]  # fmt: skip
    if clear == bool(given):
        raise InputError.single("lab shape", "give --clear, or at least one of --rate, --delay, "
                                "--jitter, --loss")  # fmt: skip
    wanted = None
    if not clear:
        wanted = LinkShape(
            rate=parse_rate(rate, "--rate") if rate is not None else None,
            delay_ms=parse_ms(delay, "--delay") if delay is not None else 0,
            jitter_ms=parse_ms(jitter, "--jitter") if jitter is not None else 0,
            loss=parse_percent(loss) if loss is not None else 0,
        )
        if wanted.jitter_ms > wanted.delay_ms:
            raise InputError.single("--jitter", "cannot be more than --delay")
    now = Lab(lab).shape(host, wanted, far=far)
    link = f"{host}'s link to its centres" if far else f"{host}'s link"
    err.print(f"{link}: {now.describe()}" if now else f"{link}: as it was")


def parse_ms(text: str, option: str) -> float:
    """'300ms' -> 300; '1.5s' -> 1500; '40' -> 40."""
    value = text.strip().lower()
    scale = 1000.0 if value.endswith("s") and not value.endswith("ms") else 1.0
    number = value.removesuffix("ms").removesuffix("s")
    try:
        found = float(number) * scale
    except ValueError:
        found = -1.0
    if not 0 <= found <= 60_000:
        raise InputError.single(option, f"{text!r} is not a delay: e.g. 300ms or 1.5s, at most 60s")
    return found


def parse_percent(text: str) -> float:
    try:
        found = float(text.strip().removesuffix("%"))
    except ValueError:
        found = -1.0
    if not 0 <= found <= 100:
        raise InputError.single("--loss", f"{text!r} is not a percentage: e.g. 1% or 0.5")
    return found


@app.command()
def stop(host: Host, lab: LabName = "main") -> None:
    """Power a server off."""
    Lab(lab).stop(host)


@app.command()
def start(host: Host, lab: LabName = "main") -> None:
    """Boot a stopped server again and wait until it answers."""
    Lab(lab).start(host)


@app.command()
def clock(
    host: Host,
    by: Annotated[
        str,
        typer.Option(help="How far off: seconds or with a unit, e.g. -1d, +2h, 90m; 0 resets."),
    ],
    lab: LabName = "main",
) -> None:
    """Set a server's clock off in every new SSH session on it (--by 0 puts it back)."""
    Lab(lab).clock(host, parse_offset(by))


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_offset(text: str) -> int:
    """'-1d' -> -86400; '+2h' -> 7200; '90' -> 90."""
    value = text.strip()
    unit = UNITS.get(value[-1:], 0) if value else 0
    number = value[:-1] if unit else value
    try:
        return int(number) * (unit or 1)
    except ValueError:
        raise InputError.single(
            "OFFSET", f"expected seconds or a number with s, m, h or d (e.g. -1d), got {text!r}"
        ) from None
