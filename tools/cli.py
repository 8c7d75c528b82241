"""The `cityfleet` command: one click group that each part of the system extends."""
import click


@click.group()
@click.version_option(package_name="cityfleet")
def main():
    """cityfleet: tools for a city's LoRaWAN sensor fleet."""


def _register():
    from tools import vboard_cli
    main.add_command(vboard_cli.vboard)
    from tools import frame_cli
    main.add_command(frame_cli.frame)
    from tools import fleet_cli
    for command in fleet_cli.COMMANDS:
        main.add_command(command)


_register()
