"""People's names, wherever they fall in a sentence, with or without a cue before them.

A recognizer writes a name it has never heard as the nearest thing it can spell: "Okonkwo" comes out
"Oconquo" or "a conber", "Siobhan" comes out "Xiaobhan", so the named-entity step, which reads
the words as words, rarely sees it. A name is found here by three kinds of evidence:

- a cue: a verb that takes a person ("call", "text", "remind", "pick up", "thank" ...) or a
  kinship or role word ("my wife", "my boss", "aunt", "the plumber" ...). After one, any word that is
  not an ordinary lowercase word the recognizer was sure of is taken, with a title before it.
- the word itself: one that is no ordinary English word (vocabulary.py), or a rarer word written with
  a capital where no sentence starts, or a word the recognizer was very unsure of next to another it
  was unsure of (one doubtful word among sure ones is usually an ordinary word: "some jazz music").
- its neighbours: a name found reaches over the words beside it that are capitalized, unknown or
  heard with low confidence, since a garbled name often comes out as several short words.

Command words ("lights", "kitchen", "timer", "tomorrow") are common lowercase words the recognizer
is sure of: none of the three takes them.
"""

from __future__ import annotations

from redaction.pii.heard import Heard
from redaction.pii.numbers import is_number_word
from redaction.pii.spans import NAME, PiiSpan
from redaction.pii.vocabulary import ASSISTANT_NAMES, COMMON, EVERYDAY, FUNCTION_WORDS, MOST_COMMON

# Verbs and phrases after which a person is named.
PERSON_CUES = (("call",), ("ring",), ("phone",), ("text",), ("tell",), ("ask",), ("remind",), ("message",),
               ("email",), ("meet",), ("visit",), ("invite",), ("thank",), ("thanks",), ("dial",), ("contact",),
               ("ping",), ("notify",), ("congratulate",), ("wake",), ("pick", "up"), ("drop", "off"),
               ("calls",), ("called",), ("calling",), ("texts",), ("texted",), ("texting",), ("tells",), ("told",),
               ("telling",), ("asks",), ("asked",), ("asking",), ("reminds",), ("reminded",), ("reminding",),
               ("messaged",), ("messaging",), ("emailed",), ("emailing",), ("met",), ("visited",), ("visiting",),
               ("invited",), ("inviting",), ("thanked",), ("picked", "up"), ("dropped", "off"),
               ("facetime",), ("video", "call"), ("named",), ("my", "name", "is"), ("name", "is"),
               ("names",), ("name's",), ("this", "is"), ("i", "am"), ("i'm",), ("it's",), ("with",), ("for",),
               ("to",), ("from",), ("and",), ("dear",), ("hi",), ("hey",), ("hello",), ("bye",), ("goodbye",),
               ("love",), ("see",))
# Cues that as often go before an ordinary word ("to the kitchen", "this is great"): what follows them
# must look like a name on its own account, if less so than with no cue at all.
WEAK_CUES = {("this", "is"), ("i", "am"), ("i'm",), ("it's",), ("with",), ("for",), ("to",), ("from",), ("and",),
             ("dear",), ("hi",), ("hey",), ("hello",), ("bye",), ("goodbye",), ("love",), ("see",)}
_CUES_BY_FIRST_WORD: dict[str, list[tuple[str, ...]]] = {}
for _cue in PERSON_CUES:
    _CUES_BY_FIRST_WORD.setdefault(_cue[0], []).append(_cue)
# Kinship and role words: a name often follows ("my wife Ingrid", "aunt Marguerite", "the plumber
# Mr Oyelaran").
ROLES = {"wife", "husband", "partner", "spouse", "son", "daughter", "boss", "doctor", "dentist", "neighbour",
         "neighbor", "colleague", "coworker", "friend", "brother", "sister", "mother", "father", "aunt", "auntie",
         "uncle", "cousin", "niece", "nephew", "grandson", "granddaughter", "grandma", "grandpa", "granny",
         "grandmother", "grandfather", "nan", "nana", "boyfriend", "girlfriend", "fiance", "fiancee", "manager",
         "teacher", "nanny", "babysitter", "childminder", "plumber", "electrician", "landlord", "landlady",
         "tenant", "roommate", "flatmate", "housemate", "mate", "buddy", "coach", "therapist", "nurse", "vet",
         "lawyer", "solicitor", "accountant", "assistant", "cleaner", "carer", "caregiver", "housekeeper",
         "stepson", "stepdaughter", "stepmother", "stepfather", "godmother", "godfather", "kid", "child", "baby",
         "twin", "midwife", "physio", "surgeon", "gp", "counsellor", "counselor", "tutor", "mentor", "supervisor",
         "client", "patient", "driver", "gardener", "builder", "mechanic", "hairdresser", "barber", "pastor",
         "priest", "vicar", "rabbi", "imam", "officer", "detective", "agent", "captain", "chef", "receptionist",
         "secretary", "pharmacist", "doc", "mum", "mom", "dad", "mummy", "mommy", "daddy", "pal", "bestie"}
