//! Payment orders: what we write passes the official schema and our own
//! checks (a property over generated orders, and `xmllint --schema` on a
//! sample), files from another writer (sepaxml) and hand-checked samples of
//! both versions read and summarise correctly, every bank check refuses its
//! case, and a file the schema refuses names the line and element.

use std::process::Command;

use proptest::prelude::*;
use rust_decimal::Decimal;
use signet_orders::{self as orders, NewBatch, NewOrder, NewPayment, OrderError, Version};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 12 - 05);
const NOW: time::OffsetDateTime = datetime!(2026-12-05 10:00:00 UTC);

/// IBANs with valid check digits, from the registry's examples.
const IBANS: [&str; 8] = [
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "GB29NWBK60161331926819",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "AT611904300234573201",
    "ES9121000418450200051332",
    "IE29AIBK93115212345678",
];

fn sample(version: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/orders/sample.{version}.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("sample file")
}

fn refusals(bytes: &[u8]) -> Vec<orders::Refusal> {
    match orders::check(bytes, TODAY) {
        Err(OrderError::Refused(refusals)) => refusals,
        other => panic!("expected bank refusals, got {other:?}"),
    }
}

fn one_payment_order() -> NewOrder {
    NewOrder {
        message_id: "MSG-1".into(),
        initiating_party: "ACME Trading GmbH".into(),
        batches: vec![NewBatch {
            execution_date: "2026-12-07".into(),
            debtor_name: "ACME Trading GmbH".into(),
            debtor_iban: "DE89 3704 0044 0532 0130 00".into(),
            debtor_bic: "COBADEFFXXX".into(),
            payments: vec![NewPayment {
                end_to_end_id: "E2E-1".into(),
                amount: "1250.00".into(),
                creditor_name: "Fournitures Dupont SARL".into(),
                creditor_iban: "FR1420041010050500013M02606".into(),
                remittance: "Invoice 4711".into(),
                ..NewPayment::default()
            }],
            ..NewBatch::default()
        }],
    }
}

fn written() -> String {
    let (bytes, _) = orders::write::write(&one_payment_order(), NOW).expect("written");
    String::from_utf8(bytes).expect("UTF-8")
}

#[test]
fn the_hand_checked_samples_of_both_versions_are_read_as_written() {
    let v03 = orders::check(&sample("pain.001.001.03"), TODAY).expect("the .03 sample passes");
    assert_eq!(v03.order.version, Version::V03);
    let s = &v03.summary;
    assert_eq!((s.payments, s.batches), (3, 2));
    assert_eq!(s.totals.len(), 1);
    assert_eq!(
        (s.totals[0].currency.as_str(), s.totals[0].amount.as_str()),
        ("EUR", "1250.51")
    );
    let accounts: Vec<(&str, &str)> = s
        .accounts
        .iter()
        .map(|a| (a.account.as_str(), a.amount.as_str()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("AT611904300234573201", "250.50"),
            ("DE89370400440532013000", "1000.01")
        ]
    );
    assert_eq!(s.execution_dates, ["2027-01-15", "2027-01-16"]);
    assert_eq!(s.largest[0].end_to_end_id, "INV-4711");
    assert_eq!(s.largest[0].creditor, "Fournitures Dupont SARL");

    let v09 = orders::check(&sample("pain.001.001.09"), TODAY).expect("the .09 sample passes");
    let s = &v09.summary;
    assert_eq!(s.version, "pain.001.001.09");
    assert_eq!((s.payments, s.totals[0].amount.as_str()), (2, "12434.77"));
    // A date and time is read as its date; a structured reference as the remittance.
    assert_eq!(s.execution_dates, ["2027-02-01"]);
    assert_eq!(s.rows[0].remittance, "RF18539007547034");
    assert_eq!(s.rows[1].remittance, "Lunch 2026-11");
}

#[test]
fn what_is_written_passes_xmllint_and_reads_back() {
    let xml = written();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("order.xml");
    std::fs::write(&file, &xml).expect("write");
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../iso20022/pain.001.001.09.xsd");
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let checked = orders::check(xml.as_bytes(), TODAY).expect("reads back");
    assert_eq!(checked.summary.totals[0].amount, "1250.00");
    assert_eq!(
        checked.order.batches[0].debtor_account.as_str(),
        "DE89370400440532013000"
    );
    assert!(xml.contains("<DbtrAgt>"), "the debtor agent is mandatory in .09");
}

