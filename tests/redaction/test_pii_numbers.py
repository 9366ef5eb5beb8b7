"""Numbers said in groups, spelled codes and dates of birth are masked whole; times and quantities are not.

Clips are written as Whisper writes them; "word~0.2" is a word it heard with confidence 0.2 (others 0.9).
"""

import pytest

from tests.redaction.recognized import masked


@pytest.mark.parametrize("recognized,number", [
    ("My card number is 4532 1111 2222 3333.", "4532 1111 2222 3333."),
    ("my card number is four five three two, one one one one, two two two two, three three three three",
     "four five three two, one one one one, two two two two, three three three three"),
    ("my social security number is one two three, four five, six seven eight nine",
     "one two three, four five, six seven eight nine"),
    ("My social security number is 123-45-6789.", "123-45-6789."),
    ("the routing number is zero two one zero zero zero zero two one thanks",
     "zero two one zero zero zero zero two one"),
    ("The routing number is 0 to 10000 to 1 thanks.", "0 to 10000 to 1"),  # "two" heard as "to"
    ("Account 778 -19 for 4 please.", "778 -19 for 4"),  # a short tail group after a homophone
    ("my account number is 3192 884 7 please", "3192 884 7"),
    ("Call me on 07 7 7 0 0 9 jubble~0.26 0 1 2 3", "07 7 7 0 0 9 jubble~0.26 0 1 2 3"),  # "double" garbled
    ("my passport number is five hundred and twelve, three four four, nine",
     "five hundred and twelve, three four four, nine"),
    ("account number twelve thirty four fifty six seventy eight", "twelve thirty four fifty six seventy eight"),
    ("The PIN is 4 um 4 9 1.", "4 um 4 9 1."),
    # "nine one nine eight seven six five four three two one zero" with a word heard into it.
    ("Text 9 -1, I~0.32 -8765, 43210 when you get to the station.", "9 -1, I~0.32 -8765, 43210"),
    # A cue heard unsurely between an amount and a number begins the number: the amount is no one's.
    ("Transfer $50 to account~0.4 5 .5 to 10 .0347 before Friday.", "5 .5 to 10 .0347"),
])
def test_numbers_said_in_groups_are_masked_from_first_digit_to_last(recognized, number):
    assert masked(recognized) == [w.partition("~")[0] for w in number.split()]


@pytest.mark.parametrize("recognized,code", [
    ("My licence plate is K7X42B.", "K7X42B."),
    ("my licence plate is k seven x four two b", "k seven x four two b"),
    ("the reference code is a b c one two three", "a b c one two three"),
    ("s w one a one a a is the postcode", "s w one a one a a"),
    ("The postcode is SW1A 1AA.", "SW1A 1AA."),
    ("The booking reference XJ92Q is in the email.", "XJ92Q"),
    ("My national insurance number is QQ 123456C.", "QQ 123456C."),
    ("the car is zed four double seven why tee and it is blue", "zed four double seven why tee"),
    ("Use code Q77 took~0.26 at the checkout.", "Q77 took~0.26"),
    ("my surname is spelled s m i t h", "s m i t h"),
])
def test_spelled_codes_of_letters_and_digits_are_masked_whole(recognized, code):
    assert masked(recognized) == [w.partition("~")[0] for w in code.split()]


@pytest.mark.parametrize("recognized,date", [
    ("I was born on the 3rd of July 1984.", "the 3rd of July 1984."),
    ("i was born on the third of july nineteen eighty four", "the third of july nineteen eighty four"),
    ("My date of birth is July 3rd, 1990.", "July 3rd, 1990."),
    ("my date of birth is july third nineteen ninety", "july third nineteen ninety"),
    ("March 14, 1985 is my birthday.", "March 14, 1985"),
    ("born on march 14 1985", "march 14 1985"),
    ("My birthday is the 21st of September.", "the 21st of September."),
    ("my birthday is the twenty first of september", "the twenty first of september"),
    ("DOB 07/14/1990", "07/14/1990"),
    ("dob oh seven slash one four slash nineteen ninety", "oh seven slash one four slash nineteen ninety"),
    ("she was born june ninth two thousand and two so she is still young", "june ninth two thousand and two"),
    ("I was born in 1984 in a small town.", "1984"),
    ("He was born on the fifth of November.", "the fifth of November."),
])
def test_dates_of_birth_are_masked_with_their_month_and_year(recognized, date):
    assert masked(recognized) == date.split()


@pytest.mark.parametrize("recognized", [
    # A day and month in a command say when, not who: they are left (see redaction/pii/dates.py).
    "remind me on the fourth of july to buy fireworks",
    "Remind me on July 4th to buy fireworks.",
    "Add a dentist appointment on the 9th of August.",
    "May I have the weather for Monday?",
    # Times, quantities and ordinals are no one's number.
    "Set an alarm for 6:30 tomorrow.",
    "Remind me at 10:15 to call the office.",
    "set an alarm for seven thirty",
    "Set the oven to 200 degrees.",
    "set the thermostat to twenty one degrees",
    "Dim the hallway lights to 50%.",
    "I need 2 packs of AA batteries.",
    "Play the 3rd track on the album.",
    "Start the 4k stream on the TV.",
    "The meeting is at 3 p.m. on the 2nd floor.",
    "i see two cars in the drive",
])
def test_calendar_dates_times_and_quantities_are_left_alone(recognized):
    assert masked(recognized) == []
