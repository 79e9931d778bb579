"""The portal's few words, per language; English where a language has none yet."""

from __future__ import annotations

from lpdeploy.language import language_matches

TEXT: dict[str, dict[str, str]] = {
    "en": {"title": "Learning centre", "intro": "Choose a course to start learning.",
           "also": "Also in", "dir": "ltr"},
    "fr": {"title": "Centre d'apprentissage", "intro": "Choisis un cours pour commencer.",
           "also": "Aussi en", "dir": "ltr"},
    "ar": {"title": "مركز التعلّم", "intro": "اختر درسًا لتبدأ التعلّم.",
           "also": "متوفر أيضًا باللغات", "dir": "rtl"},
    "my": {"title": "သင်ယူရေးစင်တာ", "intro": "သင်ယူရန် သင်ခန်းစာတစ်ခုကို ရွေးပါ။",
           "also": "အခြားဘာသာစကားများ", "dir": "ltr"},
    "uk": {"title": "Навчальний центр", "intro": "Обери курс, щоб почати навчання.",
           "also": "Також мовами", "dir": "ltr"},
    "ru": {"title": "Учебный центр", "intro": "Выбери курс, чтобы начать учиться.",
           "also": "Также на языках", "dir": "ltr"},
    "es": {"title": "Centro de aprendizaje", "intro": "Elige un curso para empezar.",
           "also": "También en", "dir": "ltr"},
    "pt": {"title": "Centro de aprendizagem", "intro": "Escolhe um curso para começar.",
           "also": "Também em", "dir": "ltr"},
}  # fmt: skip


def portal_text(tag: str) -> dict[str, str]:
    """The words for `tag`, from the closest language that has them, else English."""
    for known, words in TEXT.items():
        if language_matches(tag, known):
            return words
    return TEXT["en"]
