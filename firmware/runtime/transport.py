# Transports move frames off the board. A transport's send() returns True once
# the frame has left (the queue then forgets it) and False when it cannot go
# now (the frame stays queued and goes first next time).
#
# The console transport prints each frame as "uplink <hex>" on the USB serial
# console: what a technician sees on a board without a network, and how the
# HIL tests read frames. LoRaWAN, BLE and Modbus transports live in radio/.
import binascii


class ConsoleTransport:
    name = "console"

    def send(self, frame):
        print("uplink " + binascii.hexlify(frame).decode())
        return True
