-- Parts joined into a message are kept, marked with the message's id, for a
-- week instead of being deleted: when a crash falls between committing a
-- message and deleting it from the SIM, the next listing of the SIM finds
-- the same PDU again, and it must be recognised as already received rather
-- than saved twice (at-pdu.md §3.5: re-reads after a crash).
ALTER TABLE inbound_parts ADD COLUMN consumed TEXT NOT NULL DEFAULT '';

CREATE INDEX inbound_parts_open ON inbound_parts (modem, sender, ref, total, ref_bits) WHERE consumed = '';