#[test]
fn a_file_the_schema_refuses_gets_the_line_and_element() {
    let xml = written().replace("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>TRF</PmtMtd><Unexpected/>");
    match orders::check(xml.as_bytes(), TODAY) {
        Err(OrderError::Schema { version, problems }) => {
            assert_eq!(version, Version::V09);
            let line = xml.lines().position(|l| l.contains("<Unexpected/>")).expect("line") as u32 + 1;
            assert_eq!(problems[0].line, Some(line), "{problems:?}");
            assert!(problems[0].message.contains("Unexpected"), "{problems:?}");
        }
        other => panic!("expected a schema refusal, got {other:?}"),
    }
    // Not XML, another message, a document type declaration: refused before the schema.
    assert!(matches!(
        orders::check(b"<Document><unclosed>", TODAY),
        Err(OrderError::NotXml(_))
    ));
    assert!(matches!(
        orders::check(
            b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.008.001.02\"/>",
            TODAY
        ),
        Err(OrderError::UnknownMessage(_))
    ));
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{}",
        &xml[xml.find("<Document").expect("root")..]
    );
    assert!(matches!(
        orders::check(bomb.as_bytes(), TODAY),
        Err(OrderError::NotXml(_))
    ));
}

/// The written sample with `from` replaced by `to` (once), refused for `field`.
fn refused_for(from: &str, to: &str, field: &str) {
    let xml = written();
    assert!(xml.contains(from), "{from} is not in the written order");
    let changed = xml.replacen(from, to, 1);
    let found = refusals(changed.as_bytes());
    assert!(
        found.iter().any(|r| r.field == field),
        "{from} -> {to}: expected a refusal of {field}, got {found:?}"
    );
}

