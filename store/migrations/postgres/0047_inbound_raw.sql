-- 0047: a received PDU that does not decode is kept as an inbound message
-- of its own, raw, with the decoder's reason, and then deleted from the SIM
-- like any other: a few of them would otherwise fill its storage and the
-- network would hold back every SMS. Both are '' for a decoded message.

ALTER TABLE inbound ADD COLUMN raw_pdu TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN decode_error TEXT NOT NULL DEFAULT '';
