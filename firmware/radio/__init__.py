# Transports that move frames off the board: LoRaWAN (an AT modem), Modbus RTU, BLE.
