"""Word lists and phrase patterns for reading citizens' messages (English, Swahili, Sheng).

Patterns are matched against normalised text: lower case, no accents, no apostrophes, "-", "_" and "."
between letters turned into spaces, tokens joined by single spaces. Every pattern is a regular
expression fragment matched on word boundaries. Weights say how strongly a phrase signals an intent.
"""

from __future__ import annotations

# --- language markers -------------------------------------------------------------------------------

# Swahili function words, pronoun/possessive forms and everyday words that English does not use.
SWAHILI_WORDS = frozenset(
    """
    iko ziko niko uko yuko tuko mko wako liko kuko
    ni na ya za wa la kwa cha vya zake yake yangu zangu wangu langu changu vyangu yako zako lako
    wako yenu zenu wenu yetu zetu wetu hii hiyo hizi hizo huyu ile hapa pale huko
    leo jana kesho saa sasa hivi bado tena sana tu kama lakini ama au bila kuna hakuna
    nini aje vipi wapi lini kwani mbona je si ata hata bana tafadhali asante naomba nataka
    sitaki acha futa ondoa weka nitumie nifahamishe nijulishe niambie tujulishe usinitumie pesa mara
    mbili tatu moja nne tano sawa poa chini juu kazi shida tatizo noma msaada lugha habari hujambo
    sijambo mambo niaje vipi badala zamani mimi wewe yeye sisi nyinyi kila kitu kuhusu zote yote
    tayari tangu asubuhi jioni mchana usiku njia nyingine mbadala mbaya vibaya hospitali nani
    mechi wazi kiswahili kiingereza badilisha nifanye tufanye naweza nawezaje unaweza
    ninawezaje tunaweza nisaidie nisaidia saidia kunisaidia mfute nifute ufute ndio ndiyo hapana
    apana sijui ukweli dakika wiki mwezi mwaka siku arifa ujumbe huduma namba kitambulisho
    leseni pasipoti yangu nyumbani ofisi bure haraka polepole tena pia ama aje kwenye ndani
    nina una ana tuna mna wana ku nayo ziko hiki hicho mwenyewe sawasawa
    ahsante asanteni nashukuru tunashukuru shukran shukrani mungu akubariki akubariki zote orodha
    haya naam sawia shwari fiti freshi
    """.split()
)

# English function words and the everyday words people use when asking about a website.
ENGLISH_WORDS = frozenset(
    """
    is are was were be been am the a an to for in of at by my me mine i im it its this that
    these those you your we our they them their he she his her can cant cannot could couldnt do
    does did dont doesnt didnt not no yes but and or if when where what whats how why who which
    there here please pls with from again now today tonight yesterday tomorrow right still just
    very too working work works worked paid pay paying get getting got keeps
    keep saying says said shows show showing need want file filing before after instead another
    way other than refund subscribe unsubscribe stop sending delete remove forget data info all
    change language reply speak good morning afternoon evening thanks thank weather
    help notify alert let know tell updates update since because until
    anyone else also any some will would should shall have has had been isnt arent wasnt
    date birth name times there then so sure opened log into
    again everything something nothing about out off over under only even ever never always
    same person office won match help shift taken thx cool cheers menu list show options
    unaware alike alive align alien liking america american analysis analyse analyze amend vitamin
    us him hers ours theirs myself yourself himself herself itself ourselves themselves whom whose
    anything anybody everybody somebody someone nobody noone each every either neither both few many much
    more most less least several such own enough as onto upon within across along among around behind
    below beside between beyond despite during except inside near outside per throughout toward towards
    against above till although though while whereas unless whether nor yet once might must being having
    doing going gone shouldnt wouldnt hasnt hadnt havent werent ive youre theyre weve youve theres thats
    whos lets ago already almost anymore anyway away everywhere however later maybe nearly often perhaps
    quite rather really soon sometimes somewhere therefore together usually say
    """.split()
)

