from curation.operators.pii import Pii
from tests.filters.conftest import doc_table

TEXTS = [
    "For press enquiries write to press.office@bbc.co.uk or j.smith+news@example.org, thanks.",
    "Our resolver answers on 8.8.8.8 and 192.168.0.1; release 2.4.10.1.3 is not an address.",
    "Call us on +1 (415) 555-0132 or 415-555-0199. UK office: +44 20 7946 0958.",
    "The 1998 season ended 3-2; tickets cost 1,250 and order 1234567890 shipped 2021-03-04.",
    "Reach the host at 2001:db8:85a3::8a2e:370:7334 for the IPv6 test.",
]


def test_redact_counts_and_tags():
    res = Pii().process(doc_table(TEXTS))
    assert res.rejected.num_rows == 0
    rows = res.kept.to_pylist()
    assert rows[0]["text"] == "For press enquiries write to <EMAIL> or <EMAIL>, thanks."
    assert rows[0]["pii_emails"] == 2
    assert rows[1]["text"].startswith("Our resolver answers on <IP> and <IP>;") and "2.4.10.1.3" in rows[1]["text"]
    assert rows[1]["pii_ips"] == 2
    assert rows[2]["pii_phones"] == 3 and rows[2]["text"].count("<PHONE>") == 3
    assert rows[3]["text"] == TEXTS[3]  # years, scores, prices, ids and dates are not PII
    assert (rows[3]["pii_emails"], rows[3]["pii_ips"], rows[3]["pii_phones"]) == (0, 0, 0)
    assert rows[4]["pii_ips"] == 1 and "<IP>" in rows[4]["text"]


def test_drop_mode():
    res = Pii({"mode": "drop", "max_matches": 1}).process(doc_table(TEXTS))
    assert res.counts == (2, 3)  # >1 match: two e-mails, two IPs, three phones
    assert set(res.rejected.column("reason").to_pylist()) == {"pii"}
    assert res.kept.column("text").to_pylist()[0] == TEXTS[3]  # kept text is not rewritten in drop mode
