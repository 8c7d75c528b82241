# GENERATED from protocols/schema.py by `python -m protocols.schema --write-table`:
# do not edit. The frame kinds as one byte string that protocols/frames.py
# reads one kind at a time, so a device spends almost no heap on the schema
# (schema.py says why; table_bytes() there gives the layout).
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

NAME = const(0)
UNIT = const(1)
TYPE = const(2)
NUM = const(3)
DEN = const(4)
LO = const(5)
HI = const(6)
ORIGIN = const(7)
EXTRA = const(8)
FLAGS = const(9)
T_NUM = const(0)
T_BOOL = const(1)
T_ENUM = const(2)
T_BITS = const(3)
T_DELTA = const(4)
T_BYTES = const(5)
T_VERSION = const(6)
OPTIONAL = const(1)
NULLABLE = const(2)
KIND_ID = const(0)
KIND_NAME = const(1)
DIRECTION = const(2)
FIELDS = const(3)
UP = 'up'
DOWN = 'down'

TABLE = (
    b'\x12\x01\x0bparking_bay\x00\xf0\x02\x0erodent_station'
    b'\x01v\x03\x0csmart_toilet\x01\xfd\x04\nwater_main\x03\x1c'
    b'\x05\rhiker_tracker\x04\x1d\x06\x06status\x05Y\x07\x08cou'
    b'nters\x06X\x08\nconfig_ack\x06\xe7\t\x07ota_ack\x07^'
    b'\n\nnight_flow\x08\x11\x0b\x05alarm\x08\xec\x10\x06config\t'
    b'\xa9\x11\ttime_sync\n\x80\x12\nota_notice\n\xc3\x13\x06re'
    b'boot\x0bN\x14\x0estatus_request\x0b\x89\x15\talarm_'
    b'ack\x0b\xa9\x16\x07setting\x0c\x04[1,"parking_bay"'
    b',"up",[["occupied","",1,1,1,0,1,'
    b'0,null,0],["changes","",0,1,1,0,'
    b'65535,0,null,0],["battery","%",0'
    b',5,1,0,20,0,null,0]]]\n[2,"rodent'
    b'_station","up",[["activity","",0'
    b',1,1,0,65535,0,null,0],["burst",'
    b'"",1,1,1,0,1,0,null,0],["battery'
    b'","%",0,5,1,0,20,0,null,0]]]\n[3,'
    b'"smart_toilet","up",[["alarms","'
    b'",3,1,1,0,15,2,["occupied","leak'
    b'","cleaning","consumables_low"],'
    b'0],["people","",0,1,1,0,255,0,nu'
    b'll,0],["nh3","ppm",0,1,1,0,255,0'
    b',null,0],["h2s","ppm",0,1,100,0,'
    b'255,0,null,0],["consumables","%"'
    b',0,5,1,0,20,0,null,0],["battery"'
    b',"%",0,5,1,0,20,0,null,0]]]\n[4,"'
    b'water_main","up",[["pressure","k'
    b'Pa",0,1,10,0,65535,0,null,0],["f'
    b'low","L/s",0,1,100,-65536,65535,'
    b'0,null,0],["pressure_min","kPa",'
    b'4,10,1,0,23,0,["pressure",-1],0]'
    b',["pressure_max","kPa",4,10,1,0,'
    b'23,0,["pressure",1],0],["battery'
    b'","%",0,5,1,0,20,0,null,0]]]\n[5,'
    b'"hiker_tracker","up",[["latitude'
    b'","deg",0,1,100000,-65536,65535,'
    b'2235000,null,2],["longitude","de'
    b'g",0,1,100000,-65536,65535,11415'
    b'000,null,2],["fix","",2,1,1,0,8,'
    b'0,["none","gps","dgps","pps","rt'
    b'k","float_rtk","estimated","manu'
    b'al","simulation"],0],["sos","",1'
    b',1,1,0,1,0,null,0],["battery","%'
    b'",0,5,1,0,20,0,null,0]]]\n[6,"sta'
    b'tus","up",[["firmware","",6,1,1,'
    b'0,65535,0,null,0],["battery_mv",'
    b'"mV",0,20,1,0,255,0,null,0],["re'
    b'set_cause","",2,1,1,0,7,0,["unkn'
    b'own","power_on","hard","watchdog'
    b'","deep_sleep","soft","brownout"'
    b',"panic"],0],["uptime","s",0,360'
    b'0,1,0,65535,0,null,0]]]\n[7,"coun'
    b'ters","up",[["boot_count","",0,1'
    b',1,0,65535,0,null,0],["queue_dep'
    b'th","",0,1,1,0,65535,0,null,0],['
    b'"dropped","",0,1,1,0,65535,0,nul'
    b'l,0]]]\n[8,"config_ack","up",[["s'
    b'eq","",0,1,1,0,255,0,null,0],["r'
    b'esult","",2,1,1,0,3,0,["ok","rej'
    b'ected","invalid","busy"],0]]]\n[9'
    b',"ota_ack","up",[["release","",0'
    b',1,1,0,65535,0,null,0],["result"'
    b',"",2,1,1,0,6,0,["accepted","dow'
    b'nloading","installed","confirmed'
    b'","verify_failed","rolled_back",'
    b'"rejected"],0]]]\n[10,"night_flow'
    b'","up",[["flow","L/s",0,1,100,-6'
    b'5536,65535,0,null,0],["start","m'
    b'in",0,15,1,0,95,0,null,0],["dura'
    b'tion","min",0,15,1,0,23,0,null,0'
    b'],["samples","",0,1,1,0,255,0,nu'
    b'll,0],["battery","%",0,5,1,0,20,'
    b'0,null,0]]]\n[11,"alarm","up",[["'
    b'alarm","",2,1,1,0,3,0,["sos","le'
    b'ak","burst","rodent_burst"],0],['
    b'"active","",1,1,1,0,1,0,null,0],'
    b'["repeat","",0,1,1,0,255,0,null,'
    b'0],["battery","%",0,5,1,0,20,0,n'
    b'ull,0]]]\n[16,"config","down",[["'
    b'seq","",0,1,1,0,255,0,null,0],["'
    b'interval","s",0,1,1,10,86400,0,n'
    b'ull,1],["threshold_high","",0,1,'
    b'1,-2147483648,2147483647,0,null,'
    b'1],["threshold_low","",0,1,1,-21'
    b'47483648,2147483647,0,null,1]]]\n'
    b'[17,"time_sync","down",[["time",'
    b'"s",0,1,1,0,4294967295,0,null,0]'
    b']]\n[18,"ota_notice","down",[["re'
    b'lease","",0,1,1,0,65535,0,null,0'
    b'],["size","B",0,1,1,0,16777215,0'
    b',null,0],["hash_prefix","",5,1,1'
    b',4,4,0,4,0]]]\n[19,"reboot","down'
    b'",[["delay","s",0,1,1,0,3600,0,n'
    b'ull,1]]]\n[20,"status_request","d'
    b'own",[]]\n[21,"alarm_ack","down",'
    b'[["alarm","",2,1,1,0,3,0,["sos",'
    b'"leak","burst","rodent_burst"],0'
    b']]]\n[22,"setting","down",[["seq"'
    b',"",0,1,1,0,255,0,null,0],["sett'
    b'ing","",0,1,1,0,255,0,null,0],["'
    b'value","",0,1,1,-2147483648,2147'
    b'483647,0,null,0]]]\n'
)
