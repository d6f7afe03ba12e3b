#!/usr/bin/env python3
"""Writes the people of integration.health_facts: a facts CSV (for
`lindungctl facts import`) and the verdict a partner must see for each
person at a venue, under the rule set in force (July 2022). The expected
colours are read off STATUS-RULES.md here, independently of the C rules.

usage: cases.py FACTS_CSV CASES_FILE
CASES_FILE lines: name|nik|venue|status|decision|reason; a name starting
with "%" is a cell of the September 2021 table (scanned while that rule set
is in force), one starting with "@" a person the test uses otherwise.
"""
import datetime as dt
import random
import sys

now = dt.datetime.now(dt.timezone.utc)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
serials = random.sample(range(1, 9999), 200)


# The stack's database outlives a run: a district of this run's own keeps
# its people apart from an earlier run's (the same birth dates come back).
district = random.randint(1, 9999)


def nik(birth):
    # Province 99 is not one lindungctl seed uses: no clash with seeded people.
    return "99%04d%02d%02d%02d%04d" % (district, birth.day, birth.month, birth.year % 100, serials.pop())


def years_ago(n, extra_days=0):
    d = now.date()
    try:
        b = d.replace(year=d.year - n)
    except ValueError:  # 29 February
        b = d.replace(year=d.year - n, day=28)
    return b + dt.timedelta(days=extra_days)


def iso(t):
    return t.isoformat(timespec="seconds")


ADULT, CHILD = years_ago(30), years_ago(12)
DOSES = [("dose", 200 * D, "Sinovac"), ("dose", 170 * D, "Sinovac")]
BOOSTER = [("booster", 60 * D, "Pfizer")]
MALL, CINEMA = "QR-MALL-0001", "QR-CINEMA-0001"
ALLOW_G = ("GREEN", "ALLOW", "STATUS_ALLOWED")
ALLOW_Y = ("YELLOW", "ALLOW", "STATUS_ALLOWED")
NOT_HERE = ("YELLOW", "DENY", "STATUS_NOT_ALLOWED_HERE")
RED = ("RED", "DENY", "NOT_VACCINATED")
BLACK = ("BLACK", "DENY", "POSITIVE_OR_CONTACT")

# name, birth, facts (kind, ago, detail), venue, expected verdict
cases = [
    ("adult booster: GREEN", ADULT, DOSES + BOOSTER, CINEMA, ALLOW_G),
    ("adult antigen 23 h 50 ago: GREEN", ADULT, [("antigen_negative", 23 * H + dt.timedelta(minutes=50), "")], CINEMA, ALLOW_G),
    ("adult antigen 25 h ago: RED", ADULT, [("antigen_negative", 25 * H, "")], MALL, RED),
    ("adult PCR 71 h ago: GREEN", ADULT, [("pcr_negative", 71 * H, "")], CINEMA, ALLOW_G),
    ("adult two doses, PCR 73 h ago: YELLOW", ADULT, DOSES + [("pcr_negative", 73 * H, "")], MALL, ALLOW_Y),
    ("adult fully vaccinated, recovered 30 d ago: GREEN", ADULT, DOSES + [("recovered", 30 * D, "")], CINEMA, ALLOW_G),
    ("adult two doses: YELLOW at a mall", ADULT, DOSES, MALL, ALLOW_Y),
    ("adult two doses: YELLOW not at a cinema", ADULT, DOSES, CINEMA, NOT_HERE),
    ("adult one dose: RED", ADULT, DOSES[:1], MALL, RED),
    ("adult unvaccinated: RED", ADULT, [], MALL, RED),
    ("child fully vaccinated: GREEN", CHILD, DOSES, CINEMA, ALLOW_G),
    ("child one dose: YELLOW", CHILD, DOSES[:1], MALL, ALLOW_Y),
    ("child unvaccinated: RED", CHILD, [], MALL, RED),
    ("age 17 (18 tomorrow), two doses: GREEN", years_ago(18, 1), DOSES, CINEMA, ALLOW_G),
    ("age 18 today, two doses: YELLOW", years_ago(18), DOSES, MALL, ALLOW_Y),
    ("positive 2 d ago, boosted: BLACK", ADULT, DOSES + BOOSTER + [("positive", 2 * D, "PCR")], MALL, BLACK),
    ("positive 11 d ago, boosted: GREEN", ADULT, DOSES + BOOSTER + [("positive", 11 * D, "PCR")], CINEMA, ALLOW_G),
    ("child positive 2 d ago: BLACK", CHILD, DOSES + [("positive", 2 * D, "")], MALL, BLACK),
    ("positive 5 d ago, recovered since, fresh antigen, boosted: BLACK wins", ADULT,
     DOSES + BOOSTER + [("positive", 5 * D, "PCR"), ("recovered", 1 * D, ""), ("antigen_negative", 1 * H, "")],
     MALL, BLACK),
    ("contact 9 d ago: BLACK", ADULT, DOSES + BOOSTER + [("close_contact", 9 * D, "")], MALL, BLACK),
    ("contact 10 d ago, two doses: cleared, YELLOW", ADULT, DOSES + [("close_contact", 10 * D + H, "")], MALL, ALLOW_Y),
    ("contact 6 d ago, PCR on day 4: BLACK", ADULT, DOSES + [("close_contact", 6 * D, ""), ("pcr_negative", 2 * D, "")], MALL, BLACK),
    ("contact 6 d ago, PCR on day 5: cleared, GREEN", ADULT, DOSES + [("close_contact", 6 * D, ""), ("pcr_negative", 1 * D - H, "")], CINEMA, ALLOW_G),
]