# English words Kenyans also use inside Swahili sentences ("SHA system iko down", "sorry boss, ..."): half
# a point, so that alone ("noted", "sorry") they are English and next to Swahili grammar they are not.
# The words of error messages are among them: they are quoted as the site shows them ("invoice bado
# inasema unpaid", "inasema organization unavailable").
ENGLISH_LOANWORDS = frozenset(
    """
    down up slow back on system error page number payment login site website data info time phone
    laptop problem issue loading load open services wrong new old online hello hi hey
    fine done sorry kindly assist advise noted alright yeah yep yup nope nice great perfect exactly
    correct appreciated unavailable unpaid invalid
    """.split()
)

# Greeting words and what may stand next to them in a greeting-only message.
GREETINGS_SW = frozenset(
    {"niaje", "mambo", "sasa", "hujambo", "hamjambo", "habari", "vipi", "form", "sema", "salama", "salaam", "salam",
     "shikamoo", "rada", "sasawa"}
)
GREETINGS_EN = frozenset({"hello", "hi", "hey", "hallo", "greetings", "morning", "evening", "afternoon"})
GREETING_FILLERS = frozenset(
    """
    yako zako bro boss sir madam mzee msee fam there good ya leo asubuhi jioni buda mkuu poa safi
    niko everyone all za gani njema day guys hali rafiki team from here hapa kutoka
    """.split()
)

# Greetings that are phrases ("how are you", "uko aje"): a message of these and greeting words is a greeting.
GREETING_PHRASES = (
    r"how are you|how r u|hows it going|uko aje|mko aje|uko (?:poa|fiti|freshi|shwari)|habari gani|habari zenu"
)

# Words that are neither language's marker but are common in messages; they are never fuzzy-matched
# to a service name ("system" must not become "sha").
NEUTRAL_WORDS = frozenset(
    """
    ok okay sawa lol system app portal page website online offline error blank otp sms message
    messages alerts alert arifa update updates number code class card cert certificate statement
    booking inspection registration renewal invoice receipt transaction contributions loan
    business company search details safari monday tuesday wednesday thursday friday saturday
    sunday bro boss pliz plz asap tokens line bot hospital nairobi mombasa kisumu nakuru eldoret
    kenya kenyan government gava habari asante kesho centre center renew register verify password
    passwords email mail mpira gmail browser browsers wifi network bundles
    """.split()
)

# Kenyan places and first names. Like service names they are neither language ("Kitale", "Kilifi",
# "Akinyi" and "Mutahi" have the shape of Swahili verbs; "Kapsabet", "Kiprop" and "Oduor" end in a
# consonant, the shape of English words), and they are never fuzzy-matched to a service. Names that are
# Swahili words ("Imani", "Baraka", "Umoja") are not listed: they stay Swahili. "Utawala" is listed: the
# estate is what people name in these messages, and the noun ("administration") is no verb anyway.
NAMES = frozenset(
    """
    mombasa kwale kilifi lamu taita taveta garissa wajir mandera marsabit isiolo meru tharaka nithi embu
    kitui machakos makueni nyandarua nyeri kirinyaga muranga kiambu turkana pokot samburu nzoia uasin gishu
    elgeyo marakwet nandi baringo laikipia nakuru narok kajiado kericho bomet kakamega vihiga bungoma busia
    siaya kisumu migori kisii nyamira nairobi eldoret thika malindi kitale naivasha nanyuki nyahururu
    kerugoya karatina kikuyu limuru ruiru juja kitengela voi watamu ukunda diani mtwapa kilindini likoni
    nyali bamburi kapsabet iten kabarnet lodwar maralal moyale webuye mumias awendo rongo ahero maseno bondo
    keroka molo njoro gilgil kangundo mwingi chuka kijabe kinangop magadi namanga loitokitok litein sotik
    kisauni changamwe mariakani emali kimilili malaba matuu kilimani kileleshwa lavington westlands
    parklands langata kibera kawangware kangemi kayole embakasi donholm buruburu eastleigh kasarani githurai
    kahawa roysambu ruaka rongai ngong kitisuru runda muthaiga gigiri mathare kariobangi dandora kariokor
    ngara madaraka syokimau mlolongo ruai kamulu uthiru dagoretti kiserian ongata makadara kamukunji mwiki
    shanzu kizingo mikindani kondele nyalenda mamboleo kenyatta jkia kicc
    alice alicia aliya amelia angela angelina anita lilian nikita akinyi atieno achieng adhiambo awuor
    anyango auma otieno odhiambo ochieng onyango omondi owino okoth ouma kamau wanjiku wanjiru wambui
    wairimu wangari wangui wangechi wangeci njeri nyambura muthoni gathoni nyokabi mwangi kariuki njoroge
    kimani maina karanja gitau macharia ndungu mutahi mukami mukiri mukuria kuria mutua mutai mutiso mutava
    mulinge musyoka mbithi kioko nduku mueni ndunge kalekye mukasa kuloba wafula wekesa barasa wanyama
    simiyu nekesa nafula nanjala khaemba makokha wamalwa walibora kipchoge kiprotich cheruiyot chebet jeptoo
    kibet koech rotich kiptoo langat kosgei korir kiplagat jelagat chepkoech kinyua kinoti kirimi mwenda
    gakii nkatha mugambi mbaabu kithinji mohamed hassan abdi omar fatuma halima zainabu
    utawala kimende kinale kutus kikima ukambani kinango kikambala ijara kuresoi imenti hamisi ikanga
    endebess cherangany moiben kesses kapseret marigat mosoriot chemelil kipkelion belgut konoin mulot
    kilgoris lolgorian karen bomas kenol embulbul bissil ilasit mazeras garsen dadaab habaswein tarbaj
    eldas elwak laisamis illeret doldol lanet elburgon keringet runyenjes kabras tongaren madiany kibos
    nyakach oyugis kasipul macalder langas kipkaren kapsowar kabiyet kalokol lokitaung
    akala wakaba wakahiu wakanyi wakiuru kimemia kimeli imelda kiprop kipkoech kipkorir bett biwott
    jepchirchir jebet jerop chepngetich oduor owuor oketch akoth ajwang aluoch ahmed ibrahim yusuf rashid
    salim swaleh hussein abdirahman abdikadir osman farah adan ismail issack
    """.split()
)

