"""The HELD-OUT half of the personal data the de-identification benchmark speaks: do not read it
while tuning detectors, nor copy from it into tests or rules.

Written apart from the detectors and split from one list, pair by pair with a fixed seed, with
pii_tuning.py. bench/deid/corpus.py makes sentences from TEMPLATES x these lists, seeded; the
benchmark reports every metric on both halves, so a gap between them shows over-fitting.
"""

FIRST_NAMES = [  # given names from many languages, some uncommon
    'ngozi', 'adaeze', 'emeka', 'aminu', 'obinna', 'thanh', 'huong', 'quang', 'wojciech', 'malgorzata', 'bozena',
    'yusuf', 'layla', 'nour', 'priya', 'arjun', 'ananya', 'sanjay', 'wei', 'jing', 'meiling', 'santiago', 'joaquin',
    'rodrigo', 'siobhan', 'padraig', 'ciaran', 'aino', 'eero', 'sirpa', 'minseo', 'hyejin', 'soyeon', 'thandiwe',
    'tesfaye', 'kalani', 'zebulon', 'dmitri', 'sarah', 'hamish', 'esperanza',
]

SURNAMES = [  # family names; some are two words
    'adeyemi', 'nwachukwu', 'balogun', 'abubakar', 'pham', 'hoang', 'wisniewski', 'zielinska', 'wojcik', 'haddad',
    'khoury', 'abboud', 'iyer', 'chatterjee', 'reddy', 'zhang', 'huang', 'xu', 'ramirez', 'castillo', 'fuentes',
    'gallagher', 'kavanagh', 'ni bhriain', 'korhonen', 'makinen', 'heikkinen', 'kim', 'jeong', 'kang',
    'papadopoulos', 'shevchenko', 'yilmaz', 'oyelowo', 'fitzgerald', 'ivanova',
]

TITLES = [  # said before a surname
    'doctor', 'professor', 'auntie',
]

BIRTH_DATES = [  # (day, month, year), said with the month's name
    (14, 3, 1962), (1, 1, 2003), (12, 12, 1958), (8, 5, 2011), (2, 6, 1988), (19, 8, 1971), (23, 7, 1969),
    (6, 9, 1982), (15, 6, 1979), (27, 8, 1997), (22, 2, 1986), (13, 4, 1951),
]

SPELLED = [  # licence plates, postcodes, booking references: said letter by letter, digit by digit
    'k7x42b', '7tjr443', 'wx09abc', 'h4k9p2', 'yt23nvo', 'cz7a0q', 'sw1a2aa', 'qx7pl2', '2bnm718', 'eh81yp',
]

ACCOUNTS = [  # (kind, digits, groups): bank account, routing and sort-code numbers
    ('account', '004417856622', (4, 4, 4)), ('account', '7739018254', (3, 3, 4)), ('account', '20004915', (4, 4)),
    ('account', '901277534610', (3, 3, 3, 3)), ('account', '12083457', (4, 4)), ('routing', '111000614', (3, 3, 3)),
    ('routing', '322271627', (3, 3, 3)), ('routing', '256074974', (3, 3, 3)), ('sort_code', '402715', (2, 2, 2)),
]

CARDS = [  # (digits, groups)
    ('4539148803436467', (4, 4, 4, 4)), ('6011000990139424', (4, 4, 4, 4)), ('5105105105105100', (4, 4, 4, 4)),
    ('378734493671000', (4, 6, 5)), ('3530111333300000', (4, 4, 4, 4)), ('4485275742308327', (4, 4, 4, 4)),
    ('6304000000000000', (4, 4, 4, 4)),
]

NATIONAL_IDS = [  # (kind, characters, groups): letters and digits said one by one
    ('ssn', '219099999', (3, 2, 4)), ('ssn', '531866204', (3, 2, 4)), ('ssn', '123457689', (3, 2, 4)),
    ('national_insurance', 'qq123456c', (2, 2, 2, 2, 1)), ('national_insurance', 'ce824613b', (2, 2, 2, 2, 1)),
    ('aadhaar', '499118665246', (4, 4, 4)), ('nigerian_nin', '80135729461', (3, 4, 4)),
    ('canadian_sin', '046454286', (3, 3, 3)), ('finnish_hetu', '131052a308t', (6, 1, 3, 1)),
]

