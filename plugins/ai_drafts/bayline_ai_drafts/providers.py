"""The two bundled draft providers (hook ``draft_provider``).

``template`` (the default): deterministic, offline; the intent by rules, a per-intent text in the
customer's language filled only from the fact block. ``openai_compatible``: the Chat Completions wire
format through the official ``openai`` client with a ``base_url`` (OpenAI, Azure, vLLM, Ollama,
llama.cpp server, LM Studio); the model is checked against the endpoint's ``/models`` list first."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from bayline.plugin_api import ClaimFact, DraftRequest, DraftResult, Refused, message_templates

from . import intents, phrases

FORMAL_GREETING = {"en": {"casual": "Hi", "neutral": "Hello", "formal": "Good day"},
                   "es": {"casual": "Hola", "neutral": "Hola", "formal": "Buen día"}}


def _fact(request: DraftRequest, key: str) -> str:
    found = next((f for f in request.facts if f.key == key or f.key.endswith("." + key)), None)
    if found is None:
        return ""
    return re.sub(r"\s*\(\d{4}-\d{2}-\d{2}\)$", "", found.value)  # the ETA's ISO date is for checking


class TemplateProvider:
    """Rule-based intent, per-intent templates in English and Spanish, filled from the facts."""

    name = "template"
    external = False

    def greeting(self, request: DraftRequest) -> str:
        lang = request.language if request.language in phrases.TEXTS else "en"
        chosen = str(request.tone.get("greeting") or "").strip()
        word = chosen or FORMAL_GREETING[lang].get(str(request.tone.get("formality") or "casual"), "Hi")
        first = _fact(request, "customer_first_name")
        return f"{word} {first}," if first else f"{word},"

    def adjuster(self, request: DraftRequest) -> DraftResult:
        t = phrases.ADJUSTER
        values = {"adjuster": _fact(request, "adjuster_name") or "", "vehicle": _fact(request, "vehicle"),
                  "claim_number": _fact(request, "insurer_claim_number") or "-", "ro": _fact(request, "claim.number"),
                  "stage": _fact(request, "claim.stage"), "eta": _fact(request, "eta"),
                  "supplement": _fact(request, "supplement_status"), "estimate": _fact(request, "estimate_total")}
        lines = [t["greeting"].replace(" {adjuster}", f" {values['adjuster']}" if values["adjuster"] else ""),
                 t["subject"], t["stage"], t["eta"] if values["eta"] else t["no_eta"]]
        lines += [t[k] for k in ("supplement", "estimate") if values[k]]
        lines.append(t["close"])
        sign = str(request.tone.get("sign_off") or "").strip() or "Thanks, {shop_name}"
        text = "\n".join(line.format(**values) for line in lines)
        return DraftResult(text=text + "\n" + sign.replace("{shop_name}", _fact(request, "shop.name")),
                           intent="update", model="template")

    def draft(self, request: DraftRequest) -> DraftResult:
        if request.mode == "adjuster":
            return self.adjuster(request)
        lang = request.language if request.language in phrases.TEXTS else "en"
        texts = phrases.TEXTS[lang]
        intent = request.intent or intents.intent_of(request.incoming)
        values = {"vehicle": _fact(request, "vehicle") or ("su vehículo" if lang == "es" else "your vehicle"),
                  "stage": _fact(request, "stage"), "eta": _fact(request, "eta"),
                  "insurer": _fact(request, "insurer"), "balance": _fact(request, "balance"),
                  "supplement": _fact(request, "supplement_status"), "pickup": _fact(request, "pickup_appointment"),
                  "portal_link": "{portal_link}"}
        ready = _fact(request, "ready_for_pickup").lower() in ("yes", "true", "sí", "si")
        parts: list[str] = []
        if intent == "status":
            parts.append(texts["status"] if values["stage"] else texts["status_no_stage"])
            parts.append(texts["status_eta"] if values["eta"] else texts["status_no_eta"])
        elif intent == "pickup":
            if values["pickup"]:
                parts.append(texts["pickup_appointment"])
            elif ready:
                parts.append(texts["pickup_ready"])
            else:
                parts.append(texts["pickup_not_ready"] if values["eta"] else texts["pickup_not_ready_no_eta"])
        elif intent == "supplement":
            parts.append(texts["supplement"] if values["supplement"] else
                         texts["supplement_unknown"] if values["insurer"] else texts["supplement_unknown_no_insurer"])
        elif intent == "billing":
            parts.append(texts["billing"] if values["balance"] else texts["billing_unknown"])
        elif intent == "complaint":
            parts.append(texts["complaint"])
        else:
            parts.append(texts["other"])
        body = " ".join(p.format(**values) for p in parts)
        sign = str(request.tone.get("sign_off") or "").strip() or phrases.SIGN_OFF[lang]
        sign = sign.replace("{shop_name}", _fact(request, "shop.name") or _fact(request, "name"))
        emoji = " 🙂" if request.tone.get("emoji") and intent != "complaint" else ""
        pieces = [self.greeting(request), body[:1].upper() + body[1:] if intent == "complaint" else body]
        text = " ".join(pieces) + emoji + f"\n{sign}"
        limit = int(request.tone.get("max_sms_segments") or 0)
        if request.feature == "sms_reply" and limit and message_templates.segments(text)["segments"] > limit:
            text = " ".join(pieces) + emoji  # the sign-off goes first when the text is too long
        return DraftResult(text=text, intent=intent, model="template")


def check_base_url(value: str) -> str:
    """A usable endpoint: ``http(s)://host[:port]/path`` (the path usually ends in ``/v1``)."""
    value = (value or "").strip()
    if not value:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("an http:// or https:// address such as https://api.openai.com/v1")
    return value.rstrip("/")


