"""Read a citizen's free-text message: what they want, which service they mean, and in which language.

The reader is rule based (word lists and phrase patterns in `bot.core.lexicon`) so that every decision
can be explained and tested. It never raises and looks only at the first 500 characters.

Which service is the subject when several are named
----------------------------------------------------
1. A generic alias ("tokens", "paybill", "pin") right after a service's own name is part of that name
   ("KPLC paybill" is KPLC), and is dropped when the main clause also names a service by its own name.
2. A service named in a condition or as the means ("kama ecitizen iko down", "if iTax is down",
   "kwa mpesa", "other than eCitizen") is context. The subject is the service named outside such
   clauses: "Nawezaje kulipa KRA kama ecitizen iko down?" is about KRA.
3. One service left: it is the subject. Several different ones left: the one named in the sentence that
   asks about the state ("... page ya malipo haifunguki. Ecitizen iko down?"), else the one paid for
   when the others are what it is paid through (its `depends_on`: "KRA payment went through on M-Pesa"
   is about KRA), unless the names are joined ("KRA na eCitizen"). Otherwise none is set and they are
   offered as `candidates`, first named first. Only context services named: the same rule among them.
4. Nothing named exactly: a near spelling ("itaxx", "e-citzen") counts as the name; a farther one is
   only a candidate. Nothing named at all: a few phrases imply a service (a login OTP and a double
   payment mean eCitizen, "in person" means Huduma Centres; see `lexicon.IMPLIED_SERVICE`).

Intent
------
Explicit requests come first, in this order: forget my data, unsubscribe, subscribe, change language,
how to use Hali itself. Then a request for another way to get things done (workaround), readiness,
personal-record, fee and schedule questions (other), thanks with nothing else asked (thanks), and the
state of a service: a question about the state ("iko down?", "is X working?") is a status question,
whatever story comes with it, because the card shows the state and offers the report; a first-person
failure, an error message or a statement that it is down ("haiwork", "SHA system iko down, hospitali
wanasema ...") is a report. A bare service name is a status question, and so is asking for every service
("huduma zote", "orodha ya huduma": `all_services`). Help and greetings are recognised when nothing
else is asked.

Language
--------
Each word scores for Swahili (function words 1, verb forms such as "inafanya", "haiwork", "kulipa" 1.5)
or English (function words 1; words also used inside Swahili sentences such as "down", "system", the
words of error messages ("unpaid", "invalid"), and one-word replies such as "noted", "sorry" 0.5). A word
of verb shape is English when it ends like an inflected English word ("unable", "lingering", "vitals") or
has a doubled consonant after the tense marker ("inaccurate"): Sheng takes the bare English stem
("inaload"). Any other word in no list scores 0.5 for English when it has an English shape: Swahili words
end in a vowel, so a word ending in a consonant ("status", "failed", "download", "stuck") or in an English
ending ("inaccessible") is English. Names (services, and the Kenyan places and people of `lexicon.NAMES`:
"Kitale", "Akinyi", "Utawala", "Kiprop"), the other known words ("portal", "app", "otp" of
`lexicon.NEUTRAL_WORDS`, greeting fillers), numbers and emoji score nothing. The higher score wins, ties
go to Swahili (a sentence with Swahili grammar is Swahili even when half its nouns are English); below
half a point it is None.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from bot.catalog.model import Ambiguity, Catalog
from bot.core import lexicon as lx

__all__ = ["MAX_CHARS", "Intent", "Symptom", "Understander", "Understanding", "normalise"]

# Long messages are pasted logs or spam; the question is always near the start.
MAX_CHARS = 500


class Intent(StrEnum):
    STATUS = "status"
    WORKAROUND = "workaround"
    REPORT = "report"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    HELP = "help"
    GREETING = "greeting"
    LANGUAGE = "language"
    FORGET = "forget"
    THANKS = "thanks"
    OTHER = "other"


class Symptom(StrEnum):
    SITE_DOWN = "site_down"
    LOGIN_OTP = "login_otp"
    PAYMENT = "payment"
    WRONG_DETAILS = "wrong_details"
    SLOW = "slow"
    OTHER = "other"


@dataclass(frozen=True)
class Understanding:
    intent: Intent
    service: str | None
    candidates: tuple[str, ...]
    ambiguous: Ambiguity | None
    language: str | None
    all_services: bool = False
    symptom: Symptom | None = None
    mentioned: tuple[str, ...] = ()
    # A report that may as well be a status question: a service said to be down and nothing more ("mpesa
    # iko down", no first person, no error text). It is answered with the card, which shows the state
    # and offers the report, rather than by starting the report flow.
    unsure: bool = False


# --- normalisation ----------------------------------------------------------------------------------

# Combining accents (after NFKD) and invisible format characters (zero-width space/joiner, BOM,
# direction marks) are dropped so "ecitizen\u200b" and "eCitízen" read as "ecitizen".
_INVISIBLE = re.compile(r"[\u0300-\u036f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_APOSTROPHES = re.compile(r"['’‘`´]")
# "-", "_" and "." inside a word join its parts the same way a space does: e-citizen, i_tax, sha.go.ke.
_JOINERS = re.compile(r"[-_]|\.(?=\w)")
# USSD codes keep their "*" and "#"; other tokens are letters and digits; punctuation ends a sentence.
_TOKEN = re.compile(r"\*[0-9*]+#|[a-z0-9]+|[?!.;:,\n]")
_SENTENCE_END = frozenset("?!.;:\n")


@dataclass(frozen=True)
class _Text:
    tokens: tuple[str, ...]
    sentence: tuple[int, ...]  # sentence index of each token
    clause: tuple[int, ...]  # clause index: sentences split further at commas and conjunctions
    questions: tuple[bool, ...]  # per sentence
    flat: str  # the tokens joined by spaces, with " . " between sentences so no phrase spans two
    starts: tuple[int, ...]  # where each token starts in `flat`


def normalise(text: str) -> str:
    """The form messages and aliases are compared in: lower case, no accents, single spaces."""
    return " ".join(_tokenise(text).tokens)


def _clean(text: str) -> str:
    text = text[:MAX_CHARS]
    if not text.isascii():
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKD", text))
    text = _APOSTROPHES.sub("", text.casefold())
    return _JOINERS.sub(" ", text)


def _tokenise(text: str) -> _Text:
    tokens: list[str] = []
    sentence_of: list[int] = []
    clause_of: list[int] = []
    questions: list[bool] = []
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    sentence = clause = 0
    first = 0  # index of the current sentence's first token

    for match in _TOKEN.finditer(_clean(text)):
        tok = match.group()
        if tok in _SENTENCE_END or tok == ",":
            clause += 1
            if tok != "," and first < len(tokens):
                questions.append(_is_question(tokens[first:], tok))
                sentence += 1
                first = len(tokens)
                parts.append(".")
                offset += 2
            continue
        if tok in lx.CONJUNCTIONS:
            clause += 1
        tokens.append(tok)
        sentence_of.append(sentence)
        clause_of.append(clause)
        starts.append(offset)
        parts.append(tok)
        offset += len(tok) + 1
    if first < len(tokens):
        questions.append(_is_question(tokens[first:], ""))
    elif parts:
        parts.pop()  # a trailing sentence mark
    return _Text(tuple(tokens), tuple(sentence_of), tuple(clause_of), tuple(questions), " ".join(parts), tuple(starts))


def _is_question(words: list[str], mark: str) -> bool:
    # Asked with "?", opened like a question ("is", "kwani", "je"), or closed like one ("ama", "lini").
    return mark == "?" or words[0] in lx.QUESTION_START or words[-1] in lx.QUESTION_END


# Phrases are tried only where a word starts, which is much cheaper than at every character.
_EDGE_RIGHT = r"(?![\w*#])"


def _matches(regex: re.Pattern[str], text: _Text) -> Iterator[tuple[int, re.Match[str]]]:
    """Non-overlapping matches starting at word starts, with the index of the word they start at."""
    end = 0
    for index, pos in enumerate(text.starts):
        if pos < end:
            continue
        match = regex.match(text.flat, pos)
        if match is not None:
            end = match.end()
            yield index, match


class _Weighted:
    """A weighted phrase list scanned in one pass; each phrase counts once however often it occurs."""

    def __init__(self, patterns: Sequence[tuple[str, float]]) -> None:
        self._weights = tuple(w for _, w in patterns)
        body = "|".join(f"(?P<p{i}>{p})" for i, (p, _) in enumerate(patterns))
        self._regex = re.compile("(?:" + body + ")" + _EDGE_RIGHT)

    def score(self, text: _Text) -> float:
        groups = {m.lastgroup for _, m in _matches(self._regex, text)}
        return sum(self._weights[int(g[1:])] for g in groups if g)


# Explicit requests, scanned together; the kinds found are ranked afterwards in `_intent`.
_REQUESTS = re.compile(
    "(?:"
    + "|".join(
        f"(?P<{name}>{'|'.join(patterns)})"
        for name, patterns in (
            ("forget", lx.FORGET),
            ("unsubscribe", lx.UNSUBSCRIBE),
            ("subscribe", lx.SUBSCRIBE),
            ("language", (lx.LANGUAGE_REQUEST,)),
            ("language_name", (lx.LANGUAGE_NAMES,)),
            ("help_use", lx.HELP_USE),
            ("help", lx.HELP),
            ("schedule", (lx.SCHEDULE,)),
            ("all_services", (lx.ALL_SERVICES,)),
        )
    )
    + ")"
    + _EDGE_RIGHT
)
# Down and slow come first in the alternation, so "not working" and "haiko on" are read as down before
# "working" or "iko on" can match inside them.
_STATE = re.compile(
    f"(?:(?P<down>{lx.STATE_DOWN})|(?P<slow>{lx.STATE_SLOW})|(?P<up>{lx.STATE_UP})|(?P<ask>{lx.STATE_ASK}))"
    + _EDGE_RIGHT
)
_WORKAROUND = _Weighted(lx.WORKAROUND)
_REPORT = _Weighted(lx.REPORT)
_OTHER = _Weighted(lx.OTHER)
_THANKS = re.compile(rf"(?<![\w*#])(?:{lx.THANKS}){_EDGE_RIGHT}")
_GREETING_PHRASES = re.compile(rf"(?<![\w*#])(?:{lx.GREETING_PHRASES}){_EDGE_RIGHT}")
_IMPLIED = tuple((re.compile(rf"(?<!\w)(?:{p})(?!\w)"), sid) for p, sid in lx.IMPLIED_SERVICE)
_SYMPTOMS = tuple((re.compile(rf"(?<!\w)(?:{p})(?!\w)"), Symptom(name)) for name, p in lx.SYMPTOMS)
_SW_VERB = re.compile(rf"(?:{lx.SWAHILI_VERB}|{lx.SWAHILI_NEGATIVE}|{lx.SWAHILI_INFINITIVE})")
_SW_NEGATIVE = re.compile(lx.SWAHILI_NEGATIVE)
_ENGLISH_ENDING = re.compile(lx.ENGLISH_ENDING)
_ENGLISH_STEM = re.compile(lx.ENGLISH_STEM)
_ENGLISH_SHAPE = re.compile(lx.ENGLISH_SHAPE)

_KNOWN_WORDS = (
    lx.SWAHILI_WORDS
    | lx.ENGLISH_WORDS
    | lx.ENGLISH_LOANWORDS
    | lx.NEUTRAL_WORDS
    | lx.NAMES
    | lx.GREETINGS_SW
    | lx.GREETINGS_EN
    | lx.GREETING_FILLERS
)
_GREETING_WORDS = lx.GREETINGS_SW | lx.GREETINGS_EN
_SHORT_ALIAS = 3  # aliases this short ("kra", "dl", "pcc") match only a whole token, never fuzzily
_MAX_NGRAM = 5
_MEMO_SIZE = 4096


# --- services ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alias:
    service: str
    generic: bool


@dataclass(frozen=True)
class _Mention:
    service: str
    start: int
    end: int
    generic: bool
    context: bool


class Understander:
    """Built once per catalogue; `understand` is then cheap (well under a millisecond)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._aliases: dict[str, _Alias] = {}
        self._ambiguous: dict[str, Ambiguity] = {}
        # The words of names of several words: "national" is the first word of "national id", not a typo.
        self._parts: dict[str, frozenset[str]] = {}
        longest = 1
        for service in catalog.services:
            for alias in service.aliases:
                tokens = _tokenise(alias).tokens
                key = "".join(tokens)
                if not key:
                    continue
                longest = max(longest, len(tokens))
                if len(tokens) > 1:
                    self._parts[key] = self._parts.get(key, frozenset()) | frozenset(tokens)
                # The first service to claim a name keeps it: the catalogue order is the tie-break.
                self._aliases.setdefault(key, _Alias(service.id, key in lx.GENERIC_ALIASES))
        for amb in catalog.ambiguous:
            key = "".join(_tokenise(amb.term).tokens)
            if key and key not in self._aliases:
                self._ambiguous[key] = amb
        self._max_ngram = min(longest, _MAX_NGRAM)
        self._prefixes = frozenset(
            key[:j] for key in (*self._aliases, *self._ambiguous) for j in range(1, len(key) + 1)
        )
        # Only names of four letters or more are fuzzy-matched, and only letters: codes must be exact.
        fuzzy_keys = [k for k in self._aliases if len(k) > _SHORT_ALIAS and k.isalpha()]
        # Names within three letters of a word's length: the only ones close enough to be its typo.
        self._fuzzy_keys = {
            size: tuple(k for k in fuzzy_keys if abs(len(k) - size) <= 3)
            for size in range(1, max(map(len, fuzzy_keys), default=0) + 4)
        }
        # Words recur across messages; a bounded memo keeps repeated typos and unknown words cheap.
        self._fuzzy_memo: dict[str, tuple[_Alias | None, tuple[str, ...]]] = {}

    # -- public ---------------------------------------------------------------------------------------

    def understand(self, text: str) -> Understanding:
        try:
            return self._understand(text if isinstance(text, str) else "")
        except Exception:  # pragma: no cover - a message must never crash the bot
            return Understanding(Intent.OTHER, None, (), None, None)

    def match_service(self, text: str) -> tuple[str | None, tuple[str, ...]]:
        """For command arguments ("/status itaxx"): the best service id or None, and candidates."""
        try:
            parsed = _tokenise(text if isinstance(text, str) else "")
            mentions, _, ambiguous, candidates = self._find_services(parsed)
        except Exception:  # pragma: no cover
            return None, ()
        service, more = _subject(mentions, parsed, frozenset(), self._catalog)
        if service is None and ambiguous is not None:
            return None, tuple(dict.fromkeys((*more, *ambiguous.services, *candidates)))
        return service, more or candidates

    # -- internals ------------------------------------------------------------------------------------

    def _understand(self, text: str) -> Understanding:
        parsed = _tokenise(text)
        if not parsed.tokens:
            return Understanding(Intent.OTHER, None, (), None, None)
        mentions, consumed, ambiguous, weak = self._find_services(parsed)
        found = list(_matches(_REQUESTS, parsed))
        requests = {match.lastgroup for _, match in found}
        # "When does KUCCPS revision open?": the verb of a schedule question is not the state.
        schedule = [match.span() for _, match in found if match.lastgroup == "schedule"]
        states = _states(parsed, schedule)
        service, several = _subject(mentions, parsed, states.asked, self._catalog)
        mentioned = tuple(dict.fromkeys(m.service for m in mentions))
        candidates = several or (weak if service is None else ())
        flat = parsed.flat
        if service is None and not candidates and ambiguous is None:
            service = self._implied(flat)
        named = bool(service or candidates or ambiguous)

        intent, unsure = _intent(parsed, named, requests, states)
        if ambiguous is not None and service is not None:
            ambiguous = None
        symptom: Symptom | None = None
        if intent in (Intent.REPORT, Intent.WORKAROUND):
            # Names are not symptoms: the "pesa" in "M-Pesa" is no payment problem.
            words = " ".join(t for i, t in enumerate(parsed.tokens) if i not in consumed)
            symptom = next((s for p, s in _SYMPTOMS if p.search(words)), None)
            if symptom is None and intent is Intent.REPORT:
                symptom = Symptom.OTHER
        return Understanding(
            intent=intent,
            service=service,
            candidates=candidates,
            ambiguous=ambiguous,
            language=_language(parsed, consumed, intent),
            all_services=not named and (intent is Intent.UNSUBSCRIBE or (
                intent in (Intent.STATUS, Intent.SUBSCRIBE) and "all_services" in requests)),
            symptom=symptom,
            mentioned=mentioned,
            unsure=unsure and service is not None,
        )

    def _implied(self, flat: str) -> str | None:
        for pattern, sid in _IMPLIED:
            if sid in self._catalog and pattern.search(flat):
                return sid
        return None

    def _find_services(self, parsed: _Text) -> tuple[list[_Mention], set[int], Ambiguity | None, tuple[str, ...]]:
        tokens = parsed.tokens
        n = len(tokens)
        found: list[tuple[str, int, int, bool]] = []
        consumed: set[int] = set()
        ambiguous: Ambiguity | None = None
        i = 0
        # Exact names first, longest first: "huduma namba" before "huduma", "kra pin" before "kra".
        # Tokens are glued while the glued text is still the start of some name, so "e citizen",
        # "e-citizen" and "ecitizen" are one name and most words cost a single set look-up.
        while i < n:
            best: tuple[int, _Alias | Ambiguity] | None = None
            key = ""
            for j in range(i, min(n, i + self._max_ngram)):
                if parsed.sentence[j] != parsed.sentence[i]:
                    break
                key += tokens[j]
                if key not in self._prefixes:
                    break
                if j > i and len(key) <= _SHORT_ALIAS:
                    continue
                hit = self._aliases.get(key) or self._ambiguous.get(key)
                if hit is not None:
                    best = (j + 1, hit)
            if best is None:
                i += 1
                continue
            end, hit = best
            if isinstance(hit, _Alias):
                found.append((hit.service, i, end, hit.generic))
            else:
                ambiguous = ambiguous or hit
            consumed.update(range(i, end))
            i = end

        # Then typos, only on words that are not known words.
        weak: list[str] = []
        i = 0
        while i < n:
            if i in consumed or not _fuzzy_candidate(tokens[i]):
                i += 1
                continue
            attempts = [(tokens[i], i + 1)]
            if (
                i + 1 < n
                and i + 1 not in consumed
                and parsed.sentence[i + 1] == parsed.sentence[i]
                and _fuzzy_candidate(tokens[i + 1])
            ):
                attempts.insert(0, (tokens[i] + tokens[i + 1], i + 2))
            matched = False
            for word, end in attempts:
                if len(word) <= _SHORT_ALIAS:
                    continue
                strong, close = self._fuzzy(word)
                if strong is not None:
                    found.append((strong.service, i, end, strong.generic))
                    consumed.update(range(i, end))
                    i = end
                    matched = True
                    break
                weak.extend(close)
            if not matched:
                i += 1

        found.sort(key=lambda f: f[1])
        mentions = _with_roles(parsed, found)
        return mentions, consumed, ambiguous, tuple(dict.fromkeys(weak))

    def _fuzzy(self, word: str) -> tuple[_Alias | None, tuple[str, ...]]:
        """A typo of a name: one slip in names up to 7 letters, two in longer ones.

        In four-letter names only an extra or swapped letter counts ("itaxx", "nsfs"); a different
        letter makes another word too often ("tips" is not "tims"). A name one slip further away, or
        with a different first letter, is only offered as a candidate. One whole word of a name of several
        words ("national" of "national id") is a word of its own, not a slip.
        """
        memo = self._fuzzy_memo.get(word)
        if memo is not None:
            return memo
        keys = self._fuzzy_keys.get(len(word), ())
        hits = process.extract(word, keys, scorer=OSA.distance, score_cutoff=3, limit=8)
        strong: _Alias | None = None
        close: list[str] = []
        for key, dist, _ in sorted(hits, key=lambda h: (h[1], -len(h[0]))):
            if word in self._parts.get(key, ()):
                continue
            allowed = 1 if len(key) <= 7 else 2
            if len(key) == 4 and dist == 1:
                plausible = Indel.distance(word, key) == 1 or sorted(word) == sorted(key)
            else:
                plausible = dist <= allowed
            alias = self._aliases[key]
            if strong is None and plausible and word[0] == key[0] and abs(len(word) - len(key)) <= allowed:
                strong = alias
            elif len(word) >= 5 and len(key) >= 5 and dist <= allowed + 1:
                close.append(alias.service)
        result = (strong, tuple(close))
        if len(self._fuzzy_memo) >= _MEMO_SIZE:
            self._fuzzy_memo.clear()
        self._fuzzy_memo[word] = result
        return result


