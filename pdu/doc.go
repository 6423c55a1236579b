// Package pdu encodes and decodes SMS TPDUs as GSM modems exchange them in
// PDU mode (3GPP TS 27.005 §3): hex with an SMSC prefix.
//
// It implements, on top of github.com/warthog618/sms v0.3.0:
//   - 3GPP TS 23.040 §9.2.2: SMS-SUBMIT (encode, and decode of stored sent
//     messages), SMS-DELIVER (decode, and encode for virtual modems and
//     tests) and SMS-STATUS-REPORT (decode and encode), told apart by the
//     MTI as seen by the mobile;
//   - TS 23.040 §9.1.2.5 addresses (international, national, short codes,
//     alphanumeric), §9.2.3.12.1 the relative validity period, §9.2.3.11
//     timestamps with their zone, §9.2.3.15 TP-Status, §9.2.3.24.1 and
//     .24.8 concatenation with 8- and 16-bit references, .24.3 and .24.4
//     application port addressing (16-bit written, both read), a caller's
//     own header (Layout.UDH) in every segment, .24.15 and .24.16
//     national language shifts on decode;
//   - 3GPP TS 23.038 §4 data coding and §6.2.1 the GSM 7-bit default
//     alphabet with its extension table (package gsm7, shared with the
//     modem's USSD), falling back to UCS-2 (UTF-16, so
//     characters beyond the BMP travel as surrogate pairs), 8-bit data,
//     and message class 0 ("flash", written as gammu and Kannel do). National
//     language tables are never used to encode, because many phones ignore
//     them.
//
// A segment holds 140 octets of user data less its header, so ports or a
// caller's UDH shrink every segment (8-bit data: 140 alone, 134 with a
// concatenation IE, 128 with ports too).
//
// Segmentation never separates an ESC from its extension character nor
// the halves of a surrogate pair, so a part may hold one unit fewer than
// 153 (GSM-7) or 67 (UCS-2); the Reassembler rejoins parts whose sender did
// split them.
//
// The sms library has faults this package works around:
//   - its lazily built charset tables are a data race: package gsm7 builds
//     them all once, under a sync.Once, before first use;
//   - sms.To marks every number international, so destinations are encoded
//     here (TOA 0x91 for "+…", 0x81 otherwise), as is the whole TPDU;
//   - it encodes a 5-minute relative validity period as 10 minutes, so the
//     TP-VP octet is computed here, rounding up;
//   - it reads the national language IEs under 0x18/0x19 instead of
//     0x24/0x25, so GSM-7 text is decoded here with the library's tables;
//   - it rejects 8n−1 septets padded with CR (TS 23.038 §6.1.2.1.1), so the
//     unused bits are cleared and the TPDU decoded again;
//   - it reads the 0xFF padding some SCs put after TP-ST of a status report
//     as a TP-PI, so the report is cut after TP-ST;
//   - it refuses an alphanumeric originator holding an extension
//     character, which is decoded here instead;
//   - its ConcatInfo does not tell 8- from 16-bit references, so the IEs
//     are read here;
//   - its DecodeError has no Unwrap and counts offsets from the TPDU: errors
//     are *DecodeError here, counted from the start of the PDU as printed.
package pdu