# The September 2021 table: colour by doses, at any age; BLACK for a
# positive or a close contact.
sept2021 = [
    ("2021 two doses: GREEN", ADULT, DOSES, CINEMA, ALLOW_G),
    ("2021 two doses, child: GREEN", CHILD, DOSES, CINEMA, ALLOW_G),
    ("2021 one dose: YELLOW at a mall", ADULT, DOSES[:1], MALL, ALLOW_Y),
    ("2021 one dose: YELLOW not at a cinema", ADULT, DOSES[:1], CINEMA, NOT_HERE),
    ("2021 recovered, unvaccinated: YELLOW", ADULT, [("recovered", 30 * D, "")], MALL, ALLOW_Y),
    ("2021 unvaccinated: RED", ADULT, [], MALL, RED),
    ("2021 a fresh negative test does not vaccinate: RED", ADULT, [("antigen_negative", 2 * H, "")], MALL, RED),
    ("2021 positive, two doses: BLACK", ADULT, DOSES + [("positive", 2 * D, "PCR")], MALL, BLACK),
    ("2021 close contact, two doses: BLACK", ADULT, DOSES + [("close_contact", 2 * D, "")], MALL, BLACK),
]

with open(sys.argv[1], "w") as facts, open(sys.argv[2], "w") as out:
    facts.write("nik,fact,at,until,detail\n")
    for prefix, table in (("", cases), ("%", sept2021)):
        for name, birth, fs, venue, verdict in table:
            n = nik(birth)
            facts.write("%s,birth_date,%s,,\n" % (n, birth.isoformat()))
            for kind, ago, detail in fs:
                facts.write("%s,%s,%s,,%s\n" % (n, kind, iso(now - ago), detail))
            out.write("|".join([prefix + name, n, venue, *verdict]) + "\n")
    # People for the scan path, the exposure and the rule-set checks: all
    # boosted adults (GREEN) or two-dose adults (YELLOW).
    # exp-*: the exposure window check (check-ins written at chosen times).
    for role in ["published", "met", "elsewhere", "yellow", "green2", "exp-p", "exp-q", "exp-a", "exp-b"]:
        n = nik(ADULT)
        facts.write("%s,birth_date,%s,,\n" % (n, ADULT.isoformat()))
        for kind, ago, detail in DOSES + ([] if role == "yellow" else BOOSTER):
            facts.write("%s,%s,%s,,%s\n" % (n, kind, iso(now - ago), detail))
        out.write("|".join(["@" + role, n, "", "", "", ""]) + "\n")
