"""Read the free text of any message in a sharps or splash conversation into triage facts.

    read_facts("needlestick from a used needle, the patient is HIV positive, 10 mins ago", now=now)
    -> {"exposure_type": Heard("percutaneous", "needlestick"),
        "device_used":   Heard("yes", "used"),
        "source_known":  Heard("yes", "the patient"),
        "source_bbv":    Heard(["hiv"], "HIV positive"),
        "occurred_at":   Heard("2026-12-01T13:50:00+00:00", "10 mins ago")}

Pure: no I/O, no clock (`now` is passed in). Only what the text states is returned; a bare
"yes", "no" or "don't know" is the form's job and gives nothing here.

How it reads (each step is small and table-driven):

1. The message is cut into tokens: lower case, apostrophes dropped ("don't" -> "dont"),
   punctuation kept as ".", "," and "?" so a phrase never runs across a clause, and
   shorthand and common typos spelt out ("pt" -> "patient", "hepc" -> "hep c", "hiv+" ->
   "hiv positive", "was not" -> "wasnt"). Every character keeps the span of the original
   text it came from, so each fact can quote the person's own words.
2. Every row of the phrase tables below is tried. A row is a regular expression and the
   facts it gives ({slot: value}); `X` marks words that are spoken for but give no fact
   (a negation, or somebody else's words: "the patient is pregnant").
3. For each slot, a match inside a longer match of the same slot is dropped ("not HIV
   positive" beats "HIV positive"; "didn't break the skin" beats "break the skin").
4. Of the rest, explicit words beat inferred ones (rank 2 over rank 1), then the riskier
   value wins (used over unused, blood over urine, percutaneous over a splash).
5. A few rules across slots: a bite, blood in a low-risk fluid, device questions that do
   not apply to a splash, the source's viruses as one list.
6. The time: the first time phrase in the message goes to `actions.parsing.parse_when`.

Only the first MAX_CHARS characters are read (a message is a few lines; this bounds the time
a pasted essay can take).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from actions import names as n
from actions.parsing import parse_when

SLOT_FLUID_BLOOD = n.SLOT_FLUID_BLOOD
SLOT_INJURY_BITE = n.SLOT_INJURY_BITE

YES, NO = n.YES, n.NO
MAX_CHARS = 2000
X = "-"  # spoken for, no fact (a negation, or another person's words)

BBV_ORDER = ("hiv", "hiv_suspected", "hiv_negative", "hbv", "hbv_suspected", "hbv_negative", "hcv", "hcv_suspected",
             "hcv_negative", "none", "unknown")
RISK_ORDER = ("injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other")
_VIRUS_CODE = {"hiv": "hiv", "hep b": "hbv", "hep c": "hcv"}

# Riskiest first: the value kept when one message says both.
RISKIER: Dict[str, Tuple[str, ...]] = {
    n.SLOT_EXPOSURE_TYPE: ("percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin"),
    n.SLOT_FLUID: ("blood", "blood_stained", "high_risk_other", "low_risk"),
    n.SLOT_DEVICE_KIND: ("hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other"),
    n.SLOT_DEVICE_USED: (YES, NO),
    n.SLOT_DEVICE_IN_VESSEL: (YES, NO),
    n.SLOT_VISIBLE_BLOOD: (YES, NO),
    n.SLOT_INJURY_DEEP: (YES, NO),
    n.SLOT_GLOVES: (NO, YES),
    # A known source keeps the questions about its viruses open; "no" would skip them.
    n.SLOT_SOURCE_KNOWN: (YES, NO),
    n.SLOT_HBV_STATUS: ("unvaccinated", "non_responder", "partial", "vaccinated", "responder"),
    n.SLOT_PREGNANCY: ("pregnant", "breastfeeding", "neither"),
    SLOT_INJURY_BITE: (YES,),
    SLOT_FLUID_BLOOD: (YES, NO),
    "_bleed": (YES, NO),
}
# Questions that only apply to a sharp (the form skips them for a splash or skin contact).
NOT_A_SHARP = ("mucocutaneous", "non_intact_skin", "intact_skin")


@dataclass(frozen=True)
class Heard:
    value: Any   # in the slot's vocabulary
    words: str   # the span of the original message that gave this fact


# =========================================================================== 1. tokens

_TOKEN = re.compile(
    r"(?P<date>\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b)"
    r"|(?P<clock>\b\d{1,2}[:.]\d{2}(?:\b|(?=[ap]\.?m\b))(?![.:]\d))"
    r"|(?P<dec>\b\d+\.\d+\b)"
    r"|(?P<ampm>\b[ap]\.\s?m\b\.?)"
    r"|(?P<without>\bw/o\b)"
    r"|(?P<with>\bw/)"
    r"|(?P<pos>\+\s?ve\b)"
    r"|(?P<neg>-\s?ve\b)"
    r"|(?P<plus>\+(?!\s*\d))"
    r"|(?P<minus>(?<=[a-z])-(?=\s|$|[,.;:!?)]))"
    r"|(?P<query>\?(?=[a-z]))"
    r"|(?P<amp>&)"
    r"|(?P<word>[^\W\d_]+(?:['\u2018\u2019`\u02bc][^\W\d_]+)*|\d+)"
    r"|(?P<question>\?+(?![a-z]))"
    r"|(?P<stop>[.!;\u2026\n]+|(?<=\s)[-\u2013\u2014]+(?=\s))"
    r"|(?P<comma>[,:/|()\[\]])",
    re.IGNORECASE,
)
_APOSTROPHES = re.compile(r"['\u2018\u2019`\u02bc]")
_FIXED_TOKENS = {"without": "without", "with": "with", "pos": "positive", "neg": "negative", "plus": "plus",
                 "minus": "minus", "query": "query", "amp": "and", "stop": ".", "comma": ",", "question": "?"}

# One word -> its usual spelling (shorthand, typos, words that mean one thing).
WORDS: Dict[str, str] = {
    # people
    "pt": "patient", "pnt": "patient", "ptnt": "patient", "patinet": "patient", "pateint": "patient",
    "paitent": "patient", "patiant": "patient", "paitient": "patient", "pts": "patients",
    "pateints": "patients", "patinets": "patients", "paitents": "patients",
    # sharps
    "neelde": "needle", "needel": "needle", "neddle": "needle", "nedle": "needle", "neeedle": "needle",
    "needl": "needle", "neadle": "needle", "needlle": "needle", "neeldes": "needles", "needels": "needles",
    "needlestick": "needle stick", "needlestik": "needle stick", "needlestic": "needle stick",
    "needelstick": "needle stick", "neddlestick": "needle stick", "needlstick": "needle stick",
    "needlesticks": "needle stick", "needlestuck": "needle stick", "neelestick": "needle stick",
    "needlestcik": "needle stick", "nsi": "needle stick injury",
    "syring": "syringe", "syrnge": "syringe", "siringe": "syringe", "syringue": "syringe",
    "scapel": "scalpel", "scalpal": "scalpel", "scalple": "scalpel", "scalpul": "scalpel",
    "canula": "cannula", "cannular": "cannula", "canular": "cannula", "venflon": "cannula",
    "venflons": "cannulas", "lancett": "lancet", "lansett": "lancet",
    "fingerprick": "finger prick", "fingerpricks": "finger prick", "fingerpricking": "finger prick",
    # what happened
    "splashd": "splashed", "splased": "splashed", "spashed": "splashed", "splshed": "splashed",
    "splahsed": "splashed", "splashback": "splash back", "stabed": "stabbed", "stabbd": "stabbed",
    "priked": "pricked", "prickd": "pricked", "jabed": "jabbed",
    # fluids
    "bloodstained": "blood stained", "bloodied": "bloody", "breastmilk": "breast milk",
    "vomitted": "vomited", "vommit": "vomit", "vomitt": "vomit", "salvia": "saliva", "siliva": "saliva",
    # viruses
    "hepatitis": "hep", "hepatitus": "hep", "hepititis": "hep", "hepatits": "hep", "heptitis": "hep",
    "hepb": "hep b", "hepc": "hep c", "hbv": "hep b", "hcv": "hep c", "hbsag": "hep b", "aids": "hiv",
    "positve": "positive", "postive": "positive", "posative": "positive", "pos": "positive",
    "poz": "positive", "negitive": "negative", "negtive": "negative", "neg": "negative",
    "negetive": "negative", "bbvs": "bbv",
    # vaccines
    "vacinated": "vaccinated", "vaccinted": "vaccinated", "vacinnated": "vaccinated",
    "vacine": "vaccine", "vaccin": "vaccine", "vacination": "vaccination", "vacc": "vaccine",
    "vax": "vaccine", "vaxxed": "vaccinated", "nonresponder": "non responder",
    "immunised": "vaccinated", "immunized": "vaccinated",
    # time
    "min": "minutes", "mins": "minutes", "minuets": "minutes", "minits": "minutes", "mns": "minutes",
    "hr": "hour", "hrs": "hours", "sec": "second", "secs": "seconds", "wks": "weeks", "wk": "week",
    "yday": "yesterday", "yest": "yesterday", "yesterdy": "yesterday", "yesturday": "yesterday",
    "ystrdy": "yesterday", "tonite": "tonight", "mornin": "morning", "arvo": "afternoon",
    # negation and hedges
    "dnt": "dont", "aint": "isnt", "cannot": "cant", "dunno": "dont know", "dno": "dont know",
    "idk": "i dont know", "wasn": "wasnt", "didn": "didnt", "doesn": "doesnt", "isn": "isnt",
    "hasn": "hasnt", "haven": "havent", "hadn": "hadnt", "weren": "werent", "don": "dont",
    "u": "you", "ur": "your", "abt": "about", "gonna": "going to", "jst": "just", "jus": "just",
    "stik": "stick", "stic": "stick",
}

# Several words -> one spelling, applied in order on the tokenised text.
_REWRITES: Tuple[Tuple[Pattern, str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"\b(was|is|did|does|do|has|have|had|were|could|would|should|are) not\b", r"\1nt"),
    (r"\b(dont|didnt|doesnt|isnt|wasnt|hasnt|havent|hadnt|werent|arent|cant|couldnt|wont) t\b", r"\1"),
    (r"\bcan not\b", "cant"),
    (r"\b2 ?day\b", "today"),
    (r"\bi (?:am|m)\b", "im"),
    (r"\bi (?:have|ve)\b", "ive"),
    (r"\bhe is\b", "hes"),
    (r"\bshe is\b", "shes"),
    (r"\bit is\b", "its"),
    (r"\bthey are\b", "theyre"),
    (r"\bhep \. ([bc])\b", r"hep \1"),
    (r"\bpatients(?= (?:hep [bc]|hiv|known|positive|negative)\b)", "patient is"),
    (r"\bhep ([bc]) ((?:, )?(?:and|or|and or|&|,)) ([bc])\b", r"hep \1 \2 hep \3"),
    (r"\bhep ([bc]) ([bc])\b", r"hep \1 and hep \2"),
    (r"\bhuman immunodeficiency virus\b", "hiv"),
    (r"\bhep b surface antigen\b", "hep b"),
    (r"\bhiv [12](?= (?:and|or|positive|negative|antibody|status)\b)", "hiv"),
    (r"\bplus(?= (?:hiv|hep [bc])\b)", "and"),
    (r"(?<=\bhiv) (plus|minus)\b|(?<=\bhep [bc]) (plus|minus)\b",
     lambda m: " positive" if "plus" in m.group(0) else " negative"),
    (r"\b(?:plus|minus)\b", ","),
    (r"\bnon responders?\b", "non responder"),
    (r"\bsub cut(?:aneous)?\b", "subcut"),
    (r"\bs , c\b", "subcut"),
    (r"\bi , m\b|\bintra muscular\b", "intramuscular"),
    (r"\bim(?= (?:injection|injections|jab|jabs)\b)", "intramuscular"),
    (r"\bre (sheath\w*|cap\w*)\b", r"re\1"),
    (r"\bbreast feed(ing|s)?\b", r"breastfeed\1"),
    (r"\bneedle stick(?: injury)?\b", "needle stick"),
    (r"\bblood borne viruses?\b|\bbloodborne viruses?\b", "bbv"),
    (r"\bmen who have sex with men\b|\bman who has sex with men\b|\bhas sex with men\b", "msm"),
))


class _Text:
    """The tokenised text, with the original span of every character."""

    __slots__ = ("hi", "lo", "original", "s")

    def __init__(self, original: str):
        self.original = original
        pieces: List[str] = []
        lo: List[int] = []
        hi: List[int] = []
        for m in _TOKEN.finditer(original):
            kind = m.lastgroup
            raw = m.group(0)
            if kind == "word":
                token = _APOSTROPHES.sub("", raw.lower())
                token = WORDS.get(token, token)
            elif kind == "ampm":
                token = raw.lower()[0] + "m"
            elif kind in ("date", "clock", "dec"):
                token = raw
            else:
                token = _FIXED_TOKENS[kind]
            if token in (".", ",", "?") and pieces and pieces[-1] in (".", ",", "?"):
                continue
            if pieces:
                pieces.append(" ")
                lo.append(m.start())
                hi.append(m.start())
            pieces.append(token)
            lo.extend([m.start()] * len(token))
            hi.extend([m.end()] * len(token))
        self.s = "".join(pieces)
        self.lo, self.hi = lo, hi
        for pattern, replacement in _REWRITES:
            self.sub(pattern, replacement)

    def sub(self, pattern: Pattern, replacement) -> None:
        pieces: List[str] = []
        lo: List[int] = []
        hi: List[int] = []
        pos = 0
        for m in pattern.finditer(self.s):
            a, b = m.span()
            new = replacement(m) if callable(replacement) else m.expand(replacement)
            pieces.append(self.s[pos:a])
            lo.extend(self.lo[pos:a])
            hi.extend(self.hi[pos:a])
            k = a if a < len(self.s) else len(self.s) - 1
            start, end = (self.lo[a], self.hi[b - 1]) if b > a else (self.lo[k], self.hi[k])
            pieces.append(new)
            lo.extend([start] * len(new))
            hi.extend([end] * len(new))
            pos = b
        if not pieces:
            return
        pieces.append(self.s[pos:])
        lo.extend(self.lo[pos:])
        hi.extend(self.hi[pos:])
        self.s, self.lo, self.hi = "".join(pieces), lo, hi

    def span(self, a: int, b: int) -> Tuple[int, int]:
        """The original span of self.s[a:b] (spaces at the ends ignored)."""
        while a < b and self.s[a] == " ":
            a += 1
        while b > a and self.s[b - 1] == " ":
            b -= 1
        if a >= b:
            return 0, 0
        return self.lo[a], self.hi[b - 1]

    def words(self, a: int, b: int) -> str:
        start, end = self.span(a, b)
        return self.original[start:end]


# =========================================================================== 2. phrase tables
#
# Patterns run on the tokenised text: lower case, single spaces between tokens, "." and ","
# for punctuation. <NAME> is a macro from MACROS. A pattern always starts and ends at a token
# boundary. <W> is any one word and its space, so "<W>{0,2}" lets two words in between.

MACROS: Dict[str, str] = {
    "W": r"(?:[a-z0-9][^ ]* )",
    "ART": r"(?:a|an|the|my|this|that|some|his|her|their|its|our|one|any)",
    "PT": r"(?:patient|patients|service user|service users|client|clients|resident|residents|"
          r"source patient|inmate|prisoner|lady|gentleman|man|woman|guy|bloke|person|child|kid|baby|"
          r"toddler|teenager|boy|girl|chap|fella|gent|customer|prisoner|detainee)",
    "ADJ": r"(?:(?:elderly|young|old|older|poorly|confused|agitated|violent|aggressive|same|new|regular|"
           r"known|demented|male|female|unwell|sick|difficult|drunk|intoxicated|other|last|first|next|own|"
           r"current|previous|little|vulnerable|dementia|frail|post op|palliative|dying) )",
    "THEY": r"(?:he|she|they|hes|shes|theyre|him|her|them|his|their|the source|source|(?:(?:the|a|my|this|that|our) )?"
            r"<ADJ>?(?:patient|patients|pt|client|resident|service user)|(?<!im )(?:the|a|my|this|that|his|her|their) "
            r"<ADJ>?(?:lady|man|woman|gentleman|person|guy|bloke|mum|mother|mom|wife|girlfriend|daughter|partner|"
            r"husband|son|girl|boy))",
    "SHARP": r"(?:needles?|syringes?|scalpels?|blades?|lancets?|cannulas?|butterfly|butterflies|sharps?|"
             r"broken glass|glass|ampoules?|ampules?|vials?|razors?|razor blades?|scissors|stitch cutters?|"
             r"suture needles?|sutures?|sharp object|sharp thing)",
    "BODY": r"(?:(?:left |right |index |middle |ring |little |other )?(?:finger|fingers|fingertip|fingertips|"
            r"thumb|thumbs|hand|hands|palm|palms|arm|arms|forearm|forearms|wrist|wrists|knuckle|knuckles|leg|"
            r"legs|thigh|foot|feet|skin|nail|self))",
    "MUC": r"(?:(?:left |right |both |other |one )?(?:eye|eyes|eyeball|eyeballs|eyelid|eye lid|mouth|lip|lips|"
           r"nose|nostril|nostrils|conjunctiva|mucous membranes?|face and eyes?|face and mouth|eye and mouth|"
           r"eyes and mouth|mouth and eyes?|mouth and nose))",
    "V": r"(?:hiv|hep b|hep c)",
    "VL": r"(?:<V>(?: (?:, )?(?:(?:and|or|and or|nor|&|also|as well as|plus) )?<V>){0,3})",
    "LOWF": r"(?:urine|wee|pee|piss|vomit|vomitus|faeces|feces|faecal matter|poo|poop|stool|stools|"
            r"diarrhoea|diarrhea|saliva|spit|spittle|sputum|phlegm|drool|dribble|sweat|tears|snot|mucus|"
            r"nasal mucus|nasal secretions|nasal discharge|bogies)",
    "ANIMAL": r"(?:dog|dogs|cat|cats|animal|rat|rats|horse|snake|insect|insects|mosquito|mosquitoes|spider|tick|"
              r"ticks|bee|wasp|puppy|kitten|ferret|hamster|rabbit|monkey|bat|fox|mouse|mice|parrot|bird|pet)",
    "VACC": r"(?:vaccines?|vaccinations?|jabs?|injections?|course|immunisations?|immunizations?|boosters?|"
            r"shots?|doses?)",
    "NUMW": r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
            r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|\d{1,2})",
    "NEG": r"(?:not|no|never|nor|without|isnt|wasnt|doesnt|dont|didnt|hasnt|havent|hadnt|arent|werent|denies|"
           r"denied|nil|cant|couldnt)",
    "HEDGE": r"(?:isnt known|wasnt known|arent known|not sure|unsure|dont know|didnt know|no idea|not certain|"
             r"cant remember|dont remember|"
             r"not aware|unaware|no clue|not a clue|wondering|unclear|cant say|cant tell|i dont think|"
             r"dont think|i doubt|uncertain|havent a clue|havent got a clue|we dont know|nobody knows|"
             r"no one knows|not known|unknown)",
    "COUNTRY": r"(?:sub saharan africa|southern africa|east africa|west africa|central africa|africa|"
               r"south africa|zimbabwe|zambia|malawi|mozambique|botswana|namibia|lesotho|eswatini|swaziland|"
               r"uganda|kenya|tanzania|nigeria|ghana|cameroon|congo|drc|democratic republic of congo|"
               r"ethiopia|rwanda|burundi|ivory coast|cote divoire|sierra leone|liberia|gabon|angola|"
               r"south sudan|sudan|central african republic|equatorial guinea|guinea|togo|benin|somalia|"
               r"eritrea|senegal|gambia|the gambia|mali|chad|niger|burkina faso|caribbean|haiti|jamaica|"
               r"bahamas|trinidad|dominican republic|china|vietnam|thailand|cambodia|laos|myanmar|burma|"
               r"philippines|indonesia|south east asia|southeast asia|mongolia|pakistan|egypt|afghanistan|"
               r"central asia|papua new guinea|the pacific islands|pacific islands|ukraine|russia|"
               r"eastern europe|moldova|belarus|a high prevalence country|high prevalence country|"
               r"a high prevalence area)",
}


def _expand(pattern: str) -> str:
    for _ in range(6):
        expanded = re.sub(r"<([A-Z]+)>", lambda m: MACROS[m.group(1)], pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise ValueError(f"macro loop in {pattern!r}")


for _name in list(MACROS):
    MACROS[_name] = _expand(MACROS[_name])

# Short names for the slots in the tables.
_ALIAS = {
    "exp": n.SLOT_EXPOSURE_TYPE, "fluid": n.SLOT_FLUID, "known": n.SLOT_SOURCE_KNOWN,
    "bbv": n.SLOT_SOURCE_BBV, "risk": n.SLOT_SOURCE_RISK, "kind": n.SLOT_DEVICE_KIND,
    "used": n.SLOT_DEVICE_USED, "vessel": n.SLOT_DEVICE_IN_VESSEL, "vblood": n.SLOT_VISIBLE_BLOOD,
    "deep": n.SLOT_INJURY_DEEP, "gloves": n.SLOT_GLOVES, "hbv": n.SLOT_HBV_STATUS,
    "preg": n.SLOT_PREGNANCY, "bite": SLOT_INJURY_BITE,
    # cues other rules use, never returned
    "bleed": "_bleed", "noblood": "_noblood", "sharp": "_sharp", "vaccctx": "_vaccctx",
    "untreated": "_untreated",
}


@dataclass(frozen=True)
class Row:
    regex: Pattern
    facts: Tuple[Tuple[str, str], ...]
    rank: int = 2            # 2: the words say it; 1: inferred (a plain "needle" -> percutaneous)
    requires: Optional[str] = None  # a cue that must also be in the message


def R(pattern: str, rank: int = 2,  # noqa: N802  (one capital letter: the tables below read as rows)
       requires: Optional[str] = None, clause: bool = False, **facts: str) -> Row:
    """One table row. `clause`: the pattern must be a whole clause ("blood", "it was used")."""
    body = _expand(pattern)
    if clause:
        regex = rf"(?:^|(?<=[.,?] ))(?:{body})(?=$| [.,?])"
    else:
        regex = rf"(?<!\S)(?:{body})(?!\S)"
    return Row(re.compile(regex), tuple((_ALIAS[k], v) for k, v in facts.items()), rank,
               _ALIAS.get(requires, requires))


PERC, MUCO, BROKEN, INTACT = "percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin"
HOLLOW, SOLID, SCALPEL, LANCET, OTHER = "hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other"
BLOOD, STAINED, HIGH, LOW = "blood", "blood_stained", "high_risk_other", "low_risk"
IDU, COUNTRY, MSM, VIRAEMIC, OTHER_RISK = (
    "injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other")

# --------------------------------------------------------------------------- how it happened
EXPOSURE_ROWS = (
    # a sharp through the skin
    R(r"needle stick|needle stick injury|sharps? injury|sharps? incident|sharps? accident|needle injury|"
      r"needle prick|inoculation injury|percutaneous(?: injury| exposure)?|(?:needle|sharps?|scalpel|blade|"
      r"lancet|glass|cannula|syringe) (?:stick |prick )?(?:injury|incident|wound|accident)", exp=PERC),
    R(r"(?:stabbed|pricked|jabbed|stuck|spiked|punctured|pierced|nicked|sliced|cut|poked|skewered|impaled|"
      r"injured|caught|scraped|gashed|needled) (?:myself|my ?self|me|(?:my |the )?(?:glove and |own )?<BODY>)",
      exp=PERC),
    R(r"(?:got|get|getting|been|was|were|im|i|ive|just|accidentally|accidently) (?:accidentally |accidently |"
      r"just )?(?:stabbed|pricked|jabbed|stuck|spiked|poked|cut|nicked|scratched|needled|sliced|punctured) "
      r"(?:with|by|on|in|from)", exp=PERC),
    R(r"(?:^|(?<=[.,?] ))(?:accidentally |accidently |just )?(?:stabbed|pricked|jabbed|stuck|spiked|poked|cut|nicked|"
      r"scratched|needled|sliced|punctured) (?:with|by|on|in)", exp=PERC),
    R(r"(?:scratched|scraped) (?:myself |my <BODY> )?(?:with|on|by) (?:<ART> )?<W>{0,2}<SHARP>", exp=PERC),
    R(r"(?:cut|nick|scratch|prick|puncture|stab|jab) (?:from|by|with|on) (?:<ART> )?<W>{0,2}<SHARP>",
      exp=PERC),
    R(r"(?:<SHARP>|it|tip) (?:<W>){0,2}?(?:went|go|gone|goes|slipped|stuck|pushed|jabbed|sank|got) "
      r"(?:right |straight |all the way |deep |deeply |a bit |slightly )?(?:in|into|through|in to)"
      r"(?! (?:my |the |both |his |her )?(?:<MUC>|face|mask|visor|goggles|gloves?|apron|sleeve|uniform|clothes|"
      r"scrubs|tunic))", exp=PERC),
    R(r"(?:went|gone|go|slipped|stuck) (?:right |straight |all the way )?(?:in|into) my <BODY>", exp=PERC),
    R(r"(?:broke|break|breaking|breaks|pierced|punctured|penetrated|through) (?:the |my |his |her )?skin|"
      r"broken (?:the|my|his|her) skin|(?:has|have|had|it|its|s) broken (?:the )?skin", exp=PERC),
    R(r"puncture wound|puncture mark|(?<!lumbar )(?<!arterial )(?<!joint )(?<!venous )(?<!veno )(?<!skin )puncture",
      exp=PERC, deep=YES),
    # a procedure's name, not a wound
    R(r"lumbar puncture|arterial puncture|joint puncture|venous puncture", exp=X),
    # a plain mention of a sharp: percutaneous unless the message says otherwise
    R(r"<SHARP>|needle exchange", rank=1, exp=PERC, sharp=YES),
    R(r"(?:<NEG>|wasnt|not) (?:a |an |the |any |from a |from the |even a )?<SHARP>", exp=X, kind=X, sharp=X),
    # a splash into the eyes, mouth or nose
    R(r"(?:in|into|onto|on|to|up|inside|in to|over|across|at) (?:my |the |both |both my |one of my |me in the "
      r"|me in my |(?:my |the )?(?:left |right )?)?<MUC>(?! (?:clinic|hospital|department|casualty|unit|ward|test|"
      r"drops|care|swab|guard|piece))", exp=MUCO),
    R(r"(?:eye|eyes|mouth|mucosal|mucous membrane|mucocutaneous|facial|face|conjunctival) "
      r"(?:splash|splashes|exposure|contamination)|mucosal|mucous membranes?|mucocutaneous|conjunctiva", exp=MUCO),
    R(r"swallowed (?:some|it|a bit|a little|a mouthful)", exp=MUCO),
    R(r"(?:didnt|did not|not|never|nothing|none) (?:go |get |went |got |going )?(?:in|into|near) (?:my |the )?"
      r"<MUC>", exp=X),
    # on skin that is broken
    R(r"eczema|eczematous|dermatitis|psoriasis|hangnails?|chapped (?:skin|hands?|fingers|lips)|"
      r"cracked (?:skin|hands?|fingers?|knuckles)|(?:skin|hands?) (?:is |are |was |were )?(?:cracked|chapped|"
      r"broken|not intact|damaged|sore and cracked)|broken skin|grazed (?:skin|hands?|fingers?|knees?|arms?|"
      r"elbows?|knuckles?|shins?)|non intact(?: skin)?|not intact|open (?:wound|"
      r"cut|sore|graze|blister)s?|paper cut|skin condition|my skin isnt intact|skin isnt intact|"
      r"skin wasnt intact", exp=BROKEN),
    R(r"(?:on|onto|into|in|over|through) (?:a |an |my |the |some |an existing |existing |old |open )?"
      r"(?:small |little |tiny |fresh |recent |healing |old |bad |open )?(?:cut|cuts|graze|grazes|scratch|"
      r"scratches|wound|wounds|sore|sores|abrasion|abrasions|blister|blisters|paper cut|hangnail)", exp=BROKEN),
    R(r"(?:i have|ive got|ive|i had|had|have|got|with|my) (?:a |an |some |few |a few |lots of )?(?:small |little |"
      r"tiny |fresh |recent |healing |bad |open |old )?(?:cut|cuts|graze|grazes|scratch|scratches|wound|sore|"
      r"sores|abrasion|abrasions|hangnail|blister|paper cut|paper cuts)(?: on| in)?", exp=BROKEN),
    # on intact skin
    R(r"(?:on|onto|over|all over|across|down) (?:my |the |both |both my |his |me on the |me on my )?"
      r"(?:left |right |bare )?(?:skin|hand|hands|arm|arms|forearm|forearms|leg|legs|wrist|wrists|neck|chest|"
      r"fingers|finger|thumb|back of my hand|back of my hands|foot|feet|shin|knee|elbow|shoulder)", exp=INTACT),
    R(r"(?:skin|it) (?:was |is |s |looks |looked |stayed |remained )?(?:intact|unbroken|not broken|fine and "
      r"intact)|intact skin|unbroken skin|healthy skin|skin only|(?:no|not any|without) (?:cuts|broken skin|"
      r"breaks|open wounds|wounds|grazes|cuts or grazes|cuts or scratches|broken areas|breaks in the skin|"
      r"break in the skin)|(?:didnt|did not|hasnt|havent|doesnt|not|never|wont|without|no) (?:actually |even )?"
      r"(?:break|broken|broke|breaking|pierce|pierced|piercing|puncture|punctured|penetrate|penetrated|go through|"
      r"gone through|breach|breached) (?:the |my |his |her )?skin|skin (?:wasnt|isnt|not|was not) (?:broken|"
      r"pierced|punctured|cut)|(?:just|only) (?:a |some )?(?:teeth marks|bruise|bruising|red mark|mark)",
      exp=INTACT),
)

# --------------------------------------------------------------------------- what was on it
FLUID_ROWS = (
    R(r"blood (?:had |has |then |just |also |had just )?(?:splashed|splash|splashes|sprayed|spray|squirted|"
      r"spurted|spattered|splattered|flicked|dripped|dropped|went|got|shot|gushed|spilled|spilt|leaked|poured|"
      r"ran|landed|hit|came out|came up|flew|pumped|sprayed out)", fluid=BLOOD),
    R(r"(?:splash|splashes|spray|drop|drops|droplets|splatter|squirt|spurt|bit|lot|lots|some|amount|spot|spots|"
      r"smear|trace|load) of (?:<W>)?blood", fluid=BLOOD),
    R(r"blood (?:in|into|on|onto|over|all over|in to|up) (?:my |me |both my |the |his |her )?(?:<W>){0,2}?"
      r"(?:<MUC>|<BODY>|face|cut|graze|eczema|wound|skin|scratch|gloves?|uniform|clothes|apron|scrubs|lips)",
      fluid=BLOOD),
    R(r"(?:splashed|sprayed|squirted|covered|spattered|splattered|hit|got|soaked|drenched|showered) "
      r"(?:<W>){0,4}?(?:with|by|in) (?:some |a bit of |a lot of |lots of |the patients |his |her |their |fresh )?"
      r"blood(?! in it| test| tests| bottles?| samples?)|(?:got|get|getting|had|have|has) (?:some |a bit of |a lot of "
      r"|lots of |the patients |his |her |their |fresh )?blood (?:on|in|into|over|onto|all over)", fluid=BLOOD),
    R(r"(?:patients|his|her|their|someones|somebodys|somebody elses|someone elses|fresh|arterial|venous|frank|"
      r"infected|contaminated|infectious|hiv|hep b|hep c|positive) blood", fluid=BLOOD),
    R(r"(?:covered|soaked|drenched|splattered|sprayed) (?:in|with) blood|blood everywhere|blood all over|"
      r"(?:coughed|sneezed|spat|vomited|spewed|spitting|coughing) (?:up )?(?:some )?blood", fluid=BLOOD),
    R(r"(?:its |it was |it s |just |only |yes |yeah |all |mostly )?(?:fresh )?blood(?: only)?", clause=True,
      fluid=BLOOD),
    R(r"blood stained|blood tinged|blood streaked|bloody (?:<LOWF>|fluid|sick|discharge|secretions|water)",
      fluid=STAINED),
    R(r"<LOWF> (?:with|containing|that had|which had|had|mixed with|streaked with|stained with|tinged with) "
      r"(?:some |a bit of |a little |a little bit of |visible |traces of |specks of |flecks of |a trace of |"
      r"streaks of |a bit |obvious )?blood(?: in it)?", fluid=STAINED),
    R(r"blood in (?:the |his |her |their |it |its )?(?:<LOWF>|sick)", fluid=STAINED),
    R(r"(?:there was |there were |had |has |with |theres |some |bit of |a bit of |a little |visible )?"
      r"blood in (?:it|there)", fluid=STAINED),
    R(r"blood from (?:a |the |his |her |their |the patients |patients |an )?(?:<W>){0,3}?(?:wound|cut|patient|nose|"
      r"mouth|line|cannula|drain|site|injury|arm|head|leg|hand|ulcer)(?! (?:test|tests|sample|samples|bottle))|"
      r"blood (?:(?:and|or|mixed with) (?:<LOWF>|sick) |(?:that|which) (?:had )?)(?:splashed|sprayed|squirted|"
      r"spurted|went|got|flicked|dripped|landed)", fluid=BLOOD),
    R(r"semen|sperm|ejaculate|seminal fluid|vaginal (?:fluid|fluids|secretions|discharge)|vaginal|csf|"
      r"cerebrospinal fluid|cerebro spinal fluid|spinal fluid|synovial fluid|synovial|joint fluid|joint aspirate|"
      r"knee aspirate|pleural fluid|pleural|chest drain fluid|peritoneal fluid|peritoneal|ascitic fluid|"
      r"ascites|ascitic|pericardial fluid|pericardial|amniotic fluid|amniotic|breast milk|unfixed tissue|"
      r"human tissue|tissue sample|body tissue|placenta|placental tissue", fluid=HIGH),
    R(r"<LOWF>|(?:spat|spitting|spits|gobbed|drooled|dribbled|vomited|puked|threw up|urinated|weed|peed|pissed|"
      r"dribbling|drooling)(?: on| at| in| into| over)?", fluid=LOW),
    R(r"(?:was|been|being|were) sick (?:on|over|in|into|onto|all over)|sick (?:on|over|in|into|onto|all over) "
      r"(?:me|my)|(?:his|her|their|patients|some|the) sick(?! note| leave| day| pay)|splash of sick|covered in sick|"
      r"sick (?:splashed|sprayed|went|got|landed)",
      fluid=LOW),
    R(r"(?:coughed|sneezed|coughing|sneezing) (?:on|in|into|at|over|all over)", fluid=LOW),
    R(r"clear (?:<LOWF>|sick)|(?:<LOWF>|sick) (?:was |were |is |looked )?(?:clear|clean)", fluid=LOW, noblood=YES),
    R(r"a wee|wee bit|wee while|spit it out|bit of a spit|sweating|sweaty|tears in|in tears", fluid=X),
    R(r"(?:not|wasnt|isnt|werent) (?:any )?blood(?! in| on)", fluid=X),
    R(r"(?:no|without|never|nothing|hardly any|no sign of|not any|werent any|wasnt any|"
      r"there was no|no obvious|didnt see any|couldnt see any|cant see any|not much) (?:visible |any |obvious |"
      r"fresh |signs of )?(?:blood|bloody)(?: in it| on it| in there)?|not blood stained|wasnt blood stained|"
      r"no blood stained", fluid=X, vblood=NO, noblood=YES, used=X),
    R(r"(?:testing|test|tested|sent|send|sending|check|checking|checked|analysing|screening|screen|screened|"
      r"waiting for|results of) (?:the |his |her |their )?(?:patients |)(?:blood|bloods)", fluid=X),
    R(r"blood tests?|bloods|blood results?|bbv|blood pressure|blood sugars?|blood glucose|blood gas|"
      r"blood samples?|blood cultures?|(?:arterial|venous) blood (?:gas|gases|sample|samples)|blood count|"
      r"blood donor|blood group|blood bottles?|blood forms?|"
      r"blood (?:test|taking) needle|blood vessel|blood flow|blood thinners?", fluid=X),
)

# --------------------------------------------------------------------------- the sharp itself
_PROC = (r"(?:blood|bloods|a blood sample|blood samples?|a blood test|blood tests?|venepuncture|venipuncture|"
         r"phlebotomy|a blood gas|blood gas|blood gases|an arterial gas|arterial gas|an arterial blood gas|"
         r"arterial blood gas|an abg|abg|blood cultures?|a blood culture|a gas)")
# "... from a patient" after a procedure (optional: the trailing "?")
_FROM = (r"(?: (?:from|off|on|out of) (?:a |the |his |her |my |this |that |an )?<ADJ>?(?:patient|patients|man|"
         r"lady|woman|client|resident|child|baby|vein|arm))?")
_GIVE = (r"(?:an |a |the |his |her |their |patients |some |my )?(?:<W>){0,2}?(?:injection|injections|jab|"
         r"jabs|vaccine|vaccines|vaccination|vaccinations|immunisation|insulin|heparin|clexane|enoxaparin|b12|"
         r"depot|depo|flu jab|covid jab|intramuscular injection|subcut injection)")
DEVICE_ROWS = (
    # kind: explicit
    R(r"syringes?|hypodermic(?: needle)?|hypo needle|cannulas?|butterfly(?: needle)?|butterflies|vacutainer|"
      r"hollow(?: bore)?(?: needle)?|insulin (?:needle|pen|syringe|pen needle)|pen needle|"
      r"blood (?:test |taking |gas )?needle|venepuncture needle|venipuncture needle|phlebotomy needle|"
      r"injection needle|iv needle|(?:green|blue|orange|pink|grey|gray|white|brown) needle|vaccine needle|"
      r"vaccination needle|jab needle|flu jab needle|drawing up needle|epipen|epi pen|subcut needle|"
      r"hollow one|(?:arterial |blood )?gas needle|abg needle|arterial needle", kind=HOLLOW),
    R(r"(?:subcut|sc|intramuscular|insulin|clexane|heparin|enoxaparin|b12|vitamin b12|depot|depo|flu|covid|"
      r"vaccine|im) (?:injection|injections|jab|jabs)", rank=1, kind=HOLLOW),
    R(r"suture needles?|suturing needles?|stitch(?:ing)? needles?|sewing needle|solid needles?|solid(?: one)?|"
      r"acupuncture(?: needles?)?", kind=SOLID),
    R(r"scalpels?|scalpel blades?|(?<!razor )blades?|surgical blades?|stitch cutters?|knife|surgical knife|"
      r"disposable blade", kind=SCALPEL),
    R(r"lancets?|finger prick(?:er|s| device| lancet| test| testing| tester)?|safety lancet|heel prick", kind=LANCET),
    R(r"broken glass|glass|glass (?:vial|ampoule|bottle|slide|tube|pipette)|ampoules?|ampules?|vials?|"
      r"broken (?:vial|bottle|ampoule|tube|slide)|scissors|razor blades?|razors?|staples?|stapler|"
      r"bone (?:fragment|fragments|shard|splinter)|guide ?wire|wire", kind=OTHER),
    # kind: inferred from what was being done
    R(r"suturing|stitching(?: up)?|sutures?|sewing up|closing the wound", rank=1, kind=SOLID),
    R(r"(?:blood glucose|glucose|blood sugar|bm|cbg|capillary blood) (?:test|tests|testing|check|checks|"
      r"monitoring|monitor|meter|machine|reading)|bm|bms|bm stick|bm sticks|capillary blood", rank=1, kind=LANCET),
    R(r"(?:after|while|whilst|when|during|from|following|in the middle of) (?:i was |i |we were |taking |doing )?"
      r"(?:taking |doing |performing |collecting |drawing )?" + _PROC + _FROM, rank=1,
      kind=HOLLOW, used=YES, vessel=YES, fluid=X),
    R(r"(?:taking|took|taken|take|drawing|doing|did|done|performing|performed|collecting|collected) "
      r"(?:some |his |her |their |the |patients |a )?" + _PROC + _FROM, rank=1, kind=HOLLOW, used=YES, vessel=YES,
      fluid=X),
    R(r"(?:drew|draw|drawn|drawing) (?:some )?blood" + _FROM[:-1], rank=1, kind=HOLLOW, used=YES, vessel=YES,
      fluid=X),  # "drew blood from the patient" (without "from", a bite that drew blood)
    R(r"(?:giving|gave|given|give|administering|administered|doing|did|done|after|during|while|whilst|"
      r"following|injecting) " + _GIVE, rank=1, kind=HOLLOW, used=YES),
    R(r"(?:drawing up|drew up|draw up|drawn up|preparing|prepared|prepping|getting ready) " + _GIVE +
      r"|(?:while|when|whilst) (?:i was )?drawing up|drawing up(?: medication| a drug| the drug| drugs)?",
      rank=1, kind=HOLLOW, used=NO),
    R(r"cannulating|cannulation|cannulate|(?:inserting|putting in|siting|placing|putting|removing|taking out|"
      r"pulling out|took out|pulled out|removed) (?:a |the |his |her |their )?cannula(?: in| out)?",
      rank=1, kind=HOLLOW, used=YES, vessel=YES),
    R(r"(?:need|needs|needed|have|having|get|getting|book|booked|baseline|my|arrange|arranged|for|do i need) "
      r"(?:a |an |the |some |my |any |baseline )?(?:blood test|blood tests|bloods)", kind=X, used=X, vessel=X),
    R(r"(?:hep b|hep) <VACC>|(?:<VACC>) (?:for|against) (?:hep b|hep)", kind=X, bbv=X, vaccctx=YES),
    # used or not
    R(r"used|dirty|contaminated|soiled|infected needle|been used|had been used|was used|after use|"
      r"used (?:on|in) (?:a |the |my |his |her )?<W>?<PT>", used=YES),
    R(r"used to|used for|(?:i|we) used(?= (?:a |an )?(?:new|clean|fresh|sterile|unused)\b)", used=X),
    R(r"resheathing|resheath|resheathed|resheathe|recapping|recapped|recap|resheathing it|sheathing|"
      r"putting the (?:cap|lid|sheath) back|replacing the (?:cap|sheath)|re capping", used=YES),
    R(r"sharps? (?:bin|box|container)|(?:from|in|out of|into|inside|sticking out of|poking out of|"
      r"overfilled|overflowing|full|clinical waste|waste|rubbish|general waste|yellow) (?:a |the )?(?:<W>)?"
      r"(?:bin|bag|sack)|bin bag|clinical waste|litter|rubbish", used=YES),
    R(r"found (?:a |an |the |some )?(?:<W>)?(?:needle|needles|syringe|syringes|sharp|sharps|lancet|blade)|"
      r"discarded|left (?:lying )?(?:on|in|around|out|behind)|lying (?:around|about|on the floor|on the ground)|"
      r"needle exchange", used=YES),
    R(r"(?:from|off|on|into) (?:a |the |my |his |her |their |this |that |an )?<ADJ>?(?:patient|patients|"
      r"service user|resident|client|drug user|ivdu|person)|patients (?:needle|syringe|lancet|cannula|blade|"
      r"insulin|sharp)", used=YES),
    R(r"<SHARP> (?:<W>){0,2}?(?:had been |has been |been |was |had |just )?(?:in|into|on|used on) (?:a |the |his |"
      r"her |their )?(?:<PT>|vein|artery|arm|someone|somebody)", used=YES),
    R(r"after (?:a |an |the |his |her |their )?(?:<W>){0,2}?(?:test|check|bm|injection|procedure|vaccination|"
      r"jab|op|operation|surgery|biopsy)", used=YES),
    R(r"(?:needle|needles|syringe|syringes|sharp|sharps|lancet|blade)s? (?:was |were )?(?:found|lying)",
      used=YES, known=NO),
    R(r"after (?:giving|taking|using|removing|doing|injecting|administering|withdrawing|drawing|cannulating|"
      r"suturing|stitching|the injection|an injection|a blood test|the blood test|use|the procedure|"
      r"its use|it was used|being used)", used=YES),
    R(r"unused|brand new|new (?:<W>)?(?:needle|syringe|lancet|blade|scalpel|sharp|cannula|one|pack)|"
      r"clean (?:and unused |unused |new |and new )?(?:needle|syringe|lancet|blade|scalpel|sharp|cannula|one)|"
      r"sterile (?:needle|syringe|lancet|blade|scalpel|sharp|cannula|one)|"
      r"(?:needle|syringe|lancet|blade|scalpel|sharp|cannula|it|which|one) (?:was|is|were|s) (?:brand |still |"
      r"completely |totally |definitely )?(?:new|clean|sterile|unused|fresh)(?: and unused| and new| unused)?|"
      r"straight (?:out of|from) (?:the |its |a )?(?:<W>)?(?:packet|pack|packaging|wrapper|box|sterile packaging)|"
      r"(?:out of|from) (?:the |its |a )?(?:new |sealed |sterile )?(?:packet|packaging|wrapper)|"
      r"still (?:in|had) (?:the |its )?(?:wrapper|packet|packaging|cap on|sheath on)|"
      r"(?:hadnt|hasnt|had not|not|never|wasnt|werent|havent|isnt) (?:yet |even |actually |ever )?(?:been )?used|"
      r"not yet used|before (?:i |we |it was |it had been |being |it got )?(?:used|use|using|used it)|"
      r"before (?:i )?(?:gave|giving|the injection|injecting|the procedure|use|taking blood|i took blood|"
      r"i gave)|fresh (?:needle|syringe|lancet|one)|"
      r"(?:while|when|whilst) (?:i was )?(?:opening|unwrapping|unpacking|assembling|priming|setting up|"
      r"unsheathing|uncapping|taking the cap off|taking off the cap|taking it out of the packet)", used=NO),
    R(r"(?:not|wasnt|isnt|werent|arent|wasnt a|not a) (?:a |brand )?(?:new|clean|sterile|unused)", used=YES),
    # a hedge about it is no fact: the form asks
    R(r"(?:not sure|unsure|dont know|do not know|no idea|cant remember|cant tell|not certain) "
      r"(?:if|whether|wether) (?:the |it |that )?(?:<W>)?(?:was|had been|has been|is) (?:new|clean|sterile|unused|used)"
      r"(?: or not)?", used=X),
    R(r"(?:cleaned|cleaning|clean|wash|washed|washing) (?:the |my |it |out )?(?:wound|area|site|cut|skin|hands?|"
      r"finger|eye|eyes|it up|up|it|injury|puncture)", used=X),
    # been in a vein or artery
    R(r"(?:had been|been|was|went|gone|has been|had gone|in|into) (?:in |into )?(?:(?:a|the|his|her|their|"
      r"patients|the patients|a patients|that|this|one|an) )?(?:vein|veins|artery|arteries|arterial line|"
      r"blood vessel)|(?:from|in|into|out of) (?:a |the |his |her |their )?(?:vein|artery)|"
      r"venous (?:sample|blood|access)|intravenous(?! drug)|"
      r"arterial (?:gas|stab|blood|sample|line|puncture|blood gas)|abg|blood gas|venepuncture|venipuncture|"
      r"phlebotomy|iv (?:line|access|cannula|injection|bolus)", vessel=YES),
    R(r"subcut|subcutaneous|subcutaneously|sc injection|intramuscular|intramuscularly|"
      r"into (?:the |his |her |their |a )?(?:arm |thigh |deltoid |gluteal |upper arm )?muscle|"
      r"in (?:the|a|his|her|their) (?:arm |thigh |deltoid |upper arm )?muscle|intradermal|"
      r"(?:hadnt|hasnt|not|never|wasnt|didnt go) (?:been )?(?:in|into) (?:a |the )?(?:vein|artery)|"
      r"not (?:in )?a vein", vessel=NO),
    # blood on the sharp
    R(r"blood (?:on|in) (?:the |its |his |her )?(?:<W>)?(?:<SHARP>|tip|hub|barrel|chamber|end)|blood on it|"
      r"blood (?:was )?(?:visible|all over it)|(?:could|can|i could) see (?:some )?blood|(?:i )?saw (?:some )?blood|"
      r"visible blood|visibly (?:bloody|blood stained|contaminated)|(?:bloody|blood stained|blood filled) <SHARP>|"
      r"<SHARP> (?:<W>){0,2}?(?:covered|full|had|with|has|filled) (?:in |of |with |some |visible )*blood|"
      r"there was blood on", vblood=YES, fluid=BLOOD, used=YES),
    R(r"(?:no|not any|wasnt any|werent any|without any|without) (?:visible |obvious |)?blood "
      r"(?:on|in) (?:it|the (?:<W>)?(?:<SHARP>|tip|hub|barrel))|(?:couldnt|could not|didnt|did not|cant|can not|"
      r"couldnt really) see (?:any )?blood|not (?:visibly )?bloody|no blood visible|nothing on it|"
      r"no visible blood", vblood=NO, fluid=X, noblood=YES, used=X),
    # how deep
    R(r"deep|deeply|quite deep|pretty deep|very deep|really deep|went in deep|deep (?:cut|puncture|wound|stab|"
      r"injury|one)|full depth|all the way in|right in|bled|bleeding|bleed|bled a lot|bled loads|"
      r"started bleeding|made me bleed|blood everywhere", deep=YES, bleed=YES),
    R(r"(?:it|that|which|and|bite|teeth|he|she|they|has|had|have|hes|shes|bit me|bitten|bit my <BODY>) "
      r"(?:has |had |have |actually )?(?:drew|drawn|draw) blood|drew blood(?! from| off)", bleed=YES),
    R(r"superficial|shallow|(?:just|only|merely|barely) (?:a |an )?(?:tiny |small |little |slight |minor |"
      r"superficial )?(?:scratch|graze|nick|prick|surface scratch|pin prick|pinprick|touch|scrape)|"
      r"(?:a |tiny |small |little |slight |minor )(?:scratch|nick|scrape)|surface (?:scratch|wound|cut)|"
      r"barely (?:broke|broken|pierced|punctured|went in|scratched|touched|bled|any blood)|"
      r"hardly (?:broke|went in|bled|any blood|pierced)|(?:didnt|did not|hasnt|not|never|wasnt|isnt|no|havent|"
      r"hadnt|doesnt) (?:really |actually |even |at all )?(?:bleed|bled|bleeding)|no bleeding|not deep|"
      r"wasnt deep|isnt deep|(?:not|wasnt|isnt) (?:very|that|too|really|particularly) deep|"
      r"didnt go (?:in )?(?:very |that |too )?deep|(?:not|didnt|hasnt|havent) (?:drawn|draw|drew) blood|"
      r"no blood drawn|didnt go in far|only just went in", deep=NO, bleed=NO),
    R(r"(?:made|make|making|encouraged|encourage|encouraging|let|letting|squeezed|squeeze|squeezing|help|helped|"
      r"helping|tried to|get|got) (?:it |the wound |the site |my <BODY> |the area |the cut )?(?:to )?"
      r"(?:bleed|bleeding|bled)|encourage bleeding|encouraged bleeding|encouraging bleeding|"
      r"(?:<THEY>|patient) (?:<W>){0,2}?(?:was |is |were |s |had been |been )?(?:bleeding|bled|bleed|bleeds)|"
      r"bleeding (?:patient|man|lady|woman|wound on the patient)|(?:stop|stopped|stopping) (?:the )?bleeding",
      deep=X, bleed=X),
    # gloves
    R(r"through (?:my |the |his |her |both |both my |double |two )?gloves?|"
      r"(?:wearing|wore|wear|had on|had|with|got|put on|in) (?:my |two pairs of |double |a pair of |two |both |the |"
      r"some |nitrile |latex |)?gloves?(?: on)?|gloves? on|gloved|double gloved|double gloving|"
      r"(?:pierced|punctured|went through|ripped|tore|torn|through|tearing) (?:my |the |both )?gloves?",
      gloves=YES),
    R(r"no gloves?(?: on)?|without (?:any |my |wearing |wearing any )?gloves?|(?:not|wasnt|werent|didnt|hadnt|"
      r"havent|forgot to|forgot|couldnt|didnt have|did not have|wasnt wearing|werent wearing|not wearing|hadnt got|"
      r"didnt put) (?:wearing |wear |have |put on |got |had |on |any )?(?:any |my |on )?gloves?(?: on)?|"
      r"gloves? off|(?:took|taken|had taken|removed|take|had removed|taking) (?:my |the |off (?:my |the )?)?"
      r"gloves?(?: off)?|ungloved|bare (?:hands?|handed|fingers)|no ppe|not gloved|gloveless", gloves=NO),
)

# --------------------------------------------------------------------------- a bite
BITE_ROWS = (
    R(r"(?<!a )(?<!little )(?:bit|bitten|bites|biting|nipped|chomped|chewed) (?:me|my <BODY>|my|into|down|"
      r"through|on my <BODY>|on my|at me|hard|him|her)|(?:bit|bitten) by|(?:got|been|was|were|have been|"
      r"has been|being|i was|i got|ive been) bitten|bitten|(?:a|the|human|this|his|her|patients|nasty|deep|"
      r"small|little) bites?|bite (?:wound|mark|marks|injury)|human bite|bite|"
      r"teeth (?:went in|marks|broke|sank)", bite=YES, kind=OTHER),
    R(r"(?:bit|bitten|bites|nipped) by (?:a |the |my |his |her |their |next doors |someones )?<ANIMAL>|"
      r"<ANIMAL> (?:<W>){0,2}?(?:bit|bite|bites|bitten|nipped)|<ANIMAL> bite", bite=X, kind=X),
)

# --------------------------------------------------------------------------- the source patient
KNOWN_ROWS = (
    R(r"(?:the|my|this|that|our|a|an|one of (?:my|our|the)) <ADJ>?(?:patient|patients|service user|client|"
      r"resident|source patient)|source patient", known=YES),
    R(r"(?<!\d )patient|patients (?:blood|bloods|saliva|spit|urine|vomit|needle|syringe|sick|status|sample)",
      rank=1, known=YES),
    R(r"(?:patient|patients|man|lady|woman|gentleman) (?:in|on|from) (?:bay|bed|room|ward|side room|cubicle) "
      r"[a-z0-9]+|(?:mr|mrs|ms|mister) (?:\. )?(?!(?:and|or|the|a|an|with|is|was|has|unknown|know)\b)[a-z]+",
      known=YES),
    R(r"source (?:patient )?(?:is |was |s )?(?:known|identified)|known source|source known|identified source|"
      r"(?:we|i|they|ward) (?:do )?know (?:who|whose|which|the patient|the source|them|him|her)(?: (?:it|the "
      r"patient|the source|they) (?:was|is|were|are))?|(?:patient|source) is known|(?:is|was|been) identified",
      known=YES),
    R(r"(?:unknown|unidentified|unidentifiable|anonymous|no known|not known|untraceable|random) (?:<W>)?"
      r"(?:source|patient|person|origin|owner|user|stranger)|(?:source|patient|owner) (?:is |was |s )?"
      r"(?:unknown|not known|unidentified|a mystery|untraceable)|(?:dont|do not|didnt|did not|cant|cannot|"
      r"couldnt|no way to|impossible to|not possible to|we dont|i dont|nobody|no one|noone) (?:\w+ )?"
      r"(?:know|tell|say|identify|find out|work out|trace|be sure|knows) (?:<W>){0,2}?(?:who|whose|which|what "
      r"patient|where|who it)(?: (?:the |this |that )?(?:patient|source|person|pt|it|one|needle|sharp))?|"
      r"no idea (?:<W>){0,2}?(?:who|whose|which|where)(?: (?:the |this |that )?(?:patient|source|person|it|one))?|"
      r"not sure (?:<W>){0,2}?(?:who|whose|which)(?: (?:the |this |that )?(?:patient|source|person|it|one))?|"
      r"(?:dont|do not) know (?:the )?source", known=NO),
    R(r"found (?:a |an |the |some )?(?:<W>)?(?:needle|needles|syringe|syringes|sharp|sharps|lancet|blade)|"
      r"(?:needle|needles|syringe|syringes|sharp|sharps|lancet|blade) (?:<W>){0,3}?(?:on|in|under|behind|from|off|"
      r"down) (?:the |a )?(?:floor|ground|street|road|pavement|park|bedding|sheets|linen|laundry|toilets?|loo|"
      r"bin bag|rubbish|litter|bushes|grass|beach|playground|alley|alleyway|stairwell|car park|carpark|bus|"
      r"train|skip|gutter|bag|pocket|bin)|sharps? (?:bin|box|container)|(?:in|from|out of|into|inside|"
      r"sticking out of|poking out of) (?:a |the )?(?:<W>)?bin|bin bag|needle exchange|in the (?:community|"
      r"park|street|toilets|public toilets?)|discarded|left (?:lying )?(?:in|on) (?:the |a )?(?:bed|floor|"
      r"trolley|tray|side|bedding|sheets|chair|sink|window sill|windowsill|bench|worktop|side)|lying (?:around|"
      r"about|on the floor)|nobody knows (?:who|whose)|not traceable|untraceable|cant be traced|"
      r"(?:source|it) could be anyone", known=NO),
)

# --------------------------------------------------------------------------- the source's viruses
# bbv values: "pos" (has the viruses in group v, as far as the person knows or was told),
# "sus" (might have them: a suspicion, which is triaged like a positive but is not a known
# positive source for RIDDOR), "neg" (a stated
# negative test for them), "none" (tested negative for everything), "unk" (a hedge or a
# denial without a test).
_FILL = (r"(?:is |are |was |were |test |tests |tested |testing |screen |screened |screening |result |results |"
         r"antibody |antibodies |ab |status |all |both |came |come |back |and |it |they |he |she |has |have |"
         r"been |had |recently |last |week |month |year |bloods |check |checked |serology |on |the |his |her |"
         r"their |as |known |confirmed |previously |when |s |were |came back |)")
BBV_ROWS = (
    # positive, or suspected
    R(r"(?P<v><VL>) (?:rna |pcr |dna |antigen |surface antigen |e antigen |core antibody |antibody |antibodies |ab |"
      r"viral load |is |are |was |were |status |both |all |s |known |confirmed |s known )*(?:positive|reactive|"
      r"detected|carrier|carriers|infected|patient|pt|diagnosis)", bbv="pos"),
    R(r"(?:positive|reactive) (?:for|to|with) (?P<v><VL>)|(?P<v2><VL>) not <V>", bbv="pos"),
    R(r"(?:known|confirmed|diagnosed|established|chronic|active|untreated|treated|chronically infected) "
      r"(?:with |to have |case of |history of )?(?P<v><VL>)", bbv="pos"),
    R(r"(?:has|have|had|with|got|carries|carrying|carrier of|infected with|living with|lives with|suffers from|"
      r"suffering from|history of|hx of|pmh|pmhx|pmh of|background of|diagnosis of|s got|has got|have got|has had|"
      r"is|s|its|was|are|were) (?:got |had |been diagnosed with |been infected with |a |an |known |chronic |active |"
      r"untreated |also |both |previous |past |a history of |a past history of |)?(?P<v><VL>)", bbv="pos"),
    R(r"(?:on|taking|takes|started|starting|receiving|gets|getting) (?:treatment|meds|medication|medicines|"
      r"tablets|drugs|therapy|antivirals) for (?P<v><VL>)|(?:on|taking|takes|his|her|their) (?P<v2>hiv) "
      r"(?:meds|medication|medicines|tablets|drugs|treatment|therapy)", bbv="pos"),
    R(r"(?:on|taking|takes|started|receives|receiving) (?:<W>)?(?:antiretrovirals|antiretroviral|arvs|arv|art|"
      r"haart|antiretroviral therapy|antiretroviral medication|hiv medication)|under the (?P<v>hiv) "
      r"(?:clinic|team|consultant)|(?P<v2>hiv) (?:clinic|team) patient", bbv="pos_hiv"),
    R(r"(?:might|may|could|possibly|probably|likely|maybe|potentially|perhaps|suspected|suspect|suspects|"
      r"suspected of|suspicion of|query|querying|queried|possible|probable|presumed|assumed|risk of having|"
      r"likely to have) (?:also |well |be |have |has |got |carry |carries |have got |be a carrier of |be positive "
      r"for |been exposed to |have had |of |having )*(?P<v><VL>)", bbv="sus"),
    R(r"(?:think|thinks|believe|believes|reckon|suspect) (?:that )?(?:he|she|they|the "
      r"patient|patient|the source) (?:has|have|is|got|s got|might have|may have|carries|had) (?P<v><VL>)",
      bbv="sus"),
    R(r"(?:told|said|says|heard|apparently) (?:that )?(?:he|she|they|the patient|patient|the source) "
      r"(?:might have|may have|could have) (?P<v><VL>)", bbv="sus"),
    R(r"(?:told|said|says|heard|apparently) (?:that )?(?:he|she|they|the "
      r"patient|patient|the source) (?:has|have|is|got|s got|carries|had) (?P<v><VL>)",
      bbv="pos"),
    R(r"(?P<v><VL>) (?:<W>){0,2}?(?:undetectable|viral load)", bbv="pos"),
    # a stated negative test
    R(r"(?P<v><VL>) " + _FILL + r"{0,4}(?:negative|non reactive|not detected|clear)", bbv="neg"),
    R(r"(?:negative|neg|non reactive|clear) (?:for|on|to) (?P<v><VL>)|negative (?P<v2><VL>) (?:test|tests|screen|"
      r"result|results|antibody|serology|bloods)", bbv="neg"),
    R(r"(?:tested|screened|checked|test|tests|screen) (?:<W>){0,3}?(?:for )?(?P<v><VL>) (?:<W>){0,4}?"
      r"(?:negative|clear|came back negative|all negative|were negative|was negative)", bbv="neg"),
    # a test named, then its result: "had an hiv test last month, negative"; a test with no result is no fact
    R(r"(?:(?:had|has had|done|did|sent|having|has|have) )?(?:an |a |his |her |their |the )?(?P<v><VL>) "
      r"(?:test|tests|screen|result|results|bloods) (?:(?:<W>)|, ){0,5}?(?:negative|neg|clear|non reactive|"
      r"came back negative|was negative|were negative|came back clear)", bbv="neg"),
    R(r"(?:(?:had|has had|done|did|sent|having|has|have) )?(?:an |a |his |her |their |the )?(?P<v><VL>) "
      r"(?:test|tests|screen|result|results|bloods) (?:(?:<W>)|, ){0,5}?(?:positive|reactive|came back positive|"
      r"was positive|were positive|detected)", bbv="pos"),
    R(r"(?:had|has had|done|did|sent|having|has|have) (?:an |a |his |her |their |the )?<VL> "
      r"(?:test|tests|screen|bloods|check)(?! (?:negative|positive|clear|was|were|is|came|result|results))",
      bbv=X),
    # negative for everything
    R(r"(?:all|every) (?:of )?(?:his |her |their |the |patients )?(?:bloods?|tests?|results?|screens?|serology|"
      r"bbv|virus|viruses|bbv tests|bbv bloods) (?:<W>){0,3}?(?:negative|clear|normal|came back negative|"
      r"were negative|are negative|fine|came back clear)|(?:negative|clear) (?:for|on|to) (?:all|everything|"
      r"all bbv|all three|the lot|all of them|all the viruses|all viruses|any bbv)|bbv (?:screen|bloods|tests?|"
      r"testing|serology|status) (?:<W>){0,5}?(?:negative|clear|normal)|(?:hes|shes|theyre|its) (?:all )?"
      r"(?:negative|clear)|(?:screened|tested|was|were|is|came back) "
      r"(?:negative|clear) (?:for|on) (?:everything|all|all of them|all three)|"
      r"(?:everything|all) (?:came back |was |were )?negative|all bloods negative|all clear|"
      r"(?:<THEY>) (?:has |have |had |was |were |is |s |are )?(?:been |recently |just |all )?(?:tested|"
      r"screened|checked) (?:and (?:was|were|is|came back) )?(?:negative|clear)|"
      r"(?:<THEY>) (?:is|was|s|are|were) (?:negative|clear)|"
      r"tested negative(?! for)|(?:tests?|results?|bloods) (?:were |was |are |came back |all )*negative(?! for)",
      bbv="none"),
    # a hedge, or a denial without a test: not known
    R(r"(?P<v><VL>) (?:status )?(?:is |was |are |s )?(?:unknown|not known|unclear|uncertain|pending|awaited|"
      r"awaiting|not tested|untested|never tested|tbc|to be confirmed|query|not checked|not sure|dont know|"
      r"no idea|dunno|not that i know of|not that we know of|i dont think so|dont think so|i dont think|"
      r"i dont know|not known|who knows|maybe|possibly|not as far as i know)", bbv="unk"),
    R(r"(?P<v><VL>) (?:\. |, |\? )(?:not that (?:i|we) know(?: of)?|(?:i )?dont think so|no idea|not sure|"
      r"(?:i )?dont know|dunno|unknown|not known|no)", bbv="unk"),
    R(r"(?:unknown|no known|not known|unclear|uncertain|undiagnosed) (?:<W>){0,2}?(?P<v><VL>)", bbv="unk"),
    R(r"<NEG> (?:have |has |got |had |any |known |history of |hx of |been diagnosed with |diagnosed with |"
      r"evidence of |signs of |a |carry |carrier of |positive for |been tested for |tested for |to have |"
      r"think (?:he|she|they) (?:has|have|s got) |think so |know of any |that i know of |aware of any |"
      r"aware of |as far as i know |afaik |)*(?P<v><VL>)(?: (?:positive|carrier|infected|infection|diagnosis))?"
      r"(?! (?:negative|clear|non reactive))", bbv="unk"),
    R(r"<HEDGE> (?:if|whether|wether|about|of|what|whats|bout|re|regarding|on|his|her|their|the|of any|any) "
      r"(?:<W>){0,4}?(?P<v><VL>)", bbv="unk"),
    R(r"(?:dont|didnt|do not|i dont) (?:think|believe) (?:<THEY>) (?:has|have|is|s|got|had|carries|has got) "
      r"(?:got |any )?(?P<v><VL>)", bbv="unk"),
    R(r"(?:<THEY>) (?:<W>){0,2}?(?:never been tested|not been tested|hasnt been tested|havent been tested|"
      r"wasnt tested|not tested)|(?<!ive )(?<!i )(?<!im )never been tested|(?:status|bbv status|their status|"
      r"his status|her status|patients status|bbv) (?:(?:is |was |s |are )?(?:unknown|not known|unclear|uncertain)|"
      r"(?:isnt|wasnt|arent) known)|"
      r"(?:unknown|not known) (?:bbv )?status|status not known|(?:<HEDGE>) (?:<W>){0,2}?(?:his|her|their|the "
      r"patients|patients|bbv) status|(?:not known|not aware|no idea|not sure|dont know|unknown|no known|"
      r"dont think|not known to have|isnt known to have|arent known to have|wasnt known to have|isnt known|"
      r"wasnt known) (?:<W>){0,3}?(?:if |whether )?(?:<THEY> )?(?:has |have |s got |got |carries |"
      r"is |to have |of |has got |had )?(?:anything|any bbv|bbv|any viruses|any infections|infections|"
      r"anything infectious|anything catching|any diseases|anything nasty)", bbv="unk"),
    R(r"(?:denies|denied|no|not|nil|without|doesnt have|hasnt got|havent got|dont have|no history of|"
      r"no known history of|no known|not aware of) (?:any |known |history of |other |)*(?:bbv|infections?|viruses|"
      r"infectious diseases?)", bbv="unk"),
    # not the source's: the caller's own, or a question about catching it
    R(r"(?:im|ive|ive got|ive had|i had|i was|ive been|i got|my|my own|i) (?:also |recently |just |been "
      r"|previously |tested |diagnosed |found |got |a |had |am |been tested |)?(?:<VL>)(?: (?:positive|negative|"
      r"carrier|infected|status|test|tests|result|results|clear|immune|reactive|non reactive))*", bbv=X),
    R(r"(?:my|my own|my last|my latest|my recent) (?:<VL>) (?:test |tests |result |results |screen |bloods |status |"
      r"was |is |were |came |back |all |)*(?:positive|negative|clear|fine|ok|normal|unknown)", bbv=X),
    R(r"(?:partner|partners|husband|wife|boyfriend|girlfriend|mum|mother|mom|dad|father|son|daughter|brother|sister|"
      r"friend|colleague|baby|child|flatmate|family|relative) (?:<W>){0,2}?(?:has|had|is|with|s|got|was|has got) "
      r"(?:<W>){0,2}?<VL>(?: positive| negative)?", bbv=X),
    R(r"(?:worry|worries|concern|concerns|fear|fears|question|questions) (?:<W>){0,2}?(?:is|was|s|are|about|re|"
      r"of) (?:<W>){0,2}?<VL>", bbv=X),
    # a question about the viruses ("does the patient have HIV?") states nothing; only a clause
    # that starts like a question and ends with "?" (not "the patient is HIV+ what do I do?")
    R(r"(?:^|(?<=[.,?] ))(?:does|do|did|is|are|was|were|has|have|had|could|can|might|may|should|would|will|am|"
      r"any|what about|how about) (?:[a-z0-9][^ ]* ){0,8}?<VL>(?: [a-z0-9][^ ]*){0,6} \?", bbv=X),
    R(r"(?:what if|if|in case|even if|whether|should i ask if|can you check if|can we test if|how do i know if|"
      r"what happens if) (?:<W>){0,5}?<VL>", bbv=X),
    R(r"(?:risk|risks|chance|chances|catching|catch|getting|get|contract|contracting|transmit|transmission|"
      r"worried about|worried|scared of|afraid of|protect|protection|pep for|prevent|prevention|vaccine for|"
      r"test me for|test for|testing for|screen for|check for|tested for|exposure to|exposed to|"
      r"given me|give me|pass on|passed on) (?:<W>){0,2}?(?P<v><VL>)", bbv=X),
    R(r"(?:with |of |for |about )?(?P<v><VL>) (?:pep|prophylaxis|risk|risks|exposure|transmission|test|testing|"
      r"tests|screen|screening|bloods|vaccine|vaccination|jab|jabs|immunity|immune|booster|course|titres?|"
      r"levels?|antibodies)"
      r"(?! (?:negative|positive|clear|was|were|is|came|result|results))", bbv=X),
    R(r"immune to (?:hep b|hep)|(?:hep b|hep) immune", bbv=X),
)

# --------------------------------------------------------------------------- risk factors of the source
RISK_ROWS = (
    R(r"ivdu|ivdus|pwid|idu|idus|ivda|(?:injecting|injection|iv|intravenous) drugs? (?:user|users|use|abuse|"
      r"abuser|misuse|misuser|taker)|injects(?: drugs| heroin| himself| herself)?|inject drugs|injecting drugs|"
      r"injecting|(?:used to|use to|he used to|she used to) inject|on methadone|methadone (?:script|programme|program)|"
      r"(?:uses|takes|used|took|on|using|does|injected) (?:heroin|crack|smack|drugs|street drugs|"
      r"illegal drugs|illicit drugs|recreational drugs)|heroin(?: user| addict| use)?|drug (?:user|users|addict|"
      r"addicts|abuser|misuser|misuse|abuse|addiction|use)|junkie|drug paraphernalia|needle exchange|"
      r"(?:found|discarded|dropped|abandoned) (?:a |an |the |some )?(?:<W>)?(?:needles?|syringes?) "
      r"(?:<W>){0,3}?(?:in|on|at|by|near|outside) (?:the |a )?(?:community|park|street|road|pavement|alley|"
      r"alleyway|playground|toilets?|public toilets?|beach|bus|train|stairwell|car park|carpark|bushes|"
      r"garden|underpass|gutter|churchyard|field)|discarded (?:needles?|syringes?)|"
      r"(?:needles?|syringes?) (?:<W>){0,3}?(?:in|on) (?:the |a )?(?:community|park|street|playground|"
      r"public toilets?|alley|alleyway)", risk=IDU),
    R(r"(?:not|isnt|wasnt|no|never|denies|denied|doesnt|dont|nil|non) (?:a |known |history of |hx of |"
      r"known to |evidence of |)*(?:ivdu|pwid|idu|(?:iv )?drug (?:user|use|abuse|misuse)|inject|injects|"
      r"injecting|injection drug use|heroin|drugs)|injects? (?:insulin|clexane|heparin|himself with insulin|"
      r"herself with insulin)|injecting (?:insulin|clexane|heparin)", risk=X),
    R(r"(?:from|born in|grew up in|arrived from|came from|came over from|moved from|moved here from|lived in|"
      r"lives in|originally from|fled|refugee from|asylum seeker from|recently arrived from|recently come from|"
      r"recently moved from|visiting from|travelled from|migrated from|emigrated from|is from|s from) "
      r"(?:the )?<COUNTRY>|(?:from|in) (?:a )?(?:country|place|area|region) where (?:hiv|hep b|hep c|"
      r"hepatitis|hep|it|bbv|these|they) (?:is|are) (?:common|prevalent|endemic|rife)|high prevalence "
      r"(?:country|area|region|background)|endemic (?:country|area|region)", risk=COUNTRY),
    R(r"gay|msm|bisexual (?:man|male|guy)|bi man|sleeps with men|sex with other men", risk=MSM),
    R(r"(?:not|isnt|wasnt|never|no) (?:gay|msm)|(?:im|i) (?:gay|msm)", risk=X),
    R(r"high viral load|detectable viral load|viral load (?:is |was |s )?(?:high|detectable|raised|very high|"
      r"huge|through the roof)|very viraemic|viraemic|viremic|e antigen positive|e ag positive|eag positive",
      risk=VIRAEMIC),
    R(r"undetectable|viral load (?:is |was |s )?(?:undetectable|low|suppressed|not detectable)|"
      r"low viral load|suppressed", risk=X),
    R(r"(?:not|isnt|wasnt|never) (?:on|taking|having|getting|engaging with|been on|started) (?:any |his |her |their "
      r"|regular |)?(?:treatment|meds|medication|medicines|arvs|antiretrovirals|tablets|therapy|art)|"
      r"(?:stopped|stopping|refuses|refused|refusing|missed|misses|off) (?:taking )?(?:his |her |their |all )?"
      r"(?:meds|medication|medicines|treatment|arvs|antiretrovirals|tablets|therapy)|untreated|"
      r"non compliant|noncompliant|not compliant|poor compliance|poorly compliant|non adherent|not adherent|"
      r"(?:doesnt|dont|wont|didnt) (?:take|takes) (?:his |her |their )?(?:meds|medication|medicines|tablets|"
      r"arvs|treatment)|lost to follow up|disengaged|newly diagnosed|recently diagnosed|just diagnosed|"
      r"acute hiv|seroconverting|seroconversion", untreated=YES),
    R(r"sex worker|sex workers|prostitute|works in the sex industry|escort|prisoner|in prison|from prison|"
      r"out of prison|released from prison|inmate|detainee|multiple (?:sexual )?partners|lots of (?:sexual )?"
      r"partners|many (?:sexual )?partners|chemsex|sexual partner (?:with|who has) (?:hiv|hep b|hep c)|"
      r"partner (?:has|is|with) (?:hiv|hep b|hep c)", risk=OTHER_RISK),
)

# --------------------------------------------------------------------------- the caller's hep B vaccine
HBV_ROWS = (
    R(r"(?:im|i am|ive been|i was|i) (?:definitely |fully |totally |still |also )?immune(?: to (?:hep b|hep))?|"
      r"immune to (?:hep b|hep)|(?:hep b|hep) immune|(?<!non )(?<!poor )(?<!low )(?<!bad )responder|"
      r"(?:i )?responded(?: well| fine| ok| okay| good)?(?: to)?(?: the| my| it| them)?(?: (?:hep b |hep )?<VACC>)?|"
      r"(?:levels|titres|titre|titers|titer|antibodies|antibody levels|antibody|immunity|anti hbs|hbsab|hbs ab) "
      r"(?:<W>){0,2}?(?:were|are|was|is|came back|s|showed|show)? ?(?:fine|good|ok|okay|high|adequate|normal|"
      r"protective|great|above 100|over 100|positive|all good|immune)|good (?:titres|titre|levels|immunity|"
      r"antibody levels|antibodies|response)|(?:shows|showed|proved|proves) (?:that )?(?:im |i was |i am )?"
      r"immune|(?:i|im) (?:am )?protected", hbv="responder"),
    R(r"non responder|poor responder|low responder|(?:didnt|did not|never|hasnt|havent|doesnt|dont) "
      r"(?:really )?(?:respond|responded|work|worked|take|took)(?: (?:to|for) (?:me|it|the|my)?(?: (?:hep b |hep )?"
      r"<VACC>)?)?|(?:it|vaccine|jab|jabs|course|vaccination|injections) (?:didnt|did not|never|doesnt) "
      r"(?:work|take)|not immune|no immunity|(?:levels|titres|titre|antibodies|antibody levels|immunity) "
      r"(?:<W>){0,2}?(?:were|are|was|is|s|came back)? ?(?:low|too low|negative|nil|zero|undetectable|poor|"
      r"rubbish|not high enough|under 10|below 10)", hbv="non_responder"),
    R(r"(?:had|only had|have had|received|got|ive had|had just|only) (?:the )?(?:one|1|two|2|first|second|1st|2nd|"
      r"one or two|a couple) (?:of (?:the |my )?)?(?:hep b |hep )?(?:<VACC>)|(?:one|1|two|2) (?:hep b |hep )?"
      r"(?:doses|dose|jabs|jab|injections|of the three)|started (?:the |my )?(?:hep b |hep )?(?:course|"
      r"<VACC>)|(?:didnt|never|havent|hasnt|not|did not) (?:finish|finished|complete|completed)(?: (?:the|my) "
      r"(?:hep b |hep )?(?:course|<VACC>))?|(?:not|havent|hasnt) (?:yet )?(?:finished|completed) (?:the|my) "
      r"(?:course|<VACC>)|incomplete (?:course|<VACC>)|partially vaccinated|part vaccinated|part way through|"
      r"halfway through|half way through|missed the (?:last|third|final|booster|3rd)|still having the (?:course|"
      r"<VACC>)|in the middle of (?:the|my) (?:course|<VACC>)|partial", hbv="partial"),
    R(r"(?:never|not|havent|hasnt|didnt|did not|not yet) (?:ever |actually |yet |been |had |have |got |received |"
      r"gotten )*(?:the |a |my |any |an )?(?:hep b |hep )?(?:<VACC>)|(?:never|not|havent|hasnt|not yet) "
      r"(?:been )?vaccinated|unvaccinated|no (?:hep b |hep )?(?:<VACC>)|(?:never|not) (?:had|got) (?:it|one|"
      r"them|any)|not had (?:it|one|them|any)", hbv="unvaccinated", requires="vaccctx"),
    R(r"(?:never|not|havent|hasnt|not yet|im not|ive not|ive never) (?:been )?(?:fully )?(?:vaccinated|immunised)"
      r"(?: (?:against|for) (?:hep b|hep))?|unvaccinated", hbv="unvaccinated"),
    R(r"(?:had|ive had|have had|got|received|completed|finished|done) (?:the |my |all |all the |all my |all three |"
      r"all 3 |3 |three |the full |full |a full |a |the whole |both )*(?:hep b |hep )?(?:<VACC>)|"
      r"fully vaccinated|im vaccinated|(?:ive |i have |i )?been vaccinated|vaccinated(?: against (?:hep b|hep))?|"
      r"(?:completed|finished|done) (?:the|my) (?:hep b |hep )?course|up to date (?:with|on) (?:my )?(?:hep b |hep "
      r")?(?:<VACC>|vaccinations|immunisations)|(?:im|i am) up to date", rank=1, hbv="vaccinated", requires="vaccctx"),
    R(r"fully vaccinated|(?:im|i am|ive been|i have been|i was) (?:fully )?vaccinated(?: against (?:hep b|hep))?",
      rank=1, hbv="vaccinated"),
    R(r"<VACC>|vaccinated|immune|immunity|responder|titres?|antibod(?:y|ies)", vaccctx=YES),
    # about somebody else
    R(r"(?:<THEY>) (?:<W>){0,5}?(?:vaccinated|immune|vaccine|vaccines|jabs?|course|responder|unvaccinated|"
      r"immunised|non responder)|(?:his|her|their|patients) (?:<W>){0,2}?(?:vaccine|vaccination|jabs?|course|"
      r"immunity|status)|(?:vaccinated|immune|unvaccinated) (?:patient|lady|man|woman|person)",
      hbv=X),
    R(r"(?:need|needs|should i have|do i need|get|getting|give|giving|given|offer|offered|book|booked|"
      r"arrange|want|can i have|could i have|will i need|may need|might need) (?:a |an |the |my |another |"
      r"some |any )?(?:hep b |hep )?(?:<VACC>)", hbv=X),
)

# --------------------------------------------------------------------------- the caller pregnant?
PREGNANCY_ROWS = (
    R(r"im (?:currently |also |now |still |about |nearly |almost |over |just over |only |just )?(?:<NUMW>|a few|"
      r"a couple of) ?(?:\+ )?(?:weeks|week|months|month)(?: (?:pregnant|gone|along|into my pregnancy))?|"
      r"im (?:currently |also |now |still |just |recently )?pregnant|(?:<NUMW>|a few) (?:weeks|months) "
      r"pregnant|pregnant myself|im expecting(?: a baby)?|(?:found out|find out) (?:that )?im pregnant|"
      r"(?:and|also|currently|but) pregnant|im with child|im in my (?:first|second|third|1st|2nd|3rd) "
      r"trimester|(?:i|we) (?:are|re) expecting|im carrying a baby|my pregnancy|im due in", preg="pregnant"),
    R(r"im (?:currently |also |still |now )?(?:breastfeeding|nursing|feeding my baby|expressing|bf)|"
      r"i (?:still |currently )?breastfeed|(?:still|currently|and) breastfeeding|breastfeeding (?:my|a) (?:baby|son|"
      r"daughter|little one|child|newborn)|(?:my baby|my son|my daughter) is breastfed", preg="breastfeeding"),
    R(r"im (?:definitely |currently )?not (?:currently )?(?:pregnant|breastfeeding)(?: (?:or|and|nor) "
      r"(?:pregnant|breastfeeding))?|not pregnant (?:or|and|nor) breastfeeding|neither pregnant nor "
      r"breastfeeding|(?:definitely )?not pregnant|no chance (?:of being |im |that im )?pregnant|"
      r"cant be pregnant|(?:im|i am) neither", preg="neither"),
    R(r"(?:<THEY>) (?:<W>){0,4}?(?:pregnant|breastfeeding|expecting|nursing|trimester)|(?:<THEY>) (?:<W>){0,2}?"
      r"weeks(?: pregnant| gone)?|pregnant (?:<W>)?"
      r"(?:patient|lady|woman|mum|mother|client|service user|girl|wife|partner)|antenatal|"
      r"(?:pregnancy|pregnant) (?:test|tests|testing)|(?:might|could|may) (?:be|i be) pregnant|am i pregnant|"
      r"if (?:im|i am|i was|i were) pregnant|(?:trying|want|plan|planning) (?:to get|for a baby|to conceive|"
      r"to become) (?:pregnant)?|breast milk", preg=X),
)

ROWS: Tuple[Row, ...] = (EXPOSURE_ROWS + FLUID_ROWS + DEVICE_ROWS + BITE_ROWS + KNOWN_ROWS + BBV_ROWS
                         + RISK_ROWS + HBV_ROWS + PREGNANCY_ROWS)


# =========================================================================== 3. time phrases

_HOURW = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_TNUM = (r"(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
         r"twenty|twenty five|thirty|forty|forty five|fifty|sixty|ninety)")
_TUNIT = r"(?:seconds?|minutes?|hours?|days?|weeks?)"
_DAYS = r"(?:monday|mon|tuesday|tues|tue|wednesday|wed|weds|thursday|thurs|thur|thu|friday|fri|saturday|sat|sunday|sun)"
_PARTS = r"(?:morning|afternoon|evening|night|lunchtime|lunch time|lunch|teatime)"
_MONTHS = (r"(?:january|jan|february|feb|march|mar|april|apr|june|jun|july|jul|august|aug|september|sept|sep|"
           r"october|oct|november|nov|december|dec)")
_APPROX = (r"(?:(?:about|around|approx|approximately|roughly|nearly|almost|over|just over|just under|under|"
           r"less than|more than|maybe|like|only|probably|at least|a good|some|aprox|abt|about maybe) )")


def _t(pattern: str) -> Pattern:
    return re.compile(rf"(?<!\S)(?:{pattern})(?!\S)")


TIME_ATOMS: Tuple[Tuple[str, Pattern], ...] = (
    ("ago", _t(_APPROX + r"?(?:\d+(?:\.\d+)? (?:m|h)|" + _TNUM + r" (?:and a half )?" + _TUNIT
                + r"(?: and (?:a half|" + _TNUM + " " + _TUNIT + r"))?|half an? hour|half hour|an hour and a half|"
                r"a (?:few|couple of|couple) " + _TUNIT + r"|(?:few|couple of|couple) " + _TUNIT + r") (?:ago|back)")),
    ("now", _t(r"just now|a moment ago|moments ago|a second ago|seconds ago|just this minute|only just|"
               r"just happened|just then|this minute|right this minute")),
    ("day", _t(r"this (?:morning|afternoon|evening|lunchtime|lunch time|am|pm)|earlier (?:this (?:morning|afternoon|"
               r"evening)|today|on today|tonight|on this (?:morning|afternoon|evening))|earlier on today|"
               r"yesterday(?: " + _PARTS + r")?|last night|(?:the )?day before yesterday|"
               r"(?:on |last )(?:the )?" + _DAYS + r"(?: " + _PARTS + r")?|" + _DAYS + " " + _PARTS + r"|"
               r"(?:at |around |about )?(?:lunchtime|lunch time|midday|noon|midnight|teatime)")),
    ("date", _t(r"(?:on )?(?:the )?\d{1,2} (?:st |nd |rd |th )?(?:of )?(?:" + _MONTHS + r"|may)|"
                + _MONTHS + r" \d{1,2}(?: (?:st|nd|rd|th))?|(?:on )?\d{1,2}/\d{1,2}(?:/\d{2,4})?")),
    ("bare", _t(r"at " + _HOURW + r"(?: ish)?(?= [.,?]|$)")),
    ("clock", _t(r"(?:at |around |about |approx |approximately |roughly |just after |just before |by )?"
                 r"(?:\d{1,2}:\d{2}(?: (?:am|pm))?|\d{1,2}(?:\.\d{2})? (?:am|pm)|\d{1,2} oclock|"
                 r"half (?:past )?" + _HOURW + r"|quarter (?:past|to) " + _HOURW + r"|\d{1,2} (?:minutes )?past "
                 + _HOURW + r"|(?:[01]\d|2[0-3])[0-5]\d (?:hours|h|hrs))(?: ish)?|"
                 r"at (?:\d{1,2}\.\d{2}|(?:[01]\d|2[0-3])[0-5]\d)|at " + _HOURW
                 + r"(?: ish)?(?= (?:today|this|yesterday|last|ish|in the|on|tonight|earlier)\b)")),
    ("today", _t(r"today|in the (?:morning|afternoon|evening)|tonight")),
)
# after a day word, a bare hour: "this morning about 9", "yesterday around 4", "last night 10"
_DAY_HOUR = re.compile(r" (?:, )?(?:at |about |around |approx |approximately |roughly )?" + _HOURW
                       + r"(?: (?:am|pm|ish|oclock))?(?= [.,?]|$| (?!minutes|hours|days|weeks|patients|people|times|"
                       r"doses|mls?|mgs?|units|of|beds?|bays?|wards?)[a-z])")
_JUST = _t(r"(?:ive |i |have |has |had |weve |we |hes |shes |just )?just (?:now )?(?:accidentally |accidently "
           r"|gone and |)?(?:had(?! (?:a )?(?:quick )?(?:question|query|look|thought|call|chat|a think|message|text))|"
           r"been(?! (?:told|informed|asked|advised|reading|wondering|thinking|looking|on the phone|discharged|"
           r"sent|speaking|talking))|got(?! (?:off|back|home|told|a call|the results|results|in|off the))|gotten|"
           r"stabbed|pricked|jabbed|stuck|cut|sliced|nicked|scratched|splashed|spat|bitten|bit|happened|done|"
           r"injured|caught|punctured|spiked|received|sustained|sprayed|poked|pierced|occurred)")
# A time about something else: "call me at 5", "my shift starts at 7".
_NOT_WHEN = re.compile(r"\b(?:call|calls|ring|phone|text|contact|reach|speak|talk|free|available|finish|finishes|"
                       r"finished|start|starts|started|shift|appointment|appt|open|opens|close|closes|until|till|til|"
                       r"back|tomorrow|next|meet|see|arrive|arrived|leave|left|clinic|book|booked|due|before)"
                       r"(?: [^ .,?]+){0,3} $")
# A bare "at 3" is a time only after words about the injury: "it happened at 3".
_EVENT_BEFORE = re.compile(r"\b(?:happened|occurred|it was|was it|injury|incident|stick|needlestick|splash|splashed|"
                           r"stabbed|pricked|bitten|bit|cut|stuck|done|jabbed|spat|exposure|accident)"
                           r"(?: [^ .,?]+){0,2} $")
_GAP = re.compile(r"^(?: (?:at|about|around|on|in the|,|ish|approx|approximately|roughly|from|by|and|just|"
                  r"sometime|some time|maybe|probably|i think|it was|it happened|happened))* $")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "twenty five": 25, "thirty": 30,
    "forty": 40, "forty five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}
_CANON_TIME: Tuple[Tuple[Pattern, Any], ...] = tuple((re.compile(p), r) for p, r in (
    (r"\b(?:just over|just under|less than|more than|nearly|almost|over|under|like|only|at least|a good|"
     r"aprox|abt|about maybe|maybe|probably|some)\b ?", ""),
    (r"\b(twenty five|forty five|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?= (?:and a half "
     r")?(?:seconds?|minutes?|hours?|days?|weeks?)\b)", lambda m: str(_NUMBER_WORDS[m.group(1)])),
    (r"\bhalf hour\b", "half an hour"),
    (r"\bback\b", "ago"),
    (r"\b(\d+) m\b", r"\1 minutes"),
    (r"\b(\d+) h\b", r"\1 hours"),
    (r"\b(\d+) and a half hours?\b", lambda m: f"{int(m.group(1)) * 60 + 30} minutes"),
    (r"\ba half\b", "30 minutes"),
    (r"\b(?:at )?([01]\d|2[0-3])([0-5]\d)(?: (?:hours|hrs|h))?\b", r"at \1:\2"),
    (r"\b(\d{1,2}) (?:minutes )?past (\d{1,2})\b", lambda m: f"{m.group(2)}:{int(m.group(1)):02d}"),
    (r"\bish\b", ""),
    (r"\bthis (am)\b", "this morning"),
    (r"\bthis (pm)\b", "this afternoon"),
    (r"\bearlier on today\b|\bearlier on\b", "earlier today"),
    (r"\btonight\b", "this evening"),
    (r"\blunch time\b", "lunchtime"),
    (r"\bin the (morning|afternoon|evening)\b", r"\1"),
))


def _canon_time(phrase: str) -> str:
    for pattern, replacement in _CANON_TIME:
        phrase = pattern.sub(replacement, phrase)
    return " ".join(phrase.replace(" ,", " ").split())


def _read_time(t: _Text, now: datetime, tz: str) -> Optional[Heard]:
    atoms: List[Tuple[int, int, str]] = []
    for kind, pattern in TIME_ATOMS:
        for m in pattern.finditer(t.s):
            atoms.append((m.start(), m.end(), kind))
    atoms.sort(key=lambda a: (a[0], -(a[1] - a[0])))
    chosen: List[List[Any]] = []
    for start, end, kind in atoms:
        if chosen and start < chosen[-1][1]:
            continue
        before = t.s[max(0, start - 40):start]
        if kind != "ago" and _NOT_WHEN.search(before):
            continue
        if kind == "bare" and not _EVENT_BEFORE.search(before):
            continue
        extra = _DAY_HOUR.match(t.s, end) if kind == "day" else None
        chosen.append([start, extra.end() if extra else end, {kind}])
    # Join neighbours ("yesterday" + "at 3"), then read the first phrase that parses.
    phrases: List[List[Any]] = []
    for atom in chosen:
        if phrases and _GAP.match(t.s[phrases[-1][1]:atom[0]] or " "):
            phrases[-1][1] = atom[1]
            phrases[-1][2] |= atom[2]
        else:
            phrases.append(atom)
    for start, end, kinds in phrases:
        if kinds <= {"today"}:
            continue  # "today" alone is not when it happened
        candidates = [t.s[start:end]]
        if len(kinds) > 1:
            candidates += [t.s[a:b] for a, b, k in chosen if start <= a and b <= end and k != {"today"}]
        for phrase in candidates:
            moment = parse_when(_canon_time(phrase), now=now, tz=tz)
            if moment is not None:
                return Heard(moment.isoformat(), t.words(start, end))
    m = _JUST.search(t.s)
    if m:
        moment = parse_when("just now", now=now, tz=tz)
        if moment is not None:
            return Heard(moment.isoformat(), t.words(m.start(), m.end()))
    return None


# =========================================================================== 4. choosing

@dataclass(frozen=True)
class _Hit:
    slot: str
    value: str
    start: int
    end: int
    rank: int
    match: Any

    @property
    def length(self) -> int:
        return self.end - self.start


def _collect(t: _Text) -> Dict[str, List[_Hit]]:
    hits: List[Tuple[_Hit, Optional[str]]] = []
    for row in ROWS:
        for m in row.regex.finditer(t.s):
            for slot, value in row.facts:
                hits.append((_Hit(slot, value, m.start(), m.end(), row.rank, m), row.requires))
    present = {h.slot for h, _ in hits if h.value != X}
    by_slot: Dict[str, List[_Hit]] = {}
    for hit, requires in hits:
        if requires is None or requires in present:
            by_slot.setdefault(hit.slot, []).append(hit)
    return {slot: _longest(slot_hits) for slot, slot_hits in by_slot.items()}


def _longest(hits: Sequence[_Hit]) -> List[_Hit]:
    """Drop every hit that overlaps a longer hit of the same slot; then the blocks themselves.
    (Two as long both stay: a block never wins a tie, so a fact is not lost to one.)"""
    kept: List[_Hit] = []
    for hit in sorted(hits, key=lambda h: -h.length):
        if not any(k.start < hit.end and hit.start < k.end and k.length > hit.length for k in kept):
            kept.append(hit)
    return sorted((h for h in kept if h.value != X), key=lambda h: h.start)


def _pick(slot: str, hits: Sequence[_Hit]) -> Optional[_Hit]:
    if not hits:
        return None
    order = RISKIER.get(slot, ())
    return min(hits, key=lambda h: (-h.rank, order.index(h.value) if h.value in order else len(order), h.start))


def _cover(t: _Text, hits: Iterable[_Hit]) -> str:
    hits = list(hits)
    return t.words(min(h.start for h in hits), max(h.end for h in hits))


def _viruses(hit: _Hit) -> List[str]:
    if hit.value == "pos_hiv":
        return ["hiv"]
    groups = [g for g in ("v", "v2") if g in hit.match.re.groupindex and hit.match.group(g)]
    found: List[str] = []
    for group in groups:
        found += [_VIRUS_CODE[v] for v in re.findall(r"hiv|hep b|hep c", hit.match.group(group))]
    return found


def _source_bbv(t: _Text, hits: Sequence[_Hit]) -> Optional[Heard]:
    positive: Dict[str, _Hit] = {}
    suspected: Dict[str, _Hit] = {}
    negative: Dict[str, _Hit] = {}
    none: List[_Hit] = []
    hedges: List[_Hit] = []
    for hit in hits:
        if hit.value in ("pos", "pos_hiv"):
            for virus in _viruses(hit):
                positive.setdefault(virus, hit)
        elif hit.value == "sus":
            for virus in _viruses(hit):
                suspected.setdefault(virus, hit)
        elif hit.value == "neg":
            for virus in _viruses(hit):
                negative.setdefault(virus, hit)
        elif hit.value == "none":
            none.append(hit)
        elif hit.value == "unk":
            hedges.append(hit)
    for virus in positive:
        suspected.pop(virus, None)  # "has" is more than "might have"
    for virus in [*positive, *suspected]:
        negative.pop(virus, None)  # the riskier reading of a contradiction
    if none and not positive and not suspected:
        return Heard(["none"], _cover(t, none + list(negative.values())))
    if not positive and not suspected and set(negative) == {"hiv", "hbv", "hcv"}:
        return Heard(["none"], _cover(t, negative.values()))
    values = list(positive) + [f"{v}_suspected" for v in suspected] + [f"{v}_negative" for v in negative]
    if values:
        said = list(positive.values()) + list(suspected.values()) + list(negative.values())
        return Heard([v for v in BBV_ORDER if v in values], _cover(t, said))
    if hedges:
        return Heard([n.UNKNOWN], _cover(t, hedges))
    return None


def read_facts(text: str, *, now: datetime, tz: str = "Europe/London") -> Dict[str, Heard]:
    """slot name -> Heard, only for facts the text actually states. Pure: no I/O, no clock."""
    if not isinstance(text, str) or not text.strip():
        return {}
    t = _Text(text[:MAX_CHARS])
    if not t.s:
        return {}
    hits = _collect(t)
    chosen: Dict[str, _Hit] = {}
    for slot, slot_hits in hits.items():
        if slot in (n.SLOT_SOURCE_BBV, n.SLOT_SOURCE_RISK):
            continue
        best = _pick(slot, slot_hits)
        if best is not None:
            chosen[slot] = best
    facts: Dict[str, Heard] = {slot: Heard(h.value, t.words(h.start, h.end)) for slot, h in chosen.items()}

    # -- a bite: "other", never "used" (nor a vein, nor blood on it); broken skin if it bled
    if SLOT_INJURY_BITE in facts:
        kind = chosen.get(n.SLOT_DEVICE_KIND)
        if kind is None or kind.rank < 2 or kind.value == OTHER:
            facts[n.SLOT_DEVICE_KIND] = Heard(OTHER, facts[SLOT_INJURY_BITE].words)
        for slot in (n.SLOT_DEVICE_USED, n.SLOT_DEVICE_IN_VESSEL, n.SLOT_VISIBLE_BLOOD):
            facts.pop(slot, None)  # about a sharp, not teeth
        bleed = chosen.get("_bleed")
        exposure = chosen.get(n.SLOT_EXPOSURE_TYPE)
        if bleed is not None and bleed.value == YES and (exposure is None or exposure.rank < 2):
            facts[n.SLOT_EXPOSURE_TYPE] = Heard(PERC, t.words(bleed.start, bleed.end))
            if n.SLOT_FLUID not in facts:
                facts[n.SLOT_FLUID] = Heard(BLOOD, t.words(bleed.start, bleed.end))

    # -- blood in a low-risk fluid
    fluid = facts.get(n.SLOT_FLUID)
    noblood = chosen.get("_noblood")
    if fluid is not None and fluid.value == STAINED:
        facts[SLOT_FLUID_BLOOD] = Heard(YES, fluid.words)
    elif fluid is not None and fluid.value == LOW and noblood is not None and noblood.value == YES:
        facts[SLOT_FLUID_BLOOD] = Heard(NO, t.words(noblood.start, noblood.end))
        if "_sharp" not in chosen:
            facts.pop(n.SLOT_VISIBLE_BLOOD, None)  # "spit, no blood": the fluid, not a sharp

    # -- questions about a sharp do not apply to a splash or to skin
    exposure = facts.get(n.SLOT_EXPOSURE_TYPE)
    if exposure is not None and exposure.value in NOT_A_SHARP:
        for slot in n.SHARP_ONLY_SLOTS:
            if slot == n.SLOT_DEVICE_KIND and SLOT_INJURY_BITE in facts:
                continue
            facts.pop(slot, None)
    kind = facts.get(n.SLOT_DEVICE_KIND)
    if kind is not None and kind.value != HOLLOW:
        facts.pop(n.SLOT_DEVICE_IN_VESSEL, None)

    # -- the source: its viruses as one list, its risk factors as another
    bbv = _source_bbv(t, hits.get(n.SLOT_SOURCE_BBV, []))
    if bbv is not None:
        facts[n.SLOT_SOURCE_BBV] = bbv
    risks = {h.value: h for h in hits.get(n.SLOT_SOURCE_RISK, [])}
    untreated = chosen.get("_untreated")
    if untreated is not None and bbv is not None and set(bbv.value) & {"hiv", "hbv", "hcv"}:
        risks.setdefault(VIRAEMIC, untreated)
    if risks:
        facts[n.SLOT_SOURCE_RISK] = Heard([r for r in RISK_ORDER if r in risks], _cover(t, risks.values()))

    occurred = _read_time(t, now, tz)
    if occurred is not None:
        facts[n.SLOT_OCCURRED_AT] = occurred
    return {slot: heard for slot, heard in facts.items() if not slot.startswith("_")}