def _fuzzy_candidate(token: str) -> bool:
    # Known words never become a service name, however close ("help" is one letter from "helb"), and
    # neither do negative verbs ("haiji" is not "uhamiaji").
    return token.isalpha() and token not in _KNOWN_WORDS and not _SW_NEGATIVE.fullmatch(token)


def _with_roles(parsed: _Text, found: list[tuple[str, int, int, bool]]) -> list[_Mention]:
    tokens = parsed.tokens
    mentions: list[_Mention] = []
    for service, start, end, generic in found:
        prev = mentions[-1] if mentions else None
        # "KPLC paybill", "IEBC voter verification": a generic noun right after a name belongs to it.
        if generic and prev is not None and prev.end == start and not prev.generic:
            continue
        clause = parsed.clause[start]
        # A condition marker ("kama", "if") governs the first service after it in its clause only:
        # in "kama mpesa iko down nitalipa aje tokens" the condition is about M-Pesa, the question
        # about tokens.
        since = prev.end if prev is not None and parsed.clause[prev.start] == clause else 0
        before = [j for j in range(since, start) if parsed.clause[j] == clause]
        context = any(tokens[j] in lx.CONTEXT_MARKERS for j in before) or any(
            (tokens[j], tokens[j + 1]) in lx.CONTEXT_BIGRAMS for j in before[:-1]
        )
        k = start - 1
        while k >= 0 and tokens[k] in {"the", "my", "ya", "a"} and parsed.clause[k] == clause:
            k -= 1
        if k >= 0 and parsed.clause[k] == clause and tokens[k] in lx.INSTRUMENT_MARKERS:
            context = True
        mentions.append(_Mention(service, start, end, generic, context))
    return mentions