SYSTEM = """You draft {what} for {shop}, a collision repair shop. Staff review and edit every draft before it is sent.
Rules:
- Use ONLY the facts below. Never invent a date, weekday, time, amount, phone number, link or reference number.
  If the customer asks for something the facts do not answer, say the shop will check and get back to them.
- Write in {language}.
- Tone: {formality}{emoji}. Greeting: "{greeting}". Sign-off: "{sign_off}".
{length}
Facts:
{facts}
{examples}"""

LANGUAGES = {"en": "English", "es": "Spanish"}
WHAT = {"sms_reply": "text message replies to customers", "email_reply": "email replies to customers",
        "adjuster_email": "emails to insurance adjusters", "classification": "classifications"}


def prompt(request: DraftRequest) -> list[dict[str, str]]:
    """The Chat Completions messages for ``request``: the rules, the fact block, the tone examples,
    then the thread's last messages and the one being answered."""
    tone = request.tone
    facts = "\n".join(f"- {f.label}: {f.value}" for f in request.facts) or "- (none)"
    examples = ""
    if request.examples:
        examples = "Messages this shop sent before (match their tone, never their facts):\n" + "\n".join(
            f"> {e}" for e in request.examples)
    limit = int(tone.get("max_sms_segments") or 0)
    length = (f"- At most {limit * 150} characters (SMS)." if request.feature == "sms_reply" and limit else
              "- Keep it short and specific.")
    system = SYSTEM.format(what=WHAT.get(request.feature, "messages"), shop=_fact(request, "shop.name") or "the shop",
                           language=LANGUAGES.get(request.language, "English"),
                           formality=tone.get("formality") or "casual",
                           emoji=", emoji allowed" if tone.get("emoji") else ", no emoji",
                           greeting=tone.get("greeting") or "",
                           sign_off=str(tone.get("sign_off") or "").replace("{shop_name}", _fact(request, "shop.name")),
                           length=length, facts=facts, examples=examples)
    out = [{"role": "system", "content": system}]
    for direction, text in request.thread:
        out.append({"role": "user" if direction == "in" else "assistant", "content": text})
    ask = ("Draft the reply to the customer's last message." if request.mode == "customer" else
           "Draft an update email to the adjuster about this repair.")
    if request.incoming and (not request.thread or request.thread[-1][1] != request.incoming):
        out.append({"role": "user", "content": request.incoming})
    out.append({"role": "user", "content": f"[staff] {ask}"})
    return out


