#!/usr/bin/python3
"""Generate PDU test vectors with libgammu (Debian python3-gammu) as the oracle.

Run once from this directory:  /usr/bin/python3 gen_vectors.py
It rewrites submit.jsonl and deliver.jsonl. The Go tests only read those
files; they never run python.

submit.jsonl: one SMS-SUBMIT message per line, encoded by gammu. Gammu
always writes a real SMSC and a TP-VP; the SMSC is replaced by "00" (what
simgate writes) and every case sets a validity period, so the PDUs must equal
what pdu.EncodeSubmit writes for the same input.

deliver.jsonl: SMS-DELIVER and SMS-STATUS-REPORT PDUs with the fields gammu
decodes from them, for pdu.Decode to match.

data.jsonl: SMS-SUBMITs with a class, 8-bit data, a caller's UDH or
application ports, each part's header given to gammu as a user UDH (gammu
has no port option), with gammu's reading of the matching SMS-DELIVER.
"python3 gen_vectors.py data" rewrites only this file (the others carry
gammu's random concatenation references).
"""

import datetime
import json
import sys

import gammu

SMSC = "+447802000332"


def strip_smsc(pdu):
    n = pdu[0]
    return bytes([0]) + pdu[1 + n:]


def submit(name, to, text, unicode=False, validity="1H", go_validity="1h",
           srr=False, concat16=False):
    entry = "ConcatenatedTextLong16bit" if concat16 else "ConcatenatedTextLong"
    msgs = gammu.EncodeSMS({"Unicode": unicode, "Entries": [{"ID": entry, "Buffer": text}]})
    pdus = []
    ref = 0
    for m in msgs:
        m["SMSC"] = {"Location": 0, "Number": SMSC, "Validity": validity}
        m["Number"] = to
        if srr:
            m["Type"] = "Status_Report"  # gammu's way to ask for TP-SRR
        if m["UDH"]["Type"] != "NoUDH":
            ref = m["UDH"]["ID16bit"] if concat16 else m["UDH"]["ID8bit"]
        pdus.append(strip_smsc(gammu.EncodePDU(m)).hex().upper())
    return {
        "name": name, "to": to, "text": text, "validity": go_validity,
        "srr": srr, "concat16": concat16, "ref": ref,
        "encoding": "ucs2" if unicode else "gsm7", "pdus": pdus,
    }


def deliver(name, frm, text, unicode=False, concat16=False, when=None):
    entry = "ConcatenatedTextLong16bit" if concat16 else "ConcatenatedTextLong"
    msgs = gammu.EncodeSMS({"Unicode": unicode, "Entries": [{"ID": entry, "Buffer": text}]})
    out = []
    for m in msgs:
        m["SMSC"] = {"Location": 0, "Number": SMSC, "Validity": "NA"}
        m["Number"] = frm
        m["Type"] = "Deliver"
        m["DateTime"] = when or datetime.datetime(2024, 3, 15, 14, 30, 5)
        out.append(gammu.EncodePDU(m, "Deliver").hex().upper())
    return [expect(name + "_part%d" % (i + 1) if len(out) > 1 else name, p)
            for i, p in enumerate(out)]


def expect(name, pdu_hex):
    d = gammu.DecodePDU(bytes.fromhex(pdu_hex))
    udh = d["UDH"]
    concat = None
    if udh["Type"] in ("ConcatenatedMessages", "ConcatenatedMessages16bit"):
        bits = 16 if udh["Type"].endswith("16bit") else 8
        concat = {"ref": udh["ID16bit"] if bits == 16 else udh["ID8bit"],
                  "part": udh["PartNumber"], "total": udh["AllParts"], "bits": bits}
    coding = {"Default_No_Compression": "gsm7", "Unicode_No_Compression": "ucs2",
              "8bit": "8bit"}.get(d["Coding"], d["Coding"])
    rec = {"name": name, "pdu": pdu_hex, "type": d["Type"].lower(),
           "number": d["Number"], "text": d["Text"], "concat": concat}
    if d["Type"] == "Status_Report":
        rec["type"] = "status_report"
        rec["status"] = d["DeliveryStatus"]
        rec["mr"] = d["MessageReference"]
    else:
        rec["encoding"] = coding
        rec["scts"] = d["DateTime"].strftime("%Y-%m-%dT%H:%M:%S") if d["DateTime"] else ""
    return rec