PHONES = [  # (digits, groups, style): 'oh' says zero as oh, 'double' says a repeated digit as double
    ('2065550198', (3, 3, 4), 'oh'), ('7185559034', (3, 3, 4), 'oh'), ('6465550122', (3, 3, 4), 'plain'),
    ('07911123456', (5, 6), 'double'), ('01614960371', (4, 3, 4), 'plain'), ('01314960644', (4, 3, 4), 'oh'),
    ('08031234567', (4, 3, 4), 'oh'), ('918123409876', (2, 5, 5), 'double'),
    ('358401234567', (3, 2, 3, 4), 'plain'),
]

EMAILS = [  # spoken as 'dot', 'at', 'underscore', 'dash', digits one by one
    't_nguyen84@yahoo.com', 'okafor.chinedu@outlook.com', 'liang.zhou@hotmail.co.uk', 'jukka.virtanen@elisa.fi',
    'yusuf.haddad77@gmail.com', 'jiwoo.park@naver.com', 'bart.abernathy@icloud.com', 'thandi_m@webmail.co.za',
    'eero.korhonen@gmx.net',
]

ADDRESSES = [  # spoken as words, with units
    'apartment twelve two twenty one elm street', 'eighty eight nguyen trai street apartment six',
    'seven oak lane unit two a', 'flat nine twenty seven o connell street',
    'three hundred and five mannerheimintie apartment eleven', 'sixty two adeola odeku street flat four',
    'two oh nine king fahd road villa seven', 'ninety six marine drive apartment fourteen d',
    'two thousand and four lakeshore boulevard apartment nineteen',
]

CLEAN = [  # ordinary smart-speaker commands and running speech without personal data
    'what is the weather like tomorrow morning', 'set a timer for twelve minutes',
    'is it going to rain this afternoon', 'turn off the heating when everyone has left',
    'how long does it take to boil an egg', 'lock the back door and close the blinds',
    'we need to leave in ten minutes so get your shoes on', 'the kids are asleep so keep the music low',
    'pause the film i will be right back', 'turn the fan on in the bedroom', 'can you read the news headlines',
    'open the garage door and switch on the porch light', 'how far is it to the nearest petrol station',
    'make the bathroom warmer before bedtime',
]

# '' before the personal data puts it at the start of the sentence; '' after puts it at the end.
TEMPLATES = {  # kind -> position of the personal data -> (words before it, words after it)
    'name': {
        'start': [
            ('', 'is coming over at six so unlock the front door'), ('', 'will pick up the kids from school today'),
        ],
        'middle': [
            ('remind me to ask', 'about the invoice tomorrow'), ('play the playlist that', 'made for the party'),
        ],
        'end': [
            ('read me the last message from', ''), ('set up a video call with', ''),
        ],
    },
    'birth_date': {
        'start': [
            ('', 'is when my daughter was born'),
        ],
        'middle': [
            ('i was born on', 'in a small town by the sea'),
        ],
        'end': [
            ('for the insurance my birthday is', ''),
        ],
    },
    'spelled': {
        'start': [
            ('', 'is the booking reference for the flight'),
        ],
        'middle': [
            ('the car with the plate', 'is blocking the garage'),
        ],
        'end': [
            ('my licence plate number is', ''),
        ],
    },
    'account': {
        'start': [
            ('', 'is my account number'),
        ],
        'middle': [
            ('the routing number is', 'for the direct deposit'), ('my sort code is', 'and the bank is in town'),
        ],
        'end': [
            ('my bank account number is', ''), ('pay the rent into account', ''),
        ],
    },
    'card': {
        'start': [
            ('', 'is the card i want to use'),
        ],
        'middle': [
            ('charge the order to', 'please'),
        ],
        'end': [
            ('and my card number is', ''),
        ],
    },
    'national_id': {
        'start': [
            ('', 'is the id number on my card'),
        ],
        'middle': [
            ('my social security number is', 'if they ask'),
        ],
        'end': [
            ('fill in my id number which is', ''),
        ],
    },
    'phone': {
        'start': [
            ('', 'is the plumber so call him tomorrow'),
        ],
        'middle': [
            ('call me back on', 'after lunch'), ('my mobile is', 'if anything goes wrong'),
        ],
        'end': [
            ('you can reach me on', ''),
        ],
    },
    'email': {
        'start': [
            ('', 'is my work email'),
        ],
        'middle': [
            ('send the invoice to', 'tonight'),
        ],
        'end': [
            ('forward the boarding pass to', ''),
        ],
    },
    'address': {
        'start': [
            ('', 'is my new address'),
        ],
        'middle': [
            ('deliver the parcel to', 'after six'), ('book a taxi from', 'to the airport'),
        ],
        'end': [
            ('i live at', ''), ('navigate to', ''),
        ],
    },
}
