//! Reads an [`Order`] from a document the schema has accepted: the same
//! parsed tree that was validated, so what is summarised is what the
//! validator saw. The schema guarantees the structure; what it allows in
//! several forms (a date or a date and time, `BIC` or `BICFI`, an IBAN or
//! another account id, an instructed or an equivalent amount) is kept as
//! such for the bank checks.

use libxml::readonly::RoNode;
use libxml::tree::Document;
use rust_decimal::Decimal;

use super::{Account, Address, Amount, Batch, Order, OrderError, Party, Payment, Version};

/// The version named by the root element's namespace.
pub fn version_of(document: &Document) -> Result<Version, OrderError> {
    let root = document
        .get_root_readonly()
        .ok_or_else(|| OrderError::UnknownMessage("missing".into()))?;
    let namespace = root.get_namespace().map(|ns| ns.get_href()).unwrap_or_default();
    if root.get_name() != "Document" {
        return Err(OrderError::UnknownMessage(format!("<{}>", root.get_name())));
    }
    Version::from_namespace(&namespace)
        .ok_or_else(|| OrderError::UnknownMessage(format!("<Document xmlns=\"{namespace}\">")))
}

/// The element children of `node` named `name`.
pub(crate) fn children(node: RoNode, name: &'static str) -> impl Iterator<Item = RoNode> {
    std::iter::successors(node.get_first_element_child(), |n| n.get_next_element_sibling())
        .filter(move |n| n.get_name() == name)
}