# --- verb forms (Swahili morphology, including Sheng verbs built on English stems) --------------------

# subject prefix + tense marker + stem: inafanya, imekufa, nimelipa, ikirudi, inaload, wanasema
SWAHILI_VERB = r"(?:ni|u|a|tu|m|mu|wa|i|zi|li|ki|vi|ya|hu)(?:na|me|li|ta|ja|ki|nge|ka)[a-z]{2,}"
# Negatives end in -i ("haifanyi") or carry a tense ("haijaingia"); Sheng puts "hai"/"hazi" before an
# English stem ("haiwork"). Plain "ha..." words are left alone: "having" is English.
SWAHILI_NEGATIVE = (
    r"(?:hai|hazi|hawa)[a-z]{2,}|ha(?:tu|ku|li|ki|vi|ya|u|m)?(?:ja|ta)[a-z]{2,}|"
    r"ha(?:tu|ku|li|ki|vi|ya|u|m)[a-z]{1,}i|si(?:ja|ta)[a-z]{3,}|si[a-z]{2,}i"
)
# infinitives: kulipa, kuverify, kuregister, kudownload
SWAHILI_INFINITIVE = r"ku[a-z]{3,}"
# English words that happen to fit the patterns above ("unable" is u-na-ble, "amended" a-me-nded) end
# like English words; a Swahili verb, even on an English stem ("inaload", "imecrash"), does not: Sheng
# takes the bare English stem, never an inflected form, so "-ing" ("lingering", "waking") and a plural
# or third person "-s" ("vitals", "amenities"; not "-ss" or "-us": "haijaprocess") are English.
ENGLISH_ENDING = r"(?:able|ible|ed|ized|ised|ous|ment|ity|ness|ics|ysis|ive|ing|tion|sion|[^su]s)$"
# ... and so does a doubled consonant right after the tense marker ("inaccurate", "unapproved",
# "inappropriate"): no Swahili stem, and no English stem Sheng borrows, starts with one.
ENGLISH_STEM = r"(?:ni|u|a|tu|m|mu|wa|i|zi|li|ki|vi|ya|hu)(?:na|me|li|ta|ja|ki|nge|ka)([bcdfgkprstvz])\1"