GSM_EDGE = "a" * 152


def data_submit(name, to, parts, coding, cls=-1, udh=None, ports=None, text=None, data=None):
    """parts: [(udh bytes or b"", payload)] as simgate must cut them."""
    tmpl = gammu.EncodeSMS({"Entries": [{"ID": "Text", "Buffer": "x"}]})[0]
    pdus, decoded = [], []
    for part_udh, payload in parts:
        m = dict(tmpl)
        m["SMSC"] = {"Location": 0, "Number": SMSC, "Validity": "1H"}
        m["Number"] = to
        m["Class"] = cls
        m["Coding"] = coding
        m["Text"] = payload
        m["UDH"] = {"Type": "UserUDH", "Text": part_udh} if part_udh else {"Type": "NoUDH", "Text": b""}
        pdus.append(strip_smsc(gammu.EncodePDU(m)).hex().upper())
        m["Type"] = "Deliver"
        m["DateTime"] = datetime.datetime(2024, 3, 15, 14, 30, 5)
        d = gammu.DecodePDU(gammu.EncodePDU(m, "Deliver"))
        decoded.append({"pdu": gammu.EncodePDU(m, "Deliver").hex().upper(),
                        "class": d["Class"], "udh": d["UDH"]["Text"].hex().upper(),
                        "coding": d["Coding"],
                        "text": d["Text"].hex().upper() if isinstance(d["Text"], bytes) else d["Text"]})
    return {"name": name, "to": to, "text": text, "data": data.hex().upper() if data is not None else None,
            "encoding": {"8bit": "8bit", "Unicode_No_Compression": "ucs2"}.get(coding, "gsm7"),
            "flash": cls == 0, "udh": udh.hex().upper() if udh else "", "ports": ports,
            "validity": "1h", "pdus": pdus, "delivers": decoded}


def data_vectors():
    wap = bytes([0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0])  # Kannel's WAP push example
    port_ie = bytes([0x05, 0x04, 0x1F, 0x90, 0x00, 0x00])  # dest 8080, source 0
    big = bytes(range(256)) + bytes(range(44))  # 300 octets: 3 parts of at most 128
    ref = 42
    parts = []
    for i in range(3):
        chunk = big[128 * i:128 * (i + 1)]
        parts.append((bytes([11]) + port_ie + bytes([0x00, 0x03, ref, 3, i + 1]), chunk))
    return [
        data_submit("data_8bit_plain", "+447700900123", [(b"", bytes([0xDE, 0xAD, 0xBE, 0xEF]))],
                    "8bit", data=bytes([0xDE, 0xAD, 0xBE, 0xEF])),
        data_submit("data_8bit_flash", "+447700900123", [(b"", b"\x00\x01\xff")], "8bit", cls=0,
                    data=b"\x00\x01\xff"),
        data_submit("data_8bit_port", "+447700900123", [(bytes([6]) + port_ie, b"hello port")],
                    "8bit", ports={"dest": 8080, "source": 0}, data=b"hello port"),
        data_submit("data_8bit_user_udh", "+447700900123", [(wap, bytes([0x01, 0x06, 0x03]))],
                    "8bit", udh=wap, data=bytes([0x01, 0x06, 0x03])),
        data_submit("data_8bit_port_three_parts", "+447700900123", parts, "8bit",
                    ports={"dest": 8080, "source": 0}, data=big),
        data_submit("flash_gsm7", "+447700900123", [(b"", "Flash!")], "Default_No_Compression",
                    cls=0, text="Flash!"),
        data_submit("flash_ucs2", "+447700900123", [(b"", "Привет")], "Unicode_No_Compression",
                    cls=0, text="Привет"),
        data_submit("gsm7_port", "+447700900123", [(bytes([6]) + port_ie, "port text")],
                    "Default_No_Compression", ports={"dest": 8080, "source": 0}, text="port text"),
    ]


