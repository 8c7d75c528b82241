"""Host-side peers of the virtual board: programs on the far side of a UART pty."""
