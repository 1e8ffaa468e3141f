"""Rule-based intent and language of a customer's message (the template provider's, and the fallback
of the classification model)."""
from __future__ import annotations

import re
import unicodedata

INTENTS = ("status", "pickup", "supplement", "billing", "complaint", "other")
# The first rule that matches wins: a complaint about the bill is a complaint.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("complaint", ("unacceptable", "terrible", "worst", "angry", "upset", "frustrat", "complain", "ridiculous",
                   "disappoint", "manager", "awful", "inaceptable", "queja", "molest", "enojad", "pesim", "harto",
                   "decepcion", "gerente", "horrible")),
    ("supplement", ("supplement", "adjuster", "additional damage", "hidden damage", "insurance approv",
                    "suplemento", "ajustador", "dano adicional", "danos adicionales", "aprobacion del seguro")),
    ("billing", ("bill", "invoice", "pay", "owe", "deductible", "balance", "how much", "cost", "price", "charge",
                 "factura", "pagar", "pago", "deducible", "cuanto", "saldo", "cobr", "precio", "costo")),
    ("pickup", ("pick up", "pickup", "pick-up", "come get", "collect", "ready for", "is it ready", "recoger",
                "buscar", "esta listo", "esta lista", "pasar por")),
    ("status", ("status", "eta", "when", "how long", "update", "progress", "done", "finished", "ready",
                "cuando", "estado", "como va", "avance", "listo", "lista", "terminad")),
]
SPANISH = ("hola", "gracias", "cuando", "carro", "coche", "auto", "listo", "lista", "buenos", "buenas",
           "estado", "que", "mi", "usted", "factura", "recoger", "seguro", "esta", "donde", "cuanto", "necesito",
           "esto", "estoy", "es", "muy", "pero", "de", "la", "el", "su", "para", "con", "una", "por", "puedo")
ENGLISH = ("the", "my", "when", "is", "car", "thanks", "please", "ready", "what", "you", "hi", "hello", "this",
           "and", "for", "can", "i", "it", "do", "did", "how")


def fold(text: str) -> str:
    """Lower case without accents (``¿Cuándo?`` → ``¿cuando?``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def intent_of(text: str) -> str:
    folded = fold(text)
    for intent, words in RULES:
        if any(re.search(r"(?<![a-z])" + re.escape(w), folded) for w in words):
            return intent
    return "other"


def language_of(text: str, default: str = "en") -> str:
    """``es`` or ``en`` by counting common words (and ``¿``/``¡``); ``default`` when undecided."""
    if not text.strip():
        return default
    words = set(re.findall(r"[a-z]+", fold(text)))
    es = sum(1 for w in SPANISH if w in words) + 2 * (("¿" in text) + ("¡" in text))
    en = sum(1 for w in ENGLISH if w in words)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return default
