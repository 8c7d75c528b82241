"""`cityfleet vboard`: run a virtual board on this machine."""
import signal
import sys
import threading

import click


@click.group()
def vboard():
    """Virtual ESP32 boards: the MicroPython unix port behind a pty."""


@vboard.command()
@click.argument("board")
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False), help="scenario file (JSON)")
@click.option("--flash", "flash_dir", type=click.Path(file_okay=False),
              help="folder for the flash image and the board's persisted state (default: a temporary one)")
@click.option("--echo/--no-echo", default=False, help="also copy the console output to stderr")
def start(board, scenario, flash_dir, echo):
    """Start a virtual BOARD and run until SIGINT or SIGTERM.

    The first lines are machine-readable: "console: PTY", then "uart NAME: PTY"
    for each UART of the board, then "ready: 1". Drive the console with
    mpremote (mpremote connect PTY ...) exactly as a USB-attached board.
    """
    from hil.boards import BoardNotFound
    from hil.scenario import ScenarioError
    from hil.vboard import VirtualBoard

    try:
        vb = VirtualBoard(board, scenario=scenario, flash_dir=flash_dir,
                          echo=(lambda d: (sys.stderr.buffer.write(d), sys.stderr.flush())) if echo else None)
    except BoardNotFound as e:
        raise click.ClickException("no board file %s" % e) from None
    except ScenarioError as e:
        raise click.ClickException(str(e)) from None
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    vb.start()
    try:
        click.echo("console: %s" % vb.console)
        for name, path in sorted(vb.uarts.items()):
            click.echo("uart %s: %s" % (name, path))
        click.echo("flash: %s" % vb.flash_dir)
        click.echo("ready: 1")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        vb.stop()