# Titles belong to the name they go before ("Mr. Fairweather", "doctor Patel").
TITLES = {"mr", "mrs", "ms", "mx", "miss", "mister", "missus", "dr", "doctor", "prof", "professor", "sir", "dame",
          "madam", "rev", "reverend", "lady", "lord"}
# Given names that are also everyday words: taken after a cue ("call grace", "tell mark") even in
# lowercase and heard with confidence.
WORD_NAMES = {"grace", "rose", "bill", "mark", "frank", "jack", "rob", "pat", "sue", "summer", "hope", "faith",
              "joy", "dawn", "ray", "art", "bob", "chuck", "dean", "drew", "gene", "guy", "hunter", "jay", "penny",
              "ruby", "amber", "holly", "ivy", "iris", "daisy", "lily", "violet", "heather", "hazel", "jasmine",
              "olive", "pearl", "crystal", "sandy", "sky", "river", "rocky", "max", "don", "bud", "cliff", "glen",
              "grant", "herb", "lance", "miles", "nick", "norm", "reed", "rusty", "sonny", "sterling", "wade", "ward",
              "willow", "autumn", "destiny", "harmony", "melody", "charity", "patience", "prudence", "honor",
              "honour", "jade", "ginger", "brandy", "candy", "misty", "chase", "cole", "dale", "earl", "gale",
              "kitty", "carol", "peg", "sally", "robin", "sage", "heath", "august", "june", "april", "mercy",
              "trinity", "sunny", "dusty", "angel", "pepper", "cherry", "poppy", "skip", "buck", "hank", "jean",
              "joe", "tom", "tim", "sam", "ben", "dan", "ted", "ken", "jim", "meg", "kay", "mo", "lee", "ali", "eve"}
CALENDAR = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
            "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
            "christmas", "easter", "halloween", "thanksgiving", "today", "tonight", "tomorrow", "yesterday",
            "morning", "afternoon", "evening", "weekend", "noon", "midnight"}
# Words that name no one, however they are heard or written.
NOT_NAMES = FUNCTION_WORDS | CALENDAR | {
    "mom", "mum", "dad", "mommy", "mummy", "daddy", "home", "work", "back", "later", "everyone", "everybody",
    "someone", "somebody", "anyone", "anybody", "nobody", "emergency", "number", "email", "mail", "send", "write",
    "contact", "visit", "call", "text", "tell", "ask", "remind", "message", "meet", "invite", "thank", "pick",
    "drop", "st", "nd", "rd", "th", "s", "t", "d", "ll", "ve", "re", "m"}
DEVICE_WORDS = EVERYDAY | ASSISTANT_NAMES  # "Spotify", "Alexa": what a weak cue goes before is no one
MAX_NAME_WORDS = 3  # words a cue takes, titles aside

# How unsure the recognizer must be of a word for that to make it a name (not at the start of a
# sentence, where it is often unsure of ordinary words); after a cue; and beside a name found.
ALONE_PROBABILITY = 0.3  # with a neighbour heard below UNSURE_NEIGHBOUR_PROBABILITY
UNSURE_NEIGHBOUR_PROBABILITY = 0.5
ALONE_ANYWHERE_PROBABILITY = 0.1
CAPITALIZED_PROBABILITY = 0.5  # a common word written with a capital ("Queen" for "Kwame")
CUED_PROBABILITY = 0.4
BESIDE_PROBABILITY = 0.35
REACH_BESIDE = 3  # words a name reaches over on each side


def name_spans(heard: list[Heard], presidio_names: set[int]) -> list[PiiSpan]:
    spans = _cued_spans(heard, presidio_names)
    spans += [PiiSpan(NAME, n, n) for n, h in enumerate(heard) if name_like(h) or _garbled(heard, n)]
    return spans


