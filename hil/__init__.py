"""Hardware in the loop: one pytest suite for real and virtual boards.

- `hil.vboard.VirtualBoard`: the MicroPython unix port running the firmware from
  a littlefs flash image, with a virtual `machine`, virtual time and a supervisor
  that exposes one console pty (driven by mpremote like a USB board) and one pty
  per UART.
- `hil.board`: the `Board` driver the tests use, over mpremote's serial
  transport, for a virtual board's console pty or a real serial port.
- `hil.plugin`: the pytest plugin (`--board`, the `board` fixture, the
  `hardware` marker).
"""