# A word in none of the lists above is English when it has an English shape: Swahili words end in a vowel
# ("haifunguki", "pole"), English ones mostly in a consonant ("status", "failed", "download", "stuck",
# "reply") or in an English ending ("inaccessible", "active"). A run of four consonants is no word at all
# ("asdfgh"). Checked after the verb forms, so a Sheng verb on an English stem ("inaload") stays Swahili.
ENGLISH_SHAPE = r"(?=[a-z]*[aeiouy])(?![a-z]*[^aeiouy]{4})[a-z]{2,}(?:[^aeiou]|able|ible|ive)"

# --- intent phrases ---------------------------------------------------------------------------------

FORGET = (
    r"(?:futa|mfute|nifute|ufute|mufute|\w*delete|erase|remove|wipe|clear)\b(?:\s+\w+){0,4}?\s+"
    r"(?:data|details|info|information|taarifa|records|history|everything|akaunti|account|kila kitu|"
    r"chat id|database)",
    r"forget (?:me|about me|my)",
    r"(?:be )?forgotten",
    r"nisahau",
    r"sahau (?:mimi|data|kila kitu)",
    # "nifute" is "erase me": the object is the writer
    r"m?nifute",
    r"sitaki (?:\w+ )?m?(?:ni)?hifadhi\w*",
)

UNSUBSCRIBE = (
    r"unsubscribe",
    r"unsub",
    r"stop (?:the )?(?:alerts?|sending|notifying|notifications?|messag\w*|updates?|texting|sms)",
    r"acha kunitumia",
    r"usinitumie",
    r"msinitumie",
    r"sitaki (?:\w+ ){0,2}?(?:arifa|messages?|alerts?|updates?|notifications?|sms|ujumbe)",
    r"(?:ondoa|toa|futa|remove|cancel|delete)\b(?:\s+\w+){0,4}?\s+"
    r"(?:arifa|alerts?|notifications?|subscriptions?|updates?)",
    r"no more (?:\w+ )?(?:alerts|messages|updates|notifications)",
    r"stop (?:\w+ ){0,2}?(?:alerts?|notifications?|updates?|arifa)",
    r"(?:zima|mute|silence|turn off|switch off|disable) (?:\w+ ){0,2}?"
    r"(?:arifa|alerts?|notifications?|updates?|messages?)",
    r"(?:dont|do not|no longer|never) (?:\w+ )?want (?:\w+ ){0,2}?(?:alerts?|updates?|notifications?|messages?|arifa)",
    r"(?:ji|ni)ondoe",
    r"^stop$",
)

SUBSCRIBE = (
    r"subscribe",
    r"sign me up",
    # nijulishe, unijulishe, tujulishe, mnijulishe; nifahamishe; Sheng "nishtue" (nudge me)
    r"\w*julishe",
    r"\w*fahamishe",
    r"\w*shtue",
    r"niwekee (?:\w+ )?(?:alert|arifa)",
    r"nieleze \w+ ikirudi",
    r"niambie (?:\w+ ){0,3}?(?:ikirudi|ikirudi on|ikifunguka|ikianza)",
    r"nitumie (?:\w+ ){0,2}?(?:arifa|alerts?|messages?|sms|updates?|notifications?|ujumbe)",
    r"notify me",
    r"alert me",
    r"let me know",
    r"tell me when",
    r"keep me (?:posted|updated|informed)",
    r"(?:weka|set|add|put) (?:an |a )?(?:alert|arifa|notification)",
    r"(?:wants?|needs?|get|send me) (?:\w+ )?(?:alerts|updates|notifications)",
    r"nataka (?:kupata )?(?:arifa|alerts|updates|notifications)",
)

LANGUAGE_NAMES = r"(?:kiswahili|swahili|kiingereza|english|sheng)"
# The word "language", or asking to be answered in one, in a message of any length ("Can you talk in
# English? I dont understand Swahili well"); a language name alone only counts in a short message.
LANGUAGE_REQUEST = (
    r"(?:lugha|language|(?:talk|speak|reply|respond|write|answer|text|chat)(?: to me| with me| me)? in "
    rf"{LANGUAGE_NAMES}|(?:ongea|jibu|nijibu|andika|niandikie|zungumza)(?: nami| na mimi)? (?:kwa )?{LANGUAGE_NAMES})"
)