/// The element at `path` below `node` (first match at each step).
pub(crate) fn at(node: RoNode, path: &[&'static str]) -> Option<RoNode> {
    path.iter().try_fold(node, |n, name| children(n, name).next())
}

/// The text of the element at `path` below `node`.
pub(crate) fn text(node: RoNode, path: &[&'static str]) -> Option<String> {
    at(node, path).map(|n| n.get_content())
}

fn decimal(node: RoNode, path: &[&'static str]) -> Result<Option<Decimal>, OrderError> {
    text(node, path)
        .map(|t| {
            Decimal::from_str_exact(t.trim()).map_err(|e| OrderError::Input {
                field: path.join("/"),
                problem: format!("{t:?} is not a decimal amount: {e}"),
            })
        })
        .transpose()
}

fn required(node: RoNode, path: &[&'static str]) -> Result<String, OrderError> {
    // The schema makes these mandatory; a missing one means the schema was
    // not applied, which is a defect, not a file to guess at.
    text(node, path).ok_or_else(|| OrderError::Input {
        field: path.join("/"),
        problem: "missing".into(),
    })
}

fn party(node: Option<RoNode>) -> Party {
    let Some(node) = node else {
        return Party::default();
    };
    Party {
        name: text(node, &["Nm"]),
        address: at(node, &["PstlAdr"]).map(|a| Address {
            street: text(a, &["StrtNm"]),
            building: text(a, &["BldgNb"]),
            post_code: text(a, &["PstCd"]),
            town: text(a, &["TwnNm"]),
            country: text(a, &["Ctry"]),
            lines: children(a, "AdrLine").map(|l| l.get_content()).collect(),
        }),
    }
}

fn account_of(node: RoNode) -> Option<Account> {
    if let Some(iban) = text(node, &["Id", "IBAN"]) {
        return Some(Account::Iban(iban));
    }
    text(node, &["Id", "Othr", "Id"]).map(Account::Other)
}

fn bic(agent: Option<RoNode>) -> Option<String> {
    let agent = agent?;
    text(agent, &["FinInstnId", "BICFI"]).or_else(|| text(agent, &["FinInstnId", "BIC"]))
}

/// Reads the whole message.
pub fn order(document: &Document, version: Version) -> Result<Order, OrderError> {
    let root = document
        .get_root_readonly()
        .ok_or_else(|| OrderError::UnknownMessage("missing".into()))?;
    let message = at(root, &["CstmrCdtTrfInitn"]).ok_or_else(|| OrderError::Input {
        field: "CstmrCdtTrfInitn".into(),
        problem: "missing".into(),
    })?;
    let header = at(message, &["GrpHdr"]).ok_or_else(|| OrderError::Input {
        field: "GrpHdr".into(),
        problem: "missing".into(),
    })?;
    let mut number = 0usize;
    let mut batches = Vec::new();
    for block in children(message, "PmtInf") {
        let execution = at(block, &["ReqdExctnDt"]);
        let execution_date = match (version, execution) {
            (Version::V03, Some(n)) => n.get_content(),
            (Version::V09, Some(n)) => text(n, &["Dt"])
                .or_else(|| text(n, &["DtTm"]).map(|t| t.chars().take(10).collect()))
                .unwrap_or_default(),
            (_, None) => String::new(),
        };
        let mut payments = Vec::new();
        for tx in children(block, "CdtTrfTxInf") {
            number += 1;
            // One pass over the transaction's children, then short paths below each.
            let (mut id, mut amt, mut agent, mut creditor, mut account, mut remittance) =
                (None, None, None, None, None, None);
            for child in element_children(tx) {
                let slot = match child.get_name().as_str() {
                    "PmtId" => &mut id,
                    "Amt" => &mut amt,
                    "CdtrAgt" => &mut agent,
                    "Cdtr" => &mut creditor,
                    "CdtrAcct" => &mut account,
                    "RmtInf" => &mut remittance,
                    _ => continue,
                };
                *slot = Some(child);
            }
            let id = id.ok_or_else(|| OrderError::Input {
                field: format!("payment {number}: PmtId"),
                problem: "missing".into(),
            })?;
            let amount = match amt.and_then(|a| at(a, &["InstdAmt"])) {
                Some(n) => Amount::Instructed {
                    value: Decimal::from_str_exact(n.get_content().trim()).map_err(|e| OrderError::Input {
                        field: format!("payment {number}: Amt/InstdAmt"),
                        problem: e.to_string(),
                    })?,
                    currency: n.get_attribute("Ccy").unwrap_or_default(),
                },
                None => Amount::Equivalent,
            };
            let remittance =
                remittance.and_then(|r| text(r, &["Ustrd"]).or_else(|| text(r, &["Strd", "CdtrRefInf", "Ref"])));
            payments.push(Payment {
                number,
                instruction_id: text(id, &["InstrId"]),
                end_to_end_id: required(id, &["EndToEndId"])?,
                amount,
                creditor_agent_bic: bic(agent),
                creditor: party(creditor),
                creditor_account: account.and_then(account_of),
                remittance,
            });
        }
        let debtor_account = at(block, &["DbtrAcct"]);
        batches.push(Batch {
            id: required(block, &["PmtInfId"])?,
            method: required(block, &["PmtMtd"])?,
            number_of_transactions: text(block, &["NbOfTxs"]),
            control_sum: decimal(block, &["CtrlSum"])?,
            execution_date,
            debtor: party(at(block, &["Dbtr"])),
            debtor_account: debtor_account.and_then(account_of).ok_or_else(|| OrderError::Input {
                field: "PmtInf/DbtrAcct".into(),
                problem: "missing".into(),
            })?,
            debtor_account_currency: debtor_account.and_then(|a| text(a, &["Ccy"])),
            debtor_agent_bic: bic(at(block, &["DbtrAgt"])),
            payments,
        });
    }
    Ok(Order {
        version,
        message_id: required(header, &["MsgId"])?,
        created: required(header, &["CreDtTm"])?,
        number_of_transactions: required(header, &["NbOfTxs"])?,
        control_sum: decimal(header, &["CtrlSum"])?,
        initiating_party: text(header, &["InitgPty", "Nm"]),
        batches,
    })
}

/// Every element path (below `CstmrCdtTrfInitn`, local names) that Signet
/// reads and shows, or that carries nothing a bank acts on beyond what is
/// shown. Anything else in a file is refused: what is not shown is not
/// signed.
const SHOWN: &[&str] = &[
    "GrpHdr",
    "GrpHdr/MsgId",
    "GrpHdr/CreDtTm",
    "GrpHdr/NbOfTxs",
    "GrpHdr/CtrlSum",
    "GrpHdr/InitgPty",
    "GrpHdr/InitgPty/Nm",
    "PmtInf",
    "PmtInf/PmtInfId",
    "PmtInf/PmtMtd",
    "PmtInf/BtchBookg",
    "PmtInf/NbOfTxs",
    "PmtInf/CtrlSum",
    "PmtInf/PmtTpInf",
    "PmtInf/PmtTpInf/SvcLvl",
    "PmtInf/PmtTpInf/SvcLvl/Cd",
    "PmtInf/ReqdExctnDt",
    "PmtInf/ReqdExctnDt/Dt",
    "PmtInf/ReqdExctnDt/DtTm",
    "PmtInf/Dbtr",
    "PmtInf/Dbtr/Nm",
    "PmtInf/DbtrAcct",
    "PmtInf/DbtrAcct/Id",
    "PmtInf/DbtrAcct/Id/IBAN",
    "PmtInf/DbtrAcct/Id/Othr",
    "PmtInf/DbtrAcct/Id/Othr/Id",
    "PmtInf/DbtrAcct/Ccy",
    "PmtInf/DbtrAgt",
    "PmtInf/DbtrAgt/FinInstnId",
    "PmtInf/DbtrAgt/FinInstnId/BIC",
    "PmtInf/DbtrAgt/FinInstnId/BICFI",
    "PmtInf/DbtrAgt/FinInstnId/Othr",
    "PmtInf/DbtrAgt/FinInstnId/Othr/Id",
    "PmtInf/ChrgBr",
    "PmtInf/CdtTrfTxInf",
    "PmtInf/CdtTrfTxInf/PmtId",
    "PmtInf/CdtTrfTxInf/PmtId/InstrId",
    "PmtInf/CdtTrfTxInf/PmtId/EndToEndId",
    "PmtInf/CdtTrfTxInf/Amt",
    "PmtInf/CdtTrfTxInf/Amt/InstdAmt",
    "PmtInf/CdtTrfTxInf/Amt/EqvtAmt",
    "PmtInf/CdtTrfTxInf/Amt/EqvtAmt/Amt",
    "PmtInf/CdtTrfTxInf/Amt/EqvtAmt/CcyOfTrf",
    "PmtInf/CdtTrfTxInf/ChrgBr",
    "PmtInf/CdtTrfTxInf/CdtrAgt",
    "PmtInf/CdtTrfTxInf/CdtrAgt/FinInstnId",
    "PmtInf/CdtTrfTxInf/CdtrAgt/FinInstnId/BIC",
    "PmtInf/CdtTrfTxInf/CdtrAgt/FinInstnId/BICFI",
    "PmtInf/CdtTrfTxInf/Cdtr",
    "PmtInf/CdtTrfTxInf/Cdtr/Nm",
    "PmtInf/CdtTrfTxInf/CdtrAcct",
    "PmtInf/CdtTrfTxInf/CdtrAcct/Id",
    "PmtInf/CdtTrfTxInf/CdtrAcct/Id/IBAN",
    "PmtInf/CdtTrfTxInf/CdtrAcct/Id/Othr",
    "PmtInf/CdtTrfTxInf/CdtrAcct/Id/Othr/Id",
    "PmtInf/CdtTrfTxInf/RmtInf",
    "PmtInf/CdtTrfTxInf/RmtInf/Ustrd",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf/Tp",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf/Tp/CdOrPrtry",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf/Tp/CdOrPrtry/Cd",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf/Tp/Issr",
    "PmtInf/CdtTrfTxInf/RmtInf/Strd/CdtrRefInf/Ref",
];

/// The postal address elements shown (below a party's `PstlAdr`).
const ADDRESS: &[&str] = &["StrtNm", "BldgNb", "PstCd", "TwnNm", "Ctry", "AdrLine"];

fn is_shown(path: &str) -> bool {
    if SHOWN.contains(&path) {
        return true;
    }
    for party in ["PmtInf/Dbtr/PstlAdr", "PmtInf/CdtTrfTxInf/Cdtr/PstlAdr"] {
        if path == party {
            return true;
        }
        if let Some(rest) = path.strip_prefix(party).and_then(|r| r.strip_prefix('/')) {
            return ADDRESS.contains(&rest);
        }
    }
    false
}

/// The elements of the message that Signet does not show, each once, with
/// the number of the first payment (or batch) it stands in; and the
/// remittance information given more than once in a payment.
pub fn unshown(document: &Document) -> Vec<super::Refusal> {
    let mut found: Vec<super::Refusal> = Vec::new();
    let Some(message) = document.get_root_readonly().and_then(|r| at(r, &["CstmrCdtTrfInitn"])) else {
        return found;
    };
    let mut path = String::with_capacity(96);
    for child in element_children(message) {
        visit(child, &mut path, &mut found);
    }
    found
}

fn element_children(node: RoNode) -> impl Iterator<Item = RoNode> {
    std::iter::successors(node.get_first_element_child(), |n| n.get_next_element_sibling())
}

/// Checks `node` (and what is below it) against [`SHOWN`]; `path` is its
/// parent's path, restored on return.
fn visit(node: RoNode, path: &mut String, found: &mut Vec<super::Refusal>) {
    let parent_len = path.len();
    if !path.is_empty() {
        path.push('/');
    }
    path.push_str(&node.get_name());
    let seen = |found: &[super::Refusal], path: &str| found.iter().any(|r| r.field == path);
    if !is_shown(path) {
        if !seen(found, path) {
            found.push(super::Refusal::unshown(path.clone()));
        }
        path.truncate(parent_len);
        return;
    }
    let required = match path.as_str() {
        "PmtInf/ChrgBr" | "PmtInf/CdtTrfTxInf/ChrgBr" => Some("SLEV"),
        "PmtInf/PmtTpInf/SvcLvl/Cd" => Some("SEPA"),
        _ => None,
    };
    if let Some(want) = required
        && node.get_content().trim() != want
        && !seen(found, path)
    {
        found.push(super::Refusal {
            place: "file".into(),
            field: path.clone(),
            problem: format!("must be {want}: Signet signs SEPA credit transfers, charges shared (SLEV)"),
        });
    }
    if path == "PmtInf/CdtTrfTxInf/RmtInf" && element_children(node).count() > 1 && !seen(found, path) {
        found.push(super::Refusal::twice(path.clone()));
    }
    for child in element_children(node) {
        visit(child, path, found);
    }
    path.truncate(parent_len);
}