def _subject(
    mentions: list[_Mention], parsed: _Text, asked: frozenset[int], catalog: Catalog
) -> tuple[str | None, tuple[str, ...]]:
    """The one service the message is about, or several candidates (see the module docstring)."""
    main = [m for m in mentions if not m.context]
    pool = main or mentions
    specific = [m for m in pool if not m.generic] or pool
    ids = tuple(dict.fromkeys(m.service for m in specific))
    if len(ids) == 1:
        return ids[0], ()
    if len(ids) > 1:
        # The sentence that asks about the state names the subject: "… page ya malipo haifunguki.
        # Ecitizen iko down?" is about eCitizen.
        in_question = tuple(dict.fromkeys(m.service for m in specific if parsed.sentence[m.start] in asked))
        if len(in_question) == 1:
            return in_question[0], ()
        # The service paid for, not the one it is paid through: "KRA payment went through on M-Pesa
        # but iTax shows nothing" is about KRA. Services named side by side ("KRA na eCitizen") stay
        # candidates.
        if not _coordinated(parsed, specific):
            paid_for = [sid for sid in ids if sid in catalog and all(
                other == sid or other in catalog[sid].depends_on for other in ids)]
            if len(paid_for) == 1:
                return paid_for[0], ()
    return None, ids


def _coordinated(parsed: _Text, mentions: list[_Mention]) -> bool:
    """Two names joined by "na", "and", "or", "au" or a comma, with nothing else between them."""
    for a, b in itertools.pairwise(mentions):
        between = parsed.tokens[a.end:b.start]
        if a.service != b.service and (
            len(between) <= 1 and all(t in lx.COORDINATORS for t in between) and parsed.clause[a.start] in (
                parsed.clause[b.start], parsed.clause[b.start] - 1)
        ):
            return True
    return False


