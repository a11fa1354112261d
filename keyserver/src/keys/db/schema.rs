//! Table definitions shared by both backends.
//!
//! Written by hand to match `migrations/sqlite` and `migrations/postgres`: only `BigInt`, `Text`, `Binary` and
//! `Nullable` appear, the types that [`super::AnyConnection`] loads identically from SQLite and PostgreSQL.

diesel::table! {
    /// Registered people and their role; `registration` is the JSON of `signet_schema::RegistrationData`.
    users (user_id) {
        user_id -> Text,
        registration -> Text,
        role -> Text,
        state -> Text,
        failed_logins -> BigInt,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Sealed key records, encrypted under the storage key; the server cannot open them.
    key_records (user_id) {
        user_id -> Text,
        sealed_record -> Binary,
        kdf_m -> BigInt,
        kdf_t -> BigInt,
        kdf_p -> BigInt,
        salt -> Binary,
        verifier_hash -> Binary,
        public_key_fingerprint -> Binary,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Applications waiting for the consent phrase sent by letter.
    applications (application_id) {
        application_id -> Text,
        user_id -> Text,
        state -> Text,
        consent_wrap -> Binary,
        inner_hash -> Binary,
        certification_request -> Binary,
        verifier_hash -> Binary,
        failed_attempts -> BigInt,
        letter_pdf -> Nullable<Binary>,
        letter_state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// Every certificate ever issued, kept for auditors; `serial` is upper-case hex.
    certificates (serial) {
        serial -> Text,
        user_id -> Text,
        der -> Binary,
        sha256_fingerprint -> Text,
        subject -> Text,
        not_before -> BigInt,
        not_after -> BigInt,
        status -> Text,
        revoked_at -> Nullable<BigInt>,
        revocation_reason -> Nullable<Text>,
        issued_at -> BigInt,
    }
}

diesel::table! {
    /// Certificate revocation lists (RFC 5280 §5), by CRL number.
    crls (crl_number) {
        crl_number -> BigInt,
        der -> Binary,
        this_update -> BigInt,
        next_update -> BigInt,
    }
}

diesel::table! {
    /// Request nonces already seen, kept until they expire.
    nonces (nonce) {
        nonce -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// The audit log: a hash chain of signed events.
    events (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        kind -> Text,
        subject -> Nullable<Text>,
        detail -> Text,
        prev_hash -> Binary,
        hash -> Binary,
        signature -> Binary,
    }
}

diesel::table! {
    /// One row (`id` 1): raised by triggers on `users`, `key_records` and `certificates` in the transaction of
    /// every change to them, so a cached sign-in answer is current while this number is unchanged.
    sign_in_generation (id) {
        id -> BigInt,
        generation -> BigInt,
    }
}

diesel::table! {
    /// Signed releases of the signing core; `signed_release` is the JSON of
    /// `signet_schema::release::SignedRelease`, exactly as the release key's owner published it.
    signer_releases (version) {
        version -> BigInt,
        label -> Text,
        protocol_version -> BigInt,
        signed_release -> Binary,
        published_at -> BigInt,
        stored_at -> BigInt,
    }
}

diesel::table! {
    /// The signer binaries that releases name, by SHA-256 (lower-case hex).
    signer_binaries (sha256) {
        sha256 -> Text,
        size -> BigInt,
        bytes -> Binary,
    }
}

diesel::table! {
    /// Operator settings that clients see signed (e.g. the bundled-signer policy).
    server_settings (name) {
        name -> Text,
        value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Host applications the CA certified, with their current certificate.
    hosts (name) {
        name -> Text,
        url -> Text,
        serial -> Text,
        certified_at -> BigInt,
    }
}

diesel::table! {
    /// Failed guesses at ids that keep no counter of their own (`purpose` `signin` or `consent`).
    guesses (purpose, subject) {
        purpose -> Text,
        subject -> Text,
        failures -> BigInt,
        locked_until -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// What remains of an erased key: salt, parameters and verifier tag, nothing of the key.
    erased_keys (user_id) {
        user_id -> Text,
        kdf_m -> BigInt,
        kdf_t -> BigInt,
        kdf_p -> BigInt,
        salt -> Binary,
        verifier_hash -> Binary,
        erased_at -> BigInt,
    }
}

diesel::table! {
    /// The help desk's search index: one row per lower-cased term of a person (id, e-mail, name words).
    user_terms (term, user_id) {
        term -> Text,
        user_id -> Text,
    }
}

diesel::joinable!(key_records -> users (user_id));
diesel::joinable!(user_terms -> users (user_id));
diesel::joinable!(erased_keys -> users (user_id));
diesel::joinable!(applications -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    key_records,
    applications,
    certificates,
    crls,
    nonces,
    events,
    sign_in_generation,
    signer_releases,
    signer_binaries,
    server_settings,
    hosts,
    guesses,
    erased_keys,
    user_terms
);