#[test]
fn every_bank_check_refuses_its_case() {
    // IBAN: check digits, then the country's length.
    refused_for(
        "FR1420041010050500013M02606",
        "FR1520041010050500013M02606",
        "CdtrAcct/Id/IBAN",
    );
    refused_for("DE89370400440532013000", "DE8937040044053201300", "DbtrAcct/Id/IBAN");
    // Amounts: three decimals, zero, too large (with the sums kept consistent).
    refused_for(">1250.00</InstdAmt>", ">1250.001</InstdAmt>", "Amt/InstdAmt");
    refused_for(">1250.00</InstdAmt>", ">0.00</InstdAmt>", "Amt/InstdAmt");
    refused_for(">1250.00</InstdAmt>", ">1000000000.00</InstdAmt>", "Amt/InstdAmt");
    // Counts and control sums, of the group and of the batch.
    refused_for("<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>2</NbOfTxs>", "GrpHdr/NbOfTxs");
    refused_for(
        "<CtrlSum>1250.00</CtrlSum>",
        "<CtrlSum>1250.01</CtrlSum>",
        "GrpHdr/CtrlSum",
    );
    let xml = written();
    let second = xml.rfind("<CtrlSum>1250.00</CtrlSum>").expect("batch sum");
    let changed = format!("{}<CtrlSum>99.00</CtrlSum>{}", &xml[..second], &xml[second + 26..]);
    assert!(refusals(changed.as_bytes()).iter().any(|r| r.field == "PmtInf/CtrlSum"));
    // SEPA characters and identifier rules.
    refused_for(
        "<Nm>Fournitures Dupont SARL</Nm>",
        "<Nm>Fournitures Dupont &amp; Fils</Nm>",
        "Cdtr/Nm",
    );
    refused_for("<Nm>Fournitures Dupont SARL</Nm>", "<Nm>Müller AG</Nm>", "Cdtr/Nm");
    refused_for(
        "<EndToEndId>E2E-1</EndToEndId>",
        "<EndToEndId>E2E//1</EndToEndId>",
        "PmtId/EndToEndId",
    );
    refused_for("<MsgId>MSG-1</MsgId>", "<MsgId>/MSG-1</MsgId>", "GrpHdr/MsgId");
    refused_for(
        "<Ustrd>Invoice 4711</Ustrd>",
        "<Ustrd>Invoice #4711</Ustrd>",
        "RmtInf/Ustrd",
    );
    // Execution date in the past.
    refused_for("<Dt>2026-12-07</Dt>", "<Dt>2026-12-04</Dt>", "PmtInf/ReqdExctnDt");
    // Method: a cheque is not a credit transfer.
    refused_for("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>CHK</PmtMtd>", "PmtInf/PmtMtd");
    // An equivalent amount instead of an instructed one.
    refused_for(
        "<InstdAmt Ccy=\"EUR\">1250.00</InstdAmt>",
        "<EqvtAmt><Amt Ccy=\"EUR\">1250.00</Amt><CcyOfTrf>USD</CcyOfTrf></EqvtAmt>",
        "Amt/EqvtAmt",
    );
    // A creditor account without IBAN.
    refused_for(
        "<IBAN>FR1420041010050500013M02606</IBAN>",
        "<Othr><Id>12345678</Id></Othr>",
        "CdtrAcct/Id/IBAN",
    );
    // Free-text-only address.
    refused_for(
        "<Nm>Fournitures Dupont SARL</Nm>",
        "<Nm>Fournitures Dupont SARL</Nm><PstlAdr><AdrLine>1 rue de la Paix</AdrLine><AdrLine>75002 Paris</AdrLine></PstlAdr>",
        "Cdtr/PstlAdr",
    );
    // What the summary would not show is refused: an ultimate creditor, a
    // second remittance line, charges borne otherwise, another service level.
    refused_for(
        "</CdtrAcct>",
        "</CdtrAcct><UltmtCdtr><Nm>Someone Else</Nm></UltmtCdtr>",
        "PmtInf/CdtTrfTxInf/UltmtCdtr",
    );
    refused_for(
        "<Ustrd>Invoice 4711</Ustrd>",
        "<Ustrd>Invoice 4711</Ustrd><Ustrd>and pay twice</Ustrd>",
        "PmtInf/CdtTrfTxInf/RmtInf",
    );
    refused_for("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>DEBT</ChrgBr>", "PmtInf/ChrgBr");
    refused_for("<Cd>SEPA</Cd>", "<Cd>URGP</Cd>", "PmtInf/PmtTpInf/SvcLvl/Cd");
    // A BIC that is not ISO 9362 is already refused by the schema; the check says why too.
    assert!(orders::checks::bic_problem("COBA1EFF").is_some());
    assert!(orders::checks::bic_problem("COBADEFF").is_none());
}

#[test]
fn a_checked_order_is_no_longer_signable_once_its_date_has_passed() {
    let (_, checked) = orders::write::write(&one_payment_order(), NOW).expect("written");
    checked
        .still_signable(TODAY)
        .expect("signable on the day it was checked");
    let later = time::macros::date!(2026 - 12 - 08);
    match checked.still_signable(later) {
        Err(OrderError::Refused(refusals)) => {
            assert_eq!(refusals.len(), 1, "{refusals:?}");
            assert_eq!(refusals[0].field, "PmtInf/ReqdExctnDt");
            assert!(refusals[0].problem.contains("in the past"), "{refusals:?}");
        }
        other => panic!("expected the date to be refused, got {other:?}"),
    }
}

#[test]
fn checks_from_many_threads_get_the_answers_of_one() {
    let good = written();
    let bad = good.replacen(">1250.00<", ">1250.001<", 1);
    let (good_alone, bad_alone) = (
        orders::check(good.as_bytes(), TODAY).map(|c| c.summary),
        orders::check(bad.as_bytes(), TODAY).map(|c| c.summary),
    );
    assert!(good_alone.is_ok() && bad_alone.is_err());
    std::thread::scope(|scope| {
        let answers: Vec<_> = (0..8)
            .map(|i| {
                let bytes = if i % 2 == 0 { good.as_bytes() } else { bad.as_bytes() };
                scope.spawn(move || (i, orders::check(bytes, TODAY).map(|c| c.summary)))
            })
            .collect();
        for answer in answers {
            let (i, summary) = answer.join().expect("the thread ran");
            assert_eq!(
                summary,
                if i % 2 == 0 {
                    good_alone.clone()
                } else {
                    bad_alone.clone()
                }
            );
        }
    });
}