# Asking for another way, a remedy or a place: the user wants to know what to do, not whether it works.
# (pattern, weight); 3 or more decides the intent on its own.
# A longer phrase must come before a shorter one it contains: the list is scanned as one alternation.
WORKAROUND: tuple[tuple[str, float], ...] = (
    # asking for another channel: "badala ya online", "instead of the app"
    (r"(?:badala ya|instead of|other than) (?:the )?(?:online|app|website|site|mtandao|portal)", 3),
    (r"(?:ni|tu)?nawezaje", 3),
    (r"(?:ni|tu)?naweza\b(?:\s+\w+){0,5}?\s+(?:aje|vipi|wapi|namna gani|nini)", 3),
    (r"(?:ni|tu)?naweza", 1.5),
    (r"(?:ni|tu)fanye (?:nini|aje|vipi|sasa)", 3),
    # "nitalipa aje?", "ninalipa vipi?": how will/do I ...
    (r"(?:ni|tu)(?:ta|na)[a-z]{3,} (?:\w+ )?(?:aje|vipi|namna gani)", 3),
    (r"what (?:can|should|do|shall) (?:i|we) do", 3),
    (r"what do i do", 3),
    (r"(?:where|how|what) else", 3),
    (r"what (?:are|r) (?:my|the) options|what options|chaguo (?:gani|lingine)", 3),
    (r"how (?:can|do|should|shall) (?:i|we)|how to", 3),
    (r"where (?:can|do|should) (?:i|we)", 3),
    (r"is there (?:an? )?(?:other|another|alternative|way)", 3),
    (r"alternatives?", 3),
    (r"njia (?:nyingine|mbadala|ingine)", 3),
    (r"kuna njia", 3),
    (r"(?:another|other|any other|different) way", 3),
    (r"instead", 2),
    (r"other than", 2),
    (r"refunds?", 3),
    (r"\w*rudishiwa", 4),
    (r"get (?:my )?money back", 4),
    (r"in person", 3),
    (r"ana kwa ana", 3),
    (r"manually", 2),
    (r"offline", 2),
    (r"bila (?:app|mtandao|internet|online)", 2),
    (r"without (?:the )?(?:app|internet|online)", 2),
    (r"(?:number|namba) (?:yangu )?ya zamani", 3),
    (r"old (?:phone )?number", 3),
    (r"changed? (?:my )?(?:phone )?number", 3),
    (r"can i", 2),
    (r"badala ya", 1),
    (r"without|bila", 1),
)

# First-person failures, error messages and third-party accounts: a report of what happened.
# As above, longer phrases first.
REPORT: tuple[tuple[str, float], ...] = (
    (r"siwezi", 3),
    (r"sipati", 3),
    (r"sijapata", 3),
    (r"sijaweza", 3),
    (r"sijapokea", 3),
    (r"nimejaribu", 2),
    (r"nimekatwa", 3),
    (r"imekatwa", 2),
    (r"nimelipa", 2),
    (r"nimetuma", 2),
    (r"i (?:cant|cannot|can not|couldnt|could not|am unable|m unable)", 3),
    (r"unable to", 2),
    (r"cant", 2),
    (r"i (?:paid|have paid|ve paid|sent)", 3),
    (r"(?:didnt|did not|havent|have not|never) (?:get|got|receive\w*)|not received|"
     r"never (?:came|comes|arrive[sd]?)", 3),
    (r"(?:wont|doesnt|does not|will not) let me", 3),
    (r"(?:nobody|no one|noone) (?:picks|answers|replies)|not picking|ha(?:wa)?pokei|hakuna anayepokea", 3),
    (r"returns? (?:nothing|an? error|blank|empty|no results)", 2),
    (r"paid", 2),
    (r"(?:im|i am|i keep|keep) getting", 3),
    (r"getting (?:a|an|the)?\s?(?:error|blank|message|page)", 3),
    (r"hawawezi|hatuwezi|hawezi", 2),
    (r"wanasema|anasema", 2),
    (r"(?:it|page|site|system) (?:says|keeps|shows)", 3),
    (r"says|saying", 2),
    (r"(?:i|u|zi|li|ki)nasema|inaniambia", 2),
    (r"keeps", 2),
    (r"inarudisha|inanirudisha", 2),
    (r"inaonyesha|inaonesha|inaleta", 2),
    (r"shows", 2),
    (r"errors?", 2),
    (r"blank", 2),
    (r"50[0-4]|404", 2),
    (r"unavailable", 2),
    (r"invalid", 2),
    (r"\w*reflect\w*", 2),
    (r"hazijaingia|haziingii|haijaingia|haiingii|hazijafika|haijafika", 3),
    (r"haiji|haziji|hazikuja|haikuja", 2),
    (r"imekataa|inakataa|rejected|declined|failed|failing|inafail|imefail|fails", 2),
    (r"timing out|times out|timed out", 2),
    (r"pending|unpaid", 2),
    (r"wrong|incorrect|inaccurate|vibaya|makosa|imekosewa|misspel\w*", 3),
    (r"unauthori[sz]ed", 2),
    (r"log(?:ged|s|ging) me out", 3),
    (r"(?:imekuja|imetoka|came|issued|got)\b(?:\s+\w+){0,5}?\s+(?:badala ya|instead of)", 3),
    (r"(?:jina|number|namba|date|details|class|picha) mbaya", 3),
    (r"ha(?:i|zi)(?:ja)?on(?:y|e)\w*|not showing|doesnt show|missing", 2),
    (r"nimekwama|nimeblock\w*|nimefungiwa", 3),
    # "nimeshindwa kulogin": I have failed to
    (r"(?:ni|tu)meshindwa", 3),
    (r"maintenance", 2),
    (r"mara mbili|twice", 1),
)

