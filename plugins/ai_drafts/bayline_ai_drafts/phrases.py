"""The template provider's per-intent texts in English and Spanish. Fields come from the fact block
only (``{stage}``, ``{eta}``...), so a template draft states nothing the facts do not say."""
from __future__ import annotations

GREETING = {"en": "Hi", "es": "Hola"}
SIGN_OFF = {"en": "Thanks, {shop_name}", "es": "Gracias, {shop_name}"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "status": "your {vehicle} is at the stage: {stage}.",
        "status_no_stage": "your {vehicle} is with us and the work is under way.",
        "status_eta": "We expect it ready on {eta}.",
        "status_no_eta": "We will tell you as soon as we have a completion date.",
        "pickup_appointment": "Your pickup is booked for {pickup}.",
        "pickup_ready": "Your {vehicle} is ready to pick up. Reply with a time that suits you.",
        "pickup_not_ready": "your {vehicle} is not ready yet. We expect it ready on {eta}.",
        "pickup_not_ready_no_eta": "your {vehicle} is not ready yet. We will text you when it is.",
        "supplement": "about the supplement: {supplement}.",
        "supplement_unknown": "we are working with {insurer} on any additional repairs and will update you as "
                              "soon as we hear back.",
        "supplement_unknown_no_insurer": "we will update you about any additional repairs as soon as we can.",
        "billing": "the balance due on your repair is {balance}.",
        "billing_unknown": "we will send you the final amount before pickup. Your advisor can go over it with you.",
        "complaint": "I am sorry about your experience. A manager will call you back as soon as possible to make "
                     "this right.",
        "other": "thanks for your message about your {vehicle}. We will get back to you shortly.",
        "portal": "Details: {portal_link}",
    },
    "es": {
        "status": "su {vehicle} está en la etapa: {stage}.",
        "status_no_stage": "su {vehicle} está con nosotros y el trabajo avanza.",
        "status_eta": "Esperamos tenerlo listo el {eta}.",
        "status_no_eta": "Le avisaremos en cuanto tengamos una fecha de entrega.",
        "pickup_appointment": "Su recogida está programada para {pickup}.",
        "pickup_ready": "Su {vehicle} está listo para recoger. Responda con la hora que le convenga.",
        "pickup_not_ready": "su {vehicle} todavía no está listo. Esperamos tenerlo listo el {eta}.",
        "pickup_not_ready_no_eta": "su {vehicle} todavía no está listo. Le avisaremos cuando lo esté.",
        "supplement": "sobre el suplemento: {supplement}.",
        "supplement_unknown": "estamos trabajando con {insurer} en las reparaciones adicionales y le avisaremos en "
                              "cuanto tengamos respuesta.",
        "supplement_unknown_no_insurer": "le informaremos sobre cualquier reparación adicional lo antes posible.",
        "billing": "el saldo pendiente de su reparación es {balance}.",
        "billing_unknown": "le enviaremos el monto final antes de la recogida. Su asesor puede revisarlo con usted.",
        "complaint": "Lamento mucho su experiencia. Un gerente le llamará lo antes posible para resolverlo.",
        "other": "gracias por su mensaje sobre su {vehicle}. Le responderemos pronto.",
        "portal": "Detalles: {portal_link}",
    },
}

# Adjuster mode (English): an update email built from the adjuster's facts.
ADJUSTER = {
    "greeting": "Hello {adjuster},",
    "subject": "An update on the {vehicle} (claim {claim_number}, our repair order {ro}).",
    "stage": "Current stage: {stage}.",
    "eta": "Estimated completion: {eta}.",
    "no_eta": "We do not have a completion date yet.",
    "supplement": "Supplement: {supplement}.",
    "estimate": "Estimate total: {estimate}.",
    "close": "Please let us know if you need anything else.",
}

WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")}
MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"),
          "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                 "noviembre", "diciembre")}


def date_words(day: object, language: str) -> str:
    """``Friday, June 5`` / ``viernes 5 de junio``."""
    weekday = WEEKDAYS.get(language, WEEKDAYS["en"])[day.weekday()]  # type: ignore[attr-defined]
    month = MONTHS.get(language, MONTHS["en"])[day.month - 1]  # type: ignore[attr-defined]
    if language == "es":
        return f"{weekday} {day.day} de {month}"  # type: ignore[attr-defined]
    return f"{weekday}, {month} {day.day}"  # type: ignore[attr-defined]