# --- intent -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _States:
    """Which sentences say a service is down or slow, which say it works or ask how it is, and
    which of those sentences are questions."""

    down: frozenset[int]
    up: frozenset[int]
    asked: frozenset[int]


def _states(parsed: _Text, skip: Sequence[tuple[int, int]] = ()) -> _States:
    down: set[int] = set()
    up: set[int] = set()
    for index, match in _matches(_STATE, parsed):
        if any(start <= match.start() < end for start, end in skip):
            continue
        (down if match.lastgroup in ("down", "slow") else up).add(parsed.sentence[index])
    asked = frozenset(i for i in down | up if parsed.questions[i])
    return _States(frozenset(down), frozenset(up), asked)


def _intent(parsed: _Text, named: bool, requests: set[str | None], states: _States) -> tuple[Intent, bool]:
    """The intent, and whether it is an unsure report (see `Understanding.unsure`)."""
    intent = _request_intent(parsed, named, requests)
    if intent is not None:
        return intent, False
    report = _REPORT.score(parsed)
    intent = _free_intent(parsed, named, requests, states, report)
    # Only the statement that it is down says this is a report: it may as well be a question.
    return intent, intent is Intent.REPORT and report == 0


def _request_intent(parsed: _Text, named: bool, requests: set[str | None]) -> Intent | None:
    if "forget" in requests:
        return Intent.FORGET
    if "unsubscribe" in requests:
        return Intent.UNSUBSCRIBE
    if "subscribe" in requests:
        return Intent.SUBSCRIBE
    # "Kiswahili tafadhali": a language name alone in a short message is a request to switch.
    if "language" in requests or (not named and len(parsed.tokens) <= 8 and "language_name" in requests):
        return Intent.LANGUAGE
    # "How do I use this?" asks about Hali itself, not for another way to reach a service.
    if "help_use" in requests and not named:
        return Intent.HELP
    return None