# The state of a service. Down phrases are checked first and removed, so "not working" never counts
# as "working".
STATE_DOWN = (
    r"haifanyi kazi|haifanyi|hazifanyi kazi|haziwork|haiwork|haifunguki|hazifunguki|haiendi|"
    r"haipatikani|hazipatikani|haiko on|not working|isnt working|not loading|doesnt work|dont work|"
    r"doesnt open|wont open|not opening|is down|are down|down|imekufa|zimekufa|iko chini|ziko chini|"
    r"imeenda chini|imekwama|zimekwama|umekwama|stuck|hanging|imezima|imecrash|crashed|crashing|crashes|"
    r"imeanguka|umeanguka|\w*zingua|inaccessible|"
    # Kenyan English: "mpesa is not going through", "iTax is refusing my password", "PRN not generated"
    r"not going through|(?:is|its|are) not going|not coming|refus(?:es|ed|ing)|not generat(?:ed|ing)|"
    # ... and any other verb it fails to do: "not receiving OTP", "not replying", "not being generated",
    # "not recognised", "wont generate my PRN", "rejecting my PRN", "on and off since morning"
    r"not (?:being )?[a-z]{2,}(?:ing|ed)|(?:wont|cant|doesnt|isnt) (?!be\b)[a-z]{3,}|reject(?:s|ed|ing)|"
    r"unreachable|unanswered|(?:is |iko )?on and off|"
    r"iko na shida|ina shida|shida|tatizo|matatizo|hitilafu|noma|problems?|issues?|broken|offline|imeharibika|"
    r"not responding|no response|hakuna jibu|"
    # other negative verbs of a service (class 9, 10 and 3 subjects): haiendi, haziendi, haujibu,
    # haidownload; "haina" (has no) and "haiko" (is not) say nothing on their own
    r"(?:hai|hazi|hau)(?!na\b|ko\b)[a-z]{3,}"
)
STATE_SLOW = (
    r"slow|inaload|inaloadi|loading|polepole|\w*chelewa|inachukua muda|takes forever|lagging|lag|late|"
    r"delay(?:s|ed)?|taking (?:too )?long|taking forever"
)
STATE_UP = (
    r"inafanya kazi|zinafanya kazi|inafanya|inawork|zinawork|working|works|work|iko on|ziko on|is on|"
    r"are on|iko sawa|ziko sawa|iko poa|ziko poa|up|running|online|back|imerudi|iko back|imerejea|"
    r"inapatikana|zinapatikana|wazi|open"
)
STATE_ASK = r"iko aje|ziko aje|inaendelea aje|how is|hows|status|hali ya|ni mimi tu|just me|only me|or not"

