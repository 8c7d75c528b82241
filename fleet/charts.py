"""Small inline SVG line charts for the device page: no JavaScript, readable on a phone."""
import datetime

from markupsafe import Markup, escape

from fleet.present import iso

# The field charted for each kind, with its unit.
CHART_FIELD = {
    "parking_bay": ("occupied", ""),
    "rodent_station": ("activity", ""),
    "smart_toilet": ("nh3", "ppm"),
    "water_main": ("pressure", "kPa"),
    "hiker_tracker": ("battery", "%"),
}
_W, _H, _PAD = 600, 160, 28


def _scale(values, lo, hi, size, invert=False):
    span = (hi - lo) or 1.0
    return [((hi - v) if invert else (v - lo)) / span * size for v in values]


def line_chart(points, label, unit=""):
    """An SVG chart of [(epoch seconds, value)] with min/max and first/last time labels."""
    points = [(t, float(v)) for t, v in points if v is not None]
    title = "%s%s" % (label, " (%s)" % unit if unit else "")
    if len(points) < 2:
        return Markup('<p class="muted">Not enough readings of %s to chart.</p>') % title
    ts, vs = [p[0] for p in points], [p[1] for p in points]
    lo, hi = min(vs), max(vs)
    xs = _scale(ts, ts[0], ts[-1], _W - 2 * _PAD)
    ys = _scale(vs, lo, hi, _H - 2 * _PAD, invert=True)
    path = " ".join("%.1f,%.1f" % (x + _PAD, y + _PAD) for x, y in zip(xs, ys))
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" preserveAspectRatio="none">'
        '<title>{title}</title>'
        '<line x1="{p}" y1="{p}" x2="{p}" y2="{b}" class="axis"/><line x1="{p}" y1="{b}" x2="{r}" y2="{b}" class="axis"/>'
        '<polyline points="{path}" class="series"/>'
        '<text x="{r}" y="14" class="label" text-anchor="end">{title}</text>'
        '<text x="2" y="{p}" class="tick">{hi:g}</text><text x="2" y="{b}" class="tick">{lo:g}</text>'
        '<text x="{p}" y="{h2}" class="tick">{t0}</text><text x="{r}" y="{h2}" class="tick" text-anchor="end">{t1}</text>'
        '</svg>').format(w=_W, h=_H, p=_PAD, b=_H - _PAD, r=_W - _PAD, h2=_H - 6, path=path,
                         title=escape(title), hi=round(hi, 3), lo=round(lo, 3),
                         t0=iso(ts[0])[:16].replace("T", " "), t1=iso(ts[-1])[:16].replace("T", " "))


def device_charts(kind, series):
    """The device page's charts (its kind's main field, and battery) from chart_series rows."""
    field, unit = CHART_FIELD[kind]
    times = [_epoch(r["time"]) for r in series]
    charts = [line_chart(list(zip(times, [r.get(field) for r in series])), field, unit)]
    if field != "battery":
        charts.append(line_chart(list(zip(times, [r.get("battery") for r in series])), "battery", "%"))
    return charts


def _epoch(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
