"""The customs message layer, pure: typed inputs, lxml builders, XSDs, receipt parsers, rules.

Inputs (`declarations.model`): `Order311`, `Payment411`, `Waybill511`, `Inventory`, `Cancel623`,
`Refund625` (frozen dataclasses, money as Decimal, times aware or Beijing-local), `Transfer`
(BaseTransfer) and `Options` (where the sources conflict: district spelling, money decimals,
version string).

Build (`declarations.build`): `build(doc, transfer)` returns the message tree of any input;
`build_ceb311/411/511/623/625` and `declarations.ceb621.build_ceb621` name it; `to_bytes(root)`;
`build_checked(doc, transfer)` renders, parses and validates in one pass (`.data`, `.root`,
`.findings`, `.ok`); `change_of(doc, guid=, app_time=, **fixes)` is the appType 2 form used to
resubmit a rejected inventory. `declarations.envelope.wrap/unwrap` handle DxpMsg.

Check: `declarations.validate.validate(root) -> list[Finding]` (XSD, in a broker's words);
`declarations.preflight.preflight(inventory, transfer, order=, payment=, waybill=,
spent_this_year=) -> list[Problem]` lists everything customs would reject before sending
(`blocking()` keeps the errors, leaving full-tax warnings); `declarations.rules` and
`declarations.consistency` hold the single rules (tax, limits, ID numbers, amounts, 三单对碰).

Read: `declarations.receipts.parse_receipts(bytes) -> list[Receipt]` for CEB312/412/512/622/624/
626/900 (raises `ReceiptError`, a DomainError, on anything else), `parse_tax_bills` for CEB816;
`declarations.read.read_document(root)` reads a declaration back into its input type.
"""