# A question starts with one of these, ends with "?", or ends with "ama"/"or" ("iko down ama?").
QUESTION_START = frozenset(
    """
    is are does do did can could will has have je kwani isnt arent any anyone hows what whats which why
    where when who mbona
    """.split()
)
# ... or ends with one of these: "iko down ama?", "ni huduma ipi", "itarudi lini"
QUESTION_END = frozenset({"ama", "or", "au", "gani", "ipi", "nini", "lini", "wapi", "vipi", "aje"})

# Help: asking what the bot is for.
HELP = (
    r"help",
    r"msaada",
    r"\w*saidi[ae]\w*",
    r"what can you do",
    r"what do you do",
    r"how (?:does|do) (?:this|it|you) (?:bot |thing |service )?work",
    r"how (?:do|can) i use",
    r"(?:una|mna)(?:weza )?(?:ku)?fanya nini",
    r"inafanyaje kazi",
    r"jinsi ya kutumia",
    r"commands|menu|options",
    r"who are you|wewe ni nani",
    r"what is this|whats this|(?:ni )?nini hii|hii (?:bot |kitu )?ni (?:ya )?nini",
    r"(?:what|who) (?:is|does) (?:this |the )?(?:hali|bot)(?: do| for)?",
    r"what can (?:this|the|hali) ?(?:bot|thing)? do",
    r"(?:bot|hali|kitu) (?:hii )?(?:inafanya|unafanya|hufanya|inatumika|inafanyaje|inasaidia) ?(?:nini|aje|vipi)?",
)
# Asking how to use the bot: help, even though "how do I" / "nawezaje" otherwise asks for a workaround.
HELP_USE = (
    r"how (?:do|can|should) i use (?:you|this|it|hali|the bot)",
    r"how to use (?:you|this|it|hali|the bot)",
    r"(?:ni|tu)?nawezaje (?:ku)?kutumia",
    r"(?:nifanyeje|jinsi ya) (?:ku)?(?:kutumia|tumia)",
    r"\w*tumia (?:hali|bot|hii bot)",
)

# Thanks, readiness of documents, personal records and schedule questions: not an outage question.
# Thanks and blessings: answered "You're welcome" when nothing else is asked.
THANKS = (
    r"\w*(?:asante|ahsante)\w*|thanks|thank you|thx|thnx|shukran\w*|\w*shukuru|cheers|mungu akubariki|"
    r"god bless|(?:much |really )?appreciated"
)

OTHER: tuple[tuple[str, float], ...] = (
    # A document being ready is a backlog question, not an outage.
    (r"(?:iko|ziko|imekuwa|is it|is|are) tayari|ready (?:for|to)|ready$|imefika|has arrived", 5),
    (r"kuchukua|collection|collect", 2),
    # Personal records the bot cannot see.
    (r"whats my|what is my|nipe (?:pin|namba|number)|(?:pin|namba|number) yangu ni", 5),
    # Fees, requirements, coverage, ownership, how long something takes: questions Hali cannot answer.
    (r"how much (?:is|does|do|are|will|would)|(?:bei|gharama) ya|\w+nagharimu|(?:pesa|shilingi|bob) ngapi|"
     r"what (?:is|are) the (?:\w+ ){0,3}?(?:fees?|charges?|cost|price)", 5),
    (r"what (?:documents|papers|requirements)|what do i need to|requirements|mahitaji|nahitaji (?:nini|vitu gani)", 5),
    (r"\w*cover\w* (?:nini|what)|what does \w+ cover", 5),
    (r"who owns|\w*nani anamiliki|who runs", 5),
    (r"how long (?:does|will|do|did)|(?:ita|ina|hu)chukua (?:muda|siku|wiki) (?:gani|ngapi)", 5),
)
# "when does X start" without a state phrase asks for a schedule, not the state of the service.
SCHEDULE = r"lini|deadline|when (?:is|does|will|do) (?:\w+ ){0,3}?(?:start|open|begin|close|deadline|due)"