def main():
    if sys.argv[1:] == ["data"]:
        with open("data.jsonl", "w") as f:
            for v in data_vectors():
                f.write(json.dumps(v, ensure_ascii=False) + "\n")
        return
    subs = [
        submit("gsm7_short_international", "+447700900123", "Hello world"),
        submit("gsm7_national", "07700900123", "Hello world"),
        submit("gsm7_short_code", "12345", "STOP"),
        submit("gsm7_160", "+447700900123", "x" * 160),
        submit("gsm7_161", "+447700900123", "x" * 161),
        submit("gsm7_306_two_parts", "+447700900123", "y" * 306),
        submit("gsm7_307_three_parts", "+447700900123", "y" * 307),
        submit("gsm7_euro_at_edge", "+447700900123", GSM_EDGE + "€" + "b" * 10),
        submit("gsm7_brace_at_edge", "+447700900123", GSM_EDGE + "{" + "b" * 10),
        submit("gsm7_caret_at_edge", "+447700900123", GSM_EDGE + "^" + "b" * 10),
        submit("gsm7_ext_fills_160", "+447700900123", "a" * 158 + "€"),
        submit("gsm7_ext_makes_161", "+447700900123", "a" * 159 + "€"),
        submit("gsm7_all_basic", "+447700900123",
               "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
               "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"),
        submit("gsm7_all_ext", "+447700900123", "\f^{}\\[~]|€"),
        submit("ucs2_70", "+447700900123", "Ж" * 70, unicode=True),
        submit("ucs2_71", "+447700900123", "Ж" * 71, unicode=True),
        submit("ucs2_134_two_parts", "+447700900123", "Ж" * 134, unicode=True),
        submit("ucs2_135_three_parts", "+447700900123", "Ж" * 135, unicode=True),
        submit("ucs2_emoji_at_edge", "+447700900123", "Ж" * 66 + "😀" + "Ж" * 10, unicode=True),
        submit("ucs2_emoji_single", "+447700900123", "ok 😀👍", unicode=True),
        submit("ucs2_cjk", "+8613800138000", "你好，世界", unicode=True),
        submit("concat16_gsm7", "+447700900123", "z" * 200, concat16=True),
        submit("concat16_ucs2_emoji_at_edge", "+447700900123",
               "Ж" * 65 + "😀" + "Ж" * 10, unicode=True, concat16=True),
        submit("srr", "+447700900123", "Report me", srr=True),
        submit("vp_5min", "+447700900123", "vp", validity="5M", go_validity="5m"),
        submit("vp_1h", "+447700900123", "vp", validity="1H", go_validity="1h"),
        submit("vp_24h", "+447700900123", "vp", validity="24H", go_validity="24h"),
        submit("vp_7d", "+447700900123", "vp", validity="7D", go_validity="168h"),
    ]
    with open("submit.jsonl", "w") as f:
        for s in subs:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")

    recs = []
    recs += deliver("deliver_gsm7_international", "+447700900123", "Hello from gammu")
    recs += deliver("deliver_gsm7_national", "07700900123", "Hello national")
    recs += deliver("deliver_gsm7_short_code", "80888", "Your code is 123456")
    recs += deliver("deliver_alphanumeric", "Bank", "Balance: 12.34")
    recs += deliver("deliver_ucs2", "+447700900123", "Привет 😀", unicode=True)
    recs += deliver("deliver_gsm7_multipart", "+447700900123", "m" * 200)
    recs += deliver("deliver_ucs2_multipart16", "+447700900123", "Ж" * 100, unicode=True, concat16=True)
    # Published captures and hand-built PDUs, with gammu's reading of them.
    fixed = {
        # dreamfabric.com's classic example.
        "deliver_hellohello": "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
        # The "hellohello" vector, as widely published.
        "deliver_how_are_you": "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
        # -05:00 zone (bit 0x08 of the last SCTS octet).
        "deliver_negative_zone": "00040B914477009001F300004230512141500A05C8329BFD06",
        "sr_delivered": "0006D60B911326880736F4111011719551401110117195714000",
        "sr_pending": "0006D70B911326880736F4111011719551401110117195714020",
        "sr_failed": "0006D80B911326880736F4111011719551401110117195714046",
        "sr_failed_sc_gave_up": "0006D90B911326880736F4111011719551401110117195714060",
        "sr_reserved": "0006DA0B911326880736F4111011719551401110117195714080",
    }
    for name, p in fixed.items():
        recs.append(expect(name, p))
    with open("deliver.jsonl", "w") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
