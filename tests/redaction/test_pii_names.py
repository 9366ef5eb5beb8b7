"""Names are masked wherever they fall, with or without a cue; ordinary command words are left alone.

Clips are written as Whisper writes them; "word~0.2" is a word it heard with confidence 0.2 (others 0.9).
"""

import pytest

from tests.redaction.recognized import masked


@pytest.mark.parametrize("recognized,name", [
    ("okonkwo wants the lights off", ["okonkwo"]),  # at the start, lowercase, no cue
    ("Is Siobhan home?", ["Siobhan"]),
    ("is siobhan home", ["siobhan"]),
    ("Turn on the music when Declan gets home.", ["Declan"]),  # in the middle
    ("Play some jazz for Bartholomew.", ["Bartholomew."]),  # at the end
    ("the package for thandiwe arrived this morning", ["thandiwe"]),
    ("Can you check if Aleksandra Kowalski replied?", ["Aleksandra", "Kowalski"]),
    ("Wojciech and Saoirse are coming over for lunch.", ["Wojciech", "Saoirse"]),
    ("Is Hunter coming to dinner?", ["Hunter"]),  # a rarer word written as a name
])
def test_names_outside_the_ordinary_vocabulary_are_masked_without_a_cue(recognized, name):
    assert masked(recognized) == name


@pytest.mark.parametrize("recognized,name", [
    ("tell nguyen the meeting moved to friday", ["nguyen"]),
    ("Call my wife Ingrid.", ["Ingrid."]),
    ("Text my boss Mr. Fairweather that I am running late.", ["Mr.", "Fairweather"]),
    ("Remind my son Tobias to feed the dog.", ["Tobias"]),
    ("ask my neighbour gwendolyn to pick up the post", ["gwendolyn"]),
    ("Message Rajesh and Meera about dinner.", ["Rajesh", "Meera"]),
    ("Visit Aunt Marguerite on Sunday afternoon.", ["Marguerite"]),
    ("pick up yusuf from football practice", ["yusuf"]),
    ("Meet Lachlan at the station at six.", ["Lachlan"]),
    ("thank ekaterina for the flowers", ["ekaterina"]),
    ("remind me to call grace tomorrow", ["grace"]),  # a given name that is also a word, after a cue
    ("my sister anneliese lives near the river", ["anneliese"]),
    ("The plumber, Mr. Oyelaran, is coming at noon.", ["Mr.", "Oyelaran,"]),
])
def test_names_after_a_person_cue_or_a_role_word_are_masked(recognized, name):
    assert masked(recognized) == name


@pytest.mark.parametrize("recognized,name", [
    # "Declan" heard as "the clean": the recognizer was unsure of it.
    ("Turn on the music when the~0.51 clean~0.08 gets home.", ["clean"]),
    # "Aleksandra Kowalski" heard as "Alexa and Drica while ski": the name reaches over its unsure neighbours.
    ("Can you check if Alexa~0.48 and~0.29 Drica~0.34 while~0.10 ski~0.28 replied?",
     ["Alexa", "and", "Drica", "while", "ski"]),
    # "Kwame" heard as "Queen", written as a name and heard unsurely.
    ("Did Queen~0.42 leave the garage door open?", ["Queen"]),
    ("Meet likely~0.22 not a station at six.", ["likely"]),
])
def test_names_the_recognizer_garbled_are_masked_by_its_doubt(recognized, name):
    assert masked(recognized) == name


@pytest.mark.parametrize("recognized", [
    "Turn off the lights in the kitchen.",
    "turn off the lights in the living room",
    "What's the weather like tomorrow morning?",
    "Set a timer for ten minutes.",
    "Add eggs and butter to the shopping list.",
    "Set the thermostat to twenty one degrees.",
    "Play some relaxing music in the bedroom.",
    "Remind me to take the bins out on Tuesday.",
    "Set a reminder to water the plants.",
    "Call mum and tell her dinner is ready.",
    "Text Dad that I'm on my way.",
    "Call the office.",
    "Tell me a joke about penguins.",
    "Pick up milk and bread on the way home.",
    "Translate good morning into Portuguese.",
    "Play my playlist on Spotify.",
    "Send the photos on WhatsApp.",
    "The Wi-Fi keeps dropping out in the upstairs bedroom.",
    "Hey Alexa, turn on the dehumidifier in the basement.",
    "OK Google, what's on my calendar for Christmas?",
    "Is the pharmacy on the high street open on bank holidays?",
    "What time does the pharmacy close tonight?",
    "Dim~0.17 the hallway lights to fifty percent.",  # the first word of a clip is often heard unsurely
    "Please play some jazz~0.29 music in the kitchen.",  # one unsure word among sure ones is no name
    "my colleague said the report is late",
    "My daughter's birthday party is on Saturday.",
    "play yellow",
])
def test_ordinary_speech_is_left_alone(recognized):
    assert masked(recognized) == []
