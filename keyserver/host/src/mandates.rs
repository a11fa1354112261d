//! Four eyes as EBICS banks apply them: each mandate gives a user a
//! signature class on a debtor account and an amount limit.
//!
//! * `E` signs alone when the order's total on the account is within the
//!   limit; above it, the signature counts as an `A` (a second one is needed).
//! * `A` and `B` count only within their limit (above it the signature is
//!   refused, `DS0G`); an order is complete with `A`+`A` or `A`+`B`
//!   (never `B`+`B`).
//! * `T` may submit, never sign: the submitter's signature is kept as a
//!   transport signature and counts for nothing.
//!
//! An order on several debtor accounts needs all of them complete; a
//! signature counts with its weakest class over those accounts. Each user
//! counts once.

use rust_decimal::Decimal;
use signet_schema::host::SignatureClass;

use crate::db::{Mandate, OrderAccount};
use crate::trust::{Refusal, reason};

/// How much a class weighs: the weakest wins.
fn strength(class: SignatureClass) -> u8 {
    match class {
        SignatureClass::T => 0,
        SignatureClass::B => 1,
        SignatureClass::A => 2,
        SignatureClass::E => 3,
    }
}

/// Whether `total` in `currency` is within `mandate`'s limit.
fn within(mandate: &Mandate, total: &str, currency: &str) -> Result<bool, Refusal> {
    let Some(limit) = &mandate.amount_limit else {
        return Ok(true);
    };
    if currency != mandate.currency {
        // A limit in one currency says nothing of an amount in another.
        return Ok(false);
    }
    let limit = Decimal::from_str_exact(limit)
        .map_err(|_| Refusal::new(reason::NOT_ALLOWED_PAYMENT, "the mandate's limit is unreadable"))?;
    let total = Decimal::from_str_exact(total)
        .map_err(|_| Refusal::new(reason::NOT_ALLOWED_PAYMENT, "the order's total is unreadable"))?;
    Ok(total <= limit)
}

/// The class a signature by the holder of `mandate` counts as on `account`.
pub fn counts_as(mandate: &Mandate, account: &OrderAccount) -> Result<SignatureClass, Refusal> {
    let class = SignatureClass::parse(&mandate.class)
        .ok_or_else(|| Refusal::new(reason::NOT_ALLOWED_PAYMENT, "the mandate's class is unreadable"))?;
    let within = within(mandate, &account.total, &account.currency)?;
    match (class, within) {
        (SignatureClass::T, _) => Ok(SignatureClass::T),
        (SignatureClass::E, true) => Ok(SignatureClass::E),
        (SignatureClass::E, false) => Ok(SignatureClass::A),
        (class, true) => Ok(class),
        (class, false) => Err(Refusal::new(
            reason::NOT_ALLOWED_PAYMENT,
            format!(
                "{} {} on {} is above the signer's limit for class {}",
                account.total,
                account.currency,
                account.iban,
                class.as_str()
            ),
        )),
    }
}

/// The class a signature counts as on the whole order: its weakest over
/// the order's accounts, given each account's mandate (`None`: the signer
/// has none there).
pub fn class_on_order(
    accounts: &[OrderAccount],
    mandate_of: impl Fn(&str) -> Option<Mandate>,
) -> Result<SignatureClass, Refusal> {
    let mut weakest = SignatureClass::E;
    if accounts.is_empty() {
        return Err(Refusal::new(
            reason::NOT_ALLOWED_ACCOUNT,
            "the order names no debtor account",
        ));
    }
    for account in accounts {
        let mandate = mandate_of(&account.iban).ok_or_else(|| {
            Refusal::new(
                reason::NOT_ALLOWED_ACCOUNT,
                format!("the signer has no mandate on {}", account.iban),
            )
        })?;
        let class = counts_as(&mandate, account)?;
        if strength(class) < strength(weakest) {
            weakest = class;
        }
    }
    Ok(weakest)
}

/// Whether signatures of these classes (one per user) complete an order.
pub fn complete(classes: &[SignatureClass]) -> bool {
    let count = |c: SignatureClass| classes.iter().filter(|&&x| x == c).count();
    count(SignatureClass::E) >= 1
        || count(SignatureClass::A) >= 2
        || (count(SignatureClass::A) >= 1 && count(SignatureClass::B) >= 1)
}

/// What an incomplete order still needs, for a person.
pub fn still_needed(classes: &[SignatureClass]) -> &'static str {
    if classes.contains(&SignatureClass::A) {
        "waiting for a second signature (class A or B)"
    } else if classes.contains(&SignatureClass::B) {
        "waiting for a signature of class A"
    } else {
        "waiting for a signature of class E, or two of classes A and A or B"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignatureClass::{A, B, E, T};

    fn mandate(class: &str, limit: Option<&str>) -> Mandate {
        Mandate {
            iban: "DE89370400440532013000".into(),
            user_id: "alice".into(),
            class: class.into(),
            amount_limit: limit.map(Into::into),
            currency: "EUR".into(),
            created_at: 0,
        }
    }

    fn account(total: &str, currency: &str) -> OrderAccount {
        OrderAccount {
            order_id: "O1".into(),
            iban: "DE89370400440532013000".into(),
            total: total.into(),
            currency: currency.into(),
        }
    }

    #[test]
    fn classes_complete_orders_as_ebics_says() {
        assert!(complete(&[E]));
        assert!(complete(&[A, A]));
        assert!(complete(&[A, B]));
        assert!(!complete(&[A]));
        assert!(!complete(&[B, B]));
        assert!(!complete(&[T, T, B]));
        assert!(complete(&[T, E]));
        assert!(!complete(&[]));
    }

    #[test]
    fn limits_weaken_or_refuse_a_signature() {
        let small = account("100.00", "EUR");
        let large = account("5000.00", "EUR");
        assert_eq!(counts_as(&mandate("E", Some("1000")), &small), Ok(E));
        assert_eq!(counts_as(&mandate("E", Some("1000")), &large), Ok(A));
        assert_eq!(counts_as(&mandate("E", None), &large), Ok(E));
        assert_eq!(counts_as(&mandate("A", Some("10000")), &large), Ok(A));
        let refused = counts_as(&mandate("B", Some("1000")), &large).expect_err("over the limit");
        assert_eq!(refused.code, reason::NOT_ALLOWED_PAYMENT);
        assert_eq!(counts_as(&mandate("T", Some("1")), &large), Ok(T));
        // Another currency is never within a limit.
        assert_eq!(counts_as(&mandate("E", Some("1000")), &account("10.00", "USD")), Ok(A));
    }

    #[test]
    fn an_order_needs_a_mandate_on_every_account_and_counts_the_weakest() {
        let accounts = [account("10.00", "EUR"), {
            let mut other = account("10.00", "EUR");
            other.iban = "FR1420041010050500013M02606".into();
            other
        }];
        let only_first = |iban: &str| (iban == "DE89370400440532013000").then(|| mandate("E", None));
        assert_eq!(
            class_on_order(&accounts, only_first).expect_err("no mandate").code,
            reason::NOT_ALLOWED_ACCOUNT
        );
        let mixed = |iban: &str| {
            Some(if iban.starts_with("DE") {
                mandate("E", None)
            } else {
                mandate("B", None)
            })
        };
        assert_eq!(class_on_order(&accounts, mixed), Ok(B));
    }
}
