"""Which words are ordinary English, and how common: a word outside the vocabulary may be a name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

WORDS_FILE = Path(__file__).with_name("common_words.txt")

# Level of a word: SCOWL's size class, 10 (the most common words) to 50 (rarer ones).
MOST_COMMON = 20
COMMON = 40

# Words of everyday speech to a home assistant that a spelling dictionary leaves out: devices, apps,
# services and shops, which are no one's name.
EVERYDAY = frozenset("""
    ok okay hmm mmm mhm yeah yep nope alright gonna wanna gotta kinda dunno lemme gimme y'all
    app apps tv telly pm am wifi wi fi bluetooth online offline email emails emailed texting selfie playlist
    playlists podcast podcasts spotify netflix youtube hulu iplayer iphone ipad android whatsapp facetime
    facebook instagram tiktok twitter uber lyft zoom skype gmail outlook amazon kindle roku chromecast sonos
    airpods smartphone satnav nav hoover covid vs etc dob bday aa aaa
    tesco sainsbury sainsburys asda aldi lidl waitrose morrisons walmart costco ikea starbucks mcdonald's mcdonalds
    kfc ebay paypal venmo deliveroo doordash grubhub instacart bbc cnn npr hbo disney nintendo playstation xbox
    lego nespresso dyson samsung sony philips ecobee fitbit garmin peloton duolingo audible
""".split())
# Names of assistants: said to wake the device, not personal data, unless a cue says someone is meant
# ("ask alexa" may be a person).
ASSISTANT_NAMES = frozenset({"alexa", "siri", "google", "cortana", "bixby", "jarvis", "computer"})

# Words that carry grammar, not content: never a name however they are heard.
FUNCTION_WORDS = frozenset("""
    i me my mine myself you your yours yourself yourselves he him his himself she her hers herself it its itself
    we us our ours ourselves they them their theirs themselves one's
    i'm i've i'll i'd you're you've you'll you'd he's he'll he'd she's she'll she'd it's it'll we're we've we'll
    we'd they're they've they'll they'd that's there's here's what's who's where's how's let's
    a an the this that these those some any no every each all both either neither another other such what
    which whose whatever whichever whoever
    at on in into onto to from for with without about above below over under after before behind between
    beside by near of off out up down through till until since during against across around along among
    toward towards via per upon within like
    and or but nor so yet if then than because while when where whether though although unless as
    is am are was were be been being do does did done have has had having will would shall should can could
    may might must don't doesn't didn't won't wouldn't can't cannot couldn't isn't aren't wasn't weren't
    haven't hasn't hadn't shouldn't mustn't ain't gonna
    not just also too very really please now there here again still only even ever never always already soon
    yes no oh hey hi hello bye thanks thank well how why who whom what um uh er erm ah eh
    get got go goes going gone went make made let set put take took give gave say said see saw
""".split())


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, int], frozenset[str]]:
    """Levels by lowercase word, and the words the list writes with a capital ("July", "English")."""
    text = WORDS_FILE.read_text(encoding="utf-8")
    body = 0
    while text.startswith("#", body):  # the header, then "word level" lines
        body = text.index("\n", body) + 1
    fields = text[body:].split()
    words = fields[0::2]
    capitalized = frozenset(word.lower() for word in words if word[0].isupper())
    levels = dict(zip((word.lower() for word in words), map(int, fields[1::2])))
    for word in EVERYDAY:
        levels.setdefault(word, MOST_COMMON)
    return levels, capitalized


def level(word: str) -> int | None:
    """How common a lowercase token is as an ordinary word (10 most, 50 least); None when it is none.

    The vocabulary is read on first use, once per process (tens of milliseconds); two threads that
    meet there read it twice, which is harmless.
    """
    levels = _load()[0]
    found = levels.get(word)
    if found is None and word.endswith("'s"):
        found = levels.get(word[:-2])
    return found


def always_capitalized(word: str) -> bool:
    """A word written with a capital wherever it stands ("July", "English"): its capital says nothing."""
    return word.removesuffix("'s") in _load()[1]
