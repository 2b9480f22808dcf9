"""Languages this service accepts for Custom NER projects and documents.

The list follows Microsoft's Custom NER language-support page (``custom-named-entity-recognition/
language-support.md``), with two deliberate differences:

* Languages written without spaces between words whose spaCy tokenizer needs extra packages that we do
  not ship (Japanese ``ja``: SudachiPy; Thai ``th``: PyThaiNLP; Khmer ``km``, Lao ``lo``, Burmese ``my``:
  no spaCy support) are left out. Their fallback, spaCy's multi-language ``xx`` tokenizer, splits on
  whitespace only, so labels inside a sentence could never be aligned to tokens and a model could not
  be trained. Korean and Vietnamese separate words with spaces, so the ``xx`` fallback trains.
* ``en`` is listed next to ``en-us``: Microsoft's own loan-agreement sample project uses ``"language": "en"``.

Codes compare case-insensitively (``zh-Hans`` == ``zh-hans``); a few aliases that Azure's other
language pages accept (``zh``, ``no``, ``pt``, ``en-gb``...) are accepted too (:data:`LANGUAGE_ALIASES`).
"""

from __future__ import annotations

# (languageCode, languageName), in the order of the documentation table.
SUPPORTED_LANGUAGES: list[tuple[str, str]] = [
    ("af", "Afrikaans"),
    ("am", "Amharic"),
    ("ar", "Arabic"),
    ("as", "Assamese"),
    ("az", "Azerbaijani"),
    ("be", "Belarusian"),
    ("bg", "Bulgarian"),
    ("bn", "Bengali"),
    ("br", "Breton"),
    ("bs", "Bosnian"),
    ("ca", "Catalan"),
    ("cs", "Czech"),
    ("cy", "Welsh"),
    ("da", "Danish"),
    ("de", "German"),
    ("el", "Greek"),
    ("en", "English"),
    ("en-us", "English (US)"),
    ("eo", "Esperanto"),
    ("es", "Spanish"),
    ("et", "Estonian"),
    ("eu", "Basque"),
    ("fa", "Persian"),
    ("fi", "Finnish"),
    ("fr", "French"),
    ("fy", "Western Frisian"),
    ("ga", "Irish"),
    ("gd", "Scottish Gaelic"),
    ("gl", "Galician"),
    ("gu", "Gujarati"),
    ("ha", "Hausa"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("hr", "Croatian"),
    ("hu", "Hungarian"),
    ("hy", "Armenian"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("jv", "Javanese"),
    ("ka", "Georgian"),
    ("kk", "Kazakh"),
    ("kn", "Kannada"),
    ("ko", "Korean"),
    ("ku", "Kurdish (Kurmanji)"),
    ("ky", "Kyrgyz"),
    ("la", "Latin"),
    ("lt", "Lithuanian"),
    ("lv", "Latvian"),
    ("mg", "Malagasy"),
    ("mk", "Macedonian"),
    ("ml", "Malayalam"),
    ("mn", "Mongolian"),
    ("mr", "Marathi"),
    ("ms", "Malay"),
    ("ne", "Nepali"),
    ("nl", "Dutch"),
    ("nb", "Norwegian (Bokmal)"),
    ("or", "Odia"),
    ("pa", "Punjabi"),
    ("pl", "Polish"),
    ("ps", "Pashto"),
    ("pt-br", "Portuguese (Brazil)"),
    ("pt-pt", "Portuguese (Portugal)"),
    ("ro", "Romanian"),
    ("ru", "Russian"),
    ("sa", "Sanskrit"),
    ("sd", "Sindhi"),
    ("si", "Sinhala"),
    ("sk", "Slovak"),
    ("sl", "Slovenian"),
    ("so", "Somali"),
    ("sq", "Albanian"),
    ("sr", "Serbian"),
    ("su", "Sundanese"),
    ("sv", "Swedish"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("te", "Telugu"),
    ("tl", "Filipino"),
    ("tr", "Turkish"),
    ("ug", "Uyghur"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("uz", "Uzbek"),
    ("vi", "Vietnamese"),
    ("xh", "Xhosa"),
    ("yi", "Yiddish"),
    ("zh-hans", "Chinese (Simplified)"),
    ("zu", "Zulu"),
]

# Other spellings accepted for a supported language (lower case) -> the listed code.
LANGUAGE_ALIASES: dict[str, str] = {
    "en-gb": "en",
    "en-au": "en",
    "en-ca": "en",
    "en-in": "en",
    "zh": "zh-hans",
    "zh-cn": "zh-hans",
    "no": "nb",
    "pt": "pt-pt",
    "fil": "tl",
}

_SUPPORTED_CODES = {code for code, _ in SUPPORTED_LANGUAGES}


def normalize_language(code: str) -> str | None:
    """The listed code for a language code (case-insensitive, aliases resolved), or None if unsupported."""
    lowered = code.strip().lower()
    if lowered in _SUPPORTED_CODES:
        return lowered
    return LANGUAGE_ALIASES.get(lowered)


def is_supported_language(code: str) -> bool:
    """True if documents in this language can be imported and trained."""
    return normalize_language(code) is not None
