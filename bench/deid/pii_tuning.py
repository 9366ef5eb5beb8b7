"""The TUNING half of the personal data the de-identification benchmark speaks: read it freely.

Written apart from the detectors (redaction/pii.py was not read to write it) and split from one list,
pair by pair with a fixed seed, with pii_heldout.py: people who tune detectors read this file and
never that one. bench/deid/corpus.py makes sentences from TEMPLATES x these lists, seeded.
"""

FIRST_NAMES = [  # given names from many languages, some uncommon
    'chinedu', 'oluwaseun', 'funmilayo', 'babatunde', 'chiamaka', 'linh', 'minh', 'phuong', 'agnieszka', 'grzegorz',
    'krzysztof', 'fatima', 'khalid', 'omar', 'zainab', 'lakshmi', 'venkatesh', 'deepika', 'xiaoming', 'liang',
    'zhiwei', 'alejandra', 'guadalupe', 'ximena', 'niamh', 'aoife', 'grainne', 'jukka', 'tuuli', 'veikko', 'jiwoo',
    'seojun', 'dohyun', 'kwame', 'anahera', 'eilidh', 'bartholomew', 'ingrid', 'jonathan', 'oksana', 'ravindra',
]

SURNAMES = [  # family names; some are two words
    'okafor', 'okonkwo', 'eze', 'nguyen', 'tran', 'vu', 'kowalczyk', 'szymanski', 'grabowski', 'nasser', 'saleh',
    'al farsi', 'raghunathan', 'deshpande', 'banerjee', 'chen', 'liu', 'zhou', 'gutierrez', 'villanueva',
    'echeverria', 'mccarthy', 'donnelly', 'brennan', 'virtanen', 'nieminen', 'laaksonen', 'park', 'choi', 'yoon',
    'mensah', 'nakamura', 'van der berg', 'abernathy', 'quintero', 'mbeki',
]

TITLES = [  # said before a surname
    'mister', 'missus', 'uncle',
]

BIRTH_DATES = [  # (day, month, year), said with the month's name
    (3, 7, 1984), (21, 11, 1999), (30, 9, 1975), (17, 2, 1990), (25, 10, 1947), (28, 4, 2006), (11, 1, 1993),
    (31, 3, 1955), (9, 11, 2001), (4, 12, 1966), (5, 10, 2014), (29, 5, 1973),
]

SPELLED = [  # licence plates, postcodes, booking references: said letter by letter, digit by digit
    'ab12cde', 'lr68zxk', 'bd51smr', '8xyz221', 'ma61jkl', 'ne19fgh', 'm145tu', 'g52rw8', 'fj3k9ld', 'vt4q6zz',
]

ACCOUNTS = [  # (kind, digits, groups): bank account, routing and sort-code numbers
    ('account', '31926819', (4, 4)), ('account', '55210347', (2, 2, 4)), ('account', '6183307721', (5, 5)),
    ('account', '43090866', (4, 4)), ('account', '667701239', (3, 3, 3)), ('routing', '021000021', (3, 3, 3)),
    ('routing', '061000104', (3, 3, 3)), ('routing', '091300023', (3, 3, 3)), ('sort_code', '830612', (2, 2, 2)),
]

CARDS = [  # (digits, groups)
    ('5425233430109903', (4, 4, 4, 4)), ('4916338506082832', (4, 4, 4, 4)), ('4024007198964305', (4, 4, 4, 4)),
    ('371449635398431', (4, 6, 5)), ('2223003122003222', (4, 4, 4, 4)), ('5555555555554444', (4, 4, 4, 4)),
    ('4716108999716531', (4, 4, 4, 4)),
]

NATIONAL_IDS = [  # (kind, characters, groups): letters and digits said one by one
    ('ssn', '078051120', (3, 2, 4)), ('ssn', '457555462', (3, 2, 4)), ('ssn', '662080417', (3, 2, 4)),
    ('national_insurance', 'ab987654d', (2, 2, 2, 2, 1)), ('national_insurance', 'jg103759a', (2, 2, 2, 2, 1)),
    ('aadhaar', '732450918833', (4, 4, 4)), ('nigerian_nin', '27701948355', (3, 4, 4)),
    ('canadian_sin', '193456787', (3, 3, 3)), ('korean_rrn', '8507231234567', (6, 7)),
]

