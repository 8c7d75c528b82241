"""Radio figures: time on air of every uplink kind at SF7 and SF12 in AS923, and the
uplinks a day each profile can send within a 1 % duty cycle.

Frame sizes are the worst case of each kind (protocols/sizes.py: every field at
its largest CBOR encoding), sent on FPort 2 with 13 bytes of LoRaWAN overhead;
airtime and counts from protocols/lora.py (Semtech AN1200.13, 125 kHz, CR 4/5,
8-symbol preamble, explicit header, CRC, LDRO at SF11/12). Ratios compare SF12
with SF7 and the firmware's default DR2 (SF10) with SF7, all computed in this
run. AS923 with UplinkDwellTime = 1 (the RAK3172's AS923 default) allows 400 ms
on air per uplink: frames above that at SF12 could only go with dwell time off.
"""
from protocols import lora, sizes
from protocols import schema as S

REGION = "AS923"
DUTY = 0.01
DWELL_MS = 400
PROFILES = ("parking_bay", "rodent_station", "smart_toilet", "water_main", "hiker_tracker")


def uplink_kinds():
    return [k[S.KIND_NAME] for k in S.KINDS if k[S.DIRECTION] == S.UP]


def figures():
    """{kind: (bytes, {sf: airtime ms})} and {profile: {sf: uplinks per day}}."""
    air = {}
    for kind in uplink_kinds():
        n = sizes.worst_case_bytes(kind)
        air[kind] = (n, {sf: lora.uplink_airtime_ms(n, sf, 125) for sf in (7, 10, 12)})
    per_day = {}
    for profile in PROFILES:
        n = sizes.worst_case_bytes(profile)
        per_day[profile] = {sf: lora.max_uplinks_per_day(n, sf, 125, DUTY) for sf in (7, 10, 12)}
    return air, per_day


def main():
    air, per_day = figures()
    sf7_dr = [dr for dr in range(7) if lora.data_rate(REGION, dr) == (7, 125)][0]
    sf12_dr = [dr for dr in range(7) if lora.data_rate(REGION, dr) == (12, 125)][0]
    print("AS923, 125 kHz: SF7 is DR%d, SF12 is DR%d; firmware default DR2 is SF10" % (sf7_dr, sf12_dr))
    print()
    print("%-15s %5s %10s %10s %10s %9s %9s" % ("frame kind", "bytes", "SF7 ms", "SF10 ms", "SF12 ms",
                                                 "SF12/SF7", "SF10/SF7"))
    for kind, (n, ms) in air.items():
        flag = " > %d ms dwell" % DWELL_MS if ms[12] > DWELL_MS else ""
        print("%-15s %5d %10.1f %10.1f %10.1f %8.1fx %8.1fx%s" % (kind, n, ms[7], ms[10], ms[12], ms[12] / ms[7],
                                                                 ms[10] / ms[7], flag))
    print()
    print("uplinks per day within a %g %% duty cycle (worst-case frame of the profile's kind)" % (DUTY * 100))
    print("%-15s %10s %10s %10s %14s %14s" % ("profile", "SF7", "SF10", "SF12", "every SF7", "every SF12"))
    for profile, n in per_day.items():
        print("%-15s %10d %10d %10d %12.1f s %12.1f s" % (profile, n[7], n[10], n[12], 86400 / n[7], 86400 / n[12]))
    print()
    print("a confirmed uplink that is never acknowledged costs (AT+RETY + 1) times its airtime: "
          "the firmware sends with AT+RETY=1, so an outage halves these counts")


if __name__ == "__main__":
    main()
