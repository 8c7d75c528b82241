# firmware/radio/bthome.py on either interpreter (through the `interp` fixture).
from tests.radio.modbus_cases import firmware_module

bthome = firmware_module("radio.bthome")


def service_data(readings, battery=None, packet_id=0):
    return bthome.service_data(readings, battery, packet_id)


def advertisement(readings, battery=None, packet_id=0, name=None):
    return bthome.advertisement(readings, battery, packet_id, name)
