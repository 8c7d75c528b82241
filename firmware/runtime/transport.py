# Transports move frames off the board. A transport's send() returns True once
# the frame has left (the queue then forgets it) and False when it cannot go
# now (the frame stays queued and goes first next time). A transport that can
# receive also has downlinks() -> [(port, payload)], taken after each send.
#
# The console transport prints each frame as "uplink <hex>" on the USB serial
# console: what a technician sees on a board without a network, and how the
# HIL tests read frames. The LoRaWAN transport prints the same line for each
# frame once the network has it. LoRaWAN, BLE and Modbus live in radio/.
import binascii

import machine

from runtime import board as boardfile


class ConsoleTransport:
    name = "console"

    def send(self, frame):
        print("uplink " + binascii.hexlify(frame).decode())
        return True


def select(ctx):
    # LoRaWAN through the AT modem on the board's lora_uart when the device is
    # provisioned (it has an identity to join with); the console otherwise.
    # A board whose modem does not answer at all (none fitted, as on a bench
    # board) is said in the log and falls back to the console.
    bus = boardfile.bus(ctx.board, "lora_uart")
    if bus is None or not ctx.provisioned:
        return ConsoleTransport()
    from radio.lorawan import Rak3172, LoRaWANTransport
    uart = machine.UART(bus["id"], baudrate=bus.get("baudrate", 115200), tx=bus["tx"], rx=bus["rx"],
                        timeout=0, rxbuf=1024)
    modem = Rak3172(uart, ctx.config["region"], idle=ctx.feed)
    if not modem.alive():
        ctx.log.error("lorawan: no module answers on lora_uart: frames go to the console")
        return ConsoleTransport()
    return LoRaWANTransport(modem, ctx.config, ctx.log, fresh=ctx.reset_cause != machine.DEEPSLEEP_RESET)