def name_like(h: Heard) -> bool:
    """A word that is a name on its own account, with no cue before it."""
    if _never_a_name(h) or h.text in DEVICE_WORDS:
        return False
    if h.level is None:
        return True
    return h.capitalized and not h.camel and (h.level > MOST_COMMON or h.probability < CAPITALIZED_PROBABILITY)


def _garbled(heard: list[Heard], n: int) -> bool:
    """A common word the recognizer was very unsure of, where it was unsure of a neighbour too: a
    name it did not know comes out as several such words ("it ready" for "Grace"), while an ordinary
    word it doubted ("some jazz music") sits among words it was sure of."""
    h = heard[n]
    if h.probability >= ALONE_PROBABILITY or h.sentence_start or _never_a_name(h) or h.text in DEVICE_WORDS:
        return False
    if h.probability < ALONE_ANYWHERE_PROBABILITY:
        return True
    neighbours = [heard[k] for k in (n - 1, n + 1) if 0 <= k < len(heard) and not heard[k].sentence_start]
    return any(other.probability < UNSURE_NEIGHBOUR_PROBABILITY or other.level is None for other in neighbours)


def _never_a_name(h: Heard) -> bool:
    return h.text in NOT_NAMES or is_number_word(h.text) or len(h.text) < 2 or h.code or h.time_of_day


def _taken_after_cue(h: Heard, weak: bool, presidio_names: set[int], n: int) -> bool:
    """After a strong cue, any word but a common lowercase one the recognizer was sure of; after a weak
    one ("with", "for", "hey"), a word that looks like a name ("hey Alexa" wakes a device)."""
    if weak:
        return not _never_a_name(h) and (name_like(h) or n in presidio_names or (
            h.capitalized and h.text not in DEVICE_WORDS) or h.probability < BESIDE_PROBABILITY)
    if h.text in WORD_NAMES or h.text in ASSISTANT_NAMES:
        return True
    if _never_a_name(h) or h.text in ROLES or h.text in EVERYDAY:
        return False
    if name_like(h) or n in presidio_names or h.capitalized:
        return True
    return h.level > COMMON or h.probability < CUED_PROBABILITY


def _cued_spans(heard: list[Heard], presidio_names: set[int]) -> list[PiiSpan]:
    """Up to three words after a person cue or a role word (titles such as 'doctor' aside)."""
    texts = [h.text for h in heard]
    starts: list[tuple[int, bool]] = []  # where a name may start, and whether the cue was weak
    for n, text in enumerate(texts):
        for cue in _CUES_BY_FIRST_WORD.get(text, ()):
            if tuple(texts[n:n + len(cue)]) == cue:
                starts.append((n + len(cue), cue in WEAK_CUES))
        if texts[n] in ROLES:  # not "my daughter's": what follows is hers, not her name
            starts.append((n + 1, False))
    spans = []
    for first, weak in starts:
        k, last, taken = first, None, 0
        while k < len(heard) and taken < MAX_NAME_WORDS:
            if heard[k].text in TITLES:
                k += 1
                continue
            if k > first and heard[k].sentence_start:
                break
            if not _taken_after_cue(heard[k], weak, presidio_names, k):
                break
            last, taken, k = k, taken + 1, k + 1
        if last is not None:
            spans.append(PiiSpan(NAME, first, last))
    return spans


def reach_beside(spans: list[PiiSpan], heard: list[Heard]) -> list[PiiSpan]:
    """Each name widened over the titles, capitalized, unknown or unsure words right beside it."""
    widened = []
    for span in spans:
        if span.kind != NAME:
            widened.append(span)
            continue
        first, last = span.first, span.last
        for _ in range(REACH_BESIDE):
            if first == 0 or heard[first].sentence_start or not _beside(heard[first - 1], left=True):
                break
            first -= 1
        for _ in range(REACH_BESIDE):
            if last + 1 >= len(heard) or heard[last + 1].sentence_start or not _beside(heard[last + 1], left=False):
                break
            last += 1
        widened.append(PiiSpan(NAME, first, last))
    return widened


def _beside(h: Heard, left: bool) -> bool:
    if left and h.text in TITLES:
        return True
    if is_number_word(h.text) or h.code or h.time_of_day:
        return False
    if h.probability < BESIDE_PROBABILITY and not h.sentence_start:  # a clip's first word is often unsure
        return True
    if h.text in NOT_NAMES or h.text in ROLES:
        return False
    return h.capitalized or h.level is None
