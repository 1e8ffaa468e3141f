"""The signers revision: packages made before it get their one signer, consents and signatures
point at it, and they keep working (download, verification)."""
from __future__ import annotations


def test_upgrade_gives_old_packages_their_signer(h, app, shop_with_package, phone) -> None:
    from sqlalchemy import inspect, text

    from bayline import migrate
    from bayline.db import get_db

    _shop, claim, staff, pkg = shop_with_package(("repair_authorization", "pickup_signoff"))
    first, second = pkg["documents"]
    customer = phone(claim)
    h.consent(customer, pkg["id"], first["id"])
    assert h.sign(customer, first["id"], initials="DR").status_code == 200
    signed = staff.get(f"/plugins/esign/documents/{first['id']}/signed.pdf").data

    with app.app_context():
        get_db(app).dispose()
        migrate.downgrade(app, "esign", "dec44dc13d1c")
        get_db(app).dispose()
        assert "esign_signers" not in inspect(get_db(app).engine).get_table_names()
        with get_db(app).engine.begin() as conn:  # what the first version kept: the PDF in the row
            conn.execute(text("UPDATE esign_documents SET signed_pdf = :d WHERE public_id = :p"),
                         {"d": signed, "p": first["id"]})
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []

    state = staff.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).get_json()
    assert [s["name"] for s in state["signers"]] == ["Dana Reyes"]
    assert state["signers"][0]["state"] == "signing", state
    assert state["documents"][0]["signed_by"] == ["Dana Reyes"]
    # The stored PDF survived; the same customer finishes with the consent recorded before the upgrade.
    assert staff.get(f"/plugins/esign/documents/{first['id']}/signed.pdf").data == signed
    resp = h.sign(customer, second["id"], method="typed", signature="", typed_name="Dana Reyes")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "completed"
