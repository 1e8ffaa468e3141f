"""The CA private key stays out of the runtime key directory (issue 17): the app loads only the
signing key and the certificate chain; the CA key exists only in a separate CA directory made by
``flask esign init-ca``, or nowhere (automatic setup discards it)."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature


def _seal_and_check(app: Any) -> bytes:
    from bayline_esign import keys, pdf

    with app.app_context():
        sealed = keys.seal_signers(pdf.render_original("T", "body", "hdr", False), [("A", "r"), ("B", "r")])
        assert keys.verify(sealed).ok
        vc = keys.load_keys(app).validation_context()
    for sig in PdfFileReader(io.BytesIO(sealed)).embedded_signatures:
        status = keys.off_loop(validate_pdf_signature, sig, vc)
        assert status.intact and status.valid and status.trusted and status.bottom_line
    return sealed


def _private_keys(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file() and b"PRIVATE KEY" in p.read_bytes()}


def _runtime(app: Any) -> Path:
    from bayline_esign.keys import key_dir

    return key_dir(app)


def test_runtime_key_directory_holds_no_ca_private_key(app) -> None:
    """Before this change the first use wrote ``ca.key.pem`` beside ``signer.key.pem``."""
    _seal_and_check(app)  # first use sets the keys up
    runtime = _runtime(app)
    assert sorted(p.name for p in runtime.iterdir()) == ["ca.pem", "signer.key.pem", "signer.pem"]
    assert _private_keys(runtime) == {"signer.key.pem"}
    result = app.test_cli_runner().invoke(args=["esign", "init-keys", "--force"])
    assert result.exit_code == 0 and "no CA key stored" in result.output
    assert _private_keys(runtime) == {"signer.key.pem"}
    _seal_and_check(app)


def test_offline_ca_issues_the_signing_certificate(app, tmp_path) -> None:
    runner = app.test_cli_runner()
    ca_dir = tmp_path / "offline-ca"
    before = _seal_and_check(app)  # sealed under the automatic CA
    runtime = _runtime(app)

    out = runner.invoke(args=["esign", "init-ca", "--ca-dir", str(ca_dir), "--passphrase", "correct horse"])
    assert out.exit_code == 0 and "created a CA in" in out.output, out.output
    assert (ca_dir / "ca.key.pem").exists() and _private_keys(runtime) == {"signer.key.pem"}
    assert b"ENCRYPTED PRIVATE KEY" in (ca_dir / "ca.key.pem").read_bytes()
    assert oct(os.stat(ca_dir / "ca.key.pem").st_mode & 0o777) == "0o600"

    wrong = runner.invoke(args=["esign", "issue-signing-cert", "--ca-dir", str(ca_dir), "--passphrase", "nope"])
    assert wrong.exit_code == 1 and "passphrase is wrong" in wrong.output
    out = runner.invoke(args=["esign", "issue-signing-cert", "--ca-dir", str(ca_dir), "--passphrase",
                              "correct horse"])
    assert out.exit_code == 0, out.output
    assert (runtime / "ca.pem").read_bytes() == (ca_dir / "ca.pem").read_bytes()
    assert _private_keys(runtime) == {"signer.key.pem"}

    # The app never reads the CA directory: with it gone (offline), signing and validation work,
    # and a document sealed under the earlier CA still validates.
    (ca_dir / "ca.key.pem").rename(tmp_path / "elsewhere.pem")
    _seal_and_check(app)
    from bayline_esign import keys

    with app.app_context():
        assert keys.verify(before).ok

    # The CA directory must not be (inside) the runtime key directory.
    inside = runner.invoke(args=["esign", "init-ca", "--ca-dir", str(runtime / "ca"), "--passphrase", "x"])
    assert inside.exit_code == 1 and "must be outside the runtime key directory" in inside.output


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return {"BAYLINE_PLUGIN_ESIGN_CA_DIR": str(tmp_path / "configured-ca")}


def test_older_ca_key_is_moved_out_and_never_read(app, tmp_path, caplog) -> None:
    """An older version left ``ca.key.pem`` in the runtime directory: the app does not read it
    (an unreadable one changes nothing) and ``init-ca`` moves it to the configured CA directory."""
    from bayline_esign import keys
    from cryptography.hazmat.primitives import serialization

    runtime = _runtime(app)
    secret = app.config["SECRET_KEY"].encode()
    ca_key, ca_cert = keys._new_ca()
    keys._issue(runtime, secret, ca_key, ca_cert)
    enc = serialization.BestAvailableEncryption(secret)
    legacy = runtime / "ca.key.pem"
    legacy.write_bytes(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    sealed = _seal_and_check(app)
    assert "CA private key lies in the runtime key directory" in caplog.text

    keys._cache.clear()
    os.chmod(legacy, 0)
    try:
        if os.geteuid() != 0:  # root reads anything; elsewhere an unreadable key proves it is not read
            _seal_and_check(app)
    finally:
        os.chmod(legacy, 0o600)

    out = app.test_cli_runner().invoke(args=["esign", "init-ca", "--passphrase", "pw"])
    ca_dir = tmp_path / "configured-ca"
    assert out.exit_code == 0 and "moved the CA key out" in out.output, out.output
    assert not legacy.exists() and _private_keys(runtime) == {"signer.key.pem"}
    moved = serialization.load_pem_private_key((ca_dir / "ca.key.pem").read_bytes(), password=b"pw")
    assert moved.public_key().public_numbers() == ca_key.public_key().public_numbers()
    # The same CA issues the next signing certificate: old and new documents validate.
    out = app.test_cli_runner().invoke(args=["esign", "issue-signing-cert", "--passphrase", "pw"])
    assert out.exit_code == 0, out.output
    assert not list(runtime.glob("ca.previous-*.pem"))  # the same CA, nothing to keep
    _seal_and_check(app)
    with app.app_context():
        assert keys.verify(sealed).ok