PHONES = [  # (digits, groups, style): 'oh' says zero as oh, 'double' says a repeated digit as double
    ('4155552671', (3, 3, 4), 'plain'), ('3125550147', (3, 3, 4), 'double'), ('5125550839', (3, 3, 4), 'double'),
    ('07700900123', (5, 3, 3), 'oh'), ('02079460958', (3, 4, 4), 'oh'), ('07400123987', (5, 6), 'double'),
    ('09087654321', (4, 3, 4), 'plain'), ('919876543210', (2, 5, 5), 'plain'), ('821012345678', (2, 2, 4, 4), 'oh'),
]

EMAILS = [  # spoken as 'dot', 'at', 'underscore', 'dash', digits one by one
    'maria.nowak@gmail.com', 'priya-r@proton.me', 'siobhan.mc@eircom.net', 'ximena_g@correo.mx',
    'kwame.mensah@mail.com', 'a.chatterjee@rediffmail.com', 'gwojcik@onet.pl', 'lakshmi.iyer@zoho.com',
    'rodrigo.fuentes91@live.com',
]

ADDRESSES = [  # spoken as words, with units
    'flat three b forty two maple road', 'unit five seventeen harbour view drive',
    'one hundred and twelve kowalski avenue suite four hundred', 'nineteen calle de alcala piso tres',
    'forty one gangnam daero unit nine c', 'fourteen rue des lilas apartment two',
    'five hundred and fifty market street floor three', 'thirty three ballsbridge terrace flat one',
    'eleven wisteria close unit eight',
]

CLEAN = [  # ordinary smart-speaker commands and running speech without personal data
    'turn the living room lights down to thirty percent', 'play some quiet jazz in the kitchen',
    'add eggs and butter to the shopping list', 'remind me to water the plants on sunday',
    'skip this song and play something more cheerful', 'what time does the supermarket close today',
    'i think the dishwasher has finished so open it please', 'tell me a joke about penguins',
    'how many cups are in a litre', 'what is on the calendar for next week',
    'start the vacuum cleaner in the hallway', 'the soup needs another five minutes on the stove',
    'set an alarm for half past six', 'what was the score in the match last night',
]

# '' before the personal data puts it at the start of the sentence; '' after puts it at the end.
TEMPLATES = {  # kind -> position of the personal data -> (words before it, words after it)
    'name': {
        'start': [
            ('', 'wants the kitchen lights off'), ('', 'said the heating is broken again'),
        ],
        'middle': [
            ('call', 'and tell them i am running late'), ('send a message to', 'saying happy birthday'),
        ],
        'end': [
            ('add a meeting tomorrow at ten with', ''), ('the parcel at the door is for', ''),
        ],
    },
    'birth_date': {
        'start': [
            ('', 'is my date of birth'),
        ],
        'middle': [
            ('my date of birth is', 'if the form asks'),
            ('set a reminder that my son was born on', 'so i remember the party'),
        ],
        'end': [
            ('my date of birth is', ''), ('he was born on', ''),
        ],
    },
    'spelled': {
        'start': [
            ('', 'is parked across the driveway again'),
        ],
        'middle': [
            ('my postcode is', 'for the delivery'), ('the booking reference is', 'and it is for two people'),
        ],
        'end': [
            ('please note the reference', ''), ('the postcode here is', ''),
        ],
    },
    'account': {
        'start': [
            ('', 'is the number for the savings account'),
        ],
        'middle': [
            ('transfer fifty dollars to account', 'before friday'),
        ],
        'end': [
            ('the routing number for my bank is', ''),
        ],
    },
    'card': {
        'start': [
            ('', 'expires next month so update it'),
        ],
        'middle': [
            ('my card number is', 'and the name is on the front'),
        ],
        'end': [
            ('pay for the groceries with', ''), ('the new card is', ''),
        ],
    },
    'national_id': {
        'start': [
            ('', 'is my social security number'),
        ],
        'middle': [
            ('my national insurance number is', 'for the payroll'),
            ('the id on the form is', 'and it needs signing'),
        ],
        'end': [
            ('my social security number is', ''), ('my national id number is', ''),
        ],
    },
    'phone': {
        'start': [
            ('', 'is my new number so save it'),
        ],
        'middle': [
            ('text', 'when you get to the station'),
        ],
        'end': [
            ('save this number for the dentist', ''), ('dial', ''),
        ],
    },
    'email': {
        'start': [
            ('', 'is where the tickets should go'),
        ],
        'middle': [
            ('share the holiday photos with', 'please'), ('my email is', 'if you need anything'),
        ],
        'end': [
            ('my personal email address is', ''), ('invite', ''),
        ],
    },
    'address': {
        'start': [
            ('', 'is where the party is on saturday'),
        ],
        'middle': [
            ('i live at', 'near the park'),
        ],
        'end': [
            ('send the letter to', ''),
        ],
    },
}