# Every service at once: "huduma zote", "orodha ya huduma", "all services", "show me the services".
ALL_SERVICES = (
    r"(?:huduma|services|systems?|mifumo|system) (?:zote|yote|all)|all (?:the )?(?:government )?(?:services|systems)|"
    r"(?:orodha|list) (?:ya|of) (?:\w+ )?(?:huduma|services)|"
    r"(?:show|list|nionyeshe|onyesha|niorodheshee)\b(?:\s+\w+){0,2}?\s+(?:services|huduma)"
)

# --- services ---------------------------------------------------------------------------------------

# Aliases that are ordinary nouns ("paybill", "tokens", "pin", "id"): they name a service only when no
# service is named by its own name, and they are absorbed when they follow one ("KPLC paybill").
GENERIC_ALIASES = frozenset(
    """
    paybill pin tokens token tokeni stima id placement revision voter voters businessname logbook
    numberplate tcc prn nilreturns nilreturn landsearch landrent pollingstation companysearch
    kitambulisho inspection wapigakura mpigakura
    """.split()
)

# A service named after one of these in the same clause is context, not the subject: "kulipa KRA kama
# ecitizen iko down" asks about KRA.
CONTEXT_MARKERS = frozenset(
    """
    kama if when whenever since because coz cause bila without ikiwa endapo juu sababu unless
    """.split()
)
CONTEXT_BIGRAMS = frozenset({("other", "than"), ("instead", "of"), ("badala", "ya"), ("kwa", "sababu")})
# A service named right after one of these is the means, not the subject ("kulipa KRA kwa mpesa").
INSTRUMENT_MARKERS = frozenset({"via", "through", "thru", "using", "kwa", "with", "by", "at"})
# Words that join two names into one question about both ("KRA na eCitizen ziko down?").
COORDINATORS = frozenset({"na", "and", "or", "au", "ama", "&"})
# Clause breaks inside a sentence.
CONJUNCTIONS = frozenset({"lakini", "but", "ama", "or", "au", "then", "halafu", "alafu", "so"})

# When no service is named, a few phrases point at one service: the eCitizen account sends the OTP for
# every service inside it, double payments and refunds go through the single government paybill, and
# "in person" means a Huduma Centre.
IMPLIED_SERVICE: tuple[tuple[str, str], ...] = (
    (r"otp", "ecitizen"),
    (r"mara mbili|paid twice|twice|\w*rudishiwa|refunds?", "ecitizen"),
    (r"in person|ana kwa ana|walk in", "huduma"),
    # money sent to the wrong number is reversed by M-Pesa
    (r"(?:sent|send|tuma|nimetuma|kutuma) (?:\w+ )?(?:money|pesa|cash) (?:\w+ ){0,2}?(?:wrong|isiyo sahihi|mbaya)|"
     r"wrong number|(?:number|namba) isiyo sahihi", "mpesa"),
)

# --- symptoms, most specific first --------------------------------------------------------------------

SYMPTOMS: tuple[tuple[str, str], ...] = (
    (
        "wrong_details",
        r"wrong|incorrect|inaccurate|vibaya|makosa|imekosewa|misspel\w*|"
        r"(?:imekuja|imetoka|came|issued|got)\b(?:\s+\w+){0,5}?\s+(?:badala ya|instead of)|"
        r"(?:jina|number|namba|date|details|class|picha) mbaya",
    ),
    (
        "payment",
        r"nimelipa|nimekatwa|imekatwa|paid|pay|payment|kulipa|lipa|ku pay|pesa|deducted|\w*reflect\w*|"
        r"unpaid|invoice|receipt|transaction|refunds?|\w*rudishiwa|mara mbili|twice|paybill|"
        r"hazijaingia|haziingii|haijaingia|haiingii|organi[sz]ation",
    ),
    (
        "login_otp",
        r"otp|login|log in|ku login|sign in|password|credentials|verification code|locked|blocked|"
        r"(?:invalid|wrong|forgot|nimesahau) (?:\w+ )?(?:pin|password|code)",
    ),
    ("slow", STATE_SLOW + r"|timing out|times out|timed out"),
    (
        "site_down",
        STATE_DOWN + r"|blank|errors?|50[0-4]|404|maintenance|unavailable|inarudisha",
    ),
)
