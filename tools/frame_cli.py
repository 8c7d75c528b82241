"""`cityfleet frame ...`: encode, decode, describe and size frames from the shared schema."""
import json

import click

from protocols import frames
from protocols import schema as S
from protocols import settings
from protocols import sizes

AS923_DR2_DWELL = 11


def _field(kind, name):
    for f in frames.kind_of(kind)[S.FIELDS]:
        if f[S.NAME] == name:
            return f
        if f[S.TYPE] == S.T_BITS and name in f[S.EXTRA]:
            return S.boolean(name)
    raise click.BadParameter("%s has no field %r (fields: %s)" % (kind, name, ", ".join(_names(kind))))


def _names(kind):
    names = []
    for f in frames.kind_of(kind)[S.FIELDS]:
        names.extend(f[S.EXTRA] if f[S.TYPE] == S.T_BITS else (f[S.NAME],))
    return names


def _parse(kind, assignment):
    # One name=value argument, read by the field's type.
    if "=" not in assignment:
        raise click.BadParameter("expected name=value, got %r" % assignment)
    name, text = assignment.split("=", 1)
    f = _field(kind, name)
    t = f[S.TYPE]
    if text == "null":
        return name, None
    if t == S.T_BOOL:
        if text.lower() not in ("true", "false", "1", "0"):
            raise click.BadParameter("%s must be true or false" % name)
        return name, text.lower() in ("true", "1")
    if t == S.T_BYTES:
        try:
            return name, bytes.fromhex(text[2:] if text.startswith("0x") else text)
        except ValueError:
            raise click.BadParameter("%s must be hex bytes" % name) from None
    if t in (S.T_ENUM, S.T_VERSION):
        return name, int(text) if text.isdigit() else text
    if kind == "setting" and name == "setting" and not text.isdigit():
        try:
            return name, settings.index_of(text)   # by name, as protocols/settings.py lists them
        except settings.SettingError as e:
            raise click.BadParameter(str(e)) from None
    try:
        return name, int(text)
    except ValueError:
        try:
            return name, float(text)
        except ValueError:
            raise click.BadParameter("%s must be a number, got %r" % (name, text)) from None


def _jsonable(values):
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in values.items()}


@click.group()
def frame():
    """Encode, decode and size frames (the bytes on the air)."""


@frame.command()
@click.argument("kind", type=click.Choice(frames.kind_names()))
@click.argument("assignments", nargs=-1)
def encode(kind, assignments):
    """Encode a KIND frame from name=value pairs (SI units) and print it as hex."""
    values = dict(_parse(kind, a) for a in assignments)
    try:
        click.echo(frames.encode(kind, values).hex())
    except frames.FrameError as e:
        raise click.ClickException(str(e)) from None


@frame.command()
@click.argument("hexdata")
def decode(hexdata):
    """Decode a frame given as hex; print its kind and fields as JSON."""
    try:
        data = bytes.fromhex(hexdata.replace(" ", ""))
    except ValueError:
        raise click.ClickException("not hex: %r" % hexdata) from None
    try:
        kind, values = frames.decode(data)
    except frames.FrameError as e:
        raise click.ClickException(str(e)) from None
    out = {"kind": kind, "fields": _jsonable(values)}
    if kind == "setting":
        out["setting_name"] = settings.name_of(values["setting"])   # null: newer than this table
    click.echo(json.dumps(out))


@frame.command()
@click.argument("kind", required=False, type=click.Choice(frames.kind_names()))
def schema(kind):
    """Print the fields of every kind (or of KIND): position, unit, step and range."""
    for k in S.KINDS:
        if kind and k[S.KIND_NAME] != kind:
            continue
        click.echo("%s (id %d, %slink)" % (k[S.KIND_NAME], k[S.KIND_ID], k[S.DIRECTION]))
        for pos, f in enumerate(k[S.FIELDS], start=1):
            click.echo("  %d. %s" % (pos, sizes.describe_field(f)))


@frame.command("settings")
def settings_command():
    """List the names a setting downlink carries, by index, with the range a device takes."""
    for i, name in enumerate(settings.names()):
        lo, hi = settings.value_range(name)
        click.echo("%3d  %-18s %d..%d" % (i, name, lo, hi))


def size_table():
    """Rows of the size report: one dict per kind."""
    rows = {}
    for k in S.KINDS:
        name = k[S.KIND_NAME]
        worst = sizes.worst_case_bytes(name)
        rows[name] = {
            "direction": k[S.DIRECTION],
            "worst_case_bytes": worst,
            "cayennelpp_bytes": sizes.cayennelpp_bytes(name),
            "json_bytes": sizes.json_bytes(name),
            "fits_as923_dr2_dwell": worst <= AS923_DR2_DWELL,
        }
    return rows


@frame.command("sizes")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object keyed by kind.")
def sizes_command(as_json):
    """Each kind's worst-case size from the schema's ranges, beside CayenneLPP and JSON."""
    rows = size_table()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo("%-16s %-5s %6s %11s %6s  %s" % ("kind", "dir", "cbor", "cayennelpp", "json", "AS923 DR2 dwell (11 B)"))
    for name, r in rows.items():
        click.echo("%-16s %-5s %6d %11d %6d  %s" % (
            name, r["direction"], r["worst_case_bytes"], r["cayennelpp_bytes"], r["json_bytes"],
            "fits" if r["fits_as923_dr2_dwell"] else "too big"))


@frame.command()
@click.pass_context
def demo(ctx):
    """Show the wire: one frame of each uplink kind, encoded and decoded, and the size table."""
    click.echo("cityfleet frames: one of each uplink kind at its largest\n")
    for k in S.KINDS:
        if k[S.DIRECTION] != S.UP:
            continue
        name = k[S.KIND_NAME]
        values = sizes.worst_case_values(name)
        data = frames.encode(name, values)
        click.echo("%-15s %-24s -> %s" % (name, data.hex(), json.dumps(_jsonable(frames.decode(data)[1]))))
    click.echo("")
    ctx.invoke(sizes_command, as_json=False)