#[test]
fn ids_must_be_unique_in_the_file() {
    let mut order = one_payment_order();
    let payment = order.batches[0].payments[0].clone();
    order.batches[0].payments.push(payment);
    match orders::write::write(&order, NOW) {
        Err(OrderError::Refused(found)) => {
            assert!(
                found
                    .iter()
                    .any(|r| r.field == "PmtId/EndToEndId" && r.place.starts_with("payment 2"))
            );
        }
        other => panic!("expected a refusal, got {:?}", other.map(|(_, c)| c.summary.payments)),
    }
    // NOTPROVIDED may repeat, as the rulebook allows.
    for payment in &mut order.batches[0].payments {
        payment.end_to_end_id = "NOTPROVIDED".into();
    }
    orders::write::write(&order, NOW).expect("NOTPROVIDED twice is fine");
    let mut order = one_payment_order();
    order.batches[0].id = "BATCH-1".into();
    let batch = order.batches[0].clone();
    order.batches.push(batch);
    order.batches[1].payments[0].end_to_end_id = "E2E-2".into();
    let found = match orders::write::write(&order, NOW) {
        Err(OrderError::Refused(found)) => found,
        other => panic!("expected a refusal, got {:?}", other.map(|(_, c)| c.summary.payments)),
    };
    assert!(found.iter().any(|r| r.field == "PmtInf/PmtInfId"), "{found:?}");
}

#[test]
fn bad_fields_of_a_new_order_are_named() {
    type Spoil = fn(&mut NewOrder);
    let cases: [(&str, Spoil); 5] = [
        ("batches[0].debtorIban", |o| {
            o.batches[0].debtor_iban = "DE00370400440532013000".into()
        }),
        ("batches[0].payments[0].amount", |o| {
            o.batches[0].payments[0].amount = "12,50".into()
        }),
        ("batches[0].executionDate", |o| {
            o.batches[0].execution_date = "2020-01-01".into()
        }),
        ("batches[0].payments[0].creditorName", |o| {
            o.batches[0].payments[0].creditor_name = String::new()
        }),
        ("batches[0].payments[0].remittance", |o| {
            o.batches[0].payments[0].remittance = "€ 5".into()
        }),
    ];
    for (field, spoil) in cases {
        let mut order = one_payment_order();
        spoil(&mut order);
        match orders::write::write(&order, NOW) {
            Err(OrderError::Input { field: named, .. }) => assert_eq!(named, field),
            other => panic!(
                "{field}: expected an input error, got {:?}",
                other.map(|(_, c)| c.summary.payments)
            ),
        }
    }
}

#[test]
fn a_thousand_payments_sum_to_what_the_test_computes() {
    let mut order = one_payment_order();
    order.batches[0].payments.clear();
    let mut second = order.batches[0].clone();
    second.debtor_iban = IBANS[3].into();
    order.batches.push(second);
    let mut cents_per_account = [0i64; 2];
    let mut cents_total = 0i64;
    let mut largest = 0i64;
    for i in 0..1000i64 {
        let cents = 1 + (i * 7_919) % 2_500_000;
        largest = largest.max(cents);
        cents_total += cents;
        let batch = usize::try_from(i % 2).expect("index");
        cents_per_account[batch] += cents;
        order.batches[batch].payments.push(NewPayment {
            amount: format!("{}.{:02}", cents / 100, cents % 100),
            creditor_name: format!("Payee {i}"),
            creditor_iban: IBANS[usize::try_from(i).expect("index") % IBANS.len()].into(),
            remittance: format!("Invoice {i}"),
            ..NewPayment::default()
        });
    }
    let (bytes, checked) = orders::write::write(&order, NOW).expect("written");
    let s = &checked.summary;
    assert_eq!(s.payments, 1000);
    let cents = |text: &str| -> i64 {
        let d = Decimal::from_str_exact(text).expect("decimal") * Decimal::from(100);
        i64::try_from(d).expect("whole cents")
    };
    assert_eq!(cents(&s.totals[0].amount), cents_total);
    let by_account: Vec<i64> = ["DE89370400440532013000", IBANS[3]]
        .iter()
        .map(|iban| cents(&s.accounts.iter().find(|a| a.account == *iban).expect("account").amount))
        .collect();
    assert_eq!(by_account, cents_per_account);
    assert_eq!(cents(&s.largest[0].amount), largest);
    // The file read again gives the same summary.
    assert_eq!(orders::check(&bytes, TODAY).expect("again").summary, *s);
}

