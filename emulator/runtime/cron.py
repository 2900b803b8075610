"""Cron triggers at the edge: each schedule of ``worker_schedules`` runs its Worker's ``scheduled()``.

Cloudflare's syntax (https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions):
five fields in UTC -- minute 0-59, hour 0-23, day of month 1-31 (``L``, ``W``, ``LW``), month 1-12 or
JAN-DEC, weekday 1-7 or SUN-SAT with Sunday = 1 (``0 17 * * sun`` = ``0 17 * * 1``; ``6L`` the last
Friday; ``#n`` the n-th). The scheduler wakes every second and fires each schedule once in every
minute its expression matches, with ``scheduledTime`` = the start of that minute.
"""
import calendar
import datetime
import sys
import threading
import time

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
TICK_SECONDS = 1.0


def _number(text, low, names):
    upper = text.upper()
    if upper in names:
        return names.index(upper) + low
    return int(text)


def _weekday(moment):
    """Cloudflare's weekday number: Sunday 1 .. Saturday 7."""
    return (moment.isoweekday() % 7) + 1


def _last_day(moment):
    return calendar.monthrange(moment.year, moment.month)[1]


def _nearest_weekday(moment, day):
    """Quartz's ``nW``: the weekday (Mon-Fri) nearest to day ``day`` of the month, within the month."""
    last = _last_day(moment)
    day = min(day, last)
    weekday = datetime.date(moment.year, moment.month, day).weekday()  # Monday 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < last else day - 2
    return day


def _range(base, low, high, names):
    if base == "*":
        return low, high
    first, _sep, last = base.partition("-")
    start = _number(first, low, names)
    return start, (_number(last, low, names) if last else start)


def _item_matches(item, value, low, high, names):
    base, sep, step = item.partition("/")
    start, end = _range(base, low, high, names)
    if sep and base != "*" and "-" not in base:
        end = high  # "5/15": from 5 to the end of the field, every 15
    step = int(step) if sep else 1
    return start <= value <= end and (value - start) % step == 0


def _day_of_month_matches(item, moment):
    upper = item.upper()
    if upper == "L":
        return moment.day == _last_day(moment)
    if upper == "LW":
        return moment.day == _nearest_weekday(moment, _last_day(moment))
    if upper.endswith("W"):
        return moment.day == _nearest_weekday(moment, int(upper[:-1]))
    return _item_matches(item, moment.day, 1, 31, ())


def _weekday_matches(item, moment):
    upper = item.upper()
    weekday = _weekday(moment)
    if upper == "L":
        return weekday == 7
    if upper.endswith("L"):
        return weekday == _number(upper[:-1], 1, _DAYS) and moment.day + 7 > _last_day(moment)
    if "#" in upper:
        day, _sep, nth = upper.partition("#")
        return weekday == _number(day, 1, _DAYS) and (moment.day - 1) // 7 + 1 == int(nth)
    return _item_matches(item, weekday, 1, 7, _DAYS)


def matches(cron, moment):
    """True when the five-field ``cron`` fires in the minute of ``moment`` (a UTC datetime)."""
    minute, hour, day, month, weekday = cron.split()
    if not any(_item_matches(i, moment.minute, 0, 59, ()) for i in minute.split(",")):
        return False
    if not any(_item_matches(i, moment.hour, 0, 23, ()) for i in hour.split(",")):
        return False
    if not any(_item_matches(i, moment.month, 1, 12, _MONTHS) for i in month.split(",")):
        return False
    day_ok = any(_day_of_month_matches(i, moment) for i in day.split(","))
    weekday_ok = any(_weekday_matches(i, moment) for i in weekday.split(","))
    if day == "*" or weekday == "*":
        return day_ok and weekday_ok
    return day_ok or weekday_ok  # both restricted: either one (as cron does; Cloudflare does not say)


class CronScheduler:
    """Fires due schedules through ``fire(account_id, script_name, cron, scheduled_time_ms)``."""

    def __init__(self, store, fire):
        self.store = store
        self.fire = fire
        self._stop = threading.Event()
        self._fired = {}  # (account, script, cron) -> the minute (epoch seconds) it last fired for
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="edge-cron", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _schedules(self):
        with self.store.read() as db:
            return [(row["account_id"], row["script_name"], row["cron"])
                    for row in db.execute("SELECT account_id, script_name, cron FROM worker_schedules")]

    def _run(self):
        started_minute = int(time.time()) // 60 * 60  # no catch-up for minutes before the edge started
        while not self._stop.wait(TICK_SECONDS):
            minute = int(time.time()) // 60 * 60
            if minute <= started_minute:
                continue
            moment = datetime.datetime.fromtimestamp(minute, datetime.timezone.utc)
            try:
                schedules = self._schedules()
            except Exception as exc:  # noqa: BLE001 - a locked database now is fine a second later
                sys.stderr.write("cfops edge: cannot read cron schedules: %s\n" % exc)
                continue
            for key in schedules:
                if self._fired.get(key) == minute:
                    continue
                try:
                    due = matches(key[2], moment)
                except (ValueError, IndexError):
                    due = False  # the API validated it; an expression this matcher misreads never fires
                if due:
                    self._fired[key] = minute
                    threading.Thread(target=self.fire, args=key + (minute * 1000,), name="edge-cron-run",
                                     daemon=True).start()