class OpenAICompatibleProvider:
    """Any endpoint speaking OpenAI's Chat Completions, through the official client."""

    name = "openai_compatible"
    external = True

    def client(self, config: dict[str, Any]) -> Any:
        from openai import OpenAI

        try:
            base_url = check_base_url(str(config.get("base_url") or ""))
        except ValueError as exc:
            raise Refused(422, "ai_drafts_bad_base_url", f"The AI endpoint address is not usable: {exc}.") from None
        if not base_url:
            raise Refused(422, "ai_drafts_no_endpoint", "No AI endpoint is set: add its address in Settings, or "
                                                        "use the built-in templates.")
        return OpenAI(base_url=base_url, api_key=str(config.get("api_key") or "not-needed"),
                      timeout=float(config.get("timeout") or 30), max_retries=0)

    def call(self, fn: Any) -> Any:
        import openai

        try:
            return fn()
        except openai.APITimeoutError:
            raise Refused(504, "ai_drafts_endpoint_timeout", "The AI endpoint did not answer in time. Nothing was "
                                                             "sent; try again or write the reply yourself.") from None
        except openai.APIConnectionError:
            raise Refused(502, "ai_drafts_endpoint_down", "The AI endpoint could not be reached. Nothing was sent; "
                                                          "check its address or write the reply yourself.") from None
        except openai.AuthenticationError:
            raise Refused(502, "ai_drafts_endpoint_auth", "The AI endpoint refused the API key.") from None
        except openai.APIStatusError as exc:
            raise Refused(502, "ai_drafts_endpoint_error", f"The AI endpoint answered with an error "
                                                           f"({exc.status_code}). Nothing was sent.") from None
        except openai.APIError as exc:
            raise Refused(502, "ai_drafts_endpoint_error", f"The AI endpoint's answer was not usable "
                                                           f"({type(exc).__name__}).") from None

    def models(self, config: dict[str, Any]) -> list[str]:
        """The endpoint's model ids (``GET /models``)."""
        client = self.client(config)
        return sorted(m.id for m in self.call(lambda: list(client.models.list())))

    def check_model(self, client: Any, model: str) -> None:
        if not model:
            raise Refused(422, "ai_drafts_no_model", "No model is set for this kind of message (Settings).")
        ids = {m.id for m in self.call(lambda: list(client.models.list()))}
        if model not in ids:
            raise Refused(422, "ai_drafts_unknown_model", f"The AI endpoint has no model {model!r}; it offers: "
                                                          f"{', '.join(sorted(ids)) or 'none'}.")

    def complete(self, client: Any, model: str, messages: list[dict[str, str]], max_tokens: int) -> str:
        answer = self.call(lambda: client.chat.completions.create(model=model, messages=messages,
                                                                  max_tokens=max_tokens or None))
        choices = getattr(answer, "choices", None) or []
        text = (choices[0].message.content or "").strip() if choices else ""
        if not text:
            raise Refused(502, "ai_drafts_empty_draft", "The AI endpoint returned an empty draft. Nothing was sent.")
        return text

    def classify(self, client: Any, request: DraftRequest) -> str:
        model = str(request.config.get("model_classification") or "")
        if not model or not request.incoming:
            return intents.intent_of(request.incoming)
        self.check_model(client, model)
        answer = self.complete(client, model, [
            {"role": "system", "content": "Classify the customer's message about their car repair. Answer with one "
                                          "word: " + ", ".join(intents.INTENTS) + "."},
            {"role": "user", "content": request.incoming}], 5)
        word = re.sub(r"[^a-z]", "", answer.lower())
        return word if word in intents.INTENTS else intents.intent_of(request.incoming)

    def draft(self, request: DraftRequest) -> DraftResult:
        client = self.client(request.config)
        model = str(request.config.get("model") or "")
        self.check_model(client, model)
        intent = request.intent or (self.classify(client, request) if request.mode == "customer" else "other")
        text = self.complete(client, model, prompt(request), int(request.config.get("max_tokens") or 0))
        return DraftResult(text=text[:2000], intent=intent, model=model)


TEMPLATE = TemplateProvider()
OPENAI_COMPATIBLE = OpenAICompatibleProvider()
PROVIDERS = {p.name: p for p in (TEMPLATE, OPENAI_COMPATIBLE)}


def as_fact(key: str, label: str, value: str) -> ClaimFact:
    return ClaimFact(key, label, value)