/// Files written by sepaxml (a widely used Python writer), made here.
#[test]
fn files_from_another_writer_read_and_summarise() {
    let script = r#"
import datetime, sys
from sepaxml import SepaTransfer
for schema in ("pain.001.001.03", "pain.001.001.09"):
    config = {"name": "Epsilon Consulting", "IBAN": "GB29NWBK60161331926819", "BIC": "NWBKGB2L",
              "batch": True, "currency": "EUR"}
    sepa = SepaTransfer(config, schema=schema, clean=True)
    for i, (iban, cents) in enumerate([("DE89370400440532013000", 123456), ("NL91ABNA0417164300", 99),
                                        ("BE68539007547034", 5000000)]):
        sepa.add_payment({"name": "Payee %d" % i, "IBAN": iban, "amount": cents,
                          "execution_date": datetime.date(2027, 3, 1), "description": "Invoice %d" % i})
    sys.stdout.write(sepa.export(validate=False).decode() + "\n=====\n")
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 runs (make test installs sepaxml)");
    assert!(
        out.status.success(),
        "sepaxml (pip install sepaxml==2.7.0; make test does) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let files: Vec<&str> = text.split("\n=====\n").filter(|f| !f.trim().is_empty()).collect();
    assert_eq!(files.len(), 2);
    for (file, version) in files.iter().zip(["pain.001.001.03", "pain.001.001.09"]) {
        let checked = orders::check(file.as_bytes(), TODAY).unwrap_or_else(|e| panic!("{version}: {e}"));
        let s = &checked.summary;
        assert_eq!(s.version, version);
        assert_eq!(s.payments, 3);
        assert_eq!(s.totals[0].amount, "51235.55");
        assert_eq!(s.accounts[0].account, "GB29NWBK60161331926819");
        assert_eq!(s.largest[0].amount, "50000.00");
        assert_eq!(s.execution_dates, ["2027-03-01"]);
    }
}

fn sepa_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 /?:().,'+-]{0,30}[A-Za-z0-9]"
}

fn new_payment() -> impl Strategy<Value = NewPayment> {
    (
        1i64..=99_999_999_999,
        sepa_text(),
        0..IBANS.len(),
        proptest::option::of(sepa_text()),
    )
        .prop_map(|(cents, name, iban, remittance)| NewPayment {
            amount: format!("{}.{:02}", cents / 100, cents % 100),
            creditor_name: name,
            creditor_iban: IBANS[iban].into(),
            remittance: remittance.unwrap_or_default(),
            ..NewPayment::default()
        })
}

fn new_batch() -> impl Strategy<Value = NewBatch> {
    (
        0..IBANS.len(),
        sepa_text(),
        2u8..=28,
        prop::collection::vec(new_payment(), 1..6),
    )
        .prop_map(|(iban, name, day, payments)| NewBatch {
            execution_date: format!("2027-01-{day:02}"),
            debtor_name: name,
            debtor_iban: IBANS[iban].into(),
            payments,
            ..NewBatch::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever we write, the official schema and our checks accept, and it
    /// reads back to the same payments.
    #[test]
    fn every_order_we_write_passes_the_schema(batches in prop::collection::vec(new_batch(), 1..4)) {
        let order = NewOrder { message_id: String::new(), initiating_party: String::new(), batches };
        let (bytes, checked) = orders::write::write(&order, NOW).expect("written and checked");
        let again = orders::check(&bytes, TODAY).expect("passes again");
        prop_assert_eq!(again.summary.payments, order.batches.iter().map(|b| b.payments.len()).sum::<usize>());
        let amounts: Vec<String> = checked.summary.rows.iter().map(|r| r.amount.clone()).collect();
        let wanted: Vec<String> = order.batches.iter().flat_map(|b| b.payments.iter().map(|p| p.amount.clone())).collect();
        prop_assert_eq!(amounts, wanted);
    }
}