def _free_intent(parsed: _Text, named: bool, requests: set[str | None], states: _States, report: float) -> Intent:
    if _WORKAROUND.score(parsed) >= 3:
        return Intent.WORKAROUND
    other = _OTHER.score(parsed)
    if other >= 5 or (other >= 3 and not any(parsed.questions)):
        return Intent.OTHER
    # Thanks without a question, a failure or a service ("asante sana kwa msaada", "thanks, it's
    # working now") is answered "You're welcome".
    if (not named and not states.down and report == 0 and not any(parsed.questions)
            and _THANKS.search(parsed.flat)):
        return Intent.THANKS
    wants_help = "help" in requests or "help_use" in requests
    if not named and report == 0 and wants_help:
        return Intent.HELP

    # The state of a service: asked about, it is a status question, whatever story comes with it (the
    # card shows the state and offers the report); stated ("helb *642# haiwork"), it is a report.
    if states.asked:
        return Intent.STATUS
    if states.down:
        return Intent.REPORT
    if not states.up and "schedule" in requests:
        return Intent.OTHER
    if report:
        return Intent.REPORT
    if wants_help and not named:
        return Intent.HELP
    if named:
        return Intent.OTHER if other >= 3 else Intent.STATUS
    if "all_services" in requests:
        return Intent.STATUS
    words = _GREETING_PHRASES.sub(" ", parsed.flat).split()
    # "Good morning from Kitale", "Hello Hali, Akinyi here": names and where the writer is stay a greeting.
    if all(t in _GREETING_WORDS or t in lx.GREETING_FILLERS or t in lx.NAMES or t == "." for t in words) and (
        len(words) < len(parsed.flat.split()) or any(t in _GREETING_WORDS for t in words)
    ):
        return Intent.GREETING
    return Intent.OTHER


# --- language ---------------------------------------------------------------------------------------


def _language(parsed: _Text, consumed: set[int], intent: Intent) -> str | None:
    sw = en = 0.0
    for index, tok in enumerate(parsed.tokens):
        if index in consumed or tok in lx.NAMES:
            continue
        if tok in lx.SWAHILI_WORDS:
            sw += 1
        elif tok in lx.ENGLISH_WORDS:
            en += 1
        elif tok in lx.ENGLISH_LOANWORDS:
            en += 0.5
        elif intent is Intent.GREETING and tok in lx.GREETINGS_SW:
            # "form", "sema": Sheng greetings that are ordinary words elsewhere
            sw += 1
        elif _swahili_verb(tok):
            sw += 1.5
        elif tok not in _KNOWN_WORDS and _ENGLISH_SHAPE.fullmatch(tok):
            en += 0.5
    if max(sw, en) < 0.5:
        return None
    return "sw" if sw >= en else "en"


def _swahili_verb(tok: str) -> bool:
    """A Swahili verb form ("inafanya", "haiwork", "kulipa"), not an English word of the same shape."""
    return (tok.isalpha() and _SW_VERB.fullmatch(tok) is not None and not _ENGLISH_ENDING.search(tok)
            and not _ENGLISH_STEM.match(tok))
